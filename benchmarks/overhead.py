"""Overhead of trainmedic's training monitors at their default settings.

Keras (TensorFlow backend), a small CNN, ``trainmedic.keras.Monitor(probe=...)`` at its defaults:

* step time (steady state): two identical seeded models, one fitted with the Monitor and one without, are
  trained one epoch at a time, alternating (with/without, then without/with), in one process; the Monitor
  instance stays attached across the epochs like in one long run. Ratio per pair of epochs, median over
  the pairs. This is what a long training run pays per step: the batch hooks and the budgeted probes.
* whole run: fresh seeded models, one ``fit`` each (training function traced before the clock starts),
  with/without alternating. This adds the one-off costs (set-up, the first probe and the first eager call
  of the model), which weigh more the shorter the run.

PyTorch: a small CNN in a plain loop with and without ``trainmedic.torch.watch`` at its defaults: the steady
state like Keras's but alternating blocks of 8 steps instead of epochs (two seeded models, the watched one
under one ``watch()`` throughout; with its control): the median ratio per block pair is what a typical step
pays, the ratio of total times includes the budgeted probes. Whole runs alternate too (one-off costs and the
early log-spaced probes included).

Wall-time ratios on a machine shared with other work are noisy; the steady state also reports the ratio
of process CPU time, which other processes disturb much less.

    python benchmarks/overhead.py [--pairs 40] [--runs 3] [--epochs 8] [--samples 2048] [--only keras|torch]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCH = 32


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 1, (n, 16, 16, 1)).astype("float32")
    for c in range(4):  # a class-dependent bright quadrant: learnable
        r, q = divmod(c, 2)
        x[y == c, r * 8:(r + 1) * 8, q * 8:(q + 1) * 8, 0] += 1.0
    return x, y


def keras_cnn(x, y):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((16, 16, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)  # trace the train function
    return model


def keras_steady(x, y, pairs: int, control: bool = False) -> dict:
    """Alternating epochs of two identical models, the second with a Monitor (``control``: without, to
    show the noise floor of the measurement)."""
    from trainmedic.keras import Monitor

    plain, watched = keras_cnn(x, y), keras_cnn(x, y)
    monitor = Monitor(probe=(x[:128], y[:128]))
    steps = int(np.ceil(len(x) / BATCH))
    callbacks = [] if control else [monitor]

    def epoch(model, callbacks):
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)
        return (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps

    epoch(plain, []), epoch(watched, callbacks)  # the Monitor's set-up and first probe: see whole runs
    ratios, cpu_ratios, on, off = [], [], [], []
    for i in range(pairs):
        if i % 2 == 0:
            t_off, t_on = epoch(plain, []), epoch(watched, callbacks)
        else:
            t_on, t_off = epoch(watched, callbacks), epoch(plain, [])
        ratios.append(t_on[0] / t_off[0])
        cpu_ratios.append(t_on[1] / t_off[1])
        on.append(t_on[0])
        off.append(t_off[0])
    n_probes = len(next((s for k, s in monitor.recording.signals.items() if k.startswith("weight_norm/")), []))
    return {"ratio": statistics.median(ratios), "cpu_ratio": statistics.median(cpu_ratios),
            "ms_off": 1e3 * statistics.median(off), "ms_on": 1e3 * statistics.median(on),
            "steps": steps * pairs, "probes": n_probes, "monitor_s": monitor.probe_seconds}


def hook_cost(x, y, n: int = 20000) -> float:
    """Microseconds per step that the Monitor's two batch hooks and the epoch-end bookkeeping cost."""
    from trainmedic.keras import Monitor

    model = keras_cnn(x, y)
    monitor = Monitor(probe=(x[:128], y[:128]))
    model.fit(x[:256], y[:256], batch_size=BATCH, epochs=1, verbose=0, callbacks=[monitor])
    monitor.max_overhead = 0.0  # no probe may run during the loop: only the per-step bookkeeping is timed
    logs = {"loss": 0.5, "accuracy": 0.5}
    t0 = time.process_time()
    monitor.on_epoch_begin(0)
    for i in range(n):
        monitor.on_train_batch_begin(i)
        monitor.on_train_batch_end(i, logs)
    monitor._drain(final=True)
    return 1e6 * (time.process_time() - t0) / n


def keras_whole(x, y, epochs: int, watched: bool) -> float:
    """Wall seconds for one ``fit`` of a fresh model, with or without the Monitor."""
    from trainmedic.keras import Monitor

    model = keras_cnn(x, y)
    callbacks = [Monitor(probe=(x[:128], y[:128]))] if watched else []
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks)
    return time.perf_counter() - t0


def _torch_cnn():
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(16 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 4))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def _torch_epoch(model, opt, loss_fn, xt, yt, gen):
    """One epoch of the plain loop every PyTorch measurement times, yielding after each step."""
    import torch

    perm = torch.randperm(len(xt), generator=gen)
    for i in range(0, len(xt), BATCH):
        idx = perm[i:i + BATCH]
        opt.zero_grad()
        loss = loss_fn(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        yield


def _torch_steps(model, opt, loss_fn, xt, yt, gen):
    """The plain loop of :func:`_torch_epoch`, one step per ``next()``, epoch after epoch."""
    while True:
        yield from _torch_epoch(model, opt, loss_fn, xt, yt, gen)


def torch_steady(x, y, pairs: int, control: bool = False, block: int = 8) -> dict:
    """Two identical seeded models in one process, trained ``block`` steps at a time, alternating (with/
    without, then without/with); the second is under one ``watch()`` for the whole measurement, like one long
    run (``control``: neither is). Short blocks cancel the drift of a shared machine's speed; each model still
    runs mostly step after step, so the watcher's reference step time (and its probe budget) is its own.
    ``pairs`` counts epochs' worth of blocks. The plain model passes through the watcher's ``Tensor.backward``
    wrapper too (a few microseconds a step)."""
    import torch
    from torch import nn

    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y).long()
    loss_fn = nn.CrossEntropyLoss()
    runs = []
    for _ in range(2):
        model, opt = _torch_cnn()
        runs.append((model, opt, torch.Generator().manual_seed(0)))
    ctx = contextlib.nullcontext()
    if not control:
        from trainmedic.torch import watch

        ctx = watch(runs[1][0], runs[1][1])
    steps = int(np.ceil(len(x) / BATCH))
    with ctx as medic:
        loops = [_torch_steps(m, o, loss_fn, xt, yt, g) for m, o, g in runs]

        def run_block(k):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(block):
                next(loops[k])
            return time.perf_counter() - t0, time.process_time() - c0

        for _ in range(2 * steps):  # two epochs each first: past the watcher's early probes (steps 0-64)
            next(loops[0]), next(loops[1])
        wall, cpu, off, on_s, off_s = [], [], [], 0.0, 0.0
        for p in range(pairs * steps // block):
            if p % 2:
                a, b = run_block(0), run_block(1)
            else:
                b, a = run_block(1), run_block(0)
            wall.append(b[0] / a[0])
            cpu.append(b[1] / a[1])
            off.append(a[0])
            on_s, off_s = on_s + b[0], off_s + a[0]
    return {"ratio": statistics.median(wall), "cpu_ratio": statistics.median(cpu), "sum_ratio": on_s / off_s,
            "steps": steps, "ms_off": 1e3 * statistics.median(off) / block, "blocks": len(wall),
            "probed": getattr(medic, "probed_steps", 0), "total_steps": getattr(medic, "step", 0)}


def torch_whole(x, y, epochs: int, watched: bool, per_epoch: list | None = None) -> float:
    import torch
    from torch import nn

    model, opt = _torch_cnn()
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y).long()
    gen = torch.Generator().manual_seed(0)
    ctx = contextlib.nullcontext()
    if watched:
        from trainmedic.torch import watch

        ctx = watch(model, opt)
    t0 = time.perf_counter()
    with ctx:
        for _ in range(epochs):
            te = time.perf_counter()
            for _ in _torch_epoch(model, opt, loss_fn, xt, yt, gen):
                pass
            if per_epoch is not None:
                per_epoch.append(time.perf_counter() - te)
    return time.perf_counter() - t0


def _pairs(run, runs: int) -> list[float]:
    ratios = []
    for r in range(runs):
        if r % 2 == 0:
            off, on = run(False), run(True)
        else:
            on, off = run(True), run(False)
        ratios.append(on / off)
    return ratios


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=40, help="alternating epoch pairs (steady state)")
    ap.add_argument("--runs", type=int, default=3, help="alternating pairs of whole runs")
    ap.add_argument("--epochs", type=int, default=8, help="epochs of a whole run")
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--only", choices=["keras", "torch"], help="measure one framework")
    args = ap.parse_args(argv)
    x, y = _data(args.samples)
    steps = args.epochs * int(np.ceil(len(x) / BATCH))
    if args.only != "torch":
        keras_overhead(x, y, args)
    if args.only != "keras" and importlib.util.find_spec("torch") is not None:
        torch_overhead(x, y, args, steps)
    return 0


def keras_overhead(x, y, args) -> None:
    s = keras_steady(x, y, args.pairs)
    print(f"keras/tensorflow small CNN, Monitor(probe=...) defaults, steady state: {args.pairs} alternating epoch "
          f"pairs ({s['steps']} steps each side): median step {s['ms_off']:.2f} ms without, {s['ms_on']:.2f} ms "
          f"with; median step-time ratio {s['ratio']:.3f} wall, {s['cpu_ratio']:.3f} CPU time "
          f"({s['probes']} probes, monitor time {s['monitor_s']:.2f} s in all)", flush=True)
    c = keras_steady(x, y, args.pairs, control=True)
    print(f"  control (two plain models, same alternation): ratio {c['ratio']:.3f} wall, {c['cpu_ratio']:.3f} CPU "
          f"time: the noise floor of this measurement", flush=True)
    us = hook_cost(x, y)
    print(f"  per-step bookkeeping (batch hooks + loss recovery): {us:.1f} us CPU per step = "
          f"{100 * us / (1e3 * s['ms_off']):.3f}% of a step", flush=True)
    whole = _pairs(lambda w: keras_whole(x, y, args.epochs, w), args.runs)
    steps = args.epochs * int(np.ceil(len(x) / BATCH))
    print(f"keras/tensorflow small CNN, whole runs of {steps} steps (set-up and first probe included): ratios "
          f"{[round(r, 3) for r in whole]}, median {statistics.median(whole):.3f}", flush=True)


def torch_overhead(x, y, args, steps: int) -> None:
    torch_whole(x, y, 1, False)  # warm up
    s = torch_steady(x, y, args.pairs)
    print(f"pytorch small CNN loop, watch() defaults, steady state: {s['blocks']} alternating blocks of 8 steps "
          f"each side ({args.pairs} epochs' worth, {s['ms_off']:.2f} ms a step without): median step-time ratio "
          f"{s['ratio']:.3f} wall, {s['cpu_ratio']:.3f} CPU time, total time ratio {s['sum_ratio']:.3f} "
          f"({s['probed']} of {s['total_steps']} steps probed)", flush=True)
    c = torch_steady(x, y, args.pairs, control=True)
    print(f"  control (two plain models, same alternation): ratio {c['ratio']:.3f} wall, {c['cpu_ratio']:.3f} CPU "
          f"time, total {c['sum_ratio']:.3f}: the noise floor of this measurement", flush=True)
    epochs = {False: [], True: []}
    t = _pairs(lambda w: torch_whole(x, y, args.epochs, w, epochs[w]), args.runs)
    print(f"pytorch small CNN loop, watch() defaults, whole runs of {steps} steps: ratios "
          f"{[round(r, 3) for r in t]}, median {statistics.median(t):.3f}", flush=True)
    # epoch k of a watched run against epoch k of the plain run of the same pair, after the first epoch
    # (which holds the early probes); runs seconds apart, so noisier than the alternation above
    per = [on / off for i, (on, off) in enumerate(zip(epochs[True], epochs[False])) if i % args.epochs]
    print(f"  epochs 2-{args.epochs} of those runs against their plain twins ({len(per)} epoch pairs): median "
          f"ratio {statistics.median(per):.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
