"""Rules: documented checks from a recording to findings. See :func:`all_rules`."""
from __future__ import annotations

import importlib

from .registry import Rule, all_rules, get_rule, proved_by_trial, rule

_BUILTIN = ("static", "experiments", "dynamic", "wiring")
_loaded = False


def load_builtin_rules() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTIN:
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as e:  # a rule module not written yet
            if e.name != f"{__name__}.{mod}":
                raise


__all__ = ["Rule", "all_rules", "get_rule", "proved_by_trial", "rule", "load_builtin_rules"]
