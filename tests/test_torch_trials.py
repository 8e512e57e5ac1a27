"""PyTorch fix trials: the fix applied to a copy of the user's model proves itself (or does not)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from trainmedic.experiments.torch_trials import run_torch_trials  # noqa: E402
from trainmedic.torch import watch  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models; the test machine's cores are shared
    torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1).step()
    yield
    torch.set_num_threads(n)


def blobs(n=480, d=10, c=4, seed=0, scale=1.0, sep=1.0):
    """``c`` overlapping Gaussian classes in ``d`` dimensions (a model must train to separate them)."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(c, d, generator=g) * sep
    y = torch.arange(n) % c
    x = centers[y] + torch.randn(n, d, generator=g)
    return x * scale, y


def mlp(d=10, h=32, c=4, out=None):
    layers = [nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, c)]
    if out is not None:
        layers.append(out)
    return nn.Sequential(*layers)


def train(model, opt, x, y, loss_fn, epochs=6, bs=32, zero_grad=True, fix_trials=True, budget=30.0,
          keep_init=False):
    medic = watch(model, opt, fix_trials=fix_trials, trial_budget_s=budget)
    medic.keep_init = medic.keep_init or keep_init  # what ``trainmedic run`` sets: trials run later
    with medic:
        for _ in range(epochs):
            perm = torch.randperm(len(x))
            for i in range(0, len(x), bs):
                idx = perm[i:i + bs]
                if zero_grad:
                    opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
    return medic


def trial_of(medic, cause):
    return next((t for t in medic.recording.trials if t.cause == cause), None)


def cause_of(medic, cause):
    return next((c for c in medic.diagnosis.causes if c.id == cause), None)


def test_missing_zero_grad_fix_is_verified():
    torch.manual_seed(0)
    x, y = blobs()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss(), zero_grad=False)
    t = trial_of(medic, "missing-zero-grad")
    assert t is not None and t.verified is True, (medic.diagnosis, medic.recording.experiments.get("trials"))
    assert "zero_grad" in t.fix
    c = cause_of(medic, "missing-zero-grad")
    assert c is not None and c.fix.verified is True and c.fix.trial is t
    meta = medic.recording.experiments["trials"]
    assert meta["seconds"] > 0 and meta["metric"] == "balanced_accuracy"


def test_softmax_before_cross_entropy_loss_swap_is_verified():
    torch.manual_seed(0)
    x, y = blobs(c=8, d=16, n=640)
    model = mlp(d=16, c=8, out=nn.Softmax(dim=1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss(), epochs=3)
    t = trial_of(medic, "output-activation-mismatch")
    assert t is not None, (medic.diagnosis, medic.recording.experiments.get("trials"))
    assert t.verified is True, t.margin
    assert "NLLLoss" in t.fix


def test_frozen_parameters_fix_is_verified():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(480, 16, generator=g)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # XOR-like: needs trained hidden units
    model = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    for p in model[0].parameters():
        p.requires_grad = False
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss(), epochs=4)
    t = trial_of(medic, "frozen-parameters")
    assert t is not None, (medic.diagnosis, medic.recording.experiments.get("trials"))
    assert t.verified is True, t.margin
    assert "requires_grad=True" in t.fix


def test_lr_far_too_high_fix_is_verified():
    torch.manual_seed(0)
    x, y = blobs()
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss())
    lr_trials = [t for t in medic.recording.trials if t.after.get("kind") == "lr"]
    assert lr_trials, (medic.diagnosis, medic.recording.experiments.get("trials"))
    assert any(t.verified for t in lr_trials), [t.margin for t in lr_trials]
    assert medic.diagnosis.causes[0].fix.verified is True


def test_detach_in_forward_gets_no_trial_and_stays_unverified():
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 4)
            self.out = nn.Linear(4, 2)

        def forward(self, x):
            h = torch.relu(self.fc1(x)).detach()
            return self.out(h)

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(480, 2, generator=g)
    y = ((x[:, 0] * x[:, 1]) > 0).long()
    model = Detached()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss(), epochs=4)
    c = cause_of(medic, "frozen-parameters")
    assert c is not None, medic.diagnosis
    assert c.fix.verified is not True
    assert trial_of(medic, "frozen-parameters") is None
    assert "code change" in medic.recording.experiments["trials"]["skipped"]["frozen-parameters"]


def test_a_fix_that_does_not_help_is_not_verified_and_nothing_of_the_user_moves():
    torch.manual_seed(0)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    medic = train(model, opt, x, y, nn.CrossEntropyLoss(), fix_trials=False, keep_init=True)
    assert not medic.recording.trials  # watch() runs no trials by default
    assert medic.diagnosis.status == "healthy", medic.diagnosis
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    opt_state = {k: {n: t.clone() for n, t in s.items() if isinstance(t, torch.Tensor)}
                 for k, s in opt.state.items()}
    rng = torch.get_rng_state()
    was_training = model.training
    fake = SimpleNamespace(causes=[SimpleNamespace(id="over-regularization")])
    run_torch_trials(medic, medic.recording, fake, budget_s=20)
    t = trial_of(medic, "over-regularization")
    assert t is not None and t.verified is False, medic.recording.warnings
    assert "dropout 0.2" in t.fix and "not verified" in t.margin
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.training == was_training
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups
    for k, s in opt.state.items():
        for n, v in opt_state[k].items():
            assert torch.equal(s[n], v)
    assert all(p.grad is None or p.grad.abs().sum() >= 0 for p in model.parameters())


def test_functional_cross_entropy_loop_is_reproduced():
    torch.manual_seed(0)
    x, y = blobs()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    medic = train(model, opt, x, y, torch.nn.functional.cross_entropy, zero_grad=False)
    assert medic.loss_functional == "cross_entropy" and medic.loss_link["link"] == "identity"
    t = trial_of(medic, "missing-zero-grad")
    assert t is not None and t.verified is True, (medic.diagnosis, medic.recording.warnings)


@pytest.mark.parametrize("functional", [False, True])
def test_a_reshaped_output_is_reshaped_in_the_trials_too(functional):
    """``loss_fn(model(x).squeeze(1), y)``: no broadcast in the user's loop, none in the original arm."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(480, 6, generator=g)
    y = x @ torch.randn(6, generator=g) + 0.1 * torch.randn(480, generator=g)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.functional.mse_loss if functional else nn.MSELoss()
    medic = watch(model, opt)
    medic.keep_init = True
    with medic:
        for _ in range(6):
            perm = torch.randperm(len(x))
            for i in range(0, len(x), 32):
                idx = perm[i:i + 32]
                opt.zero_grad()
                loss_fn(model(x[idx]).squeeze(1), y[idx]).backward()
                opt.step()
    assert medic.diagnosis.status == "healthy", medic.diagnosis
    assert medic.loss_link["link"] == "view"
    fake = SimpleNamespace(causes=[SimpleNamespace(id="lr-too-low"), SimpleNamespace(id="loss-mismatch")])
    run_torch_trials(medic, medic.recording, fake, budget_s=20)
    t = trial_of(medic, "lr-too-low")
    meta = medic.recording.experiments["trials"]
    assert t is not None and meta["metric"] == "mse", medic.recording.warnings
    assert t.before["mse"] < 0.5 * meta["mean_mse"]  # the original arm learns: no (N,1) vs (N,) broadcast
    assert "loss-mismatch" in meta["skipped"] and trial_of(medic, "loss-mismatch") is None
