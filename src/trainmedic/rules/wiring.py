"""Wiring rules (TM4xx): PyTorch loop bugs seen by the watcher (:mod:`trainmedic.integrations.torch.watch`).

Each rule reads one kind of event the watcher records (``grad_accumulation``, ``params_not_in_optimizer``,
``frozen``, ``no_grad``, ``eval_mode``, ``loss_input``, ``loss_broadcast``, ``no_step``) and judges it
against the run itself (steps checked, layers in the model), never a bare constant.
"""
from __future__ import annotations

from typing import Iterator

from ..facts import Location
from ..findings import Evidence, Finding
from ..recording import Recording
from .registry import rule


def _event(rec: Recording, kind: str) -> dict | None:
    return next((e for e in rec.events if e.get("kind") == kind), None)


def _locs(*items) -> list[Location]:
    """Locations from event dicts ({file, line, code}) or lists of them, without duplicates."""
    out: list[Location] = []
    for it in items:
        for d in it if isinstance(it, list) else [it]:
            if not d:
                continue
            loc = d if isinstance(d, Location) else Location(file=d["file"], line=int(d["line"]), code=d.get("code"))
            if all((loc.file, loc.line) != (o.file, o.line) for o in out):
                out.append(loc)
    return out


def _names(xs: list, n: int = 5) -> str:
    xs = [str(x) for x in xs]
    return ", ".join(xs[:n]) + (f" and {len(xs) - n} more" if len(xs) > n else "")


def _steps(rec: Recording) -> int:
    return int(rec.run.get("steps") or 0)


@rule("TM401", "gradient-accumulation", ["missing-zero-grad"], "wiring")
def gradient_accumulation(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    Gradients that accumulate across optimizer steps: when the next step's backward ran, ``p.grad`` still
    held the gradient the previous step had used, and the sum reached ``optimizer.step()``.

    Why training fails:
    PyTorch adds every backward into ``p.grad``. Without ``optimizer.zero_grad()`` each update is the sum
    of all past gradients: steps grow and keep pointing where the loss used to go down, so the loss
    oscillates or diverges.

    Evidence:
    The steps where the previous gradient was carried into the next one, out of the steps checked
    (the watcher compares fingerprints of ``p.grad`` at each step with each backward's fresh gradient);
    how much larger the gradient at the step was than that step's own gradient.

    Fix:
    Call ``optimizer.zero_grad()`` once per iteration, before ``loss.backward()``.

    Example:
    ``for xb, yb in loader: loss = loss_fn(model(xb), yb); loss.backward(); optimizer.step()`` ->
    add ``optimizer.zero_grad()`` as the first statement of the loop body.
    """
    ev = _event(rec, "grad_accumulation")
    if not ev or not ev.get("steps"):
        return
    steps, checked = int(ev["steps"]), max(int(ev.get("checked") or 0), int(ev["steps"]))
    if checked < 2 and steps < 2:
        return
    frac = steps / checked
    growth = [g for g in ev.get("growth") or [] if g is not None]
    yield Finding(
        f"Gradients accumulate across steps: at {steps} of {checked} checked steps, p.grad still held the "
        f"previous step's gradient when the next backward added to it (optimizer.zero_grad() is missing).",
        cause="missing-zero-grad", also=["exploding-gradient"] if growth and max(growth) > 10 else [],
        severity="error", confidence=min(0.97, 0.6 + 0.35 * frac),
        evidence=[Evidence("steps whose gradient included the previous step's", f"{steps} of {checked}", 0),
                  Evidence(f"|p.grad| / |this step's own gradient| ({ev.get('param')}) at the first checks",
                           growth[:6], 1.0)],
        locations=_locs(ev.get("location"), ev.get("loop")),
        fix="Call optimizer.zero_grad() at the start of every iteration, before loss.backward().")


@rule("TM402", "params-not-in-optimizer", ["frozen-parameters"], "wiring")
def params_not_in_optimizer(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    Parameters of the watched model that receive gradients but are in none of the optimizer's param groups
    (the optimizer was built from part of the model, or for another model instance).

    Why training fails:
    ``optimizer.step()`` only updates the tensors it was given. The others keep their random initial
    values although their gradients are computed every step; if the optimizer holds none of the model's
    parameters, nothing the model computes with ever changes.

    Evidence:
    The layers whose parameters have gradients but no optimizer; how many of the model's parameters the
    optimizer holds at all.

    Fix:
    Build the optimizer from ``model.parameters()`` of the model you train, after creating (or moving) it.

    Example:
    ``torch.optim.SGD(model.fc2.parameters(), lr=0.1)`` -> ``torch.optim.SGD(model.parameters(), lr=0.1)``.
    """
    ev = _event(rec, "params_not_in_optimizer")
    if not ev or not ev.get("layers"):
        return
    n, total = int(ev.get("n_values") or 0), int(ev.get("n_grad_values") or 0)
    none = int(ev.get("n_model_in_optimizer") or 0) == 0
    frac = n / total if total else 1.0
    msg = ("The optimizer holds none of the watched model's parameters: optimizer.step() updates other "
           "tensors (an optimizer built for another model instance?), so the model never changes."
           if none else
           f"Layers {_names(ev['layers'])} receive gradients but are not in the optimizer"
           + (" (replaced after the optimizer was built)" if ev.get("replaced_at") else "")
           + f": their weights ({n} of {total} values with gradients) stay at their initial values.")
    yield Finding(
        msg, cause="frozen-parameters", severity="error", confidence=0.92 if none else min(0.9, 0.7 + 0.2 * frac),
        evidence=[Evidence("layers with gradients but no optimizer", ev["layers"], "[] (all in the optimizer)"),
                  Evidence("parameter values with gradients not in the optimizer", f"{n} of {total}", 0)],
        locations=_locs(ev.get("replaced_at"), ev.get("location"), ev.get("step_location")),
        fix="Create the optimizer after the model is complete (after replacing layers), from model.parameters()."
        if ev.get("replaced_at") else
        "Create the optimizer from model.parameters() of the model being trained (after building it).")


@rule("TM403", "frozen-layers", ["frozen-parameters"], "wiring")
def frozen_layers(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    Weight layers with ``requires_grad=False`` that cannot be pretrained: every weight layer is frozen,
    or a frozen layer still holds PyTorch's own random initialisation (uniform within +-1/sqrt(fan_in)).
    Frozen layers whose weights look trained (a pretrained backbone) are only noted.

    Why training fails:
    A frozen layer is never updated. Freezing a pretrained feature extractor is a technique; freezing a
    randomly initialised layer fixes a random projection in the network, and freezing everything leaves
    nothing to learn.

    Evidence:
    The frozen weight layers, which of them still hold PyTorch's initial weights, whether the output layer
    is frozen, out of all weight layers.

    Fix:
    Remove the ``requires_grad = False`` (or load the pretrained weights before freezing).

    Example:
    ``for p in model.fc1.parameters(): p.requires_grad = False`` on a fresh model -> delete the loop.
    """
    ev = _event(rec, "frozen")
    if not ev or not ev.get("layers"):
        return
    layers, fresh = list(ev["layers"]), list(ev.get("default_init") or [])
    n_param = int(ev.get("n_parametric") or len(layers))
    locs = _locs(ev.get("locations") or [])
    if len(layers) >= n_param:
        yield Finding(f"Every weight layer is frozen (requires_grad=False on {_names(layers)}): nothing can learn.",
                      cause="frozen-parameters", severity="error", confidence=0.92,
                      evidence=[Evidence("frozen weight layers", f"{len(layers)} of {n_param}", "fewer")],
                      locations=locs, fix="Set requires_grad=True on the layers that must learn.")
        return
    if fresh:
        last = bool(ev.get("last_layer_frozen")) and layers[-1] in fresh
        yield Finding(f"Frozen layers {_names(fresh)} still hold PyTorch's random initial weights: they are a "
                      f"fixed random projection that training can never adjust.",
                      cause="frozen-parameters", severity="error", confidence=0.85 if last else 0.75,
                      evidence=[Evidence("frozen layers at their random initialisation", fresh, "[]"),
                                Evidence("frozen weight layers", f"{len(layers)} of {n_param}", None)],
                      locations=locs, fix="Remove requires_grad=False for these layers, or load pretrained "
                                          "weights into them before freezing.")
        return
    yield Finding(f"Layers {_names(layers)} are frozen (requires_grad=False); their weights do not look "
                  f"freshly initialised, so this is presumably a pretrained part kept fixed.",
                  cause="frozen-parameters", severity="info", confidence=0.3,
                  evidence=[Evidence("frozen weight layers", f"{len(layers)} of {n_param}", None)], locations=locs)


@rule("TM404", "no-gradient-reaches-layer", ["frozen-parameters"], "wiring")
def no_gradient(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    Trainable weight layers that run in the training forward pass but never receive a gradient in any
    backward (the graph is cut after them: ``.detach()``, ``.data``, ``torch.no_grad()``, a NumPy round
    trip, or their output is computed and then not used).

    Why training fails:
    No gradient means no update: the layers keep their initial weights while the rest of the network
    learns around a fixed random transformation (or nothing learns if the cut is near the output).

    Evidence:
    The layers called in the forward pass that no backward reached, out of all weight layers, and the
    number of backward passes watched; the suspicious lines in ``forward``.

    Fix:
    Keep the forward pass differentiable: remove ``.detach()`` / ``.data`` / ``no_grad`` / ``.numpy()``
    from the path between these layers and the loss, and use every computed output.

    Example:
    ``h = torch.relu(self.fc1(x)).detach()`` -> ``h = torch.relu(self.fc1(x))``.
    """
    ev = _event(rec, "no_grad")
    if not ev or not ev.get("layers"):
        return
    layers, in_opt = list(ev["layers"]), list(ev.get("in_optimizer") or [])
    n_param = int(ev.get("n_parametric") or len(layers))
    yield Finding(f"No gradient ever reached {_names(layers)} in {ev.get('backwards')} backward passes although "
                  f"they run in the forward pass: the graph is cut after them (detach/.data/no_grad) or their "
                  f"output is unused, so they never learn.",
                  cause="frozen-parameters", severity="error", confidence=0.85 if in_opt else 0.65,
                  evidence=[Evidence("weight layers called in forward that received no gradient",
                                     f"{len(layers)} of {n_param}: {_names(layers)}", "0"),
                            Evidence("backward passes watched", ev.get("backwards"), None)],
                  locations=_locs(ev.get("locations") or []),
                  fix="Remove .detach()/.data/torch.no_grad()/.numpy() between these layers and the loss.")


@rule("TM405", "eval-mode-training", ["train-eval-mismatch"], "wiring")
def eval_mode_training(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    Optimizer steps taken while the model is in eval mode (``model.training`` is False), typically a
    ``model.eval()`` before the loop or after a validation pass without ``model.train()``.

    Why training fails:
    In eval mode batch normalisation uses (and never updates) its running statistics instead of the batch
    statistics, and dropout is off: the network trained is not the one that was designed, and batch norm
    with its initial running statistics does not normalise at all.

    Evidence:
    The steps taken in eval mode out of all steps; the modules whose behaviour differs (BatchNorm, Dropout).

    Fix:
    Call ``model.train()`` before the training loop (and again after each validation pass).

    Example:
    ``model.eval()`` before ``for epoch in ...`` -> ``model.train()`` at the top of each epoch.
    """
    ev = _event(rec, "eval_mode")
    if not ev or not ev.get("steps"):
        return
    steps, total = int(ev["steps"]), max(_steps(rec), int(ev["steps"]))
    frac = steps / total
    mods = list(ev.get("modules") or [])
    has_bn = any("Norm" in m for m in mods)
    if not mods:
        severity, conf = "info", 0.2
    elif has_bn:
        severity, conf = "error", 0.55 + 0.2 * frac
    else:
        severity, conf = "warning", 0.3 + 0.15 * frac
    what = f" ({', '.join(mods)} behave differently)" if mods else " (no dropout or batch-norm: no effect)"
    yield Finding(f"The model was in eval mode at {steps} of {total} optimizer steps{what}.",
                  cause="train-eval-mismatch", severity=severity, confidence=conf,
                  evidence=[Evidence("optimizer steps with model.training == False", f"{steps} of {total}", 0),
                            Evidence("modules that act differently in eval mode", mods, None)],
                  locations=_locs(ev.get("locations") or [], ev.get("loop") or ev.get("step_location")),
                  fix="Call model.train() before the training loop and after every validation pass.")


@rule("TM406", "activation-before-loss", ["output-activation-mismatch"], "wiring")
def activation_before_loss(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    What enters the loss does not match what the loss expects: probabilities (softmax/sigmoid already
    applied) fed into ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``, which apply softmax/sigmoid
    themselves; or anything but log-probabilities (raw scores, probabilities) fed into ``NLLLoss``.

    Why training fails:
    A doubled softmax squeezes the loss into a narrow band: gradients are tiny and the network barely
    learns. ``NLLLoss`` just picks the target's input value: on raw scores the loss is unbounded below
    and the outputs run away; on probabilities the gradient is weak.

    Evidence:
    The loss's input measured at the loss call on the watched steps: probabilities (rows in [0, 1] that
    sum to 1) or values in (0, 1) on every check, or values that are not log-probabilities.

    Fix:
    Return raw logits from the model and let the loss apply the activation (apply softmax/sigmoid only
    for predictions); for ``NLLLoss``, end the model with ``log_softmax``.

    Example:
    ``nn.Sequential(..., nn.Linear(64, 10), nn.Softmax(dim=1))`` + ``nn.CrossEntropyLoss()`` -> drop
    ``nn.Softmax``.
    """
    ev = _event(rec, "loss_input")
    if not ev or not ev.get("matching"):
        return
    checked, matching = int(ev.get("checked") or 0), int(ev["matching"])
    applies, observed, loss = ev.get("applies"), ev.get("observed"), ev.get("loss")
    out_act = ev.get("output_activation")
    rng = f"[{ev.get('min', float('nan')):.3g}, {ev.get('max', float('nan')):.3g}]"
    locs = _locs(ev.get("source"), ev.get("location"))
    if applies == "softmax":
        if observed != "probabilities":
            return
        yield Finding(f"{loss} applies softmax itself but its input is already probabilities (rows sum to 1) on "
                      f"{matching} of {checked} checked steps: softmax is applied twice.",
                      cause="output-activation-mismatch", severity="error", confidence=0.92,
                      evidence=[Evidence("input of the loss (values, row sums)", f"{rng}, rows sum to "
                                         f"{ev.get('row_sum', 1.0):.4g}", "raw logits (unbounded)"),
                                Evidence("checks with probabilities as input", f"{matching} of {checked}", 0)],
                      locations=locs, fix="Remove the softmax: return logits and let CrossEntropyLoss apply it.")
        return
    if applies == "sigmoid":
        module_act = out_act == "sigmoid"
        if not module_act and (matching < checked or checked < 4):
            return  # raw logits can sit in (0, 1) for a few early steps; need every check, over the run
        yield Finding(f"{loss} applies sigmoid itself but its input lies in (0, 1) on {matching} of {checked} "
                      f"checked steps{' and the model ends in a sigmoid' if module_act else ''}: sigmoid is "
                      f"applied twice.",
                      cause="output-activation-mismatch", severity="error", confidence=0.88 if module_act else 0.7,
                      evidence=[Evidence("input of the loss", rng, "raw logits (any real value)"),
                                Evidence("checks with values in (0, 1)", f"{matching} of {checked}", 0)],
                      locations=locs, fix="Remove the sigmoid before BCEWithLogitsLoss (or use BCELoss).")
        return
    if loss == "nll" and matching * 2 >= checked:
        what = {"probabilities": "probabilities (softmax without log)", "unit_interval": "values in (0, 1)",
                "real": "raw scores"}.get(observed, observed)
        yield Finding(f"NLLLoss expects log-probabilities but receives {what} on {matching} of {checked} checked "
                      f"steps.", cause="output-activation-mismatch", severity="error",
                      confidence=0.85,
                      evidence=[Evidence("input of NLLLoss", f"{what} in {rng}", "log-probabilities (<= 0, "
                                                                                  "logsumexp of each row = 0)")],
                      locations=locs, fix="End the model with log_softmax(dim=1), or use CrossEntropyLoss on "
                                          "raw logits.")


@rule("TM407", "loss-shape-broadcast", ["loss-mismatch"], "wiring")
def loss_shape_broadcast(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    An element-wise loss (``MSELoss``, ``L1Loss``, ...) called with input and target shapes that broadcast
    to a larger shape, typically output ``(N, 1)`` against target ``(N,)``.

    Why training fails:
    Broadcasting compares every prediction with every target (an ``(N, N)`` matrix): the minimum of that
    loss is predicting the batch mean for every sample, so the model learns nothing per sample.

    Evidence:
    The input, target and broadcast shapes measured at the loss call.

    Fix:
    Give prediction and target the same shape: ``loss_fn(out.squeeze(1), y)`` or ``y.view(-1, 1)``.

    Example:
    ``nn.MSELoss()(model(x), y)`` with ``model(x)`` of shape ``(32, 1)`` and ``y`` of shape ``(32,)`` ->
    ``nn.MSELoss()(model(x).squeeze(1), y)``.
    """
    ev = _event(rec, "loss_broadcast")
    if not ev:
        return
    ins, tgt, res = ev.get("input_shape"), ev.get("target_shape"), ev.get("result_shape")
    yield Finding(f"The {ev.get('loss')} loss broadcasts its input {ins} against the target "
                  f"{tgt if tgt is not None else ''} to {res}: every prediction is compared with every target.",
                  cause="loss-mismatch", also=["output-units-mismatch"], severity="error", confidence=0.9,
                  evidence=[Evidence("loss input shape vs target shape", f"{ins} vs {tgt if tgt else 'broadcast'}",
                                     "equal shapes"),
                            Evidence("shape the loss was computed over", res, ins)],
                  locations=_locs(ev.get("location")),
                  fix="Make the prediction and the target the same shape (out.squeeze(1) or y.view(-1, 1)).")


@rule("TM408", "optimizer-never-steps", ["frozen-parameters"], "wiring")
def optimizer_never_steps(rec: Recording) -> Iterator[Finding]:
    """
    What it detects:
    ``loss.backward()`` runs but no update reaches the weights: ``optimizer.step()`` is never called, or
    every step finds the gradients already cleared (``zero_grad()`` between ``backward()`` and ``step()``).

    Why training fails:
    Gradients are computed and thrown away; the weights never move and the loss stays where it started.

    Evidence:
    The backward passes and optimizer steps watched; the steps that found no gradient.

    Fix:
    Per iteration: ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()``, in that order.

    Example:
    ``loss.backward(); optimizer.zero_grad(); optimizer.step()`` -> ``optimizer.zero_grad();
    loss.backward(); optimizer.step()``.
    """
    ev = _event(rec, "no_step")
    if not ev:
        return
    backwards, steps = int(ev.get("backwards") or 0), int(ev.get("optimizer_steps") or 0)
    if ev.get("reason") == "never":
        if backwards < 2:
            return
        yield Finding(f"loss.backward() ran {backwards} times but optimizer.step() never ran: the weights never "
                      f"change.", cause="frozen-parameters", severity="error", confidence=0.92,
                      evidence=[Evidence("optimizer steps", 0, f"about {backwards} (one per backward)")],
                      locations=_locs(ev.get("location")), fix="Call optimizer.step() after loss.backward().")
        return
    empty = int(ev.get("steps") or 0)
    checked = int(ev.get("checked") or steps)  # the watcher looks at the gradients on its probe steps
    if checked and empty * 2 >= checked:
        yield Finding(f"{empty} of {checked} checked optimizer steps found every gradient cleared: zero_grad() runs "
                      f"between backward() and step(), so no update is applied.",
                      cause="frozen-parameters", severity="error", confidence=min(0.92, 0.6 + 0.3 * empty / checked),
                      evidence=[Evidence("optimizer steps with no gradient after a backward", f"{empty} of {checked}",
                                         0)],
                      locations=_locs(ev.get("location")),
                      fix="Call optimizer.zero_grad() before loss.backward(), not between backward() and step().")
