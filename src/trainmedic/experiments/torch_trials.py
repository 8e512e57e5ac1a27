"""Fix trials for PyTorch loops: prove a fix on a copy of the user's model, trained briefly on their data.

A plain PyTorch loop is the user's code: trainmedic cannot rerun it. What it can do safely from outside is
rebuild the loop's essentials (the model, an optimizer of the same class with the same hyper-parameters, the
loss applied to the model output, the sample of training batches the watcher saw) and change *one* thing:

* ``missing-zero-grad``: ``optimizer.zero_grad()`` every step;
* ``lr-too-high`` / ``lr-too-low`` (and ``dying-relu``, ``exploding-gradient``, ``numerical-instability``
  downwards): a tenth / ten times the rate, or the usual rate of the optimizer family;
* ``unnormalized-input``: inputs standardised with the sample's per-feature (per-channel) mean and std;
* ``frozen-parameters``: every parameter trainable and in the optimizer, ``optimizer.step()`` called,
  train mode: whichever of these the watcher saw missing;
* ``train-eval-mismatch``: train mode while training;
* ``over-regularization``: dropout ``p`` at most 0.2 (then weight decay at most 1e-4);
* ``output-activation-mismatch`` / ``loss-mismatch``: a loss swap matching what entered the loss
  (probabilities into ``CrossEntropyLoss`` -> ``NLLLoss`` on their log; sigmoid output into
  ``BCEWithLogitsLoss`` -> ``BCELoss``; logits into ``NLLLoss`` -> ``CrossEntropyLoss``), or for a loss
  whose input and target broadcast (``loss_broadcast``) the target reshaped to the output's shape.

Every other cause (a ``.detach()`` in ``forward``, a wrong output layer ...) needs a code change: no trial,
the fix stays a suggestion (not verified), the reason in ``recording.experiments["trials"]["skipped"]``.

The *original* arm reproduces what the watcher observed in the user's loop: gradients never cleared
(``grad_accumulation``), no step (``no_step``), eval mode (``eval_mode``), only the optimizer's parameters
(``params_not_in_optimizer``), frozen layers, the user's loss module applied to the output and target as the
loop gave them (a ``(N, 1)`` vs ``(N,)`` broadcast reproduces itself). Every arm starts from the model's
weights before training, runs the same steps on the same batches (a private generator, fixed seed) and is
scored on the held-out quarter of the sample with :func:`trainmedic.experiments.trials.verdict` (balanced
accuracy vs chance and the original, or MSE), exactly as Keras trials are.

The user's model, optimizer and RNG streams are never touched (copies; :func:`~trainmedic._rng.preserve_rng`);
an error becomes ``recording.warn(...)``.
"""
from __future__ import annotations

import copy
import math
import statistics
import time
import warnings
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .._rng import preserve_rng
from ..findings import Trial
from ..recording import Recording
from ..rules import _facts as F
from ..rules.static import LR_RANGES
from .preflight import _n
from .trials import MIN_SAMPLES, TrialData, _r, score_outputs, split_sample, try_candidates

DEFAULT_STEPS = 200
DEFAULT_BATCH = 32

LR_DOWN = {"lr-too-high", "dying-relu", "exploding-gradient", "numerical-instability"}


@dataclass(frozen=True)
class Arm:
    """One trial set-up: the original loop as observed, or the original with one change."""

    zero_grad: bool = True
    step: bool = True
    train_mode: bool = True
    all_params: bool = False  # every model parameter trainable and in the optimizer
    lr_factor: float = 1.0
    weight_decay_max: float | None = None
    standardise: bool = False
    dropout_max: float | None = None
    loss: str = "user"  # user | nll_log | bce | cross_entropy
    reshape_target: bool = False


@dataclass
class Candidate:
    cause: str
    kind: str
    text: str
    arm: Arm
    note: str = ""


class _Skip(Exception):
    """The loop cannot be reproduced: no trial for any cause."""


# ---------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------
def run_torch_trials(watcher, rec: Recording, diagnosis, budget_s: float = 60.0, *, steps: int = DEFAULT_STEPS,
                     batch_size: int = DEFAULT_BATCH, seed: int = 0, max_candidates: int = 3) -> None:
    """Try the outside-the-loop fixes of every cause in ``diagnosis`` on copies; one :class:`Trial` per cause.

    ``watcher`` is the closed :class:`~trainmedic.integrations.torch.watch.Watcher` of the loop (its model,
    optimizer, ``sample``, loss and observed defects are only read).
    """
    causes = [c.id for c in (getattr(diagnosis, "causes", None) or [])]
    if not causes:
        return
    from ..integrations.torch.watch import _INTERNAL

    start = time.perf_counter()
    _INTERNAL[0] += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with preserve_rng():
                _run(watcher, rec, causes, start, budget_s, steps, batch_size, seed, max_candidates)
    except _Skip as e:
        rec.warn(f"fix trials skipped: {e}")
    except Exception as e:  # never a crash of the user's program
        msg = str(e).splitlines()[0][:200] if str(e) else ""
        rec.warn(f"fix trials failed: {type(e).__name__}: {msg}")
    finally:
        _INTERNAL[0] -= 1
        meta = rec.experiments.get("trials")
        if isinstance(meta, dict):
            meta["seconds"] = round(time.perf_counter() - start, 3)


class Loop:
    """What the trials rebuild of the user's loop, read from the watcher."""

    def __init__(self, watcher, rec: Recording):
        import torch

        self.torch = torch
        self.model = watcher.model
        self.optimizer = watcher.optimizer
        self.rec = rec
        self.events = {e.get("kind"): e for e in rec.events if isinstance(e, dict)}
        if watcher.sample is None:
            raise _Skip("no training sample (inputs and targets) was seen")
        if not watcher.single_input:
            raise _Skip("the model's forward takes more than one tensor")
        if watcher.init_state is None:
            raise _Skip("the model's weights before training were not kept (model too large, or kept off)")
        link = watcher.loss_link or {}
        if watcher.loss_module is None and watcher.loss_functional not in _FUNCTIONAL:
            raise _Skip("no loss module (nn.*Loss) or known functional loss applied to the model output")
        if link.get("link") not in ("identity", "view"):
            raise _Skip("the loss is computed from a transformation of the model output that trials cannot "
                        "reproduce")
        if link.get("link") == "view" and not link.get("input_shape"):
            raise _Skip("the model output is reshaped before the loss in a way trials cannot reproduce")
        self.loss_module = watcher.loss_module
        self.loss_name = F.loss_name(rec) or watcher.loss_functional
        self.loss_functional = watcher.loss_functional if watcher.loss_module is None else None
        self.input_shape = link.get("input_shape") if link.get("link") == "view" else None
        self.init_state = watcher.init_state
        self.conv_first = bool(getattr(watcher, "_conv_first", False))
        params = list(self.model.parameters())
        self.device = params[0].device if params else torch.device("cpu")
        self.dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
        x, y = watcher.sample
        n = min(len(x), len(y))
        self.x, self.y = x[:n], y[:n]
        self.opt_name = type(self.optimizer).__name__
        g0 = self.optimizer.param_groups[0] if self.optimizer.param_groups else {}
        self.lr = float(g0.get("initial_lr", g0.get("lr", 0.0)) or 0.0)

    def has(self, kind: str) -> bool:
        return kind in self.events

    def original(self) -> Arm:
        return Arm(zero_grad=not self.has("grad_accumulation"), step=not self.has("no_step"),
                   train_mode=not self.has("eval_mode"))

    # -- building one arm ----------------------------------------------------------------------------
    def build(self, arm: Arm, seed: int):
        torch = self.torch
        torch.random.default_generator.manual_seed(seed)  # dropout; restored by preserve_rng
        if self.device.type == "cuda":
            torch.cuda.manual_seed(seed)  # initialised already (the model is there): restored too
        model = copy.deepcopy(self.model)
        model.load_state_dict(self.init_state)
        for p in model.parameters():
            p.grad = None
        if arm.dropout_max is not None:
            for m in model.modules():
                if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > arm.dropout_max:
                    m.p = arm.dropout_max
        user_params = list(self.model.parameters())
        copies = list(model.parameters())
        index = {id(p): i for i, p in enumerate(user_params)}
        groups, used = [], set()
        for g in self.optimizer.param_groups:
            ps = [copies[index[id(p)]] for p in g["params"] if id(p) in index]
            if not ps:
                continue
            used.update(id(p) for p in ps)
            hyper = {k: v for k, v in g.items() if k != "params"}
            if "initial_lr" in hyper:
                hyper["lr"] = hyper["initial_lr"]
            if "lr" in hyper and arm.lr_factor != 1.0:
                hyper["lr"] = float(hyper["lr"]) * arm.lr_factor
            if arm.weight_decay_max is not None and isinstance(hyper.get("weight_decay"), (int, float)):
                hyper["weight_decay"] = min(hyper["weight_decay"], arm.weight_decay_max)
            groups.append({"params": ps, **hyper})
        if not groups:
            raise _Skip("the optimizer holds none of the model's parameters")
        if arm.all_params:
            for p in copies:
                p.requires_grad_(True)
            rest = [p for p in copies if id(p) not in used]
            if rest:
                groups[0]["params"] = groups[0]["params"] + rest
        cls = type(self.optimizer)
        try:
            opt = cls(groups, **self.optimizer.defaults)
        except TypeError:
            opt = cls(groups)
        return model, opt

    def loss_fn(self, arm: Arm) -> Callable:
        torch = self.torch
        nnf = torch.nn.functional
        if arm.loss == "nll_log":
            kw = _copy_attrs(self.loss_module, ("weight", "ignore_index", "reduction"))
            return lambda out, y: nnf.nll_loss(torch.log(out.clamp_min(1e-12)), y, **kw)
        if arm.loss == "bce":
            kw = _copy_attrs(self.loss_module, ("weight", "reduction"))
            return lambda out, y: nnf.binary_cross_entropy(out.clamp(0.0, 1.0), y.to(out.dtype), **kw)
        if arm.loss == "cross_entropy":
            kw = _copy_attrs(self.loss_module, ("weight", "ignore_index", "reduction"))
            return lambda out, y: nnf.cross_entropy(out, y, **kw)
        if self.loss_module is not None:
            return copy.deepcopy(self.loss_module)
        return _FUNCTIONAL[self.loss_functional](nnf)

    def tensors(self, x: np.ndarray, y: np.ndarray, arm: Arm, stats) -> tuple:
        torch = self.torch
        xt = torch.as_tensor(np.ascontiguousarray(x))
        if xt.is_floating_point():
            if arm.standardise and stats is not None:
                mean, std = stats
                xt = (xt - torch.as_tensor(mean, dtype=xt.dtype)) / torch.as_tensor(std, dtype=xt.dtype)
            xt = xt.to(self.dtype)
        yt = torch.as_tensor(np.ascontiguousarray(y))
        return xt, yt

    def input_stats(self, x: np.ndarray):
        """Per-feature (per-channel for channels-first images) mean and std of the training part."""
        if not np.issubdtype(np.asarray(x).dtype, np.floating):
            return None
        a = np.asarray(x, dtype=np.float64)
        if a.ndim >= 3 and self.conv_first:
            axes = tuple(i for i in range(a.ndim) if i != 1)
        else:
            axes = tuple(range(a.ndim - 1)) if a.ndim >= 2 else (0,)
        mean = a.mean(axis=axes, keepdims=True)[0:1]
        std = a.std(axis=axes, keepdims=True)[0:1]
        std = np.where(std > 1e-8, std, 1.0)
        return mean[0].astype(np.float32), std[0].astype(np.float32)

    def forward(self, model, xb, yb, arm: Arm):
        """The model output as the loss received it in the user's loop (reshaped the same way)."""
        from ..integrations.torch.watch import _first_tensor

        out = _first_tensor(model(xb))
        if self.input_shape is not None and len(self.input_shape) >= 1:
            shape = [out.shape[0]] + list(self.input_shape[1:])
            if int(np.prod(shape)) == out.numel():
                out = out.reshape(shape)
        if arm.reshape_target and yb.numel() == out.numel():
            yb = yb.reshape(out.shape)
        return out, yb

    # -- training and scoring --------------------------------------------------------------------------
    def train_and_score(self, arm: Arm, data: TrialData, steps: int, bs: int, seed: int) -> dict:
        torch = self.torch
        t0 = time.perf_counter()
        stats = self.input_stats(data.x_train) if arm.standardise else None
        x_tr, y_tr = self.tensors(data.x_train, data.y_train, arm, stats)
        x_ho, y_ho = self.tensors(data.x_held, data.y_held, arm, stats)
        model, opt = self.build(arm, seed)
        loss_fn = self.loss_fn(arm)
        gen = torch.Generator().manual_seed(seed)
        n = len(x_tr)
        bs = min(bs, n)
        order = torch.randperm(n, generator=gen)
        pos = 0
        losses: list[float] = []
        model.train(arm.train_mode)
        opt.zero_grad(set_to_none=True)
        for _ in range(steps):
            if pos + bs > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos:pos + bs]
            pos += bs
            xb, yb = x_tr[idx].to(self.device), y_tr[idx].to(self.device)
            if arm.zero_grad:
                opt.zero_grad(set_to_none=True)
            out, yb = self.forward(model, xb, yb, arm)
            loss = loss_fn(out, yb)
            if loss.dim() > 0:
                loss = loss.mean()
            if loss.requires_grad:
                loss.backward()
            if arm.step:
                opt.step()
            v = float(loss.detach())
            losses.append(v)
            if not math.isfinite(v) and len(losses) > 1 and not math.isfinite(losses[-2]):
                break  # diverged: the rest would be NaN as well
        model.eval()
        with torch.no_grad():
            preds, held = [], []
            for i in range(0, len(x_ho), 256):
                xb, yb = x_ho[i:i + 256].to(self.device), y_ho[i:i + 256].to(self.device)
                out, yb2 = self.forward(model, xb, yb, arm)
                preds.append(out.float().cpu().numpy())
                try:
                    held.append(float(loss_fn(out, yb2).float().mean()))
                except Exception:
                    pass
        pred = np.concatenate(preds)
        result = self.score(pred, data, arm)
        finite = [l for l in losses if math.isfinite(l)]
        result.update({
            "steps": len(losses), "batch_size": bs,
            "loss": [_r(l) for l in losses[:: max(1, len(losses) // 50)]],
            "loss_first": _r(losses[0]) if losses else None,
            "loss_last": _r(float(np.mean(losses[-10:]))) if finite else None,
            "nonfinite_step": next((i for i, l in enumerate(losses) if not math.isfinite(l)), None),
            "heldout_loss": _r(float(np.mean(held))) if held else None,
            "seconds": round(time.perf_counter() - t0, 3),
        })
        result["final_metric"] = result.get(data.metric)
        return result

    def score(self, pred: np.ndarray, data: TrialData, arm: Arm) -> dict:
        return score_outputs(pred, data.y_held, data, self.threshold(arm))

    def threshold(self, arm: Arm) -> float:
        """Decision threshold of a single output, read as the arm's loss defines it (as Keras trials do): 0
        when the loss applies the sigmoid itself (the output is a logit), else 0.5."""
        if arm.loss in ("bce", "nll_log", "cross_entropy"):
            return 0.5
        applies = self.rec.facts.loss.applies if self.rec.facts.loss else None
        return 0.0 if applies == "sigmoid" else 0.5


def _copy_attrs(module, names) -> dict:
    out = {}
    for k in names:
        v = getattr(module, k, None) if module is not None else None
        if v is not None:
            out[k] = v
    return out


_FUNCTIONAL: dict[str, Callable] = {
    "cross_entropy": lambda nnf: nnf.cross_entropy, "nll": lambda nnf: nnf.nll_loss,
    "mse": lambda nnf: nnf.mse_loss, "l1": lambda nnf: nnf.l1_loss, "bce": lambda nnf: nnf.binary_cross_entropy,
    "bce_with_logits": lambda nnf: nnf.binary_cross_entropy_with_logits,
    "smooth_l1": lambda nnf: nnf.smooth_l1_loss, "huber": lambda nnf: nnf.huber_loss,
}


# ---------------------------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------------------------
def _loc(ev: dict | None, key: str = "location") -> dict | None:
    loc = (ev or {}).get(key)
    return loc if isinstance(loc, dict) and loc.get("file") and loc.get("line") else None


def _diff(loc: dict | None, new: list[str], keep_old: bool = True, old: str | None = None) -> str:
    """``@@ file:line @@`` / ``- old`` / ``+ new`` for the user's line (or lines added before it)."""
    if loc is None:
        return ""
    code = old if old is not None else (loc.get("code") or "")
    lines = [f"@@ {loc['file']}:{loc['line']} @@"]
    if keep_old:
        lines += [f"+ {n}" for n in new] + ([f"  {code}"] if code else [])
    else:
        lines += ([f"- {code}"] if code else []) + [f"+ {n}" for n in new]
    return "\n".join(lines)


def _lr_values(loop: Loop, direction: str) -> list[tuple[float, str]]:
    """Rates to try, most likely first: far outside the optimizer family's usual range, its usual rates
    (a tenth of the top of the range, e.g. 1e-3 for Adam, 0.1 for SGD; the range's geometric middle), else a
    tenth (ten times) the user's rate first. Only rates at least 2x away from the user's in ``direction``."""
    user = loop.lr
    if not user or user <= 0:
        return []
    name = loop.rec.facts.optimizer.name if loop.rec.facts.optimizer else loop.opt_name.lower()
    step = (user / 10, "a tenth of the rate") if direction == "down" else (user * 10, "ten times the rate")
    cands = [step]
    if name in LR_RANGES:
        _, low, high, _ = LR_RANGES[name]
        usual = [(high / 10, f"a usual rate for {name}"), (math.sqrt(low * high), f"a usual rate for {name}")]
        if direction == "up":
            usual.reverse()
        far = user > high if direction == "down" else user < low
        cands = usual + [step] if far else [step] + usual
    out: list[tuple[float, str]] = []
    for v, src in cands:
        v = float(f"{v:.2g}")
        if direction == "down" and v >= user / 2 or direction == "up" and v <= user * 2:
            continue
        if all(abs(math.log10(v / o)) > 0.2 for o, _ in out):
            out.append((v, src))
    return out


def _lr_candidates(loop: Loop, cause: str, base: Arm, direction: str) -> list[Candidate]:
    ev_loc = loop.rec.facts.optimizer.location if loop.rec.facts.optimizer else None
    loc = {"file": ev_loc.file, "line": ev_loc.line, "code": ev_loc.code} if ev_loc and ev_loc.line else None
    out = []
    for v, src in _lr_values(loop, direction):
        note = ""
        if loc and loc.get("code"):
            import re

            new = re.sub(r"\blr\s*=\s*[^,)]+", f"lr={v:g}", loc["code"], count=1)
            if new != loc["code"]:
                note = _diff(loc, [new], keep_old=False)
        out.append(Candidate(cause, "lr", f"learning rate {v:g} (was {loop.lr:g}), {src}",
                             replace(base, lr_factor=v / loop.lr), note))
    return out


def candidates(loop: Loop, cause: str, base: Arm) -> tuple[list[Candidate], str | None]:
    """(candidates, reason when there is none) for one cause; each changes one thing vs ``base``."""
    torch = loop.torch
    ev = loop.events
    if cause == "missing-zero-grad":
        if base.zero_grad:
            return [], "no gradient accumulation was observed to remove"
        e = ev.get("grad_accumulation")
        note = _diff(_loc(e), ["optimizer.zero_grad()"])
        return [Candidate(cause, "zero-grad", "optimizer.zero_grad() before every backward",
                          replace(base, zero_grad=True), note)], None
    if cause in ("lr-too-high", "lr-too-low") or cause in LR_DOWN:
        c = _lr_candidates(loop, cause, base, "up" if cause == "lr-too-low" else "down")
        return c, None if c else "no learning rate to change"
    if cause == "unnormalized-input":
        if not np.issubdtype(np.asarray(loop.x).dtype, np.floating):
            return [], "the inputs are not floating-point features"
        return [Candidate(cause, "input-scale", "inputs standardised with the training sample's "
                          + ("per-channel" if loop.conv_first and np.asarray(loop.x).ndim >= 3 else "per-feature")
                          + " mean and std", replace(base, standardise=True))], None
    if cause == "frozen-parameters":
        parts, arm = [], base
        if "frozen" in ev or "params_not_in_optimizer" in ev:
            arm = replace(arm, all_params=True)
            if "frozen" in ev:
                parts.append("requires_grad=True for " + ", ".join(ev["frozen"].get("layers", [])[:4]))
            if "params_not_in_optimizer" in ev:
                parts.append("every model parameter in the optimizer (model.parameters())")
        if "no_step" in ev and not arm.step:
            arm = replace(arm, step=True)
            parts.append("optimizer.step() after backward")
        if "eval_mode" in ev and not arm.train_mode:
            arm = replace(arm, train_mode=True)
            parts.append("model.train() while training")
        if not parts:
            reason = "gradients do not reach some layers inside forward"
            if "no_grad" in ev:
                locs = [l for l in ev["no_grad"].get("locations", []) if l]
                if locs:
                    reason += f" ({locs[0].get('code') or ''} at {locs[0]['file']}:{locs[0]['line']})"
            return [], reason + ": that needs a code change, not tried"
        note = ""
        if "no_step" in ev:
            note = _diff(_loc(ev["no_step"]), ["optimizer.step()"], keep_old=True)
        return [Candidate(cause, "unfreeze", "; ".join(parts), arm, note)], None
    if cause == "train-eval-mismatch":
        if base.train_mode:
            return [], "the model was not seen in eval mode while training"
        return [Candidate(cause, "train-mode", "model.train() before the training steps",
                          replace(base, train_mode=True))], None
    if cause == "over-regularization":
        out = []
        drops = [m.p for m in loop.model.modules()
                 if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0.2]
        if drops:
            out.append(Candidate(cause, "regularization", f"dropout 0.2 (was {', '.join(f'{p:g}' for p in drops[:4])})",
                                 replace(base, dropout_max=0.2)))
        wds = [g.get("weight_decay") for g in loop.optimizer.param_groups]
        wds = [w for w in wds if isinstance(w, (int, float)) and w > 1e-3]
        if wds:
            out.append(Candidate(cause, "regularization", f"weight decay 1e-4 (was {max(wds):g})",
                                 replace(base, weight_decay_max=1e-4)))
        return out, None if out else "no dropout above 0.2 or weight decay above 1e-3 to lower"
    if cause in ("output-activation-mismatch", "loss-mismatch"):
        out = []
        if cause == "loss-mismatch" and "loss_broadcast" in ev:
            out.append(Candidate(cause, "loss", "target reshaped to the output's shape (no broadcasting in the "
                                 "loss)", replace(base, reshape_target=True),
                                 _broadcast_note(ev["loss_broadcast"])))
        li = ev.get("loss_input")
        if li and loop.loss_module is not None:
            swap = _loss_swap(loop, li)
            if swap is not None:
                out.append(Candidate(cause, "loss", swap[1], replace(base, loss=swap[0])))
        if cause == "output-activation-mismatch" and not out and "loss_broadcast" in ev:
            out.append(Candidate(cause, "loss", "target reshaped to the output's shape (no broadcasting in the "
                                 "loss)", replace(base, reshape_target=True),
                                 _broadcast_note(ev["loss_broadcast"])))
        return out, None if out else "no loss swap matches what was observed entering the loss"
    return [], "no safe change from outside the training loop: a code change, not tried"


def _loss_swap(loop: Loop, li: dict) -> tuple[str, str] | None:
    name, observed = li.get("loss"), li.get("observed")
    if name == "cross_entropy" and observed == "probabilities":
        return "nll_log", "NLLLoss on log(probabilities) instead of CrossEntropyLoss on probabilities"
    if name == "bce_with_logits" and observed in ("probabilities", "unit_interval"):
        return "bce", "BCELoss instead of BCEWithLogitsLoss on sigmoid outputs"
    if name == "nll" and observed == "real":
        return "cross_entropy", "CrossEntropyLoss instead of NLLLoss on raw scores"
    return None


def _broadcast_note(ev: dict) -> str:
    loc = _loc(ev)
    if loc is None or not loc.get("code"):
        return ""
    return f"@@ {loc['file']}:{loc['line']} @@\n  {loc['code']}\n# reshape the target to the output's shape " \
           f"{ev.get('input_shape')} (e.g. target.view_as(output)) or squeeze the output"


# ---------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------
def _run(watcher, rec: Recording, causes: list[str], start: float, budget_s: float, steps: int,
         batch_size: int, seed: int, max_candidates: int) -> None:
    loop = Loop(watcher, rec)
    label = F.label(rec)
    data = split_sample(loop.x, loop.y, label, seed=seed)
    if data is None:
        raise _Skip(f"the sample is too small or its labels unusable (need >= {MIN_SAMPLES} samples with at "
                    "least two classes, or finite regression targets)")
    bs = min(batch_size, _n(data.x_train))
    meta: dict = {"steps": steps, "batch_size": bs, "train_samples": _n(data.x_train),
                  "heldout_samples": _n(data.x_held), "metric": data.metric, "chance": data.chance,
                  "mean_mse": data.mean_mse, "seed": seed, "per_cause_s": {}, "skipped": {},
                  "framework": "torch"}
    rec.experiments["trials"] = meta
    times: list[float] = []
    base = loop.original()
    results_cache: dict[Arm, dict] = {}

    def left() -> float:
        return budget_s - (time.perf_counter() - start)

    def run_arm(arm: Arm) -> dict:
        if arm not in results_cache:
            results_cache[arm] = loop.train_and_score(arm, data, steps, bs, seed)
            times.append(results_cache[arm]["seconds"])
        return results_cache[arm]

    plans = []
    for cause in causes:
        cands, reason = candidates(loop, cause, base)
        cands = [c for c in cands if c.arm != base][:max_candidates]
        if not cands:
            meta["skipped"][cause] = reason or "no candidate fix for this cause"
        else:
            plans.append((cause, cands))
    if not plans:
        return
    try:
        before = run_arm(base)
    except Exception as e:  # the loop as rebuilt does not even run: nothing can be compared
        msg = str(e).splitlines()[0][:160] if str(e) else ""
        for cause, _ in plans:
            meta["skipped"][cause] = f"the training loop could not be reproduced ({type(e).__name__}: {msg})"
        rec.warn(f"fix trials skipped: the training loop could not be reproduced ({type(e).__name__}: {msg})")
        return
    for i, (cause, cands) in enumerate(plans):
        est = statistics.median(times) if times else 3.0
        if left() < est:
            meta["skipped"][cause] = f"time budget ({budget_s:g} s) used up"
            continue
        share = left() / max(1, len(plans) - i)
        try_candidates(rec, meta, data, cause, cands, share, left, times,
                       lambda cand: (before, dict(run_arm(cand.arm))), lambda cand: cand.note)

__all__ = ["run_torch_trials"]
