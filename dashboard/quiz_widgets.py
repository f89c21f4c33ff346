"""Widgets of the quiz page: one question (guess, reveal), the score, and the teacher's panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis import quiz as qz
from analysis import share
from dashboard import charts, display, model_cache, ui
from dataset.fashion_mnist import CLASS_NAMES
from explain import overlay
from explain.describe import describe_map
from explain.report import png_data_url

ANSWERS_KEY = "quiz_answers"  # question number -> (the student's guess, revealed?)
POSITION_KEY = "quiz_position"
SETTINGS_KEY = "quiz_settings"
TEACHER_PANEL = "quiz_teacher_panel"  # open or closed, per session
PANEL_SETTINGS = "quiz_teacher_settings"  # the panel's quiz number, questions and kind, kept while it is closed
SCALE = 7  # 28 px -> 196 px


@st.cache_data(show_spinner=False, max_entries=256)
def _draw(folder: str, stamp: tuple, seed: int, count: int, mix: str) -> qz.Quiz:
    results = ui.results(folder)
    return qz.draw(results.labels, results.probabilities, seed, count, mix)


def draw(run, seed: int, count: int, mix: str) -> qz.Quiz:
    """The quiz a link asks for, drawn once for the whole class (shared across sessions)."""
    return _draw(str(run.folder), ui.results_stamp(run.folder), seed, count, mix)


def start(quiz: qz.Quiz) -> None:
    """A new quiz (other link or settings) starts from question 1 with an empty score."""
    settings = (quiz.seed, quiz.mix, tuple(quiz.indices.tolist()))
    if st.session_state.get(SETTINGS_KEY) != settings:
        st.session_state[SETTINGS_KEY] = settings
        st.session_state[ANSWERS_KEY] = {}
        st.session_state[POSITION_KEY] = 0


def score(quiz: qz.Quiz, labels: np.ndarray, predictions: np.ndarray) -> tuple[int, int, int]:
    """(revealed, guessed the network's answer, the network was right) over the revealed questions."""
    answers = st.session_state.get(ANSWERS_KEY, {})
    revealed = [q for q, (_, shown) in answers.items() if shown]
    matched = sum(answers[q][0] == int(predictions[quiz.indices[q]]) for q in revealed)
    right = sum(int(predictions[quiz.indices[q]]) == int(labels[quiz.indices[q]]) for q in revealed)
    return len(revealed), matched, right


def question(run, quiz: qz.Quiz, split, probabilities: np.ndarray) -> None:
    """The current question: the image, the student's guess, then the reveal."""
    number = st.session_state[POSITION_KEY]
    index = int(quiz.indices[number])
    guess, revealed = st.session_state[ANSWERS_KEY].get(number, (None, False))
    st.subheader(f"Question {number + 1} of {len(quiz.indices)}")
    left, right = st.columns([1, 2])
    where_key = f"where_{quiz.seed}_{number}"
    with left:
        where = st.session_state.get(where_key)
        if revealed and where is not None:  # the square the student picked, outlined
            size = 28 // qz.CELLS
            box = (where[0] * size, where[1] * size, where[0] * size + size - 1, where[1] * size + size - 1)
            st.image(
                overlay.boxed(split.images[index], box, SCALE),
                width=28 * SCALE,
                alt=f"Question {number + 1}'s image with the square you pointed at outlined in red",
            )
        elif revealed:
            st.image(overlay.crisp(split.images[index], SCALE), width=28 * SCALE, alt=f"Question {number + 1}'s image")
        else:
            where_picker(split.images[index], where_key)
    with right:
        choice = st.radio(
            "Which class will the network predict?",
            list(range(len(CLASS_NAMES))),
            index=guess,
            format_func=CLASS_NAMES.__getitem__,
            horizontal=True,
            key=f"guess_{quiz.seed}_{number}",
            disabled=revealed,
        )
        if not revealed:
            if st.button("Reveal", type="primary", icon=":material/visibility:", disabled=choice is None, key="reveal"):
                st.session_state[ANSWERS_KEY][number] = (int(choice), True)
                st.rerun()
            return
        predicted, true = int(probabilities[index].argmax()), int(split.labels[index])
        st.markdown(
            f"The network says **{CLASS_NAMES[predicted]}** ({probabilities[index][predicted]:.1%} confident). "
            f"The true class is **{CLASS_NAMES[true]}**: the network is "
            + (f"{ui.CORRECT} right." if predicted == true else f"{ui.WRONG} wrong.")
            + f"  \nYou guessed **{CLASS_NAMES[guess]}**: "
            + ("you predicted the network." if guess == predicted else "the network saw it differently.")
        )
    picture, caption, saliency, meaning = model_cache.default_map(run, split.images[index], predicted, index=index)
    with left:
        display.picture(
            picture,
            f"Heat map over question {number + 1}'s image: {caption}",
            caption=f"Where it looked: {caption}",
            width=28 * SCALE,
            summary=f"{describe_map(saliency)} {meaning}".strip(),  # the badge in the caption, in words
            download=f"quiz {quiz.seed} question {number + 1} map",
        )
    if where is not None:
        right.markdown(f"You pointed at the outlined square. {qz.where_verdict(saliency, *where)}")
    ui.page_link("Saliency", "Explain this image in detail", ":material/local_fire_department:", f"index={index}")
    if number + 1 < len(quiz.indices):
        st.button(
            "Next question",
            icon=":material/arrow_forward:",
            key="next_question",
            on_click=lambda: st.session_state.update({POSITION_KEY: number + 1}),
        )
    else:
        st.success("That was the last question.", icon=":material/flag:")


def where_picker(pixels: np.ndarray, key: str) -> None:
    """The question's image as 7 x 7 clickable squares: optionally, where the student thinks the network looks."""
    picture = np.repeat(overlay.crisp(pixels, SCALE)[..., None], 3, axis=-1)
    chosen = st.session_state.get(key)
    figure = charts.tile_grid(
        picture,
        qz.CELLS,
        qz.CELLS**2,
        0,
        ["the network looks here"] * qz.CELLS**2,
        None if chosen is None else chosen[0] * qz.CELLS + chosen[1],
        width=28 * SCALE,
        toolbar=False,  # an input: its toolbar is hidden
    )

    def remember() -> None:
        points = ((st.session_state.get(f"{key}_chart") or {}).get("selection") or {}).get("points", [])
        cells = [p["point_index"] for p in points if p.get("curve_number") == 1 and "point_index" in p]
        if cells:
            st.session_state[key] = divmod(int(cells[-1]), qz.CELLS)

    st.plotly_chart(  # an input, not a figure to save: no toolbar
        figure,
        on_select=remember,
        selection_mode="points",
        key=f"{key}_chart",
        config={"displayModeBar": False},
        alt="The question's image as a 7 x 7 grid of squares: click the square where you think the network looks",
    )
    st.caption(f"Optional: click where you think the network looks ({display.TAP_TWICE}).")


def teacher_panel(run, quiz: qz.Quiz, split, labels: np.ndarray, probabilities: np.ndarray) -> None:
    """Settings that make a shareable link, and that quiz's question sheet with answers to download; made only
    while the panel is open: every student's every click ran it closed (its QR code alone was a seventh of the
    quiz's server time with 30 students; benchmarks/classroom.py --profile). Its settings are kept while it is
    closed, until another quiz is opened."""
    panel = st.expander(
        "For teachers: make a link and print the questions",
        icon=":material/school:",
        key=TEACHER_PANEL,
        on_change="rerun",
    )
    if not panel.open:
        return
    opened = (quiz.seed, max(1, len(quiz.indices)), quiz.mix)
    saved = st.session_state.get(PANEL_SETTINGS)
    start = saved["settings"] if saved and saved["for"] == opened else opened
    with panel:
        c1, c2, c3 = st.columns(3)
        seed = int(c1.number_input("Quiz number", 0, 999_999, value=start[0], key="teacher_seed"))
        count = int(c2.number_input("Questions", 1, qz.MAX_QUESTIONS, value=start[1], key="teacher_count"))
        mix = c3.selectbox(  # the kind's name in the box, which a phone cuts short; what it means below
            "Kind", list(qz.MIXES), index=list(qz.MIXES).index(start[2]), format_func=qz.mix_name, key="teacher_mix"
        )
        st.session_state[PANEL_SETTINGS] = {"for": opened, "settings": (seed, count, mix)}
        c3.caption(qz.MIXES[mix] + ".")
        linked = quiz if (seed, count, mix) == opened else draw(run, seed, count, mix)  # what the link opens
        query = f"quiz={seed}&questions={count}&mix={mix}"
        link = ui.absolute_url("Quiz", share.parse_query(query))
        st.markdown("Every student who opens this link gets the same questions in the same order:")
        code_column, qr_column = st.columns([3, 2])
        code_column.code(link, language=None, wrap_lines=True)
        with code_column:
            ui.here_link("Open this quiz here", ":material/link:", query, key="open_quiz")
        qr_column.image(
            share.qr_png(link),
            width=240,
            caption="Scan to open the quiz",
            output_format="PNG",  # sharp edges: a JPEG's blur costs a QR code its range
            alt=f"QR code of the quiz link {link}",
        )
        title = f"Tiny GoogLeNet quiz {linked.seed} ({qz.mix_name(linked.mix).lower()})"
        st.caption(f"The sheets below are quiz {linked.seed}'s, the one this link opens.")
        d1, d2 = st.columns(2)

        # Both files are made only when asked for, not on every student's every click.
        def sheet():
            return qz.answer_sheet(linked, labels, probabilities, CLASS_NAMES)

        d1.download_button(
            "Questions and answers (CSV)",
            lambda: sheet().to_csv(index=False),
            f"quiz-{linked.seed}.csv",
            "text/csv",
            key="csv",
        )
        d2.download_button(
            "Printable sheet (HTML)",
            lambda: qz.printable_html(
                sheet(),
                [png_data_url(overlay.crisp(split.images[i], 4)) for i in linked.indices],
                title,
                link,
                CLASS_NAMES,
                share.qr_svg(link),
            ),
            f"quiz-{linked.seed}.html",
            "text/html",
            key="html",
        )
