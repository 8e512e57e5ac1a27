"""The Lightning callback on tiny real LightningModules: a broken one is diagnosed, a healthy twin is
healthy, and the callback changes nothing in a seeded run; `trainmedic run` attaches it by itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pl = pytest.importorskip("lightning.pytorch")
torch = pytest.importorskip("torch")

from trainmedic.lightning import Medic  # noqa: E402

MODULE = textwrap.dedent("""\
    import torch
    from torch import nn
    import lightning.pytorch as pl


    class Classifier(pl.LightningModule):
        def __init__(self, softmax_first: bool = False, lr: float = 0.05):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
            self.softmax_first = softmax_first
            self.loss_fn = nn.CrossEntropyLoss()
            self.lr = lr

        def forward(self, x):
            out = self.net(x)
            return torch.softmax(out, dim=1) if self.softmax_first else out

        def training_step(self, batch, batch_idx):
            x, y = batch
            return self.loss_fn(self(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


    def data(n=384, seed=0):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 3, (n,), generator=g)
        centers = torch.randn(3, 8, generator=g) * 2
        x = centers[y] + 0.5 * torch.randn(n, 8, generator=g)
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True,
                                           generator=torch.Generator().manual_seed(seed))
""")

ns: dict = {}
exec(compile(MODULE, "lightning_module.py", "exec"), ns)


def trainer(callbacks, epochs=4):
    return pl.Trainer(max_epochs=epochs, callbacks=callbacks, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)


def fit(module, callbacks, epochs=4):
    pl.seed_everything(0, verbose=False)
    trainer(callbacks, epochs).fit(module, ns["data"]())
    return module


def test_softmax_before_cross_entropy_is_diagnosed_and_healthy_twin_is_not():
    pl.seed_everything(0, verbose=False)
    medic = Medic()
    fit(ns["Classifier"](softmax_first=True), [medic])
    d = medic.diagnosis
    assert d is not None and d.status == "unhealthy"
    assert d.causes[0].id == "output-activation-mismatch", d.render()
    assert medic.recording.run["trainer"] == "lightning" and medic.recording.run["steps"] == 96
    assert len(medic.recording.signals["loss"].values) == 96  # the loss of every step, seen from the closure

    pl.seed_everything(0, verbose=False)
    healthy = Medic()
    fit(ns["Classifier"](), [healthy])
    assert healthy.diagnosis.status == "healthy", healthy.diagnosis.render()
    assert healthy.recording.signals["loss"].values[-1] < 0.3 * healthy.recording.signals["loss"].values[0]


def test_medic_changes_nothing_in_a_seeded_run():
    pl.seed_everything(0, verbose=False)
    a = fit(ns["Classifier"](), [], epochs=2)
    pl.seed_everything(0, verbose=False)
    b = fit(ns["Classifier"](), [Medic(every=1)], epochs=2)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), n


def test_trainmedic_run_attaches_the_callback(tmp_path: Path):
    (tmp_path / "train.py").write_text(MODULE + textwrap.dedent("""\

        if __name__ == "__main__":
            pl.seed_everything(0)
            model = Classifier(softmax_first=True)
            trainer = pl.Trainer(max_epochs=30, logger=False, enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
            trainer.fit(model, data())
            print("after fit", trainer.current_epoch)
    """))
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONWARNINGS="ignore", TRAINMEDIC_TRIAL_BUDGET_S="5")
    proc = subprocess.run([sys.executable, "-m", "trainmedic", "run", "--json", str(out), "--no-save",
                           "--stop-when-diagnosed", "train.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["causes"][0]["id"] == "output-activation-mismatch"
    assert report["run"]["trainer"] == "lightning"
    assert report["run"]["stopped"]["cause"] == "output-activation-mismatch"
    line = next(l for l in proc.stdout.splitlines() if l.startswith("after fit"))
    assert int(line.split()[-1]) < 30  # the fit ended early, the script went on
