"""Settings for ``trainmedic run``: defaults < pyproject ``[tool.trainmedic]`` < ``TRAINMEDIC_*`` < flags."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    tomllib = None  # type: ignore[assignment]


@dataclass
class Settings:
    json: str | None = None
    html: str | None = None
    save: str | None = ".trainmedic"  # recording directory ("" disables)
    stop_when_diagnosed: bool = False
    max_seconds: float | None = None
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: list[str] = field(default_factory=list)  # cause ids or rule codes that fail the run (default: any)
    exit_zero: bool = False
    quiet: bool = False
    preflight_budget_s: float = 8.0
    fix_trials: bool = True
    trial_budget_s: float = 60.0
    color: bool | None = None


class ConfigError(ValueError):
    """A setting could not be read (exit code 2)."""


def _coerce(name: str, value, default):
    if isinstance(default, bool) or name in ("stop_when_diagnosed", "exit_zero", "quiet", "fix_trials"):
        if isinstance(value, bool):
            return value
        v = str(value).strip().lower()
        if v in ("1", "true", "yes", "on"):
            return True
        if v in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: expected a boolean, got {value!r}")
    if name in ("select", "ignore", "fail_on"):
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        raise ConfigError(f"{name}: expected a list, got {value!r}")
    if name in ("max_seconds", "preflight_budget_s", "trial_budget_s"):
        try:
            return None if value in (None, "") else float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
    return value


def load_settings(start: Path | None = None, environ: dict | None = None) -> Settings:
    """Read ``[tool.trainmedic]`` from the nearest pyproject.toml and ``TRAINMEDIC_*`` variables."""
    s = Settings()
    names = {f.name: f for f in fields(Settings)}
    pyproject = _find_pyproject(start or Path.cwd())
    if pyproject is not None and tomllib is not None:
        try:
            data = tomllib.loads(pyproject.read_text())
        except Exception as e:
            raise ConfigError(f"{pyproject}: {e}") from None
        table = data.get("tool", {}).get("trainmedic", {})
        for key, value in table.items():
            k = key.replace("-", "_")
            if k not in names:
                raise ConfigError(f"{pyproject}: unknown setting [tool.trainmedic] {key}")
            setattr(s, k, _coerce(k, value, getattr(s, k)))
    env = os.environ if environ is None else environ
    for key, value in env.items():
        if key.startswith("TRAINMEDIC_"):
            k = key[len("TRAINMEDIC_"):].lower()
            if k in names:
                setattr(s, k, _coerce(k, value, getattr(s, k)))
    return s


def _find_pyproject(start: Path) -> Path | None:
    p = start.resolve()
    for d in (p, *p.parents):
        f = d / "pyproject.toml"
        if f.is_file():
            return f
    return None
