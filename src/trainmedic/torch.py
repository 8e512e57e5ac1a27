"""Public PyTorch entry point::

    from trainmedic.torch import watch

    with watch(model, optimizer) as medic:
        for xb, yb in loader:
            optimizer.zero_grad(); loss = loss_fn(model(xb), yb); loss.backward(); optimizer.step()
    print(medic.diagnosis)

See :func:`trainmedic.integrations.torch.watch.watch` for the options (``every``, ``early``, ``save_to``,
``sample_size``, ``fix_trials``) and what is recorded. ``watch(model, optimizer, fix_trials=True)`` also
proves the fixes that can be made from outside the loop (learning rate, input scaling, loss swap,
zero_grad/step, unfreezing, train mode, lighter dropout) on copies of the model trained briefly on the sample
it saw: ``medic.diagnosis.causes[i].fix.verified`` (see :mod:`trainmedic.experiments.torch_trials`). Off by
default to keep ``watch`` cheap; ``trainmedic run`` runs them (``--no-fix-trials`` / ``fix_trials = false``
to turn off). ``medic.log_loss(loss)`` records the loss in loops where trainmedic
cannot see it. ``stop_when_diagnosed`` is not available for plain PyTorch loops.
"""
from __future__ import annotations

from .integrations.torch.watch import Watcher, watch

__all__ = ["Watcher", "watch"]
