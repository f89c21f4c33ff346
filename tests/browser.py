"""Start the app with `streamlit run` and drive it with headless Chromium (Playwright).

Shared by the browser tests and the benchmark script. Uses Debian's chromium
(never `playwright install`, which downloads a browser).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    env_extra: dict | None = None,
    port: int | None = None,
    script: Path | None = None,
    app_root: Path = REPO_ROOT,
    log_path: Path | None = None,
):
    """Yield (base_url, process) of a running app (``app_root``'s dashboard/Home.py unless ``script``); stops it
    afterwards. Its output goes to ``log_path``, or nowhere: a pipe nobody reads fills up (64 kB of
    tracebacks under load) and then blocks the server's logging, which would look like a slow app."""
    port = port or free_port()
    env = {**os.environ, **(env_extra or {})}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script or app_root / "dashboard" / "Home.py"),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log_path or os.devnull, "wb") as log:
        process = subprocess.Popen(command, cwd=app_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("streamlit did not start within 60 s" + (f" (see {log_path})" if log_path else ""))
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


SCRIPT_FINISHED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app?.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the page's script."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_function(SCRIPT_FINISHED, timeout=timeout_ms)
    page.wait_for_timeout(300)  # let the last deltas paint


DRAWN = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (app?.getAttribute('data-test-script-state') !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')) return false;
    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
    if (Array.from(charts).some(chart => !chart.querySelector('.main-svg'))) return false;
    return Array.from(document.images).every(img => img.complete);
}"""
NEXT_PAINT = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def wait_until_drawn(page, timeout_ms: int = 60_000) -> None:
    """Wait until the page is drawn: its script finished, nothing left stale, every Plotly chart drawn (its SVG
    there) and every picture loaded, then until the browser has painted that (two animation frames: the
    browser's main thread is free, so no chart is still being laid out). What a user sees as "it's there";
    ``wait_for_app``'s fixed pause is a cruder stand-in for the same."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_function(DRAWN, timeout=timeout_ms, polling=20)
    page.evaluate(NEXT_PAINT)


def tile_centre(page, index: int, columns: int, count: int, tile: int, gap: int = 2) -> tuple[float, float]:
    """Screen position of the centre of tile ``index`` in the first tile grid on the page (charts.tile_grid:
    ``count`` tiles of ``tile`` px, ``columns`` to a row, ``gap`` px apart)."""
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    width, height = columns * (tile + gap) - gap, -(-count // columns) * (tile + gap) - gap
    row, column = divmod(index, columns)
    return (
        box["x"] + box["width"] * (column * (tile + gap) + tile / 2) / width,
        box["y"] + box["height"] * (row * (tile + gap) + tile / 2) / height,
    )
