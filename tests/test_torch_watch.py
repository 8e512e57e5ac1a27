"""The PyTorch watcher: it records, never changes results, survives its own failures, cleans up."""
from __future__ import annotations

import math
import time

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import trainmedic.probes  # noqa: E402
from trainmedic import Recording, judge  # noqa: E402
from trainmedic.integrations.torch import describe as D  # noqa: E402
from trainmedic.integrations.torch.watch import Watcher  # noqa: E402
from trainmedic.torch import watch  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models; the test machine's cores are shared
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()  # torch's one-time lazy imports
    yield
    torch.set_num_threads(n)


def blobs(n=256, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


class Net(nn.Module):
    """A custom module: functional relu, a ReLU module, dropout and batch norm (all RNG/mode sensitive)."""

    def __init__(self, d=8, h=16, c=2):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.bn = nn.BatchNorm1d(h)
        self.fc2 = nn.Linear(h, h)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(h, c)

    def forward(self, x):
        h = F.relu(self.bn(self.fc1(x)))
        h = self.drop(self.act(self.fc2(h)))
        return self.out(h)


def run_net(watched: bool, every: int = 1, epochs: int = 3):
    torch.manual_seed(0)
    x, y = blobs()
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []

    def loop():
        for _ in range(epochs):
            perm = torch.randperm(len(x))  # draws from the global generator, like a DataLoader shuffle
            for i in range(0, len(x), 32):
                idx = perm[i:i + 32]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                losses.append(loss.item())

    medic = None
    if watched:
        with watch(model, opt, every=every) as medic:
            loop()
    else:
        loop()
    return model, losses, medic, torch.get_rng_state()


def test_public_shim_and_schedule():
    import trainmedic.torch

    assert trainmedic.torch.watch is watch
    w = Watcher(nn.Linear(2, 1), torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1), every=10)
    assert [s for s in range(25) if w.scheduled(s)] == [0, 1, 2, 4, 8, 10, 16, 20]
    w = Watcher(nn.Linear(2, 1), torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1), every=10, early=False)
    assert [s for s in range(25) if w.scheduled(s)] == [0, 10, 20]


def test_results_bitwise_identical_with_and_without_watcher():
    m0, l0, _, rng0 = run_net(False)
    m1, l1, medic, rng1 = run_net(True, every=1)  # every probe on every step
    assert l0 == l1
    for (n, a), (_, b) in zip(m0.state_dict().items(), m1.state_dict().items()):
        assert torch.equal(a, b), n
    assert torch.equal(rng0, rng1)
    assert medic.recording.warnings == []
    assert medic.diagnosis is not None and medic.diagnosis.healthy, medic.diagnosis.cause_ids()


def test_signals_and_facts():
    _, losses, medic, _ = run_net(True, every=10, epochs=3)
    rec = medic.recording
    assert rec.run["framework"] == "torch" and rec.run["steps"] == len(losses) == 24
    assert rec.signal("loss").steps == list(range(24))
    assert rec.signal("loss").values == pytest.approx(losses, rel=1e-6)
    assert rec.signal("lr").values[0] == 0.01
    sched = [0, 1, 2, 4, 8, 10, 16, 20]
    assert rec.signal("grad_norm/fc1").steps == sched
    assert rec.signal("weight_norm/out").steps == sched
    assert rec.signal("update_ratio/fc2").steps == sched
    assert all(v > 0 for v in rec.signal("update_ratio/fc2").values)
    assert rec.signal("dead_fraction/act").steps == sched  # the ReLU module
    assert rec.signal("dead_fraction/relu(bn)").steps == sched  # F.relu after bn, seen at fc2 input
    assert len(rec.signal("pred/histogram").values[0]) == 2
    f = rec.facts
    assert f.model.framework == "torch" and f.model.output_units == 2 and f.model.output_activation == "linear"
    layers = {lf.name: lf for lf in f.model.layers}
    assert layers["fc1"].parametric and layers["fc1"].units == 16 and layers["fc1"].init == "torch_default"
    assert layers["relu(bn)"].is_activation_layer  # F.relu, observed in the first forward
    assert layers["fc1"].activation == "linear" and [lf.name for lf in f.model.layers][:3] == ["fc1", "bn", "relu(bn)"]
    assert layers["act"].is_activation_layer and layers["act"].activation == "relu"
    assert layers["drop"].rate == 0.2
    assert f.loss.name == "cross_entropy" and f.loss.applies == "softmax" and f.loss.from_logits is True
    assert f.loss.location is not None and "CrossEntropyLoss()" in f.loss.location.code
    assert (f.optimizer.name, f.optimizer.lr) == ("adam", 0.01)
    assert f.optimizer.location is not None and "Adam" in f.optimizer.location.code
    assert f.training.batch_size == 32
    assert f.data.inputs[0].shape == [512, 8] and f.data.targets[0].kind == "binary"
    assert f.data.location is not None and f.data.location.code.startswith("for i in range")


def test_functional_loss_output_activation_and_log_loss():
    torch.manual_seed(0)
    x, y = blobs()

    class Binary(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 1)

        def forward(self, t):
            return torch.sigmoid(self.b(torch.tanh(self.a(t))))

    model = Binary()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with watch(model, opt, every=5) as medic:
        for i in range(0, 256, 32):
            opt.zero_grad()
            loss = F.binary_cross_entropy(model(x[i:i + 32]), y[i:i + 32, None].float())
            loss.backward()
            opt.step()
    rec = medic.recording
    assert rec.facts.loss.name == "bce"
    assert rec.facts.model.output_activation == "sigmoid"
    assert {lf.name: lf.activation for lf in rec.facts.model.layers}["a"] == "tanh"
    assert "saturation/a" in rec.signals
    assert len(rec.signal("loss")) == 8

    # a loop whose loss trainmedic cannot see (autograd.backward on a hand-made loss): log_loss records it
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with watch(model, opt) as medic:
        for i in range(0, 128, 32):
            opt.zero_grad()
            p = model(x[i:i + 32])[:, 0]
            loss = -(y[i:i + 32] * torch.log(p) + (1 - y[i:i + 32]) * torch.log(1 - p)).mean()
            torch.autograd.backward(loss)
            medic.log_loss(loss)
            opt.step()
    assert len(medic.recording.signal("loss")) == 4


def test_probe_exception_becomes_warning(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(trainmedic.probes, "dead_fraction", broken)
    monkeypatch.setattr(D, "functional_activation", broken)
    m0, l0, _, _ = run_net(False)
    m1, l1, medic, _ = run_net(True, every=1)
    assert l0 == l1 and torch.equal(m0.out.weight, m1.out.weight)
    assert len(l1) == 24 and medic.recording.run["steps"] == 24
    assert any("probe exploded" in w for w in medic.recording.warnings)
    assert len(medic.recording.signal("loss")) == 24  # the other probes kept working
    assert medic.diagnosis is not None
    assert "probe exploded" in medic.diagnosis.to_json()


def _no_hooks(model, opt, params):
    from torch.nn.modules import module as M

    for m in model.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            assert not getattr(m, attr), (m, attr)
    for attr in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        assert not getattr(M, attr), attr
    for p in params:
        assert not p._backward_hooks
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    assert "backward" in torch.Tensor.__dict__
    assert torch.Tensor.backward.__module__ == "torch._tensor"


def test_every_hook_removed_on_exit_and_on_error(tmp_path):
    model, _, medic, _ = run_net(True)
    _no_hooks(model, medic.optimizer, list(model.parameters()))

    torch.manual_seed(0)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="boom"):
        with watch(model, opt, save_to=str(tmp_path / "rec")) as medic:
            for i in range(0, 256, 32):
                opt.zero_grad()
                F.cross_entropy(model(x[i:i + 32]), y[i:i + 32]).backward()
                opt.step()
                if i == 64:
                    raise ValueError("boom")
    _no_hooks(model, opt, list(model.parameters()))
    rec = Recording.load(tmp_path / "rec")
    assert rec.run["steps"] == 3 and rec.run["exit"].startswith("error: ValueError")
    assert len(rec.signal("loss")) == 3
    assert judge(rec).cause_ids() == medic.diagnosis.cause_ids()


def test_nonfinite_loss_and_gradient_event():
    torch.manual_seed(0)
    x, y = blobs()
    x[5 * 32 + 3, 2] = float("inf")  # one bad sample in the 6th batch
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, opt, every=50) as medic:
        for i in range(0, 256, 32):
            opt.zero_grad()
            F.cross_entropy(model(x[i:i + 32]), y[i:i + 32]).backward()
            opt.step()
    ev = {e["where"].split(":")[0]: e for e in medic.recording.events if e["kind"] == "nonfinite"}
    assert ev["loss"]["step"] == 5
    assert ev["grad"]["step"] == 5 and ev["grad"]["where"] == "grad:0"
    assert not math.isfinite(medic.recording.signal("loss").values[5])


def test_each_watcher_keeps_its_own_model_and_amp_scale_is_removed():
    torch.manual_seed(0)
    x, y = blobs()
    m1 = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    m2 = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    o1, o2 = torch.optim.SGD(m1.parameters(), lr=0.1), torch.optim.SGD(m2.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    crit = nn.CrossEntropyLoss()
    seen1, seen2 = [], []
    with watch(m1, o1) as w1, watch(m2, o2) as w2:
        for i in range(0, 128, 32):
            o1.zero_grad()
            l1 = F.cross_entropy(m1(x[i:i + 32]), y[i:i + 32])
            scaler.scale(l1).backward()
            scaler.step(o1)
            scaler.update()
            o2.zero_grad()
            l2 = crit(m2(x[i:i + 32]), y[i:i + 32])
            l2.backward()
            o2.step()
            seen1.append(l1.item())
            seen2.append(l2.item())
    assert w1.recording.signal("loss").values == pytest.approx(seen1, rel=1e-5)
    assert w2.recording.signal("loss").values == pytest.approx(seen2, rel=1e-5)
    assert w1.recording.facts.loss.name == w2.recording.facts.loss.name == "cross_entropy"
    assert "saturation/1" in w2.recording.signals and "saturation/1" not in w1.recording.signals
    assert w1.diagnosis.healthy and w2.diagnosis.healthy


def _tiny_loop(steps, new_loss_module=False, sleep_on_check=0.0, **kw):
    from torch.nn.modules import module as nn_module

    torch.manual_seed(0)
    x, y = blobs(n=512)
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    losses, hooked = [], {}
    with watch(model, opt, **kw) as medic:
        for s in range(steps):
            i = (s * 32) % 512
            hooked[s] = (len(nn_module._global_forward_hooks), len(medic._grad_handles), len(model._forward_hooks),
                         len(loss_fn._forward_hooks), len(model._forward_pre_hooks))
            opt.zero_grad()
            loss = (nn.CrossEntropyLoss() if new_loss_module else loss_fn)(model(x[i:i + 32]), y[i:i + 32])
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if sleep_on_check and medic._check and s > 64:
                time.sleep(sleep_on_check)
    return medic, losses, hooked


def test_probe_budget_defers_scheduled_probes_after_the_early_ones():
    every = 10
    sched = [s for s in range(200) if s % every == 0 or (s & (s - 1)) == 0]
    free, _, _ = _tiny_loop(200, every=every, max_overhead=None)
    assert free.recording.signal("grad_norm/0").steps == sched
    assert free.recording.run["probed_steps"] == len(sched)
    tight, losses, _ = _tiny_loop(200, every=every, max_overhead=1e-9)  # any probe is over this budget
    # the early probes are free; the budget starts after step 64: one probe there (nothing spent yet), then none
    assert tight.recording.signal("grad_norm/0").steps == [s for s in sched if s <= 64] + [70]
    assert tight.recording.signal("loss").values == pytest.approx(losses, rel=1e-6)  # every step's loss
    with pytest.raises(ValueError):
        Watcher(nn.Linear(2, 1), torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1), max_overhead=0)


def test_probe_budget_charges_the_whole_duration_of_busy_steps():
    """A probed or checking step is charged all it took beyond a quiet step - not only the time inside the
    watcher's hooks - so what the probes cost PyTorch counts too (here: a checking step made 200 ms slower)."""
    every = 10
    medic, _, _ = _tiny_loop(300, every=every, max_overhead=1.0)
    assert len([s for s in medic.recording.signal("grad_norm/0").steps if s > 64]) >= 10  # cheap probes
    slow, _, _ = _tiny_loop(300, every=every, max_overhead=1.0, sleep_on_check=0.2)
    probed = slow.recording.signal("grad_norm/0").steps
    assert [s for s in probed if s > 64] == [70]  # 200 ms charged after step 70: the budget is spent


def test_between_probes_only_the_model_and_its_loss_are_hooked():
    medic, losses, hooked = _tiny_loop(40, every=10)
    # first steps: every module, every parameter (4, two of them sentinels), the one-off first-forward hook
    assert hooked[0] == (1, 2, 0, 0, 1)
    # quiet step before the loss has been checked 3 times and the sample is in: the model and its loss module
    assert hooked[6] == (0, 0, 1, 1, 0)
    assert hooked[10][0] == 1 and hooked[11][1] == 2  # a probed step, then the zero_grad check after it
    # later quiet steps ('lean'): only the loss module's hook, for the loss value
    assert hooked[25] == (0, 0, 0, 1, 0)
    assert medic.recording.signal("loss").values == pytest.approx(losses, rel=1e-6)
    # a loss module built anew each step: the watcher cannot hook it in advance, so it stays global
    medic, losses, hooked = _tiny_loop(40, every=10, new_loss_module=True)
    assert hooked[6][0] == 1
    assert medic.recording.signal("loss").values == pytest.approx(losses, rel=1e-6)
    assert medic.diagnosis.healthy, medic.diagnosis.cause_ids()
