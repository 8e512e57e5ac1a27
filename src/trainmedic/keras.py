"""Keras 3 entry point: ``from trainmedic.keras import Monitor``; ``model.fit(..., callbacks=[Monitor()])``."""
from __future__ import annotations

from .integrations.keras.monitor import Monitor

__all__ = ["Monitor"]
