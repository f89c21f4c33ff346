"""Load: five concurrent browser sessions click through every page for 60 seconds."""

import os
import threading
import time

import psutil
import pytest

from runfolder import runs
from tests.browser import browser, chromium_path, streamlit_server, wait_for_app
from tests.conftest import real_data_dir

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium not found: apt-get install chromium"),
    pytest.mark.skipif(real_data_dir() is None, reason="Fashion-MNIST not found: set FASHION_MNIST_DIR"),
]
SESSIONS = 5
DURATION_S = float(os.environ.get("LOAD_TEST_SECONDS", 60))
PAGES = [
    "",
    "Architecture",
    "Learning_curves",
    "Confusion_matrix",
    "Mistakes?sort=margin",
    "Saliency?index={i}&method=gradcam",
    "Inception_branches?index={i}&block=2",
    "Saliency?index={i}&method=layercam",
]
MEMORY_LIMIT_MB = 1500


def server_rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    return (process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))) / 2**20


def test_five_sessions_for_a_minute(tmp_path):
    env = {"FASHION_MNIST_DIR": str(real_data_dir()), runs.RUNS_DIR_ENV: str(tmp_path / "runs")}
    errors, visits, samples = [], [0] * SESSIONS, []
    with streamlit_server(env) as (url, server):
        # Warm up first: the first visit of an explanation page imports TensorFlow and loads the
        # model (a one-off step of ~450 MB). Measured after it, growth means a leak, not a late import.
        with browser() as chromium:
            page = chromium.new_page()
            for path in ("Saliency?index=1", "Inception_branches?index=1"):
                page.goto(f"{url}/{path}")
                wait_for_app(page, timeout_ms=180_000)
        stop = time.time() + DURATION_S

        # Playwright's sync API is not thread-safe across one browser: give each session its own browser.
        threads = []
        for n in range(SESSIONS):
            threads.append(threading.Thread(target=_own_browser_session, args=(url, n, stop, errors, visits)))
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            samples.append(server_rss_mb(server.pid))
            time.sleep(0.5)
        for t in threads:
            t.join()
        alive = server.poll() is None
    assert alive, "the server died under load"
    assert not errors, errors
    assert all(v >= 2 for v in visits), visits
    half = len(samples) // 2
    print(f"visits per session {visits}; server RSS peak {max(samples):.0f} MB")
    assert max(samples) < MEMORY_LIMIT_MB, f"peak {max(samples):.0f} MB"
    # Bounded: the second half of the run does not keep growing past the first half's peak by much.
    assert max(samples[half:]) < max(samples[:half]) * 1.25 + 50


def _own_browser_session(url, n, stop, errors, visits):
    step = 0
    try:
        with browser() as chromium:
            page = chromium.new_page(viewport={"width": 1280, "height": 900})
            while time.time() < stop:
                path = PAGES[(step + n) % len(PAGES)].format(i=(37 * step + 101 * n) % 10_000)
                page.goto(f"{url}/{path}")
                wait_for_app(page, timeout_ms=90_000)
                if page.locator("[data-testid='stException']").count():
                    errors.append(f"session {n}, {path}: {page.inner_text('body')[:500]}")
                visits[n] += 1
                step += 1
    except Exception as exc:  # a timeout or crash is a failure of the app under load
        errors.append(f"session {n}: {type(exc).__name__}: {exc}")
