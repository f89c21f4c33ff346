"""Predict, then reveal: guess what the network will answer, then see its answer, the truth and its map."""

import streamlit as st

from analysis import quiz as qz
from dashboard import display, model_cache, ui
from dashboard import quiz_widgets as qw

DEFAULT_QUESTIONS = 10

run, results = ui.run_page("Quiz", ":material/quiz:")
st.title("Predict, then reveal")
st.markdown(
    "Look at the image and decide which class **the network** will answer: not the true class, the network's. "
    "Then reveal its answer, how sure it was, the truth and where it looked. Teachers: open the panel at the bottom "
    "for a link that gives every student the same questions."
)
reader = ui.query_reader()
seed = reader.integer("quiz", 1, 0, 999_999)
count = reader.integer("questions", DEFAULT_QUESTIONS, 1, qz.MAX_QUESTIONS)
mix = reader.choice("mix", list(qz.MIXES), "mixed")
ui.show_notices(reader)
quiz = qw.draw(run, seed, count, mix)
if quiz.notice:
    st.info(quiz.notice, icon=":material/info:")
if not len(quiz.indices):
    st.stop()
split = ui.test_split_or_none()
if split is None:
    st.stop()
if ui.default_maps(run) is None:  # the reveal's maps are computed here, not read from the run folder
    model_cache.load_model_or_stop(run.folder)
qw.start(quiz)

revealed, matched, right = qw.score(quiz, results.labels, results.predictions)
scores = {
    "Questions answered": f"{revealed} of {len(quiz.indices)}",
    "You predicted the network": f"{matched} of {revealed}" if revealed else "–",
    "The network was right": f"{right} of {revealed}" if revealed else "–",
}


def score_metrics() -> None:
    for column, (label, value) in zip(st.columns(3), scores.items()):
        column.metric(label, value)


def score_line() -> None:
    st.markdown(" · ".join(f"{label}: **{value}**" for label, value in scores.items()))


# A phone gets the score in one line: three stacked metrics pushed the question below its first screen.
display.two_versions("quiz_score", score_metrics, score_line)
st.caption(f"Quiz {quiz.seed}: {qz.MIXES[quiz.mix].lower()}.")
qw.question(run, quiz, split, results.probabilities)
qw.teacher_panel(run, quiz, split, results.labels, results.probabilities)
