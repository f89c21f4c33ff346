"""A class on one server: N students open the teacher's link at once and work through a lesson.

    python -m benchmarks.classroom                      # 30 students: 1-2 minutes (7 before the GC fixes)
    python -m benchmarks.classroom --students 3         # a quick check of the script
    python -m benchmarks.classroom --students 30 --json class.json --profile /tmp/class.txt
    python -m benchmarks.classroom --students 3 --browser-check 3   # the light client against Chromium
    python -m benchmarks.classroom --soak-minutes 10    # then keep students coming and going

Why: the app's other benchmarks time one user. A teacher hands one link to a class, so 30 sessions
share one 2-core server; what matters is the slowest student's wait (the 95th percentile) and the
server's memory. Real browsers are too heavy to run 30 of beside the server, so each student is a
light client that speaks Streamlit's websocket protocol (benchmarks/streamlit_client.py);
``--browser-check K`` runs the same script in K real Chromiums to show the two agree.

Every student follows the whole lesson, in the order a teacher would lead it (arrivals spread over a
few seconds, 1-3 s of thinking between clicks, seeded):

1. open the teacher's quiz link; for a few questions pick an answer, Reveal, Next question;
2. Mistakes (menu), then explain three mistakes from its first page (``Saliency?index=N``, default
   method) as the gallery's links do it: an ``st.page_link`` changes page in the same tab, and the
   student comes back through the menu (the back button needs two presses: the Saliency page rewrites
   its URL, which adds a history entry); a Markdown link (the app before 9d6b1aa) opens a new tab (a
   new session), closed after a look;
3. "Your own image" (menu): choose "Upload a photo" and upload a PNG (a starter-gallery garment,
   turned by a random angle, so each student's picture differs), until the Prediction and map are drawn;
4. "How it computes" (menu), then click through its six steps (a segmented control).

An interaction's time runs from the request to the server's ``script_finished`` for the run that
answers it (for the own picture: until the map arrives, and the whole page apart). Errors are
exceptions shown on the page, page-not-found, and interactions without an answer within 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from benchmarks.run import PeakMemory  # noqa: E402
from benchmarks.streamlit_client import FINAL_STATUSES, StreamlitTab  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path, streamlit_server  # noqa: E402
from training.device import cpu_model  # noqa: E402

QUIZ_SEED = 7
QUIZ_QUESTIONS = 10
QUIZ_LINK = f"Quiz?quiz={QUIZ_SEED}&questions={QUIZ_QUESTIONS}&mix=mistakes"
GUESS_LABEL = "Which class will the network predict?"
LESSON_STEPS = {  # the segmented control's labels -> the step's name in the URL
    "1 · The image": "image",
    "2 · Convolution": "conv",
    "3 · Normalisation": "lrn",
    "4 · ReLU and dropout": "relu",
    "5 · Inception block": "block",
    "6 · The answer": "head",
}
MISTAKES_SHOWN = 24  # the Mistakes page's first page of thumbnails
EXPLAINED = 3  # mistakes each student explains
INTERACTION_TIMEOUT_S = 60.0

# Interaction kinds, in the order of the table, with the targets (p95 seconds; None: reported only).
TARGETS = {
    "page open (quiz link)": None,
    "quiz answer picked": None,
    "quiz reveal": 2.0,
    "quiz next question": None,
    "page change": 2.0,
    "Saliency view": 2.0,
    "own picture: choose upload": None,
    "own picture to prediction+map": 3.0,
    "own picture, whole page": None,
    "lesson step": 2.0,
}
RSS_TARGET_MB = 1536.0


# --------------------------------------------------------------------------- the server


def server_errors(log_path: Path) -> tuple[int, str]:
    """(number of tracebacks in the server's log, the last line of the first): the page shows only a
    redacted message (client.showErrorDetails = "none")."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    blocks = text.split("Traceback (most recent call last):")[1:]
    first = next((line for line in blocks[0].splitlines() if line and not line.startswith(" ")), "") if blocks else ""
    return len(blocks), first


# --------------------------------------------------------------------------- what is measured


class Recorder:
    """Seconds and errors per interaction kind (thread-safe: the browser sessions are threads)."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.finished_students = 0
        self._lock = threading.Lock()

    def add(self, kind: str, seconds: float) -> None:
        with self._lock:
            self.seconds[kind].append(seconds)

    def error(self, kind: str, message: str) -> None:
        with self._lock:
            self.errors[kind].append(message[:400])

    def student_done(self) -> None:
        with self._lock:
            self.finished_students += 1

    def rows(self) -> list[dict]:
        """One row per kind: n, median, 95th percentile, errors, target and whether it is met."""
        rows = []
        for kind in [*TARGETS, *sorted(set(self.seconds) - set(TARGETS))]:
            samples, errors = self.seconds.get(kind, []), len(self.errors.get(kind, []))
            if not samples and not errors:
                continue
            p95 = percentile(samples, 95)
            target = TARGETS.get(kind)
            rows.append(
                {
                    "interaction": kind,
                    "n": len(samples),
                    "median_s": statistics.median(samples) if samples else None,
                    "p95_s": p95,
                    "errors": errors,
                    "target_p95_s": target,
                    "met": None if target is None else (p95 is not None and p95 <= target and errors == 0),
                }
            )
        return rows

    def error_messages(self, limit: int = 20) -> list[str]:
        return [f"{kind}: {m}" for kind, messages in self.errors.items() for m in messages][:limit]


def percentile(samples: list[float], q: float) -> float | None:
    """The q-th percentile, interpolated (the single value for one sample)."""
    if not samples:
        return None
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


class ServerMonitor(PeakMemory):
    """Every 0.5 s: the server's RSS (with its children) and the machine's load average, in a thread.

    Phases (``mark``) split the peak: the class itself, the soak, the browser check."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(pid, interval)
        self.samples: list[tuple[float, float, float]] = []  # (time, RSS MB, 1-minute load)
        self.phases: list[tuple[str, float]] = []

    def sample(self, rss: int, anonymous: int) -> None:
        super().sample(rss, anonymous)
        self.samples.append((time.time(), rss / 2**20, os.getloadavg()[0]))

    def mark(self, phase: str) -> None:
        self.phases.append((phase, time.time()))

    def current_mb(self) -> float:
        return self.samples[-1][1] if self.samples else float("nan")

    def summary(self, phase: str | None = None) -> dict:
        """Peak RSS and load averages over one phase (from its mark to the next), or over everything."""
        start, end = 0.0, float("inf")
        if phase is not None:
            names = [name for name, _ in self.phases]
            i = names.index(phase)
            start = self.phases[i][1]
            end = self.phases[i + 1][1] if i + 1 < len(self.phases) else float("inf")
        chosen = [s for s in self.samples if start <= s[0] < end] or self.samples[-1:]
        loads = [s[2] for s in chosen]
        return {
            "peak_rss_mb": round(max(s[1] for s in chosen), 1),
            "end_rss_mb": round(chosen[-1][1], 1),
            "load_1min_mean": round(statistics.mean(loads), 2),
            "load_1min_max": round(max(loads), 2),
        }


# --------------------------------------------------------------------------- one light student


def _captions(result) -> list[str]:
    return [img.caption for e in result.elements if e.WhichOneof("type") == "imgs" for img in e.imgs.imgs]


def student_picture(rng: random.Random) -> bytes:
    """A starter-gallery garment turned by a random angle and shrunk: a PNG of a few kB that differs per
    student (so no cache of another student's picture answers it)."""
    from PIL import Image

    from inputs.examples import EXAMPLES, example_png

    name = rng.choice(sorted(EXAMPLES))
    picture = Image.open(io.BytesIO(example_png(name))).convert("RGB")
    picture = picture.rotate(rng.uniform(-12, 12), fillcolor=(255, 255, 255)).resize((200, 200))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


class PredictionThenMap:
    """``until`` for the own-image upload: true at the first image after the 'Prediction' metric (the
    run's default map, drawn next to it)."""

    def __init__(self):
        self.seen_prediction = False

    def __call__(self, element) -> bool:
        kind = element.WhichOneof("type")
        if kind == "metric" and element.metric.label == "Prediction":
            self.seen_prediction = True
        return self.seen_prediction and kind == "imgs"


class Recorded(Exception):
    """An interaction failed and its error is recorded: the student's lesson stops there."""


class LightStudent:
    """One student of the class, as a light protocol client: the lesson script and its timings."""

    def __init__(self, url: str, number: int, rng: random.Random, recorder: Recorder, questions: int, think=(1.0, 3.0)):
        self.url = url
        self.number = number
        self.rng = rng
        self.recorder = recorder
        self.questions = questions
        self.think_range = think

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think_range))

    async def timed(self, kind: str, interaction, use_first_match=False, detail=None, shows=None):
        """Await one interaction, record its time (or its error), return its RunResult; an interaction that
        got no answer ends this student's lesson (Recorded). ``detail`` also files the time under
        "kind: detail" (which page a page change went to); ``shows(result)`` is what the answer must
        contain (an error otherwise, so a wrong page is not timed as a right one)."""
        try:
            result = await interaction
        except Exception as exc:
            self.recorder.error(kind, f"student {self.number}: {type(exc).__name__}: {exc}")
            raise Recorded from exc
        seconds = result.first_match_seconds if use_first_match else result.seconds
        if use_first_match and seconds is None:
            self.recorder.error(kind, f"student {self.number}: the map was not drawn")
        else:
            self.recorder.add(kind, seconds)
            if detail:
                self.recorder.add(f"{kind}: {detail}", seconds)
        for problem in result.exceptions:
            self.recorder.error(kind, f"student {self.number}: {problem}")
        if result.page_not_found:
            self.recorder.error(kind, f"student {self.number}: page not found ({result.page_not_found})")
        if shows is not None and not shows(result):
            self.recorder.error(kind, f"student {self.number}: the answer lacks what it should show")
        return result

    async def run(self) -> None:
        """The whole lesson in one tab (plus a short-lived tab per explained mistake if the gallery's links
        open new tabs)."""
        tab = StreamlitTab(self.url, timeout=INTERACTION_TIMEOUT_S)
        try:
            await self.quiz(tab)
            await self.think()
            await self.explain_mistakes(tab)
            await self.think()
            await self.own_picture(tab)
            await self.think()
            await self.lesson(tab)
            self.recorder.student_done()
        except Recorded:
            pass  # the rest of this student's lesson cannot follow
        except Exception as exc:  # the page lacked a widget the script needs, say
            self.recorder.error("student script", f"student {self.number}: {type(exc).__name__}: {exc}")
        finally:
            await tab.close()
            errors = tab.media_errors
            for message in errors[:3]:
                self.recorder.error("images fetched", f"student {self.number}: {message}")

    async def quiz(self, tab: StreamlitTab) -> None:
        run = await self.timed(
            "page open (quiz link)",
            tab.open(QUIZ_LINK),
            shows=lambda r: f"Question 1 of {QUIZ_QUESTIONS}" in r.headings(),
        )
        for question in range(self.questions):
            await self.think()
            options = list(run.widget("radio", label=GUESS_LABEL).options)
            await self.timed("quiz answer picked", tab.choose(self.rng.choice(options), label=GUESS_LABEL))
            await self.think()
            run = await self.timed(
                "quiz reveal", tab.click("reveal"), shows=lambda r: any("Where it looked" in c for c in _captions(r))
            )
            if question + 1 < self.questions:
                await self.think()
                heading = f"Question {question + 2} of {QUIZ_QUESTIONS}"
                run = await self.timed(
                    "quiz next question", tab.click("next_question"), shows=lambda r: heading in r.headings()
                )

    async def explain_mistakes(self, tab: StreamlitTab) -> None:
        run = await self.timed(
            "page change", tab.go_to("Mistakes"), detail="Mistakes", shows=lambda r: "Mistakes browser" in r.headings()
        )
        links = {
            int(m.group(1)): link for link in run.page_links() if (m := re.search(r"index=(\d+)", link.query_string))
        }
        if not links:  # Markdown links: each opens a new tab
            links = dict.fromkeys(int(i) for i in re.findall(r"Saliency\?index=(\d+)", run.markdown()))
        shown = list(links)[:MISTAKES_SHOWN]
        for index in self.rng.sample(shown, min(EXPLAINED, len(shown))):
            await self.think()
            if links[index] is None:
                await self.explain_in_new_tab(index)
                continue
            await self.timed(
                "Saliency view",
                tab.follow(links[index]),
                detail="same tab (page link)",
                shows=lambda r: f"index={index}" in tab.query_string and r.media_urls(),
            )
            await self.think()
            await self.timed(
                "page change",
                tab.go_to("Mistakes"),
                detail="back to Mistakes",
                shows=lambda r: "Mistakes browser" in r.headings(),
            )

    async def explain_in_new_tab(self, index: int) -> None:
        other = StreamlitTab(self.url, timeout=INTERACTION_TIMEOUT_S)
        try:
            await self.timed(
                "Saliency view",
                other.open(f"Saliency?index={index}"),
                detail="new tab (Markdown link)",
                shows=lambda r: f"index={index}" in other.query_string and r.media_urls(),
            )
            await self.think()  # a look at the map before closing the tab
        finally:
            await other.close()

    async def own_picture(self, tab: StreamlitTab) -> None:
        await self.timed(
            "page change",
            tab.go_to("Your_own_image"),
            detail="Your own image",
            shows=lambda r: "Your own garment" in r.headings(),
        )
        await self.think()
        await self.timed(
            "own picture: choose upload",
            tab.choose_segment("Upload a photo", key="source"),
            shows=lambda r: r.widgets("file_uploader"),
        )
        await self.think()
        picture = student_picture(self.rng)
        result = await self.timed(
            "own picture to prediction+map",
            tab.upload("upload", f"garment-{self.number}.png", picture, until=PredictionThenMap()),
            use_first_match=True,
        )
        self.recorder.add("own picture, whole page", result.seconds)

    async def lesson(self, tab: StreamlitTab) -> None:
        await self.timed(
            "page change",
            tab.go_to("How_it_computes"),
            detail="How it computes",
            shows=lambda r: "How it computes" in r.headings(),
        )
        for label, step in list(LESSON_STEPS.items())[1:]:
            await self.think()
            await self.timed(
                "lesson step",
                tab.choose_segment(label, key="lesson_step"),
                shows=lambda r: f"step={step}" in tab.query_string,
            )


async def light_class(url: str, students: int, seed: int, questions: int, arrival_s: float) -> tuple[Recorder, float]:
    """N light students arriving over ``arrival_s`` seconds; (their timings, wall-clock seconds)."""
    recorder = Recorder()

    async def one(number: int) -> None:
        rng = random.Random(seed * 100_003 + number)
        await asyncio.sleep(rng.uniform(0, arrival_s))
        await LightStudent(url, number, rng, recorder, questions).run()

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(students)))
    return recorder, time.perf_counter() - started


async def soak(url: str, minutes: float, seats: int, seed: int, questions: int, monitor: ServerMonitor) -> Recorder:
    """Keep ``seats`` students at work for ``minutes``: each leaves after the lesson (its tab closed) and a
    new one arrives. The server's RSS is printed once a minute so growth is visible."""
    recorder = Recorder()
    deadline = time.monotonic() + 60 * minutes
    counter = iter(range(10**9))

    async def seat() -> None:
        while time.monotonic() < deadline:
            student = next(counter)
            rng = random.Random(seed * 7_919 + student)
            await LightStudent(url, 1000 + student, rng, recorder, questions).run()
            await asyncio.sleep(rng.uniform(0, 3))

    async def report() -> None:
        for minute in range(1, int(minutes) + 2):
            await asyncio.sleep(60)
            print(
                f"  soak minute {minute}: server RSS {monitor.current_mb():.0f} MB, "
                f"{recorder.finished_students} students done, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )

    reporter = asyncio.create_task(report())
    await asyncio.gather(*(seat() for _ in range(seats)))
    reporter.cancel()
    return recorder


# --------------------------------------------------------------------------- the same lesson in Chromium

FINISHED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app?.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""
FRESH_TEXT = """([selector, text]) => Array.from(document.querySelectorAll(selector))
    .some(e => e.innerText.includes(text) && !e.closest("[data-stale='true']"))"""
FRESH_IMAGE = """() => Array.from(document.querySelectorAll("[data-testid='stImage'] img"))
    .some(img => img.complete && img.naturalWidth > 0 && !img.closest("[data-stale='true']"))"""
PREDICTION_AND_MAP_SHOWN = """() => Array.from(document.querySelectorAll("[data-testid='stMetric']"))
        .some(m => m.innerText.includes('Prediction') && !m.closest("[data-stale='true']"))
    && Array.from(document.querySelectorAll("[data-testid='stImage'] img"))
        .some(img => img.complete && img.naturalWidth >= 200 && !img.closest("[data-stale='true']"))"""


class FinishedRuns:
    """Counts the script_finished messages (FINISHED_SUCCESSFULLY or a compile error) a page's websocket
    receives, read from the frames themselves: the same event the light client waits for, so a click's
    run is told from the last one even when it is over before the page could be polled (the page's
    data-test-script-state can flip to 'running' and back between two polls, or within one React batch)."""

    def __init__(self, page):
        self.count = 0
        self.last_at = 0.0  # perf_counter when the last one arrived
        self.page = page
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            message = ForwardMsg()
            message.ParseFromString(bytes(payload))
            if message.WhichOneof("type") == "script_finished" and message.script_finished in FINAL_STATUSES:
                self.count += 1
                self.last_at = time.perf_counter()

    def wait_beyond(self, count: int, timeout_s: float) -> None:
        """Until more than ``count`` runs have finished (Playwright delivers events while it waits)."""
        deadline = time.perf_counter() + timeout_s
        while self.count <= count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no script_finished within {timeout_s:.0f} s")
            self.page.wait_for_timeout(10)


class BrowserStudent:
    """The LightStudent's lesson in a real Chromium (its own browser, as tests/test_load.py does). Each
    interaction is timed until its run's script_finished has reached the page, the answer is drawn
    (``expected``) and the page's script state is 'notRunning'."""

    def __init__(self, url, number: int, rng: random.Random, recorder: Recorder, questions: int, frames: Recorder):
        self.url = url
        self.number = number
        self.rng = rng
        self.recorder = recorder
        self.frames = frames  # the same interactions until script_finished reached the browser
        self.questions = questions
        self.page = None
        self.runs: dict = {}  # page -> FinishedRuns

    def think(self) -> None:
        time.sleep(self.rng.uniform(1.0, 3.0))

    def timed(self, kind: str, action, expected=None, page=None, detail=None, partial=None) -> float:
        """Run ``action`` (a click, a goto, an upload) and wait for its run to finish and ``expected`` (a JS
        predicate, or (predicate, argument)) to hold; record the seconds, or the error and re-raise.
        ``partial`` = (kind, predicate): also record when that part of the answer was drawn."""
        page = page or self.page
        runs = self.runs[page]
        before = runs.count
        started = time.perf_counter()
        try:
            action()
            if partial is not None:
                page.wait_for_function(partial[1], timeout=INTERACTION_TIMEOUT_S * 1000, polling=10)
                self.recorder.add(partial[0], time.perf_counter() - started)
            runs.wait_beyond(before, INTERACTION_TIMEOUT_S)
            self.frames.add(kind, runs.last_at - started)
            if detail:
                self.frames.add(f"{kind}: {detail}", runs.last_at - started)
            if expected is not None:
                script, arg = expected if isinstance(expected, tuple) else (expected, None)
                page.wait_for_function(script, arg=arg, timeout=INTERACTION_TIMEOUT_S * 1000, polling=10)
            page.wait_for_function(FINISHED, timeout=INTERACTION_TIMEOUT_S * 1000, polling=10)
        except Exception as exc:
            self.recorder.error(kind, f"browser {self.number}: {type(exc).__name__}: {str(exc)[:200]}")
            raise Recorded from exc
        seconds = time.perf_counter() - started
        self.recorder.add(kind, seconds)
        if detail:
            self.recorder.add(f"{kind}: {detail}", seconds)
        if page.locator("[data-testid='stException']").count():
            self.recorder.error(kind, f"browser {self.number}: exception shown")
        return seconds

    def new_page(self, context):
        page = context.new_page()
        self.runs[page] = FinishedRuns(page)
        return page

    def menu(self, title: str):
        return lambda: self.page.locator("[data-testid='stSidebarNavLink']").filter(has_text=title).first.click()

    def run(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
                try:
                    context = chromium.new_context(viewport={"width": 1280, "height": 900})
                    self.page = self.new_page(context)
                    self.quiz()
                    self.think()
                    self.explain_mistakes(context)
                    self.think()
                    self.own_picture()
                    self.think()
                    self.lesson()
                    self.recorder.student_done()
                finally:
                    chromium.close()
        except Recorded:
            pass
        except Exception as exc:  # the browser did not start, a widget was missing...
            self.recorder.error("browser", f"browser {self.number}: {type(exc).__name__}: {str(exc)[:300]}")

    def quiz(self) -> None:
        page = self.page
        self.timed(
            "page open (quiz link)",
            lambda: page.goto(f"{self.url}/{QUIZ_LINK}"),
            (FRESH_TEXT, ["h3", "Question 1 of"]),
        )
        for question in range(self.questions):
            self.think()
            radio = page.get_by_test_id("stRadio").filter(has_text=GUESS_LABEL)
            options = [t.strip() for t in radio.locator("label").all_inner_texts()][1:]  # [0]: the question
            option = self.rng.choice(options)
            self.timed("quiz answer picked", lambda: radio.get_by_text(option, exact=True).click())
            self.think()
            last = question + 1 == QUIZ_QUESTIONS
            self.timed(
                "quiz reveal",
                lambda: page.get_by_role("button", name="Reveal").click(),
                (FRESH_TEXT, ["[data-testid='stImage']", "Where it looked"]),
            )
            if question + 1 < self.questions and not last:
                self.think()
                self.timed(
                    "quiz next question",
                    lambda: page.get_by_role("button", name="Next question").click(),
                    (FRESH_TEXT, ["h3", f"Question {question + 2} of"]),
                )

    def explain_mistakes(self, context) -> None:
        page = self.page
        self.timed("page change", self.menu("Mistakes"), (FRESH_TEXT, ["h1", "Mistakes browser"]), detail="Mistakes")
        in_page = page.locator("[data-testid='stPageLink'] a[href*='Saliency?index=']").count() > 0
        hrefs = page.eval_on_selector_all("a[href*='Saliency?index=']", "links => links.map(a => a.href)")
        shown = list(dict.fromkeys(int(re.search(r"index=(\d+)", h).group(1)) for h in hrefs))[:MISTAKES_SHOWN]
        for index in self.rng.sample(shown, min(EXPLAINED, len(shown))):
            self.think()
            if not in_page:
                self.explain_in_new_tab(context, index)
                continue
            link = page.locator(f"[data-testid='stPageLink'] a[href*='Saliency?index={index}']").first
            self.timed("Saliency view", link.click, FRESH_IMAGE, detail="same tab (page link)")
            self.think()
            self.timed(
                "page change",
                self.menu("Mistakes"),
                (FRESH_TEXT, ["h1", "Mistakes browser"]),
                detail="back to Mistakes",
            )

    def explain_in_new_tab(self, context, index: int) -> None:
        tab = self.new_page(context)
        try:
            self.timed(
                "Saliency view",
                lambda: tab.goto(f"{self.url}/Saliency?index={index}"),
                FRESH_IMAGE,
                page=tab,
                detail="new tab (Markdown link)",
            )
            self.think()
        finally:
            tab.close()

    def own_picture(self) -> None:
        page = self.page
        self.timed(
            "page change",
            self.menu("Your own image"),
            (FRESH_TEXT, ["h1", "Your own garment"]),
            detail="Your own image",
        )
        self.think()
        self.timed(
            "own picture: choose upload",
            lambda: page.get_by_test_id("stButtonGroup").get_by_text("Upload a photo", exact=True).click(),
            "() => !!document.querySelector('input[type=file]')",
        )
        self.think()
        picture = student_picture(self.rng)
        self.timed(
            "own picture, whole page",
            lambda: page.locator("input[type=file]").set_input_files(
                files=[{"name": f"garment-{self.number}.png", "mimeType": "image/png", "buffer": picture}]
            ),
            partial=("own picture to prediction+map", PREDICTION_AND_MAP_SHOWN),
        )

    def lesson(self) -> None:
        page = self.page
        self.timed(
            "page change",
            self.menu("How it computes"),
            (FRESH_TEXT, ["h1", "How it computes"]),
            detail="How it computes",
        )
        for label, step in list(LESSON_STEPS.items())[1:]:
            self.think()
            self.timed(
                "lesson step",
                lambda: page.get_by_test_id("stButtonGroup").get_by_text(label, exact=True).click(),
                f"() => new URLSearchParams(location.search).get('step') === '{step}'",
            )


def browser_class(url: str, students: int, seed: int, questions: int, arrival_s: float):
    """K BrowserStudents in threads (Playwright's sync API: one browser per thread); (timings until drawn,
    timings until script_finished reached the browser, wall-clock seconds)."""
    recorder, frames = Recorder(), Recorder()

    def one(number: int) -> None:
        rng = random.Random(seed * 100_003 + number)
        time.sleep(rng.uniform(0, arrival_s))
        BrowserStudent(url, number, rng, recorder, questions, frames).run()

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(n,)) for n in range(students)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder, frames, time.perf_counter() - started


# --------------------------------------------------------------------------- the server's profile


def start_profile(pid: int, path: str, seconds: int) -> subprocess.Popen | None:
    """py-spy on the server for ``seconds`` (raw collapsed stacks for a .txt path, else an SVG flame graph);
    None when py-spy is not installed (``pip install py-spy``)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found: no profile (pip install py-spy)")
        return None
    form = "raw" if path.endswith(".txt") else "flamegraph"
    command = [spy, "record", "-o", path, "--pid", str(pid), "--duration", str(seconds), "--format", form]
    command += ["--subprocesses", "--rate", "50", "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


LIBRARIES = [  # a sample's category: the first of these found anywhere in its stack
    ("TensorFlow / Keras", ("tensorflow/", "keras/", "tf_keras_vis/")),
    ("plotly (figure building, JSON)", ("plotly/", "_plotly_utils/")),
    ("image encoding (PIL, st.image)", ("PIL/", "image_utils.py")),
    ("pandas / arrow", ("pandas/", "pyarrow/", "dataframe_util.py")),
    ("protobuf / websocket send", ("google/protobuf", "websockets/", "starlette/", "uvicorn/")),
    ("imports", ("_find_and_load",)),
    ("streamlit runtime (other)", ("streamlit/",)),
]


def summarise_profile(path: str, top: int = 8) -> str:
    """Where the server's busy samples went, per page script: library categories and the app's own
    functions (inclusive), from py-spy's raw output."""
    per_page: dict[str, Counter] = defaultdict(Counter)
    app_functions: dict[str, Counter] = defaultdict(Counter)
    leaves: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames, samples = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")], int(count)
        page = _page_of(frames)
        totals[page] += samples
        category = next(
            (name for name, marks in LIBRARIES if any(m in f for f in frames for m in marks)), "app / numpy"
        )
        per_page[page][category] += samples
        leaves[page][frames[-1]] += samples
        for function in dict.fromkeys(f for f in frames if _in_repo(f)):
            app_functions[page][function] += samples
    everything = sum(totals.values()) or 1
    lines = [f"py-spy: {everything} busy samples (50 per second per thread)"]
    for page, samples in totals.most_common():
        lines.append(f"\n{page}: {samples / everything:.0%} of busy samples")
        lines += [f"    {name}: {n / samples:.0%}" for name, n in per_page[page].most_common()]
        lines.append("  app functions (inclusive):")
        lines += [f"    {n / samples:4.0%}  {f}" for f, n in app_functions[page].most_common(top)]
        lines.append("  leaf frames (self):")
        lines += [f"    {n / samples:4.0%}  {f}" for f, n in leaves[page].most_common(top)]
    return "\n".join(lines)


def _page_of(frames: list[str]) -> str:
    """The page script a sample ran in (py-spy names it by file: "(3_Quiz.py)"), else what the thread did."""
    for frame in frames:
        match = re.search(r"\((\d+_\w+)\.py\)", frame)
        if match:
            return f"page {match.group(1)}"
    if any("_clean_problem_modules" in f for f in frames):
        return "after every run: Streamlit calls keras.backend.clear_session() (a full gc.collect)"
    if any("ScriptRunner._on_script_finished" in f for f in frames):
        return "after every run: gc.collect(2) (runner.postScriptGC)"
    if any("scriptrunner" in f for f in frames):
        return "script thread, outside a page (navigation, session set-up)"
    return "event loop and other threads (websocket, HTTP, media)"


def _in_repo(frame: str) -> bool:
    """A frame of this project's code (py-spy names files relative to sys.path entries: dashboard/...)."""
    return any(f"({d}/" in frame for d in ("dashboard", "analysis", "explain", "inputs", "model", "training"))


# --------------------------------------------------------------------------- the report


def table(rows: list[dict], title: str) -> str:
    lines = [f"\n{title}", "| interaction | n | median s | p95 s | errors | target |"]
    lines.append("| --- | --: | --: | --: | --: | --- |")
    for r in rows:
        target = "–"
        if r["target_p95_s"] is not None:
            target = f"p95 <= {r['target_p95_s']:g} s: " + ("met" if r["met"] else "MISSED")
        lines.append(
            f"| {r['interaction']} | {r['n']} | {_s(r['median_s'])} | {_s(r['p95_s'])} | {r['errors']} | {target} |"
        )
    return "\n".join(lines)


def side_by_side(light: list[dict], frames: list[dict], browser: list[dict]) -> str:
    """Median / p95 per interaction: the light client until script_finished; Chromium until the same
    message reached it; Chromium until the answer was drawn."""
    by = [{r["interaction"]: r for r in rows} for rows in (light, frames, browser)]
    kinds = list(dict.fromkeys([r["interaction"] for rows in (light, browser) for r in rows]))
    lines = [
        "\n| interaction | n (light / browser) | light: to script_finished | browser: to script_finished | "
        "browser: until drawn | errors (light / browser) |",
        "| --- | --- | --: | --: | --: | --- |",
    ]
    for kind in kinds:
        a, f, b = (d.get(kind, {}) for d in by)
        cells = [f"{_s(x.get('median_s'))} / {_s(x.get('p95_s'))}" for x in (a, f, b)]
        lines.append(
            f"| {kind} | {a.get('n', 0)} / {b.get('n', 0)} | {' | '.join(cells)} | "
            f"{a.get('errors', 0)} / {b.get('errors', 0)} |"
        )
    return "\n".join(lines) + "\n(each cell: median / p95 seconds)"


def _s(value) -> str:
    return "–" if value is None else f"{value:.2f}"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30, help="light clients in the class (default 30)")
    parser.add_argument("--questions", type=int, default=3, help="quiz questions each student answers (default 3)")
    parser.add_argument("--arrival-seconds", type=float, default=5.0, help="students arrive within this window")
    parser.add_argument("--seed", type=int, default=1, help="seeds think times, answers and picks")
    parser.add_argument("--cold", action="store_true", help="no teacher's warm-up: a fresh server")
    parser.add_argument("--soak-minutes", type=float, default=0, help="then keep students arriving and leaving")
    parser.add_argument("--browser-check", type=int, default=0, metavar="K", help="then K light, K Chromium students")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", help="py-spy the server during the class: .txt (raw, summarised) or .svg")
    parser.add_argument("--profile-seconds", type=int, default=900, help="at most; stopped when the class ends")
    parser.add_argument("--app-root", default=str(REPO_ROOT), help="the checkout to serve (a snapshot, say)")
    parser.add_argument("--server-log", help="the server's output goes here (default: a temporary file)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.questions = max(1, min(args.questions, QUIZ_QUESTIONS))
    if not os.environ.get("FASHION_MNIST_DIR"):
        print("note: FASHION_MNIST_DIR is not set; the app looks for the data in its default place")
    runs_dir = tempfile.mkdtemp(prefix="classroom-runs-")
    env = {"TGN_DISABLE_RETRAINING": "1", "TGN_RUNS_DIR": runs_dir}
    app_root = Path(args.app_root).resolve()
    log_path = Path(args.server_log or Path(runs_dir).with_name(Path(runs_dir).name + "-server.log"))
    report: dict = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "students": args.students,
        "questions": args.questions,
        "arrival_seconds": args.arrival_seconds,
        "seed": args.seed,
        "app_root": str(app_root),
        "app_commit": _commit(app_root),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    machine = report["machine"]
    print(f"{report['date']}: {args.students} students on {machine['cpu']} ({machine['cores']} cores)")
    print(f"load average at start: {report['load_average_at_start']}", flush=True)
    try:
        with (
            streamlit_server(env, app_root=app_root, log_path=log_path) as (url, server),
            ServerMonitor(server.pid) as monitor,
        ):
            report["server_pid"] = server.pid
            if not args.cold:
                monitor.mark("teacher's warm-up")
                started = time.perf_counter()
                warm = asyncio.run(teacher_visit(url))
                report["warm_up_s"] = round(time.perf_counter() - started, 2)
                print(f"teacher's warm-up (opens the quiz link): {report['warm_up_s']:.1f} s {warm}", flush=True)

            monitor.mark("class")
            spy = start_profile(server.pid, args.profile, args.profile_seconds) if args.profile else None
            cpu_before = _cpu_seconds(server.pid), _cpu_seconds(os.getpid())
            recorder, wall = asyncio.run(
                light_class(url, args.students, args.seed, args.questions, args.arrival_seconds)
            )
            server_cpu = _cpu_seconds(server.pid) - cpu_before[0]
            client_cpu = _cpu_seconds(os.getpid()) - cpu_before[1]
            report["class"] = {
                "wall_s": round(wall, 1),
                "server_cpu_s": round(server_cpu, 1),
                "client_cpu_s": round(client_cpu, 1),
                "students_finished": recorder.finished_students,
                "rows": recorder.rows(),
                "errors": recorder.error_messages(),
                **monitor.summary("class"),
            }
            print(
                table(
                    recorder.rows(),
                    f"{args.students} students (light clients), {wall:.0f} s, "
                    f"{recorder.finished_students} finished the lesson",
                )
            )
            print(_memory_line(report["class"]))
            print(
                f"CPU: server {server_cpu:.0f} s ({server_cpu / wall:.2f} cores on average), "
                f"this benchmark's clients {client_cpu:.0f} s ({client_cpu / wall:.2f} cores)"
            )
            for message in report["class"]["errors"]:
                print("  error:", message)
            if spy is not None:
                _finish_profile(spy, args.profile, report)

            if args.soak_minutes > 0:
                monitor.mark("soak")
                print(f"\nsoak: {args.students} seats for {args.soak_minutes:g} minutes", flush=True)
                recorder = asyncio.run(soak(url, args.soak_minutes, args.students, args.seed, args.questions, monitor))
                report["soak"] = {
                    "minutes": args.soak_minutes,
                    "students_finished": recorder.finished_students,
                    "rows": recorder.rows(),
                    "errors": recorder.error_messages(),
                    "rss_mb_per_minute": _per_minute(monitor, "soak"),
                    **monitor.summary("soak"),
                }
                print(table(recorder.rows(), "soak"))
                print(_memory_line(report["soak"]))

            if args.browser_check:
                report["browser_check"] = browser_check(url, args, monitor)

            monitor.mark("end")
            report["server_peak_rss_mb"] = monitor.summary()["peak_rss_mb"]
            report["server_alive"] = server.poll() is None
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["server_tracebacks"], first = server_errors(log_path)
    if report["server_tracebacks"]:
        print(f"server log {log_path}: {report['server_tracebacks']} tracebacks; the first ends: {first}")
    print(
        f"\nserver peak RSS over the whole run: {report['server_peak_rss_mb']:.0f} MB "
        f"(target {RSS_TARGET_MB:.0f} MB); load average at end {report['load_average_at_end']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"results written to {args.json}")
    return 0


async def teacher_visit(url: str) -> str:
    """The teacher tries the link before the class: the server imports TensorFlow and loads the model."""
    tab = StreamlitTab(url, timeout=180)
    try:
        result = await tab.open(QUIZ_LINK)
        return "(errors: " + "; ".join(result.exceptions) + ")" if result.exceptions else ""
    finally:
        await tab.close()


def browser_check(url: str, args, monitor: ServerMonitor) -> dict:
    """K light students, then K Chromium students (other seeds, so neither finds the other's maps
    cached more than chance allows); their figures side by side."""
    k = args.browser_check
    if chromium_path() is None:
        print("no Chromium: browser check skipped")
        return {"skipped": "no Chromium"}
    monitor.mark("browser check: light")
    light, light_wall = asyncio.run(light_class(url, k, args.seed + 1000, args.questions, args.arrival_seconds))
    monitor.mark("browser check: Chromium")
    browser, frames, browser_wall = browser_class(url, k, args.seed + 2000, args.questions, args.arrival_seconds)
    print(f"\nbrowser check: {k} light clients ({light_wall:.0f} s) and then {k} Chromiums ({browser_wall:.0f} s)")
    print(side_by_side(light.rows(), frames.rows(), browser.rows()))
    for message in light.error_messages() + browser.error_messages():
        print("  error:", message)
    return {
        "students": k,
        "light": {"rows": light.rows(), "errors": light.error_messages(), **monitor.summary("browser check: light")},
        "browser_to_script_finished": {"rows": frames.rows()},
        "browser": {
            "rows": browser.rows(),
            "errors": browser.error_messages(),
            **monitor.summary("browser check: Chromium"),
        },
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (the server's or this one's; children not counted)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _commit(root: Path) -> str:
    """The checkout's commit (and '+changes' when its files differ), or '' outside git."""
    try:

        def git(*words):
            return subprocess.run(["git", *words], cwd=root, capture_output=True, text=True)

        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "--untracked-files=no")
    except OSError:
        return ""
    if head.returncode:
        return ""
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _memory_line(summary: dict) -> str:
    verdict = "met" if summary["peak_rss_mb"] <= RSS_TARGET_MB else "MISSED"
    return (
        f"server peak RSS {summary['peak_rss_mb']:.0f} MB (target {RSS_TARGET_MB:.0f} MB: {verdict}), "
        f"{summary['end_rss_mb']:.0f} MB at the end; load average (1 min) mean {summary['load_1min_mean']}, "
        f"max {summary['load_1min_max']}"
    )


def _per_minute(monitor: ServerMonitor, phase: str) -> list[float]:
    start = dict(monitor.phases)[phase]
    samples = [(t - start, mb) for t, mb, _ in monitor.samples if t >= start]
    return (
        [
            round(max((mb for t, mb in samples if m * 60 <= t < (m + 1) * 60), default=0), 1)
            for m in range(int(samples[-1][0] // 60) + 1)
        ]
        if samples
        else []
    )


def _finish_profile(spy: subprocess.Popen, path: str, report: dict) -> None:
    """Stop py-spy if the class ended first (SIGINT: it writes what it has), then summarise."""
    if spy.poll() is None:
        spy.send_signal(signal.SIGINT)
    _, err = spy.communicate()
    if not Path(path).exists() or not Path(path).stat().st_size:
        print(f"py-spy wrote no profile: {err.decode()[-500:]}")
        return
    report["profile"] = path
    if path.endswith(".txt"):
        summary = summarise_profile(path)
        report["profile_summary"] = summary
        print("\n" + summary)
    else:
        print(f"profile written to {path}")


if __name__ == "__main__":
    sys.exit(main())
