"""A recording: one run's set-up facts, experiment results and signals, saved to disk for re-judging."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._serial import from_dict, to_jsonable
from .facts import SetupFacts
from .findings import Trial

FILENAME = "recording.json"


@dataclass
class Series:
    """A signal over training steps. ``values`` are floats, or lists (per-class histograms)."""

    steps: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def add(self, step: int, value: Any) -> None:
        self.steps.append(int(step))
        self.values.append(value)

    def finite(self) -> list[float]:
        return [float(v) for v in self.values if isinstance(v, (int, float)) and math.isfinite(v)]

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Recording:
    """Everything trainmedic observed about one training set-up or run.

    * ``facts``: the set-up (model, loss, optimizer, metrics, data, training plan);
    * ``experiments``: results of active experiments, by name (plain dicts of numbers);
    * ``signals``: time series from monitoring ("loss", "val_accuracy", "grad_norm/dense_1", ...);
    * ``events``: notable moments (first NaN, collapse) as dicts with a ``kind`` and a ``step``;
    * ``trials``: fix trials; ``warnings``: trainmedic's own problems (never the user's);
    * ``run``: how the run went (framework, versions, argv, exit status).
    """

    facts: SetupFacts = field(default_factory=SetupFacts)
    experiments: dict[str, dict] = field(default_factory=dict)
    signals: dict[str, Series] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    run: dict = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    diagnosed_at_s: float | None = None

    def signal(self, name: str) -> Series:
        """The series called ``name`` (created empty on first use)."""
        if name not in self.signals:
            self.signals[name] = Series()
        return self.signals[name]

    def record(self, name: str, step: int, value: Any) -> None:
        self.signal(name).add(step, value)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def mark_stopped(self, info: dict) -> None:
        """Record that training was ended early and why (``step``, ``cause``, ``reason``; ``run.stopped``)."""
        self.events.append({"kind": "stopped", **info})
        self.run["stopped"] = dict(info)

    # -- persistence -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Recording":
        return from_dict(cls, data)

    def save(self, directory: str | Path) -> Path:
        """Write ``recording.json`` into ``directory`` (created if needed); return its path."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        path = d / FILENAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict()))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Recording":
        """Load a recording from a directory holding ``recording.json`` or from the file itself."""
        p = Path(path)
        if p.is_dir():
            p = p / FILENAME
        return cls.from_dict(json.loads(p.read_text()))
