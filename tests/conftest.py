"""Shared fixtures. Tests that need the real Fashion-MNIST files skip when they are absent."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"
sys.path.insert(0, str(REPO_ROOT))


def app_pages() -> dict[str, str]:
    """Every page of the app (label -> script, relative to the repository), from the app's own list."""
    from dashboard import ui

    return {"Home": "dashboard/Home.py", **{label: f"dashboard/{path}" for label, path in ui.PAGES.items()}}


def open_page(path: str, session: dict | None = None, **query):
    """Run one page script (relative to the repository) under AppTest, with session state and query
    parameters set before its first run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / path), default_timeout=180)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def run_selector(at):
    """The sidebar's run selector of a page run under AppTest: radio buttons for a few runs, a drop-down list
    for more (dashboard.ui.RUNS_LISTED_IN_FULL)."""
    selectors = [w for w in [*at.sidebar.radio, *at.sidebar.selectbox] if w.label == "Model run"]
    assert len(selectors) == 1, [w.label for w in [*at.sidebar.radio, *at.sidebar.selectbox]]
    return selectors[0]


def real_data_dir() -> Path | None:
    """The real data: $FASHION_MNIST_DIR if set and present, else ../shared/data/fashion-mnist."""
    for candidate in (os.environ.get("FASHION_MNIST_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


# Runs trained by tests (through the app's jobs or the command) skip the training's story unless a test asks:
# it adds a minute of t-SNE and maps to every run.
os.environ.setdefault("TGN_LEARNING", "0")

# Tests read the real data from ../shared when the caller did not point elsewhere (never downloading it).
if real_data_dir() is not None and not os.environ.get("FASHION_MNIST_DIR"):
    os.environ["FASHION_MNIST_DIR"] = str(real_data_dir())

needs_data = pytest.mark.skipif(
    real_data_dir() is None,
    reason="Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist",
)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """A running app for a module's browser tests (its own empty runs folder), on the real data."""
    from runfolder import runs
    from tests.browser import streamlit_server

    folder = real_data_dir()
    if folder is None:
        pytest.skip("Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist")
    env = {"FASHION_MNIST_DIR": str(folder), runs.RUNS_DIR_ENV: str(tmp_path_factory.mktemp("runs"))}
    with streamlit_server(env) as (url, _):
        yield url


@pytest.fixture
def data_env(monkeypatch):
    """Point the loader at the real data for this test (skips when it is absent)."""
    folder = real_data_dir()
    if folder is None:
        pytest.skip("Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(folder))
    return folder


def run_training(args, env_extra=None, timeout=600, **popen):
    """Run the training CLI in a subprocess from the repository root."""
    env = {**os.environ, **(env_extra or {})}
    folder = real_data_dir()
    if folder is not None:
        env.setdefault("FASHION_MNIST_DIR", str(folder))
    args = [str(a) for a in args]
    if "--learning" in args:  # a test that wants the story asks for it; the others skip its minute of work
        args.remove("--learning")
    elif "--help" not in args:
        args.append("--no-learning")
    command = [sys.executable, "-m", "training.train", *args]
    if popen.pop("background", False):
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
        )
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def blank_grad_cam_images(explainers, images, targets, layer: str = "block3") -> list[int]:
    """Indices of the images whose Grad-CAM map for ``targets[i]`` at ``layer`` is blank."""
    from explain import saliency

    return [
        i
        for i in range(len(images))
        if saliency.is_blank(saliency.saliency_map(explainers, images[i], "gradcam", int(targets[i]), layer))
    ]
