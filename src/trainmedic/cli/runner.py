"""``trainmedic run``: run an unmodified training script as ``__main__`` and diagnose every training in it."""
from __future__ import annotations

import os
import runpy
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .. import sites
from ..diagnosis import Diagnosis
from ..engine import judge
from ..recording import Recording
from .config import Settings
from .hooks import PostImportHooks

EXIT_HEALTHY, EXIT_CAUSES, EXIT_USAGE, EXIT_SCRIPT_FAILED = 0, 1, 2, 3


class StopTraining(BaseException):
    """Raised inside a PyTorch loop to end it early (stop-when-diagnosed, max-seconds)."""


@dataclass
class RunResult:
    exit_code: int
    diagnosis: Diagnosis | None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    script_error: BaseException | None = None


class Runner:
    def __init__(self, settings: Settings, out=None):
        self.settings = settings
        self.out = out or sys.stderr
        self.hooks = PostImportHooks()
        self.keras = None
        self.torch = None
        self.lightning_patchers: list = []
        self.started = time.time()

    # -- framework patches -----------------------------------------------------------------------------
    def _on_keras(self, module) -> None:
        try:
            from ..integrations.keras.patch import KerasPatcher

            self.keras = KerasPatcher(self.settings)
            self.keras.started = self.started
            self.keras.install(module)
        except Exception as e:  # pragma: no cover - reported, never fatal
            self._warn(f"could not attach to keras: {type(e).__name__}: {e}")

    def _on_torch(self, module) -> None:
        try:
            from ..integrations.torch.patch import TorchPatcher
        except ImportError:
            return
        try:
            self.torch = TorchPatcher(self.settings, StopTraining)
            self.torch.skip = self._in_lightning
            self.torch.started = self.started
            self.torch.install(module)
        except Exception as e:  # pragma: no cover
            self._warn(f"could not attach to torch: {type(e).__name__}: {e}")

    def _on_lightning(self, module) -> None:
        try:
            from ..integrations.lightning import patch_trainer
        except ImportError:
            return
        try:
            p = patch_trainer(module, self.settings, self.started)
            self.lightning_patchers.append(p)
        except Exception as e:  # pragma: no cover
            self._warn(f"could not attach to lightning: {type(e).__name__}: {e}")

    def _in_lightning(self) -> bool:
        """A Lightning fit is running: its optimizers are watched by the Lightning callback."""
        return any(p.depth > 0 for p in self.lightning_patchers)

    def _warn(self, msg: str) -> None:
        self._warnings.append(msg)

    # -- running -------------------------------------------------------------------------------------
    def run(self, target: str, argv: list[str], module: bool = False) -> RunResult:
        self._warnings: list[str] = []
        sites.clear()
        self.hooks.on_import("keras", self._on_keras)
        self.hooks.on_import("torch", self._on_torch)
        self.hooks.on_import("lightning.pytorch", self._on_lightning)
        self.hooks.on_import("pytorch_lightning", self._on_lightning)
        self.hooks.install()
        old_argv, old_path0 = sys.argv[:], sys.path[0] if sys.path else None
        script_error: BaseException | None = None
        exit_status = 0
        stopped_early = False
        try:
            if module:
                sys.argv = [target, *argv]
                sys.path.insert(0, os.getcwd())
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                path = Path(target)
                sys.argv = [str(path), *argv]
                sys.path.insert(0, str(path.resolve().parent))
                runpy.run_path(str(path), run_name="__main__")
        except SystemExit as e:
            code = e.code
            exit_status = code if isinstance(code, int) else (0 if code is None else 1)
            if exit_status != 0:
                script_error = e
        except StopTraining:
            stopped_early = True
        except KeyboardInterrupt as e:
            script_error = e
            exit_status = 130
        except BaseException as e:  # the user's script failed: report it as python would, keep the recording
            script_error = e
            exit_status = 1
            _print_user_traceback(e)
        finally:
            sys.argv = old_argv
            if module and sys.path and sys.path[0] == os.getcwd():
                sys.path.pop(0)
            elif not module and sys.path and old_path0 is not None and sys.path[0] != old_path0:
                sys.path.pop(0)
            self.hooks.uninstall()
        diagnoses = self._finish(exit_status, script_error, stopped_early)
        main = _pick_main(diagnoses)
        if main is None:
            rec = Recording(started_at=self.started)
            rec.run.update({"argv": [target, *argv], "exit_status": exit_status, "framework": None})
            for w in self._warnings:
                rec.warn(w)
            msg = ("the script ran no training trainmedic could watch (no keras Model.fit call, no PyTorch "
                   "optimizer step)") if script_error is None else (
                f"the script failed before any training: {type(script_error).__name__}: {script_error}")
            main = Diagnosis(status="error", causes=[], findings=[], recording=rec, error=msg,
                             total_s=round(time.time() - self.started, 3))
            diagnoses = [main]
        if script_error is not None:
            code = EXIT_SCRIPT_FAILED
        elif main.status == "error":
            code = EXIT_USAGE
        else:
            code = EXIT_CAUSES if _fails(main, self.settings) else EXIT_HEALTHY
            if self.settings.exit_zero:
                code = EXIT_HEALTHY
        return RunResult(code, main, diagnoses, script_error)

    def _finish(self, exit_status: int, script_error, stopped_early: bool) -> list[Diagnosis]:
        out: list[Diagnosis] = []
        sessions = []
        if self.keras is not None:
            sessions += [("keras", s) for s in self.keras.ordered]
            self.keras.uninstall()
        torch_own: set[int] = set()  # watchers of plain PyTorch loops (not Lightning's): fix trials
        if self.torch is not None:
            own = self.torch.finish()
            torch_own = {id(s) for s in own}
            sessions += [("torch", s) for s in own]
            self.torch.uninstall()
        for p in self.lightning_patchers:
            sessions += [("torch", s) for s in p.finish()]
            p.uninstall()
        for framework, s in sessions:
            rec: Recording = s.recording
            rec.run.update({"argv": list(sys.argv), "exit_status": exit_status, "framework": framework})
            if stopped_early:
                rec.run["stopped_early"] = True
            pre = (rec.experiments.get("_meta") or {}).get("preflight_s")
            if pre is not None:
                rec.run["preflight_s"] = pre
            if script_error is not None:
                rec.run["script_error"] = f"{type(script_error).__name__}: {script_error}"
            for w in self._warnings:
                rec.warn(w)
            try:
                d = judge(rec, self.settings.select, self.settings.ignore,
                          error=rec.run.get("script_error"))
                if self.settings.fix_trials and (d.causes or d.suspects) and framework == "keras":
                    d = self._trials(s, d)
                elif self.settings.fix_trials and d.causes and framework == "torch" and id(s) in torch_own:
                    d = self._torch_trials(s, d)
            except Exception as e:  # internal error: still report what was recorded
                rec.warn(f"diagnosis failed: {type(e).__name__}: {e}")
                d = Diagnosis(status="error", causes=[], findings=[], recording=rec,
                              error=f"internal error: {e}")
            out.append(d)
        return out

    def _trials(self, session, d: Diagnosis) -> Diagnosis:
        try:
            from ..experiments.trials import run_trials
        except ImportError:
            return d
        model = getattr(session, "model_strong", None)
        rec = d.recording
        if model is None or getattr(session, "sample", None) is None:
            return d
        rec._sample = session.sample
        try:
            from ..integrations.keras.patch import Internal

            with Internal():
                run_trials(model, rec, d, budget_s=self.settings.trial_budget_s)
        except Exception as e:
            rec.warn(f"fix trials failed: {type(e).__name__}: {e}")
            return d
        return judge(rec, self.settings.select, self.settings.ignore, error=rec.run.get("script_error"))


    def _torch_trials(self, watcher, d: Diagnosis) -> Diagnosis:
        """Fix trials for a plain PyTorch loop (:mod:`trainmedic.experiments.torch_trials`), then re-judge."""
        rec = d.recording
        try:
            from ..experiments.torch_trials import run_torch_trials

            run_torch_trials(watcher, rec, d, budget_s=self.settings.trial_budget_s)
        except Exception as e:
            rec.warn(f"fix trials failed: {type(e).__name__}: {e}")
            return d
        return judge(rec, self.settings.select, self.settings.ignore, error=rec.run.get("script_error"))


def _pick_main(diagnoses: list[Diagnosis]) -> Diagnosis | None:
    """The diagnosis to report: the unhealthiest one (most confident cause), else the first."""
    if not diagnoses:
        return None
    return max(diagnoses, key=lambda d: (d.status == "unhealthy", d.top.score if d.top else 0.0))


def _fails(d: Diagnosis, settings: Settings) -> bool:
    if d.status != "unhealthy":
        return False
    if not settings.fail_on:
        return True
    wanted = set(settings.fail_on)
    return any(c.id in wanted or any(code in wanted for code in c.findings) for c in d.causes)


def _print_user_traceback(e: BaseException) -> None:
    """Print the traceback as ``python script.py`` would: trainmedic's own frames removed."""
    tb = e.__traceback__
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while tb is not None and (tb.tb_frame.f_code.co_filename.startswith(here)
                              or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(e), e, tb, file=sys.stderr)
