"""Home: what the app is, the shipped model's headline figures and a guide to the pages."""

import streamlit as st

from analysis import lesson_plan, markup, share
from dashboard import ui

run, results = ui.run_page("Home")
metrics, card = results.metrics, results.card

st.title("Tiny GoogLeNet Explainer")
st.markdown(
    "An interactive look inside **Tiny GoogLeNet**, a 1-million-parameter inception-style "
    "convolutional network trained to recognise the ten kinds of clothing in "
    "[Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist). "
    "For teachers showing a CNN in class, students exploring one on their own, and "
    "practitioners who want to see where a model goes wrong and why."
)

# Home is every student's first page: its figures are words, not metric widgets, and what costs each browser
# most (pictures, the teacher's kit) is drawn when asked for (benchmarks/run.py: Home against an empty page).
st.subheader(f"The model: run {markup.code(run.name)}")
st.markdown(
    f"**{ui.percent(metrics['test_accuracy'])}** of the 10,000 test images right "
    f"({(metrics['test_accuracy'] - ui.SEED_REAL_ACCURACY) * 100:+.1f} points against the seed's real "
    f"{ui.percent(ui.SEED_REAL_ACCURACY)}), "
    f"{card['parameters']:,} parameters, {metrics['epochs']} epochs in "
    f"{card['wall_seconds'] / 60:.0f} min on {markup.escape(card['hardware']['device'])}."
)
st.caption(
    f"Test accuracy is measured once, after the epoch was chosen on a validation split taken from the training "
    f"set. The seed's README claimed {ui.percent(ui.SEED_CLAIMED_ACCURACY)}: its last epoch's score on the test "
    "set, which it also used for validation. Its saved weights really scored "
    f"{ui.percent(ui.SEED_REAL_ACCURACY)}: its ReLU output made the loss NaN after epoch 1, so the checkpoint kept "
    "the epoch-1 weights (inferred from the notebook's log)."
)

st.subheader("What you can explore")
guide = {
    "Your own image": "draw a garment, upload a photo or use the camera; see every step that turns it into the "
    "network's 28x28 input, its answer, how familiar it looks to the network, and its explanations.",
    "How it computes": "a lesson: one image through the network step by step, with the real numbers of every "
    "operation (convolution, normalisation, pooling, softmax).",
    "Quiz": "predict, then reveal: guess what the network will answer; teachers can hand out one link for the "
    "whole class.",
    "Architecture": "the network layer by layer, with an interactive diagram of the stem, the four inception "
    "blocks and their 3x3 and 5x5 branches.",
    "Learning curves": "loss, accuracy and learning rate per epoch, with runs overlaid for comparison.",
    "Confusion matrix": "which classes are mistaken for which (pick a cell to see its images), and whether the "
    "model's confidence can be taken at its word.",
    "Mistakes": "every misclassified test image, most confidently wrong first.",
    "Feature space": "all 10,000 test images on one map of how the network describes them: where classes "
    "overlap and where the mistakes live (select points to see the images).",
    "Channel atlas": "every one of the 976 channels of the network's convolutions: the test images it fires "
    "for, a synthetic image that excites it, its favourite classes and what switching it off costs.",
    "Saliency": "where the network looks: Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM, gradient maps and occlusion, "
    "each tested on the image you choose.",
    "Can the maps be trusted?": "which of those maps really show what this model uses, measured against fair "
    "controls and a model-randomisation test, with a plain verdict for each.",
    "Inception branches": "what the 3x3 and 5x5 branches of each block see, and what happens if one is switched off.",
    "Retrain": "train your own run with other settings (on a GPU when there is one) and compare it here.",
}
for label, text in guide.items():  # links that keep the session: on a phone the menu is folded away
    st.page_link(ui.PAGES[label], label=f"**{label}**: {text}")

# Drawn only when asked for: Home is every student's first page, and each element costs their browser.
if st.toggle(
    f"For teachers: a {lesson_plan.total_minutes()}-minute lesson, presenter mode and a link for the class",
    key="home_teacher_kit",
):
    st.markdown(
        "**The lesson** visits these pages in order, each with two or three talking points and Next / Previous "
        "at the top of the page (switch on *Guided tour* in the sidebar):\n\n"
        + "\n".join(
            f"{i + 1}. **{stop.page}**: {stop.title.lower()} (about {stop.minutes} min)"
            for i, stop in enumerate(lesson_plan.STOPS)
        )
        + "\n\n**Presenter mode** draws the pages larger for a projector. Students can follow the same tour "
        "on their own devices from this link; the Quiz page has a link of its own for the whole class."
    )
    tour_link = ui.absolute_url("Home", {"tour": 1})
    left, right = st.columns([3, 2])
    with left:
        st.code(tour_link, language=None, wrap_lines=True)
        ui.here_link("Start the tour", ":material/flag:", "tour=1", key="start_tour")
        ui.here_link("Present it (large text and the tour)", ":material/slideshow:", "present=1", key="start_present")
    right.image(
        share.qr_png(tour_link),
        width=200,
        caption="Scan to follow the tour",
        output_format="PNG",
        alt=f"QR code of the tour link {tour_link}",
    )

gallery = (
    ui.first_of_each_class()  # the same ones every visit, so a class can compare them
    if st.toggle("Show one test image of each class and what the model says", key="home_gallery")
    else None
)
if gallery is not None:
    split, first_of_class = gallery
    ui.image_gallery(split, first_of_class, results.probabilities, columns=5, title="one test image per class")
