"""Public PyTorch entry point::

    from trainmedic.torch import watch

    with watch(model, optimizer) as medic:
        for xb, yb in loader:
            optimizer.zero_grad(); loss = loss_fn(model(xb), yb); loss.backward(); optimizer.step()
    print(medic.diagnosis)

See :func:`trainmedic.integrations.torch.watch.watch` for the options (``every``, ``early``, ``save_to``,
``sample_size``) and what is recorded. ``medic.log_loss(loss)`` records the loss in loops where trainmedic
cannot see it. ``stop_when_diagnosed`` is not available for plain PyTorch loops.
"""
from __future__ import annotations

from .integrations.torch.watch import Watcher, watch

__all__ = ["Watcher", "watch"]
