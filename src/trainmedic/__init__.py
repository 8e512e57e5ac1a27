"""trainmedic: why your network does not learn, and the proof of the fix.

Public API::

    import trainmedic
    diagnosis = trainmedic.diagnose(model, x, y)     # Keras 3 pre-flight diagnosis
    print(diagnosis)                                 # ranked root causes, evidence, fix
    diagnosis.to_json()                              # the JSON report (schema_version 1)

    from trainmedic.keras import Monitor             # model.fit(..., callbacks=[Monitor()])
    from trainmedic.torch import watch               # with watch(model, optimizer): ...
"""
from __future__ import annotations

from .causes import CAUSE_IDS, CAUSES, CauseInfo
from .diagnosis import Diagnosis
from .engine import judge
from .facts import Location
from .findings import CauseReport, Evidence, Finding, FixReport, Trial
from .recording import Recording
from .rules import Rule, all_rules, get_rule

__version__ = "0.1.0"


def diagnose(model, x=None, y=None, **kwargs) -> Diagnosis:
    """Pre-flight diagnosis of a compiled Keras 3 model on its training data (see :mod:`trainmedic.preflight`).

    ``x``/``y`` may be numpy arrays, a ``tf.data.Dataset``, a ``keras.utils.PyDataset`` or a generator
    (then ``y`` is None). Keyword arguments: ``batch_size``, ``epochs``, ``class_weight``, ``budget_s``,
    ``experiments`` (False for static rules only), ``fix_trials``, ``select``, ``ignore``.
    """
    from .preflight import diagnose_keras

    return diagnose_keras(model, x, y, **kwargs)


__all__ = [
    "CAUSES", "CAUSE_IDS", "CauseInfo", "CauseReport", "Diagnosis", "Evidence", "Finding", "FixReport",
    "Location", "Recording", "Rule", "Trial", "all_rules", "diagnose", "get_rule", "judge", "__version__",
]
