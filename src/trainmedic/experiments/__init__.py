"""Active experiments on a *copy* of the user's model: never the model, optimizer or RNG streams themselves.

Experiments are framework-free: they drive an adapter (see :class:`ModelAdapter`) supplied by an
integration, and store plain numbers in ``recording.experiments``.
"""
from .preflight import ModelAdapter, expected_initial_loss, run_preflight, task_accuracy

__all__ = ["ModelAdapter", "expected_initial_loss", "run_preflight", "task_accuracy"]
