"""PyTorch Lightning entry point::

    from trainmedic.lightning import Medic
    medic = Medic()
    trainer = lightning.pytorch.Trainer(callbacks=[medic]); trainer.fit(module, loader)
    print(medic.diagnosis)

``Medic`` is built for ``lightning.pytorch`` (or ``pytorch_lightning`` when only that is installed); use
:func:`callback_class` ``("pytorch_lightning")`` for the other package. Options: ``every``,
``stop_when_diagnosed``, ``halt_on``, ``max_seconds``, ``save_to``, ``select``, ``ignore``.
"""
from __future__ import annotations

from .integrations.lightning import callback_class

Medic = callback_class()

__all__ = ["Medic", "callback_class"]
