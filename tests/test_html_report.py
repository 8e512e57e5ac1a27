"""The HTML report: self-contained, escaped, every plot drawn from the recording, checked in a real browser.

Reports are built from real tiny Keras models (pre-flight ``trainmedic.diagnose``); the training-run report
adds synthetic signals with ``rec.record(...)`` so that every plot is exercised. Browser tests open the
pages in headless Chromium (``scripts/install_browser.sh``) and save screenshots under tests/artifacts/.
"""
from __future__ import annotations

import math
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import trainmedic  # noqa: E402
from trainmedic import Diagnosis, Location, Recording, Trial, judge  # noqa: E402
from trainmedic.facts import (DataFacts, LabelFacts, LayerFact, LossFact, ModelFacts,  # noqa: E402
                              OptimizerFact, SetupFacts)
from trainmedic.findings import CauseReport, Evidence, Finding, FixReport  # noqa: E402
from trainmedic.report.html import render_html, write_html  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from browser import chromium_path, open_in_chromium  # noqa: E402

ARTIFACTS = Path(__file__).parent / "artifacts"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(2)>'

keras = pytest.importorskip("keras")


# ------------------------------------------------------------------------------------------ the reports
def _binary_data(n: int = 256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64")


def _pixel_data(n: int = 240):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(n, 16)).astype("float32")
    y = np.argmax((x / 255 - 0.5) @ rng.normal(size=(16, 3)), axis=1)
    return x, y


def build_healthy() -> Diagnosis:
    """A small MLP on a separable binary task: comes out healthy."""
    x, y = _binary_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    d = trainmedic.diagnose(model, x, y)
    assert d.status == "healthy", d.render()
    return d


def build_broken_preflight() -> Diagnosis:
    """Softmax on one unit, MSE on class labels, raw 0..255-scaled inputs, SGD at 1e-5: several causes."""
    x, y = _binary_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="softmax")])
    model.compile(keras.optimizers.SGD(1e-5), "mse", metrics=["accuracy"])
    d = trainmedic.diagnose(model, x * 255, y)
    assert d.status == "unhealthy" and "output-activation-mismatch" in d.cause_ids(), d.render()
    return d


def _run_signals(rec: Recording, layers: list[str], steps: int = 600, every: int = 20) -> None:
    """Signals of a run that stalls: loss falls to the ln C plateau, ReLUs die, predictions collapse."""
    rng = np.random.default_rng(3)
    plateau = math.log(3)
    for s in range(steps):
        loss = plateau + 6.0 * math.exp(-s / 25) + abs(rng.normal(0, 0.08))
        rec.record("loss", s, float("nan") if s == 417 else loss)
        rec.record("lr", s, 0.1 if s < 400 else 0.05)
    for e in range(1, 7):
        s = e * 100 - 1
        rec.record("epoch_loss", s, plateau + 6.0 * math.exp(-s / 25) + 0.05)
        rec.record("val_loss", s, plateau + 0.3 + 0.02 * e)
        rec.record("accuracy", s, 0.36 + rng.normal(0, 0.01))
        rec.record("val_accuracy", s, 0.34 + rng.normal(0, 0.01))
    for s in range(0, steps, every):
        t = s / steps
        for i, layer in enumerate(layers):
            rec.record(f"grad_norm/{layer}", s, 2.0 * 10 ** (-3 * t * (len(layers) - i)) if t < 0.95 or i else 0.0)
            rec.record(f"update_ratio/{layer}", s, 1e-2 * 10 ** (-(i + 1) * t))
        rec.record(f"dead_fraction/{layers[0]}", s, min(1.0, 0.1 + 1.2 * t))
        rec.record(f"dead_fraction/{layers[1]}", s, min(1.0, 0.05 + 0.8 * t))
        rec.record(f"saturation/{layers[-1]}", s, min(1.0, 0.9 * t))
        top = min(1.0, 0.4 + t)
        rec.record("pred/histogram", s, [top, (1 - top) * 0.6, (1 - top) * 0.4])
    rec.events.append({"kind": "nonfinite", "step": 417, "where": "loss"})
    lrs = [10 ** (-5 + 0.25 * k) for k in range(25)]
    rec.experiments["lr_range"] = {"lrs": lrs, "losses": [1.1 - 0.9 / (1 + math.exp(-(math.log10(lr) + 2.5) * 3))
                                                          + (30.0 if lr > 0.3 else 0.0) for lr in lrs],
                                   "suggestion": 3e-3}
    rec.run.update({"steps": steps, "epochs": 6})


def build_broken_run() -> Diagnosis:
    """Raw pixels into a ReLU MLP (real pre-flight) + a training run's signals + a verified fix trial."""
    x, y = _pixel_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(12, activation="relu", name="hidden_1"),
                              keras.layers.Dense(12, activation="relu", name="hidden_2"),
                              keras.layers.Dense(3, activation="softmax", name="probs")])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    d = trainmedic.diagnose(model, x, y)
    assert "unnormalized-input" in d.cause_ids(), d.render()
    rec = d.recording
    _run_signals(rec, ["hidden_1", "hidden_2", "probs"])
    before = [1.1 - 0.001 * i for i in range(40)]
    after = [1.1 * math.exp(-i / 15) + 0.2 for i in range(40)]
    rec.trials.append(Trial(cause="unnormalized-input", fix="x / 255", verified=True,
                            before={"loss": before, "final_loss": before[-1], "final_metric": 0.35},
                            after={"loss": after, "final_loss": after[-1], "final_metric": 0.91},
                            margin="accuracy 0.35 -> 0.91", seconds=2.4))
    d = judge(rec)
    top = next(c for c in d.causes if c.id == "unnormalized-input")
    top.fix.diff = ("--- train.py\n+++ train.py\n@@ -12,3 +12,3 @@\n x_train, y_train = load_pixels()\n"
                    "-model.fit(x_train, y_train, epochs=6)\n+model.fit(x_train / 255.0, y_train, epochs=6)\n")
    top.locations.append(Location("train.py", 13, "model.fit(x_train, y_train, epochs=6)"))
    return d


def build_hostile() -> Diagnosis:
    """Every user-provided string is markup: layer names, file paths, code, messages, warnings, diff."""
    layers = [LayerFact(name=HOSTILE, kind="Dense", units=4, activation="relu", n_params=20, n_trainable=20),
              LayerFact(name=HOSTILE_ATTR, kind="Dense", units=2, activation="softmax", n_params=10,
                        n_trainable=10, location=Location(HOSTILE_ATTR + ".py", 3, HOSTILE))]
    facts = SetupFacts(model=ModelFacts(framework="keras", name=HOSTILE, layers=layers, output_units=2,
                                        n_params=30, n_trainable=30),
                       loss=LossFact(name="categorical_crossentropy", given_as=HOSTILE),
                       optimizer=OptimizerFact(name="adam", lr=1e-3, location=Location(HOSTILE, 7, HOSTILE)),
                       data=DataFacts(n_samples=10, sample_size=10,
                                      targets=[LabelFacts(shape=[10], dtype="int64", kind="multiclass-int",
                                                          n_classes=2, class_counts=[5, 5])]))
    rec = Recording(facts=facts)
    for s in range(0, 50, 5):
        for name in (HOSTILE, HOSTILE_ATTR):
            rec.record(f"grad_norm/{name}", s, 1.0 / (s + 1))
            rec.record(f"dead_fraction/{name}", s, s / 50)
        rec.record(HOSTILE, s, 0.5)  # a metric signal with a hostile name
        rec.record("loss", s, 1.0 / (s + 1))
    rec.experiments["gradient_flow"] = {"layers": [HOSTILE, HOSTILE_ATTR], "grad_norm": {HOSTILE: 1.0,
                                                                                        HOSTILE_ATTR: 0.0}}
    rec.experiments[HOSTILE] = {HOSTILE: HOSTILE}
    rec.events.append({"kind": "nonfinite", "step": 20, "where": f"grad:{HOSTILE}"})
    rec.warn(f"hostile warning {HOSTILE}")
    loc = Location(f"{HOSTILE_ATTR}/train.py", 9, f'x = "</pre>{HOSTILE}"')
    finding = Finding(message=f"layer {HOSTILE} is dead", cause="dying-relu", severity="error", confidence=0.9,
                      evidence=[Evidence(f"dead units in {HOSTILE}", HOSTILE, HOSTILE_ATTR)], locations=[loc],
                      code="TM999", name=HOSTILE)
    trial = Trial(cause="dying-relu", fix=HOSTILE, verified=False, before={HOSTILE: 1.0, "loss": [1.0, 0.9]},
                  after={HOSTILE: 0.5, "loss": [1.0, 0.5]}, margin=HOSTILE, note=HOSTILE)
    cause = CauseReport(id="dying-relu", title="ReLU units die", score=0.9, evidence=finding.evidence,
                        locations=[loc], fix=FixReport(summary=f"rename {HOSTILE}", verified=False, trial=trial,
                                                       diff=f"-{HOSTILE}\n+{HOSTILE_ATTR}"),
                        findings=["TM999"], why=HOSTILE)
    note = Finding(message=HOSTILE, severity="info", code="TM998", name=HOSTILE_ATTR)
    return Diagnosis(status="unhealthy", causes=[cause], findings=[finding], notes=[note], recording=rec,
                     error=HOSTILE)


@pytest.fixture(scope="module")
def healthy() -> Diagnosis:
    return build_healthy()


@pytest.fixture(scope="module")
def broken_preflight() -> Diagnosis:
    return build_broken_preflight()


@pytest.fixture(scope="module")
def broken_run() -> Diagnosis:
    return build_broken_run()


@pytest.fixture(scope="module")
def hostile() -> Diagnosis:
    return build_hostile()


# ------------------------------------------------------------------------------------------ checks
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TagChecker(HTMLParser):
    """Every non-void element is closed, in order; collects the tags, attributes and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _TagChecker:
    p = _TagChecker()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed: {p.stack[-5:]}"
    return p


def _plots(page: str) -> set[str]:
    return set(re.findall(r'data-plot="([^"]+)"', page))


def _self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r'(?:src|href)\s*=\s*"(?!#)', page), "an external reference"
    assert "url(" not in page and "@import" not in page
    assert not re.search(r'\bd="[^"]*nan', page, re.I), "a NaN coordinate in an SVG path"


# ------------------------------------------------------------------------------------------ tests
def test_preflight_reports_show_verdict_causes_and_experiments(healthy, broken_preflight):
    good, bad = render_html(healthy), render_html(broken_preflight)
    for page in (good, bad):
        _parse(page)
        _self_contained(page)
        assert page.startswith("<!DOCTYPE html>")
        # pre-flight only: no training signals, the experiments are drawn instead
        assert {"gradient_flow", "activations", "overfit"} <= _plots(page)
        assert "loss" not in _plots(page) and "Training signals" not in page
        assert "Set-up" in page and "binary_crossentropy" in page or "mse" in page
    assert "Healthy" in good and "Unhealthy" not in good and "Root causes" not in good
    assert "Unhealthy" in bad
    ids = broken_preflight.cause_ids()
    positions = [bad.index(f'<code class="tmr-id">{cid}</code>') for cid in ids]
    assert positions == sorted(positions), "causes are shown best first"
    assert bad.index("Root causes") < bad.index("Pre-flight experiments") < bad.index("Set-up")
    for c in broken_preflight.causes:
        assert f"score {c.score:.2f}" in bad
        for e in c.evidence[:8]:
            assert html_escape(e.what) in bad
    assert "fix not tried" in bad


def html_escape(s: str) -> str:
    import html

    return html.escape(s, quote=True)


def test_run_report_draws_every_plot_with_baselines_and_trial(broken_run):
    page = render_html(broken_run)
    _parse(page)
    _self_contained(page)
    assert {"loss", "metrics", "grad_norm", "update_ratio", "lr", "activity", "predictions", "lr_range",
            "gradient_flow", "activations", "overfit", "trial_loss"} <= _plots(page)
    assert "chance 1/C = 0.33" in page  # 3 classes
    majority = max(broken_run.recording.facts.data.targets[0].class_counts) / \
        sum(broken_run.recording.facts.data.targets[0].class_counts)
    assert f"majority-class rate = {majority:.2f}" in page
    assert "expected at init: ln C = ln 3 = 1.099" in page
    assert "non-finite loss at step 417" in page
    assert "suggested 0.003" in page and "yours 0.1" in page
    assert "trial unnormalized-input: with the fix" in page  # the trial overlaid on the loss plot
    # the cause card: verified badge, trial numbers, file:line with code, the diff
    assert "fix verified" in page and "accuracy 0.35 -&gt; 0.91" in page
    assert "<td>final metric</td>" in page and ">0.91<" in page
    assert "<code>train.py:13</code>" in page and "model.fit(x_train, y_train, epochs=6)" in page
    assert '<span class="tmr-d-add">+model.fit(x_train / 255.0, y_train, epochs=6)</span>' in page
    assert '<span class="tmr-d-del">-model.fit(x_train, y_train, epochs=6)</span>' in page
    # per-layer plots name the layers in model order; the zero gradient is reported, not drawn as log(0)
    grad = page[page.index('data-plot="grad_norm"'):page.index('data-plot="update_ratio"')]
    assert grad.index("hidden_1") < grad.index("hidden_2") < grad.index("probs")
    assert "zero value" in grad
    # the heat map has a cell per layer and probe step (3 rows x 30 steps)
    heat = page[page.index('data-plot="activity"'):page.index('data-plot="predictions"')]
    assert heat.count("<rect") - 11 == 3 * 30  # minus the colour key
    assert "hidden_1 \u00b7 dead, step 580: 100%" in heat


def test_chart_maps_data_to_pixels_and_breaks_lines_at_gaps():
    from trainmedic.report.html import _Chart

    ch = _Chart()
    ch.line([0, 5, 10, 15], [0.0, float("nan"), 1.0, 2.0], "x")
    svg = ch.svg("t")
    d = re.search(r'<path d="([^"]+)"', svg).group(1)
    moves = re.findall(r"([ML])([\d.]+) ([\d.]+)", d)
    assert [m[0] for m in moves] == ["M", "M", "L"]  # the NaN splits the line
    (x0, y0), (x1, y1), (x2, y2) = [(float(a), float(b)) for _, a, b in moves]
    assert x0 == _Chart.L and x2 == _Chart.W - _Chart.R  # x spans the plot area
    assert y0 > y1 > y2  # larger values higher up
    assert abs((y0 - y1) - (y1 - y2)) < 0.2  # linear: equal steps for 0 -> 1 -> 2
    log = _Chart(y_log=True)
    log.line([0, 1, 2], [1.0, 0.0, 100.0], "g")
    d = re.search(r'<path d="([^"]+)"', log.svg("t")).group(1)
    assert d.count("M") == 2 and "nan" not in d.lower() and "inf" not in d.lower()


def test_numpy_values_and_a_saved_recording_render_the_same_plots(tmp_path):
    rec = Recording()
    for s in range(30):
        rec.record("loss", s, np.float32(1 / (s + 1)) if s != 5 else float("nan"))
        rec.record("accuracy", s, np.float64(0.5 + s / 100))
        rec.record("pred/histogram", s, np.array([0.5 + s / 100, 0.5 - s / 100]))
    rec.trials.append(Trial(cause="lr-too-high", fix="lr / 10", verified=None,
                            before={"loss": np.linspace(1, 0.5, 10)}, after={"loss": np.linspace(1, 0.1, 10)}))
    rec.save(tmp_path)
    pages = [render_html(judge(rec)), render_html(judge(Recording.load(tmp_path)))]
    for page in pages:
        _parse(page)
        _self_contained(page)
        assert {"loss", "metrics", "predictions"} <= _plots(page)
        assert "trial lr-too-high: with the fix" in page
    assert _plots(pages[0]) == _plots(pages[1])


def test_user_strings_are_escaped(hostile):
    for page in (render_html(hostile), render_html(hostile, standalone=False)):
        parsed = _parse(page)
        assert HOSTILE not in page and HOSTILE_ATTR not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
        tags = {t for t, _ in parsed.tags}
        assert "script" not in tags and "img" not in tags
        assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
        text = "".join(parsed.text)
        assert HOSTILE in text and HOSTILE_ATTR in text  # shown as text
        assert 'id="tmr-cause-dying-relu"' in page


def test_repr_html_is_a_scoped_fragment_with_the_same_content(broken_run):
    frag = broken_run._repr_html_()
    page = render_html(broken_run)
    _parse(frag)
    assert "<html" not in frag and "<body" not in frag and "<!DOCTYPE" not in frag
    assert frag.startswith('<div class="tmr-root"><style>')
    css = frag[frag.index("<style>") + 7:frag.index("</style>")]
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in re.split(r",(?![^(]*\))", block)]
    assert selectors and all(s.startswith(".tmr-root") or s.startswith("@media") for s in selectors if s), \
        [s for s in selectors if not s.startswith(".tmr-root")][:5]
    body = page[page.index('<div class="tmr">'):page.rindex("</div></body>")]
    assert body in frag  # the same content
    assert _plots(frag) == _plots(page)


def test_write_html_and_degenerate_diagnoses(tmp_path, broken_preflight):
    path = write_html(broken_preflight, tmp_path / "sub" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "output-activation-mismatch" in text
    empty = judge(Recording())
    page = render_html(empty)
    _parse(page)
    assert "Healthy" in page
    err = Diagnosis(status="error", causes=[], findings=[], recording=Recording(), error="the model did not build")
    page = render_html(err)
    _parse(page)
    assert "Error" in page and "the model did not build" in page


# ------------------------------------------------------------------------------------------ in a browser
browser = pytest.mark.skipif(chromium_path() is None,
                             reason="headless chromium not installed (run scripts/install_browser.sh)")


@pytest.mark.browser
@browser
@pytest.mark.parametrize("name", ["healthy", "broken_preflight", "broken_run"])
def test_reports_render_in_chromium(name, request, tmp_path):
    d: Diagnosis = request.getfixturevalue(name)
    ARTIFACTS.mkdir(exist_ok=True)
    page = write_html(d, ARTIFACTS / f"report_{name}.html")
    shot = ARTIFACTS / f"report_{name}.png"
    result = open_in_chromium(page, screenshot=shot, window=(1280, 2000))
    assert result.errors() == [], result.errors()
    assert result.screenshot is not None and result.screenshot.stat().st_size > 20_000
    assert _png_size(result.screenshot) == (1280, 2000)
    dom = result.dom
    assert dom.count("<svg") >= 3
    for cid in d.cause_ids():
        assert f'id="tmr-cause-{cid}"' in dom and f'<code class="tmr-id">{cid}</code>' in dom
    if d.healthy:
        assert "Healthy" in dom
    expected = {"gradient_flow", "activations", "overfit"}
    if name == "broken_run":
        expected |= {"loss", "metrics", "grad_norm", "activity", "predictions", "lr_range"}
        full = open_in_chromium(page, screenshot=ARTIFACTS / f"report_{name}_full.png", window=(1280, 6400))
        assert full.errors() == []
    assert expected <= _plots(dom)


@pytest.mark.browser
@browser
def test_hostile_names_stay_text_in_chromium(hostile):
    ARTIFACTS.mkdir(exist_ok=True)
    page = write_html(hostile, ARTIFACTS / "report_hostile.html")
    result = open_in_chromium(page, screenshot=ARTIFACTS / "report_hostile.png", window=(1280, 2000))
    assert result.errors() == [], result.errors()
    parsed = _parse(result.dom)  # the DOM the browser built, serialised back
    tags = {t for t, _ in parsed.tags}
    assert "script" not in tags and "img" not in tags, "markup in a user string became an element"
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    text = "".join(parsed.text)
    assert HOSTILE in text and HOSTILE_ATTR in text  # the browser shows them as text


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
