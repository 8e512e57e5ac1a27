"""PyTorch integration: ``watch(model, optimizer)`` around an unchanged training loop (see :mod:`.watch`)."""
from __future__ import annotations

from .watch import Watcher, watch

__all__ = ["Watcher", "watch"]
