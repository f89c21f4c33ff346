"""Measure the app and the model on this machine and print a table.

    python -m benchmarks.run            # everything (about 5 minutes on 2 cores)
    python -m benchmarks.run --skip-training

Figures: time from `streamlit run` to Home rendered in headless Chromium (and a naive
Home that imports TensorFlow and loads the model, as a reference measured in the same
run), Home against an empty Streamlit page (alternated, medians of 3), each page's first
render, warm saliency latency per method, peak server memory (RSS including child
processes) for the TensorFlow-free pages and for every page, every page walked with the
server in a 690 MB memory cgroup (where cgroups can be made), the
trust page's rerun and the Saliency page's per-image faithfulness test, training seconds per
epoch with oneDNN on and off, and prediction time for the test set.
Shared machines are noisy: compare ratios from one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dashboard import model_cache, ui  # noqa: E402
from runfolder import runs  # noqa: E402
from tests.browser import (  # noqa: E402
    SCRIPT_FINISHED,
    browser,
    streamlit_server,
    tile_centre,
    wait_for_app,
    wait_until_drawn,
)
from training.device import cpu_model  # noqa: E402

# URL names of the pages ("" is Home); the model pages import TensorFlow (the own-image page is timed apart).
MODEL_PAGES = ["How_it_computes", "Quiz", "Saliency", "Inception_branches", "Retrain"]
FAST_PAGES = [
    "",
    *(
        url.removeprefix("./")
        for url in ui.PAGE_URLS.values()
        if url.removeprefix("./") not in MODEL_PAGES + ["Your_own_image"]
    ),
]
TARGETS = {
    "home_s": 3.0,
    "walk_mb": 600.0,
    "cam_s": 0.5,
    "scorecam_s": 1.5,
    "trust_s": 1.0,
    "image_test_s": 0.3,
    "own_image_s": 1.0,
    "selection_s": 1.0,
    "feature_page_s": 2.0,
    "lesson_s": 0.5,
    "learning_first_s": 2.0,
    "learning_step_s": 0.5,
    "home_ratio": 1.3,
}
SCRIPT_RUNNING = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state') === 'running'"""
# Drawn by the current run: a map picture that was not on the page before the click, and not one of the
# elements left from the previous run (they carry data-stale="true" from about 0.1 s after the rerun begins
# until they are replaced; a warm rerun can replace them before that is seen).
MAP_SOURCES = """() => Array.from(document.querySelectorAll("[data-testid='stImage'] img"))
    .filter(img => img.naturalWidth >= 200).map(img => img.src)"""
NEW_MAP_SHOWN = """(old) => Array.from(document.querySelectorAll("[data-testid='stImage'] img"))
    .some(img => img.complete && img.naturalWidth >= 200 && !old.includes(img.src)
        && !img.closest("[data-stale='true']"))"""
PREDICTION_AND_MAP_SHOWN = """() => Array.from(document.querySelectorAll("[data-testid='stMetric']"))
        .some(m => m.innerText.includes('Prediction') && !m.closest("[data-stale='true']"))
    && Array.from(document.querySelectorAll("[data-testid='stImage'] img"))
        .some(img => img.complete && img.naturalWidth >= 200 && !img.closest("[data-stale='true']"))"""

NAIVE_HOME = """
import sys
sys.path.insert(0, {root!r})
import streamlit as st
import tensorflow as tf  # noqa: F401
import model as tgn

@st.cache_resource
def load():
    return tgn.load_model({model!r})

net = load()
st.title("Naive Home")
st.write(net.count_params())
"""


EMPTY_PAGE = """
import streamlit as st
st.title("An empty Streamlit page")
"""
MEMORY_CGROUP = Path("/sys/fs/cgroup/memory")  # cgroup v1 (this machine); Community Cloud's smallest allowance
HOSTED_MEMORY_MB = 690


class PeakMemory:
    """Poll a process and its children in a thread for their summed RSS and its anonymous part.

    Anonymous memory is RSS less file-backed pages (mostly shared libraries: TensorFlow's maps
    about 230 MB of its own code), which the kernel can drop under pressure and read back.
    Use .peak_mb / .peak_anonymous_mb after stop().
    """

    def __init__(self, pid: int, interval: float = 0.05):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_anonymous = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                infos = [p.memory_info() for p in (self.process, *self.process.children(recursive=True))]
            except psutil.Error:
                infos = None
            if infos:
                self.sample(sum(i.rss for i in infos), sum(i.rss - i.shared for i in infos))
            time.sleep(self.interval)

    def sample(self, rss: int, anonymous: int) -> None:
        """One reading (bytes); subclasses keep more than the peaks."""
        self.peak = max(self.peak, rss)
        self.peak_anonymous = max(self.peak_anonymous, anonymous)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    @property
    def peak_anonymous_mb(self) -> float:
        return self.peak_anonymous / 2**20


def time_to_first_render(script: Path | None, env: dict, path: str = "") -> float:
    """Seconds from `streamlit run` to the page fully rendered in Chromium (browser already started)."""
    with browser() as chromium:
        page = chromium.new_page()
        started = time.perf_counter()
        with streamlit_server(env, script=script) as (url, _):
            page.goto(f"{url}/{path}")
            wait_for_app(page)
            return time.perf_counter() - started


def timed_visit(page, url: str, wait) -> float:
    """Seconds from opening ``url`` (a new session) until ``wait(page)`` returns."""
    started = time.perf_counter()
    page.goto(url)
    wait(page)
    return time.perf_counter() - started


def walk(env: dict, pages: list[str]) -> tuple[dict, PeakMemory]:
    """First-render time per page and the server's peak memory over the walk."""
    times = {}
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        with streamlit_server(env) as (url, process), PeakMemory(process.pid) as memory:
            for name in pages:
                times[name or "Home"] = timed_visit(page, f"{url}/{name}", wait_for_app)
    return times, memory


def wait_until_idle(process: subprocess.Popen, below: float = 5.0, seconds: float = 2.0, limit: float = 90.0):
    """Wait until the server has used under ``below`` % of a core for ``seconds`` (its TensorFlow warm-up, which
    starts a few seconds after the first visit, done), at most ``limit`` s."""
    server = psutil.Process(process.pid)
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if server.cpu_percent(interval=seconds) < below:
            return


def page_first_renders(env: dict, pages: list[str], students: int = 3) -> dict[str, tuple[float, float]]:
    """Per page, (its first render in a fresh server, the median over ``students`` new sessions' first render
    once the server is warm and idle), each until the page is drawn (tests.browser.wait_until_drawn: every
    chart and picture there and painted), in one browser tab (the app's code in the browser's cache, as for a
    student who has opened it before)."""
    first, later = {}, {name: [] for name in pages}
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        with streamlit_server(env) as (url, process):
            for name in pages:
                first[name] = timed_visit(page, f"{url}/{name}", wait_until_drawn)
            wait_until_idle(process)
            for _ in range(students):
                for name in pages:
                    later[name].append(timed_visit(page, f"{url}/{name}", wait_until_drawn))
    return {name: (first[name], statistics.median(later[name])) for name in pages}


def capped_walk(env: dict, pages: list[str], limit_mb: int = HOSTED_MEMORY_MB) -> dict | None:
    """A walk of every page with the server in a memory cgroup of ``limit_mb`` (what a small hosted share
    allows): whether the server survived and every page rendered, and the most memory charged. None where
    cgroups cannot be made (not root, no cgroup v1 memory controller)."""
    group = MEMORY_CGROUP / f"tgn-bench-{os.getpid()}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit_mb * 2**20))
    except OSError:
        return None
    rendered = 0
    try:
        with browser() as chromium:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            with streamlit_server(env) as (url, process):
                (group / "cgroup.procs").write_text(str(process.pid))
                for name in pages:
                    page.goto(f"{url}/{name}")
                    wait_for_app(page, timeout_ms=180_000)
                    rendered += page.locator("[data-testid='stException']").count() == 0
                alive = process.poll() is None
        peak = int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
        failures = int((group / "memory.failcnt").read_text())
        return {"alive": alive, "rendered": rendered, "pages": len(pages), "peak_mb": peak, "failcnt": failures}
    finally:
        for pid in (group / "cgroup.procs").read_text().split():
            (MEMORY_CGROUP / "cgroup.procs").write_text(pid)
        group.rmdir()


def home_against_empty_page(env: dict, rounds: int = 7) -> tuple[list[float], list[float]]:
    """First render of Home and of an empty Streamlit page, alternated in one run (same machine state). Seven
    rounds by default: single rounds spread by 0.4 s, more than the 1.3x target's margin."""
    home, empty = [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "empty.py"
        script.write_text(EMPTY_PAGE)
        for _ in range(rounds):
            home.append(time_to_first_render(None, env))
            empty.append(time_to_first_render(script, env))
    return home, empty


def saliency_latency(repeats: int = 3) -> dict:
    """Warm server-side rerun time of the Saliency page after a change of image, per method."""
    from streamlit.testing.v1 import AppTest

    from explain.saliency import METHODS

    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / ui.PAGES["Saliency"]), default_timeout=300).run()
    latencies = {}
    index = 100
    for method in METHODS:
        at.selectbox(key="method").set_value(method).run()
        samples = []
        for _ in range(repeats):
            index += 1
            started = time.perf_counter()
            at.number_input(key="image_index").set_value(index).run()
            samples.append(time.perf_counter() - started)
            assert not at.exception, at.exception
        latencies[METHODS[method]] = statistics.median(samples)
    return latencies


def trust_page_rerun(repeats: int = 5) -> float:
    """Median server-side rerun of the trust page (it reads faithfulness.json only), warm."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(
        str(REPO_ROOT / "dashboard" / ui.PAGES["Can the maps be trusted?"]), default_timeout=60
    ).run()
    samples = []
    keys = list(at.selectbox(key="entry").options)
    for i in range(repeats):
        started = time.perf_counter()
        at.selectbox(key="entry").select_index(i % len(keys)).run()
        samples.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return statistics.median(samples)


FIRST_RENDER_IN_A_FRESH_PROCESS = """
import sys, time
from streamlit.testing.v1 import AppTest
times = []
for _ in range(2):
    at = AppTest.from_file({page!r}, default_timeout=120)
    started = time.perf_counter()
    at.run()
    times.append(time.perf_counter() - started)
    assert not at.exception, at.exception
print(*times)
"""


def server_side_first_renders(label: str) -> tuple[float, float]:
    """(first render in a fresh Python process, then a second session's) of the page ``label``, server-side
    (AppTest): the first pays the page's imports and reading and validating its data once for every session."""
    page = str(REPO_ROOT / "dashboard" / ui.PAGES[label])
    done = subprocess.run(
        [sys.executable, "-c", FIRST_RENDER_IN_A_FRESH_PROCESS.format(page=page)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    first, second = (float(x) for x in done.stdout.split()[-2:])
    return first, second


def watch_it_learn_times(repeats: int = 5) -> float:
    """Median warm slider step of Watch it learn, server-side, on the shipped run's story (its rerun's: 9
    frames, the 10,000 test answers each, 2,000 moving points, 100 probe maps)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / ui.PAGES["Watch it learn"]), default_timeout=120).run()
    assert not at.exception, at.exception
    epochs = list(at.select_slider(key="epoch").options)
    assert epochs, "the shipped run has no story"
    for epoch in epochs:  # warm: each epoch's animated map is built once for every session
        at.select_slider(key="epoch").set_value(int(epoch)).run()
    samples = []
    for i in range(repeats):
        started = time.perf_counter()
        at.select_slider(key="epoch").set_value(int(epochs[i % len(epochs)])).run()
        samples.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return statistics.median(samples)


def lesson_step_reruns() -> dict[str, float]:
    """Server-side rerun per step of the lesson "How it computes" (warm: each step visited once before),
    and for the convolution step a move of the position slider."""
    from streamlit.testing.v1 import AppTest

    from dashboard.lesson_widgets import STEPS

    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / ui.PAGES["How it computes"]), default_timeout=120)
    at.query_params["index"] = "0"
    at.run()
    for step in STEPS:  # warm every step's caches once
        at.segmented_control(key="lesson_step").set_value(step).run()
    times = {}
    for step in STEPS:
        started = time.perf_counter()
        at.segmented_control(key="lesson_step").set_value(step).run()
        times[step] = time.perf_counter() - started
        assert not at.exception, at.exception
    at.segmented_control(key="lesson_step").set_value("conv").run()
    started = time.perf_counter()
    at.slider(key="lesson_row").set_value(5).run()
    times["conv, new position"] = time.perf_counter() - started
    return times


def per_image_test_time(images: int = 10) -> float:
    """Median time of the Saliency page's per-image test (a map and every control, one model call), warm."""
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain import faithfulness as fa
    from explain.saliency import build_explainers, predict_in_chunks, saliency_map

    net = tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)
    explainers = build_explainers(net)
    x = to_model_input(load_split("test").images[:images])
    samples = []
    for i in range(images):
        target = int(net.predict_on_batch(x[i : i + 1]).argmax())
        saliency = saliency_map(explainers, x[i], "occlusion", target)
        started = time.perf_counter()
        fa.image_verdict(lambda batch: predict_in_chunks(net, batch), x[i], saliency, target, seed=i)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples[1:])  # the first call traces the batch shape


def own_image_latency(env: dict, repeats: int = 3) -> dict:
    """Seconds from an upload, and from a finished stroke, to the Prediction and the default map shown in
    Chromium (warm: the model and the calibration loaded by a first picture)."""
    from inputs.examples import EXAMPLES, example_png

    def until_shown(page, started: float, old_maps: list[str]) -> float:
        try:
            page.wait_for_function(SCRIPT_RUNNING, timeout=5_000, polling=10)  # the rerun has begun
        except Exception:
            pass  # it may have begun and ended already (a warm rerun can take under 0.1 s)
        # Not the last picture's answer: a map picture that was not on the page before (the old answer may be
        # replaced faster than it can be seen marked stale).
        page.wait_for_function(NEW_MAP_SHOWN, arg=old_maps, timeout=60_000, polling=10)
        page.wait_for_function(PREDICTION_AND_MAP_SHOWN, timeout=60_000, polling=10)
        seconds = time.perf_counter() - started
        page.wait_for_function(SCRIPT_FINISHED, timeout=60_000, polling=10)  # the rest of the page, before the next
        return seconds

    names = list(EXAMPLES)
    uploads, strokes = [], []
    with browser() as chromium, streamlit_server(env) as (url, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/Your_own_image")
        wait_for_app(page)
        page.get_by_role("radio", name="Upload a photo").click()
        wait_for_app(page)
        for i in range(repeats + 1):  # the first picture warms the caches
            old_maps = page.evaluate(MAP_SOURCES)
            started = time.perf_counter()
            page.locator("input[type=file]").set_input_files(
                files=[{"name": f"{i}.png", "mimeType": "image/png", "buffer": example_png(names[i % len(names)])}]
            )
            seconds = until_shown(page, started, old_maps)
            wait_for_app(page)
            if i:
                uploads.append(seconds)
        page.get_by_role("radio", name="Draw").click()
        wait_for_app(page)
        page.wait_for_timeout(2000)
        canvas = page.locator("canvas").last
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        for i in range(repeats + 2):  # the component can miss its very first stroke; then one warm-up
            page.mouse.move(box["x"] + 60 + 40 * (i % 5), box["y"] + 30)
            page.mouse.down()
            page.mouse.move(box["x"] + 70 + 40 * (i % 5), box["y"] + 250, steps=15)
            old_maps = page.evaluate(MAP_SOURCES)
            started = time.perf_counter()
            page.mouse.up()
            try:
                seconds = until_shown(page, started, old_maps)
            except Exception:
                continue
            wait_for_app(page)
            if i > 1:
                strokes.append(seconds)
    return {"upload": statistics.median(uploads), "stroke": statistics.median(strokes) if strokes else float("nan")}


def feature_map_selection(env: dict, repeats: int = 3) -> float:
    """Seconds from a lasso released on the feature map to the selection's images shown in Chromium (warm)."""
    samples = []
    with browser() as chromium, streamlit_server(env) as (url, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/Feature_space")
        wait_for_app(page)
        for i in range(repeats + 1):  # the first selection warms the caches
            box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
            x, y = box["x"] + box["width"] * (0.3 + 0.1 * i), box["y"] + box["height"] / 2
            page.mouse.move(x - 60, y - 60)
            page.mouse.down()
            for dx, dy in [(60, -60), (60, 60), (-60, 60), (-60, -60)]:
                page.mouse.move(x + dx, y + dy, steps=4)
            started = time.perf_counter()
            page.mouse.up()
            try:
                page.wait_for_function(SCRIPT_RUNNING, timeout=5_000, polling=10)
            except Exception:
                pass
            page.wait_for_function(SCRIPT_FINISHED, timeout=60_000, polling=10)
            if i:
                samples.append(time.perf_counter() - started)
            wait_for_app(page)
    return statistics.median(samples)


def atlas_channel_click(env: dict, repeats: int = 3) -> float:
    """Seconds from a click on a channel's tile in the atlas to that channel's detail shown (Chromium, warm)."""
    samples = []
    with browser() as chromium, streamlit_server(env) as (url, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/Channel_atlas?layer=block2_3x3&channel=0")
        wait_for_app(page)
        for i in range(repeats + 1):  # the first click warms the caches
            channel = 9 + i
            x, y = tile_centre(page, channel, columns=8, count=32, tile=56)  # block 2's 3x3 layer: 32 channels
            started = time.perf_counter()
            page.mouse.click(x, y)
            page.get_by_text(f"3x3 branch · channel {channel}").first.wait_for(timeout=60_000)
            page.wait_for_function(SCRIPT_FINISHED, timeout=60_000, polling=10)
            if i:
                samples.append(time.perf_counter() - started)
            wait_for_app(page)
    return statistics.median(samples)


def training_speed(batches: int, onednn: str) -> float:
    """Seconds per full epoch (430 batches of 128), extrapolated from ``batches`` timed batches."""
    code = f"""
import os, time
import numpy as np
import keras
from model import build_tiny_googlenet
from training.config import TrainConfig
from dataset.fashion_mnist import load_split
from training.train import make_dataset, make_optimizer
config = TrainConfig()
split = load_split("train")
ds = make_dataset(split.images[:{batches + 20} * 128], split.labels[:{batches + 20} * 128], config, training=True)
net = build_tiny_googlenet()
net.compile(optimizer=make_optimizer(config, 430), loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
it = iter(ds)
for _ in range(10):  # warm-up: tracing and first allocations
    x, y = next(it); net.train_on_batch(x, y)
started = time.perf_counter()
for _ in range({batches}):
    x, y = next(it); net.train_on_batch(x, y)
print((time.perf_counter() - started) / {batches} * 430)
"""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def prediction_time() -> float:
    code = """
import time
import model as tgn
from runfolder import runs
from dataset.fashion_mnist import load_split, to_model_input
net = tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)
x = to_model_input(load_split("test").images)
net.predict(x[:500], batch_size=500, verbose=0)
started = time.perf_counter()
net.predict(x, batch_size=500, verbose=0)
print(time.perf_counter() - started)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def row(what: str, value: str, note: str = "") -> str:
    return f"| {what} | {value} | {note} |"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-training", action="store_true", help="skip the oneDNN on/off training timing")
    parser.add_argument("--batches", type=int, default=60, help="batches timed per training measurement")
    args = parser.parse_args(argv)

    env = {"TGN_RUNS_DIR": tempfile.mkdtemp(prefix="bench-runs-")}
    lines = ["| measurement | figure | note |", "| --- | --- | --- |"]

    home = [time_to_first_render(None, env) for _ in range(2)]
    with tempfile.TemporaryDirectory() as tmp:
        naive = Path(tmp) / "naive_home.py"
        naive.write_text(
            NAIVE_HOME.format(root=str(REPO_ROOT), model=str(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE))
        )
        naive_times = [time_to_first_render(naive, env) for _ in range(2)]
    lines.append(
        row(
            "`streamlit run` to Home rendered",
            f"{min(home):.2f} s",
            f"target {TARGETS['home_s']:.0f} s; naive Home (TensorFlow + model) {min(naive_times):.2f} s, "
            f"ratio {min(naive_times) / min(home):.1f}x",
        )
    )

    home_runs, empty_runs = home_against_empty_page(env)
    ratio = statistics.median(home_runs) / statistics.median(empty_runs)
    lines.append(
        row(
            "Home against an empty Streamlit page, first render",
            f"{statistics.median(home_runs):.2f} / {statistics.median(empty_runs):.2f} s ({ratio:.2f}x)",
            f"medians of {len(home_runs)}, alternated in one run; target {TARGETS['home_ratio']}x",
        )
    )

    # The TensorFlow-free pages with the background warm-up off (a share that only shows them); every page with
    # the app's default (the warm-up imports TensorFlow a few seconds after the first visit).
    fast_times, fast = walk({**env, model_cache.WARM_UP_ENV: "0"}, FAST_PAGES)
    all_times, every = walk(env, FAST_PAGES + MODEL_PAGES)
    for name, seconds in all_times.items():
        lines.append(row(f"first render: {name}", f"{seconds:.2f} s", "in a fresh server, pages in menu order"))
    lines.append(
        row(
            "peak server RSS, TensorFlow-free pages",
            f"{fast.peak_mb:.0f} MB",
            f"the warm-up off ({model_cache.WARM_UP_ENV}=0); target 300 MB",
        )
    )
    lines.append(row("peak server RSS, every page", f"{every.peak_mb:.0f} MB", f"target {TARGETS['walk_mb']:.0f} MB"))
    capped = capped_walk(env, FAST_PAGES + MODEL_PAGES)
    if capped is not None:
        lines.append(
            row(
                f"every page under a {HOSTED_MEMORY_MB} MB memory cgroup",
                f"{capped['rendered']} of {capped['pages']} pages, server {'alive' if capped['alive'] else 'killed'}",
                f"at most {capped['peak_mb']:.0f} MB charged, {capped['failcnt']} allocation failures",
            )
        )
    lines.append(
        row(
            "peak anonymous memory, TensorFlow-free pages / every page",
            f"{fast.peak_anonymous_mb:.0f} MB / {every.peak_anonymous_mb:.0f} MB",
            "RSS less file-backed pages (library code the kernel can drop and reread)",
        )
    )

    for method, seconds in saliency_latency().items():
        cam_target = None if method.startswith("SmoothGrad") else TARGETS["cam_s"]  # SmoothGrad shows progress
        target = TARGETS["scorecam_s"] if "Score" in method else cam_target
        lines.append(
            row(
                f"Saliency, new image, {method}",
                f"{seconds:.2f} s",
                f"warm, server-side; target {target} s" if target else "warm, server-side; shows progress",
            )
        )

    first, new_session = server_side_first_renders("Can the maps be trusted?")
    lines.append(
        row(
            "Can the maps be trusted?, first render / a new session's / a rerun",
            f"{first:.2f} / {new_session:.2f} / {trust_page_rerun():.2f} s",
            f"server-side; the first in a fresh process; target {TARGETS['trust_s']} s",
        )
    )
    drawn = page_first_renders(env, ["Can_the_maps_be_trusted", "Watch_it_learn"])
    for name, target in (("Can_the_maps_be_trusted", "trust_s"), ("Watch_it_learn", "learning_first_s")):
        lines.append(
            row(
                f"{name.replace('_', ' ')} drawn in Chromium: first visit / a new session",
                f"{drawn[name][0]:.2f} / {drawn[name][1]:.2f} s",
                "a fresh server's first visit; then the median of 3 new sessions once the server is warm and "
                f"idle; target {TARGETS[target]} s",
            )
        )
    first, new_session = server_side_first_renders("Watch it learn")
    lines.append(
        row(
            "Watch it learn, first render / a new session's",
            f"{first:.2f} s / {new_session:.2f} s",
            "server-side, the shipped run's story; the first in a fresh process; "
            f"target {TARGETS['learning_first_s']} s",
        )
    )
    step = watch_it_learn_times()
    lines.append(row("Watch it learn, slider step", f"{step:.2f} s", f"warm; target {TARGETS['learning_step_s']} s"))
    for step, seconds in lesson_step_reruns().items():
        lines.append(
            row(f"How it computes, step {step}", f"{seconds:.2f} s", f"warm rerun; target {TARGETS['lesson_s']} s")
        )
    lines.append(
        row(
            "Saliency, per-image test against the controls",
            f"{per_image_test_time():.2f} s",
            f"7 orders x 2 curves x 21 steps, in chunks of 64; target {TARGETS['image_test_s']} s added",
        )
    )

    lines.append(
        row(
            "Feature space: lasso to the selection's images",
            f"{feature_map_selection(env):.2f} s",
            f"in Chromium, warm; target {TARGETS['selection_s']} s",
        )
    )
    lines.append(
        row(
            "Channel atlas: a tile clicked to its channel shown",
            f"{atlas_channel_click(env):.2f} s",
            f"in Chromium, warm; target {TARGETS['selection_s']} s",
        )
    )
    own = own_image_latency(env)
    for what, seconds in own.items():
        lines.append(
            row(
                f"Your own image: {what} to Prediction and map shown",
                f"{seconds:.2f} s",
                f"in Chromium, warm; target {TARGETS['own_image_s']} s",
            )
        )

    if not args.skip_training:
        on, off = training_speed(args.batches, "1"), training_speed(args.batches, "0")
        lines.append(row("training, seconds per epoch, oneDNN on", f"{on:.0f} s", f"from {args.batches} batches"))
        lines.append(row("training, seconds per epoch, oneDNN off", f"{off:.0f} s", f"oneDNN speed-up {off / on:.2f}x"))
    lines.append(row("predict 10,000 test images", f"{prediction_time():.2f} s", "batch 500, warm"))

    cpu = cpu_model()
    print(
        f"\nMachine: {psutil.cpu_count()} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
