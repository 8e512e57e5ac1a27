"""Wiring rules TM401-TM408: each bug in a tiny real PyTorch loop, and a healthy twin that must stay quiet."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from trainmedic import get_rule  # noqa: E402
from trainmedic.integrations.torch.describe import looks_default_init  # noqa: E402
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


def mlp(*tail, d=8, h=16, c=2):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c), *tail)


def batches(x, y, epochs=4, bs=32):
    for _ in range(epochs):
        for i in range(0, len(x), bs):
            yield x[i:i + bs], y[i:i + bs]


def wiring(medic) -> dict:
    """TM4xx findings (notes included) by code."""
    d = medic.diagnosis
    return {f.code: f for f in d.findings + d.notes if f.code.startswith("TM4")}


def accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def first_loss_last_loss(medic):
    v = medic.recording.signal("loss").values
    return sum(v[:4]) / 4, sum(v[-4:]) / 4


# -- TM401 missing zero_grad ------------------------------------------------------------------------------
def test_tm401_missing_zero_grad():
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    f = wiring(medic)["TM401"]
    assert f.severity == "error" and f.confidence > 0.9
    assert medic.diagnosis.top.id == "missing-zero-grad"
    assert [l.code for l in f.locations] == ["loss.backward()", "for xb, yb in batches(x, y):"]


@pytest.mark.parametrize("variant", ["zero_grad", "set_to_none_false", "model_zero_grad", "accumulate_2",
                                     "clip"])
def test_tm401_healthy_twins(variant):
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    with watch(model, optimizer, every=10) as medic:
        for i, (xb, yb) in enumerate(batches(x, y)):
            if variant == "zero_grad":
                optimizer.zero_grad()
            elif variant == "set_to_none_false":
                optimizer.zero_grad(set_to_none=False)
            elif variant == "model_zero_grad":
                model.zero_grad()
            elif variant == "clip":
                optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            (loss / 2 if variant == "accumulate_2" else loss).backward()
            if variant == "clip":
                nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            if variant != "accumulate_2" or i % 2 == 1:  # legitimate accumulation over two micro-batches
                optimizer.step()
                if variant == "accumulate_2":
                    optimizer.zero_grad()
    assert "TM401" not in wiring(medic)
    a, b = first_loss_last_loss(medic)
    assert b < 0.9 * a and accuracy(model, x, y) > 0.6  # it learns


def test_tm401_missing_zero_grad_with_clipping_still_found():
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            F.cross_entropy(model(xb), yb).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.05)
            optimizer.step()
    assert "TM401" in wiring(medic)


def test_tm401_quiet_for_a_gan_style_second_optimizer():
    """The generator's backward writes into the watched discriminator's grads before its zero_grad: fine."""
    torch.manual_seed(0)
    disc = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    gen = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 4))
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    real = torch.randn(256, 4) * 0.5 + 1.0
    with watch(disc, opt_d, every=5) as medic:
        for i in range(0, 256, 32):
            fake = gen(torch.randn(32, 2))
            opt_d.zero_grad()
            d_loss = F.binary_cross_entropy_with_logits(disc(real[i:i + 32]), torch.ones(32, 1)) + \
                F.binary_cross_entropy_with_logits(disc(fake.detach()), torch.zeros(32, 1))
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = F.binary_cross_entropy_with_logits(disc(fake), torch.ones(32, 1))
            g_loss.backward()
            opt_g.step()
    assert "TM401" not in wiring(medic)


# -- TM402 parameters not in the optimizer ----------------------------------------------------------------
def test_tm402_params_not_in_optimizer_and_twin():
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.SGD(model[2].parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    f = wiring(medic)["TM402"]
    assert f.cause == "frozen-parameters" and f.evidence[0].observed == ["0"]
    assert f.locations[0].code == "optimizer = torch.optim.SGD(model[2].parameters(), lr=0.1)"
    assert "TM401" not in wiring(medic)  # layer 0's stale grads are not the optimizer's business

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    assert not wiring(medic)


def test_tm402_optimizer_built_for_another_model_instance():
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model = mlp()  # rebuilt after the optimizer: the optimizer still holds the old tensors
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    f = wiring(medic)["TM402"]
    assert "none of the watched model's parameters" in f.message and f.confidence >= 0.9
    assert accuracy(model, x, y) < 0.8  # it really does not learn


# -- TM403 frozen layers ----------------------------------------------------------------------------------
def test_tm403_frozen_fresh_layer_and_pretrained_twin():
    x, y = blobs()
    model = mlp()
    for p in model[0].parameters():
        p.requires_grad = False
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    f = wiring(medic)["TM403"]
    assert f.severity == "error" and f.evidence[0].observed == ["0"]
    assert f.locations[0].code == "p.requires_grad = False"

    # twin: a pretrained backbone kept frozen while a new head learns (fine-tuning)
    backbone = mlp()[:2]
    head = nn.Linear(16, 2)
    pre_opt = torch.optim.Adam(list(backbone.parameters()) + list(head.parameters()), lr=0.05)
    for xb, yb in batches(x, y, epochs=3):
        pre_opt.zero_grad()
        F.cross_entropy(head(backbone(xb)), yb).backward()
        pre_opt.step()
    assert not looks_default_init(backbone[0])
    for p in backbone.parameters():
        p.requires_grad = False
    model = nn.Sequential(backbone, nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model[1].parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    found = wiring(medic)
    assert set(found) == {"TM403"} and found["TM403"].severity == "info"
    assert medic.diagnosis.healthy


def test_tm403_everything_frozen():
    x, y = blobs()
    model = mlp()
    model.requires_grad_(False)
    model[2].bias.requires_grad_(True)  # something must need a gradient for backward() to run
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y, epochs=1):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    assert "TM403" in wiring(medic) and medic.diagnosis.top.id == "frozen-parameters"


# -- TM404 no gradient reaches a layer --------------------------------------------------------------------
class TwoLayer(nn.Module):
    def __init__(self, cut: bool):
        super().__init__()
        self.cut = cut
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        if self.cut:
            h = h.detach()
        return self.fc2(h)


@pytest.mark.parametrize("cut", [True, False])
def test_tm404_detached_layer_and_twin(cut):
    x, y = blobs()
    torch.manual_seed(0)
    model = TwoLayer(cut)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    found = wiring(medic)
    if cut:
        f = found["TM404"]
        assert f.evidence[0].observed.endswith("fc1") and medic.diagnosis.top.id == "frozen-parameters"
        assert f.locations[0].code == "h = h.detach()"
        assert "TM109" not in {x.code for x in medic.diagnosis.findings}  # relu was seen, though functional
    else:
        assert not found and medic.diagnosis.healthy


# -- TM405 eval mode while training -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_tm405_eval_mode_and_twin(mode):
    x, y = blobs()
    x = x * 3 + 2
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if mode == "eval":
        model.eval()
    else:
        model.train()
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    found = wiring(medic)
    if mode == "eval":
        f = found["TM405"]
        assert f.severity == "error" and "BatchNorm1d" in f.evidence[1].observed
        assert f.locations[0].code == "model.eval()"
        assert "train-eval-mismatch" in medic.diagnosis.cause_ids()
    else:
        assert not found


# -- TM406 activation before a loss that applies it -------------------------------------------------------
@pytest.mark.parametrize("case", ["softmax_ce", "functional_softmax_ce", "sigmoid_bce_logits", "nll_raw"])
def test_tm406_activation_before_loss(case):
    x, y = blobs()
    if case == "softmax_ce":
        model, loss_fn = mlp(nn.Softmax(dim=1)), nn.CrossEntropyLoss()
    elif case == "functional_softmax_ce":
        model, loss_fn = mlp(), lambda out, t: F.cross_entropy(F.softmax(out, dim=1), t)
    elif case == "sigmoid_bce_logits":
        model, loss_fn, y = mlp(nn.Sigmoid(), c=1), nn.BCEWithLogitsLoss(), y[:, None].float()
    else:
        model, loss_fn = mlp(), nn.NLLLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
    f = wiring(medic)["TM406"]
    assert f.cause == "output-activation-mismatch" and medic.diagnosis.top.id == "output-activation-mismatch"
    assert any(l.code == "loss = loss_fn(model(xb), yb)" for l in f.locations)


@pytest.mark.parametrize("case", ["ce", "bce_logits", "nll_log_softmax", "functional_ce"])
def test_tm406_healthy_twins(case):
    x, y = blobs()
    if case == "ce":
        model, loss_fn = mlp(), nn.CrossEntropyLoss()
    elif case == "bce_logits":
        model, loss_fn, y = mlp(c=1), nn.BCEWithLogitsLoss(), y[:, None].float()
    elif case == "nll_log_softmax":
        model, loss_fn = mlp(nn.LogSoftmax(dim=1)), nn.NLLLoss()
    else:
        model, loss_fn = mlp(), F.cross_entropy
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
    assert not wiring(medic) and medic.diagnosis.healthy, medic.diagnosis.cause_ids()
    a, b = first_loss_last_loss(medic)
    assert b < 0.8 * a


# -- TM407 broadcasting in the loss -----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize("case", ["module", "functional", "fixed"])
def test_tm407_broadcast_and_twin(case):
    x, _ = blobs()
    target = x[:, 0] * 2 - x[:, 1]  # shape (N,)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    criterion = nn.MSELoss() if case != "functional" else F.mse_loss
    if case == "fixed":
        target = target.view(-1, 1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, target):
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
    found = wiring(medic)
    if case == "fixed":
        assert not found
        a, b = first_loss_last_loss(medic)
        assert b < 0.5 * a
        return
    f = found["TM407"]
    assert f.evidence[1].observed == [32, 32] and medic.diagnosis.top.id == "loss-mismatch"
    assert f.locations[0].code == "loss = criterion(model(xb), yb)"


# -- TM408 optimizer never steps --------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["no_step", "zero_grad_before_step", "healthy"])
def test_tm408_no_update_and_twin(case):
    x, y = blobs()
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, optimizer, every=10) as medic:
        for xb, yb in batches(x, y):
            if case == "healthy":
                optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            if case == "zero_grad_before_step":
                optimizer.zero_grad()
            if case != "no_step":
                optimizer.step()
    found = wiring(medic)
    if case == "healthy":
        assert not found
        return
    f = found["TM408"]
    assert medic.diagnosis.top.id == "frozen-parameters"
    assert f.locations[0].code == ("loss.backward()" if case == "no_step" else "optimizer.step()")


def test_rule_docs_complete():
    for code in ("TM401", "TM402", "TM403", "TM404", "TM405", "TM406", "TM407", "TM408"):
        r = get_rule(code)
        assert r.phase == "wiring" and len(r.causes) == 1
        assert all(r.doc[s] for s in ("What it detects", "Why training fails", "Evidence", "Fix", "Example"))


def test_tm402_layer_replaced_after_the_optimizer_was_built_and_twin():
    x, y = blobs()
    for replaced_late in (True, False):
        torch.manual_seed(0)
        model = mlp()
        if not replaced_late:
            model[0] = nn.Linear(model[0].in_features, model[0].out_features)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        with watch(model, optimizer, every=10) as medic:
            if replaced_late:  # the optimizer still holds the old layer's parameters
                model[0] = nn.Linear(model[0].in_features, model[0].out_features)
            for xb, yb in batches(x, y):
                optimizer.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                optimizer.step()
        if replaced_late:
            f = wiring(medic)["TM402"]
            assert f.cause == "frozen-parameters" and f.evidence[0].observed == ["0"]
            assert "redescribed" in medic.recording.run
            assert f.locations[0].code.startswith("model[0] = nn.Linear")  # the replacement, then the optimizer
        else:
            assert not wiring(medic) and "redescribed" not in medic.recording.run
