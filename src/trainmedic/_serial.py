"""Tiny helpers to turn nested dataclasses into JSON-ready dicts and back (numpy-free on purpose)."""
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, tuples, numpy scalars/arrays and non-finite floats into JSON-safe values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)  # 'nan', 'inf', '-inf' survive JSON
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return to_jsonable(obj.tolist())
    return str(obj)


def _revive_float(v: Any) -> Any:
    if v in ("nan", "inf", "-inf"):
        return float(v)
    return v


def from_dict(cls: type, data: Any) -> Any:
    """Rebuild dataclass ``cls`` from :func:`to_jsonable` output (unknown keys are ignored)."""
    if data is None or not dataclasses.is_dataclass(cls):
        return data
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _revive(hints.get(f.name, Any), data[f.name])
    return cls(**kwargs)


def _revive(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for a in args:
            if a is type(None):
                continue
            return _revive(a, value)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value)
    if origin in (list, tuple) and args:
        inner = args[0]
        items = [_revive(inner, v) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict and len(args) == 2:
        return {k: _revive(args[1], v) for k, v in value.items()}
    if tp is float:
        return float(_revive_float(value))
    return _revive_float(value) if isinstance(value, str) else value
