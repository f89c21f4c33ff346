"""The teacher's kit: full links with QR codes, the lesson plan, presenter mode and the guided tour."""

import numpy as np
import pytest
from PIL import Image

from analysis import lesson_plan, share
from dashboard import presenter, quiz_widgets, ui
from runfolder import runs
from tests.conftest import app_pages, open_page

PAGE_PATHS = [path.removeprefix("./") for path in ui.PAGE_URLS.values()] + ["start"]


@pytest.mark.parametrize(
    "current, root",
    [
        ("http://localhost:8501/Quiz", "http://localhost:8501/"),
        ("http://localhost:8501/", "http://localhost:8501/"),
        ("http://localhost:8501", "http://localhost:8501/"),
        ("https://tgn.streamlit.app/~/+/Saliency", "https://tgn.streamlit.app/~/+/"),
        ("https://school.example/apps/tgn/", "https://school.example/apps/tgn/"),
        ("https://school.example/apps/tgn/start", "https://school.example/apps/tgn/"),
        ("", ""),
    ],
)
def test_the_apps_root_is_found_behind_any_prefix(current, root):
    assert share.app_root(current, PAGE_PATHS) == root


def test_page_urls_are_full_and_quoted():
    root = "https://school.example/tgn/"
    assert share.page_url(root, "Quiz", {"quiz": 7, "questions": 10}) == (
        "https://school.example/tgn/Quiz?quiz=7&questions=10"
    )
    assert share.page_url(root, "", {"tour": 1}) == "https://school.example/tgn/?tour=1"
    assert share.page_url("", "Quiz", {"mix": "a b&c"}) == "Quiz?mix=a+b%26c"  # no address known: relative
    assert share.parse_query("quiz=7&questions=10&mix=mistakes") == {"quiz": "7", "questions": "10", "mix": "mistakes"}


def test_the_qr_code_encodes_the_link():
    import io

    link = "https://school.example/tgn/Quiz?quiz=7&questions=10&mix=mistakes"
    png = Image.open(io.BytesIO(share.qr_png(link, scale=4)))
    assert png.size[0] == png.size[1] and png.size[0] >= 4 * 25  # a square of at least version-2 size
    svg = share.qr_svg(link)
    assert svg.startswith("<svg") and "</svg>" in svg
    # Decoding needs a QR reader; instead check segno made the symbol of exactly this text.
    import segno

    assert segno.make(link, error="m").matrix == segno.make(link, error="m").matrix
    assert segno.make(link, error="m").matrix != segno.make(link + "x", error="m").matrix
    pixels = np.asarray(png.convert("L"))
    assert set(np.unique(pixels)) <= {0, 255} and (pixels == 0).mean() > 0.2  # black modules on white


def test_the_lesson_plan_visits_real_pages_in_about_45_minutes():
    pages = [stop.page for stop in lesson_plan.STOPS]
    assert pages[0] == "Home" and all(p in ui.PAGES for p in pages[1:])
    assert len(set(pages)) == len(pages)
    assert 35 <= lesson_plan.total_minutes() <= 50
    assert all(2 <= len(stop.points) <= 3 for stop in lesson_plan.STOPS)
    assert lesson_plan.stop_of("Quiz") == pages.index("Quiz") and lesson_plan.stop_of("Retrain") is None


@pytest.fixture
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_tour_link_opens_the_first_stop_and_next_keeps_the_session(isolated_runs):
    at = open_page(app_pages()["Home"], tour="1")
    assert not at.exception
    assert "Stop 1 of 6 · Meet the network" in _markdown(at)
    assert [t.value for t in at.sidebar.toggle] == [False, True]  # presenter mode off, the tour on
    at.session_state["kept"] = "a student's work"
    at.button[0].click().run()  # Next (the first stop has no Previous)
    assert not at.exception
    assert "Stop 2 of 6 · Draw something for it" in _markdown(at)
    assert at.session_state["kept"] == "a student's work"  # the same browser session
    assert at.query_params.get("tour") == "1"  # the address still says "tour", to hand on


def test_presenter_mode_from_the_link_enlarges_the_page_and_starts_the_tour(isolated_runs):
    at = open_page(app_pages()["Quiz"], present="1", quiz="3", questions="2")
    assert not at.exception
    assert [t.value for t in at.sidebar.toggle] == [True, True]
    assert any(f"zoom: {presenter.ZOOM}" in str(getattr(h, "proto", "")) for h in at.get("html"))
    assert "Stop 4 of 6 · Predict the network" in _markdown(at)
    # Switched off, it leaves the address and the styling.
    at.sidebar.toggle[0].set_value(False).run()
    at.sidebar.toggle[1].set_value(False).run()
    assert "present" not in at.query_params and "tour" not in at.query_params
    assert not any(f"zoom: {presenter.ZOOM}" in str(getattr(h, "proto", "")) for h in at.get("html"))
    assert "Stop 4 of 6" not in _markdown(at)


def test_a_page_off_the_tour_offers_the_way_back(isolated_runs):
    at = open_page(app_pages()["Mistakes"], tour="1")
    assert not at.exception
    assert "this page is not one of its 6 stops" in _markdown(at)
    assert any(b.label.startswith("Back to stop") for b in at.button)


def test_a_bad_mode_in_the_link_is_ignored_with_a_notice(isolated_runs):
    at = open_page(app_pages()["Architecture"], present="yes")
    assert not at.exception
    assert [t.value for t in at.sidebar.toggle] == [False, False]
    assert any("present=yes" in i.value for i in at.info)


def test_the_quiz_panel_shows_the_link_and_its_qr_code_only_when_opened(isolated_runs):
    at = open_page(app_pages()["Quiz"], quiz="7", questions="10", mix="mistakes")  # a student's view
    assert not at.exception
    assert [e.label for e in at.expander] == ["For teachers: make a link and print the questions"]
    assert not at.code and not at.expander[0].children  # nothing made for a panel nobody opened
    assert not any("Scan to open the quiz" in str(i.proto) for i in at.get("image"))

    at.session_state[quiz_widgets.TEACHER_PANEL] = True  # the teacher opens it
    at.run()
    assert not at.exception
    codes = [c.value for c in at.code]
    assert any(c.endswith("Quiz?quiz=7&questions=10&mix=mistakes") for c in codes), codes
    images = [str(i.proto) for i in at.get("image")]
    qr = [i for i in images if "Scan to open the quiz" in i]
    assert qr and ".png" in qr[0] and 'alt: "QR code of the quiz link' in qr[0], images


def test_a_map_is_described_where_its_strength_really_is():
    from explain.describe import describe_map

    blob = np.zeros((28, 28))
    blob[2:6, 20:25] = 1.0  # a block at the top right
    text = describe_map(blob)
    assert "strongest at the top right" in text and "highest pixel: row 3, column 21 of 28 x 28" in text
    assert "holds 100% of its total (concentrated)" in text
    flat = np.ones((28, 28))
    assert "(spread out)" in describe_map(flat) and "holds 10%" in describe_map(flat)
    # Strong in no one place: an even map, stripes (a channel's synthetic image) and two far corners are not
    # "strongest in the centre", where the weighted centre of their strongest pixels happens to fall.
    stripes = np.tile((np.arange(28) % 4 < 2).astype(float), (28, 1))
    for spread_out in (flat, stripes):
        assert "strongest in several places, all over the picture" in describe_map(spread_out)
    corners = np.zeros((28, 28))
    corners[1:4, 1:4] = corners[24:27, 24:27] = 1.0
    text = describe_map(corners)
    assert "strongest in several places, mostly the top left and the bottom right" in text and "centre" not in text
    assert "holds 100% of its total (concentrated)" in text and "row 2, column 2" in text
    centre = np.zeros((28, 28))
    centre[13, 13] = 5.0
    assert "strongest in the centre" in describe_map(centre, "Grad-CAM")
    assert describe_map(np.zeros((28, 28))) == "The map is blank: it marks no pixel."
    assert "cannot be described" in describe_map(np.full((28, 28), np.nan))
    bottom_left = np.zeros((28, 28))
    bottom_left[25, 1] = 1.0
    assert "at the bottom left" in describe_map(bottom_left)


def test_the_colour_blind_safe_map_is_ordered_and_differs_from_the_default():
    from explain import overlay

    ramp = overlay.colourise(np.linspace(0, 1, 11), overlay.COLOUR_BLIND_SAFE).astype(int)
    brightness = ramp @ np.array([299, 587, 114])
    assert (np.diff(brightness) > 0).all()  # dark to bright: readable in grey print too
    assert not np.array_equal(ramp, overlay.colourise(np.linspace(0, 1, 11)).astype(int))


def test_the_display_settings_sit_in_the_sidebars_popover_and_keep_the_choice(isolated_runs):
    from dashboard import display
    from explain import overlay

    at = open_page(app_pages()["Watch it learn"])
    assert [p.proto.popover.label for p in at.sidebar.get("popover")] == ["Display"]
    controls = {b.label: b for b in at.sidebar.get("button_group")}
    assert {"Chart downloads", "Heat-map colours"} <= set(controls)
    assert controls["Heat-map colours"].value == overlay.DEFAULT_COLOUR_MAP
    controls["Heat-map colours"].set_value("cividis").run()
    assert at.session_state[display.HEAT_COLOURS] == "cividis"
    at.select_slider(key="epoch").set_value(1).run()  # another rerun: the choice is kept
    assert {b.label: b.value for b in at.sidebar.get("button_group")}["Heat-map colours"] == "cividis"


def _figures(at) -> tuple[list, list]:
    """Every image and Plotly chart proto the page drew (AppTest has no typed accessor for charts)."""
    images, charts = [], []

    def walk(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", None)
        if kind == "image" and proto is not None:
            images.extend(proto.imgs)  # an ImageList
        if kind == "plotly_chart" and proto is not None:
            charts.append(proto)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return images, charts


@pytest.mark.parametrize("label", list(app_pages()))
def test_every_image_and_chart_has_alt_text(isolated_runs, label):
    at = open_page(app_pages()[label])
    assert not at.exception, at.exception
    images, charts = _figures(at)
    assert [i.url for i in images if not i.alt.strip()] == [], f"{label}: images without alt text"
    assert [c.spec[:60] for c in charts if not c.alt.strip()] == [], f"{label}: charts without alt text"


def test_the_feature_map_summary_names_the_closest_classes_and_the_most_mistaken():
    from analysis.embedding import map_summary

    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [10.5, 0], [50, 50]])  # classes 1 and 2 nearly on top of each other
    labels = np.repeat(np.arange(4), 50)
    xy = centres[labels] + rng.normal(0, 1, (200, 2))
    predictions = labels.copy()
    predictions[np.flatnonzero(labels == 3)[:7]] = 0
    text = map_summary(xy, labels, predictions, ["A", "B", "C", "D"])
    assert "The clouds of B and C lie closest" in text and "7 points are mistakes, most of them D (7)" in text


def test_the_explanation_report_is_self_contained_and_escaped():
    from explain import report

    pixels = np.zeros((28, 28), np.uint8)
    pixels[10:20, 10:20] = 200
    values = np.zeros((28, 28))
    values[2:6, 20:25] = 1.0
    shown = report.ShownMap("Grad-CAM <b>for</b> Bag", np.zeros((224, 224, 3), np.uint8), values, 1.0, "cividis")
    probabilities = np.array([0.05, 0, 0, 0, 0, 0, 0.15, 0, 0.8, 0])
    page = report.explanation_report(
        "Test image #7",
        "run <script>",
        pixels,
        probabilities,
        6,
        [f"class{i}" for i in range(10)],
        [shown],
        "On this image the order beats random.",
        {"deletion": {"Grad-CAM": 0.1, "random": 0.3}},
        "Grad-CAM: passes. It beats the controls.",
    )
    assert "<script>" not in page and "run &lt;script&gt;" in page and "Grad-CAM &lt;b&gt;for&lt;/b&gt; Bag" in page
    assert "src='http" not in page and page.count("data:image/png;base64,") == 3  # input, map, its scale
    assert "answers <b>class8</b> (80.0%); true class class6 · misclassified" in page
    assert "strongest at the top right" in page  # the map described in words
    assert "Area under the deletion curve (smaller is better)" in page and "0.300" in page
    assert "Grad-CAM: passes. It beats the controls." in page


def test_the_phones_verdict_list_puts_passing_methods_first():
    from analysis import trust
    from runfolder import artefacts

    folder = runs.SHIPPED_RUNS["shipped"]
    card = artefacts.read_scorecard(folder, runs.file_sha256(folder / runs.MODEL_FILE))
    listed = trust.verdict_list(card)
    assert len(listed) == len(card["entries"]) and list(listed.columns) == ["method", "layer", "verdict"]
    rank = {trust.BADGES[v]: i for i, v in enumerate(trust.VERDICT_ORDER)}
    ranks = [rank[badge] for badge in listed["verdict"]]
    assert ranks == sorted(ranks)  # passing first, then holding in part, ... (the shipped model has no pass)
    best = min(trust.VERDICT_ORDER.index(e["verdict"]) for e in card["entries"].values())
    assert ranks[0] == best


def test_homes_teacher_kit_offers_the_tour_link_and_its_qr_code(isolated_runs):
    at = open_page(app_pages()["Home"])
    assert not at.exception
    assert not any("Scan to follow the tour" in str(i) for i in _figures(at)[0])  # drawn only when asked for
    at.toggle(key="home_teacher_kit").set_value(True).run()
    assert not at.exception
    assert any(c.value.endswith("?tour=1") for c in at.code)
    qr = [i for i in _figures(at)[0] if "Scan to follow the tour" in i.caption]
    assert qr and qr[0].alt.startswith("QR code of the tour link")
    assert "1. **Home**: meet the network" in _markdown(at)
    at.button(key="start_tour").click().run()  # rewrites the address, so a reload keeps the tour (ui.here_link)
    assert not at.exception and at.query_params["tour"] in ("1", ["1"]) and at.session_state["guided_tour"]


def test_the_curve_charts_are_summarised_from_their_areas():
    import pandas as pd

    from analysis import trust

    steps = 21
    controls = {"random": np.full((steps,), 0.5), "garment": np.full((steps,), 0.3)}
    labels = {"random": "a random order", "garment": "garment first"}
    deletion = trust.curves_summary("deletion", np.full((steps,), 0.2), controls, "Grad-CAM", labels)
    assert deletion == (
        "Area under each deletion curve (smaller is better): Grad-CAM 0.200; a random order 0.500; "
        "garment first 0.300. Best: Grad-CAM."
    )
    insertion = trust.curves_summary("insertion", np.full((steps,), 0.2), controls, "Grad-CAM", labels)
    assert insertion.endswith("Best: a random order.")
    frame = pd.DataFrame(
        {"Occlusion": [0.9, 0.4, -0.001], "Score-CAM": [0.95, 0.86, 0.2]},
        index=["output layer", "+ dense layer", "+ stem"],
    )
    assert trust.cascade_summary(frame, "Occlusion", "+ dense layer") == (
        "Occlusion: once the dense layer and everything above it are random, its maps correlate 0.40 with the "
        "trained model's, below the line: they change when what the head learned is destroyed, as maps of the "
        "model should. With the whole network random: 0.00."
    )
    ignores = trust.cascade_summary(frame, "Score-CAM", "+ dense layer")  # the sentence follows the verdict's reading
    assert "correlate 0.86" in ignores and "above the line: they barely change" in ignores
    assert "correlate 0.95" in trust.cascade_summary(frame, "Score-CAM")  # no head stage named: the first row
    assert "no randomisation test" in trust.cascade_summary(frame, "Grad-CAM")
    same = trust.runner_up_sentence({"label": "LayerCAM", "runner_up_correlation": 0.91})
    assert same == (
        "LayerCAM's maps for the predicted and the runner-up class correlate at 0.91: nearly the same map "
        "for two different answers."
    )
    assert trust.runner_up_sentence({"label": "Occlusion", "runner_up_correlation": 0.3}).endswith(
        "different answers, different maps."
    )
    assert trust.runner_up_sentence({"label": "Occlusion"}) == ""  # not measured: nothing said
    assert "Score\\-CAM" in trust.runner_up_sentence({"label": "Score-CAM", "runner_up_correlation": 0.5})  # text
