"""The 'Your own image' page, its familiarity check, and the explanation pages on the user's picture."""

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from analysis import familiarity
from dashboard.own_image import USER_IMAGE_KEY
from dataset.fashion_mnist import CLASS_NAMES
from inputs.convert import convert
from inputs.examples import EXAMPLES, example_png
from runfolder import runs
from tests.conftest import REPO_ROOT, app_pages, run_selector
from tests.test_inputs import bomb_png, dark_shirt_on_white, png_bytes

PAGE = app_pages()["Your own image"]


@pytest.fixture(autouse=True)
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))


def page(source: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / PAGE), default_timeout=180).run()
    if source:
        at.segmented_control(key="source").set_value(source).run()
    return at


def upload(data: bytes, name="garment.png", mime="image/png") -> AppTest:
    at = page("upload")
    at.file_uploader(key="upload").upload(name, data, mime).run()
    return at


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_an_empty_canvas_gets_a_friendly_prompt():
    at = page()
    assert not at.exception and not at.error
    assert "Draw a garment on the black square" in at.info[0].body
    assert "Prediction" not in metrics(at)


def test_an_uploaded_photo_is_converted_and_classified():
    at = upload(png_bytes(dark_shirt_on_white()))
    assert not at.exception and not at.error
    assert metrics(at)["Prediction"] in CLASS_NAMES
    steps = at.get("image")[0].proto.imgs  # one row that wraps, so a phone shows three to a line
    captions = [p.caption for p in steps]
    assert len(steps) == 6
    assert captions[0].startswith("1. Your picture in grey") and captions[5].startswith("6. Negated")
    verdicts = [s.body for s in at.success] + [i.body for i in at.info] + [w.body for w in at.warning]
    assert any(v.startswith(("**Familiar.**", "**Unusual input.**", "**Unfamiliar input.**")) for v in verdicts)
    assert at.session_state[USER_IMAGE_KEY].shape == (28, 28)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"just text, renamed to .png", "not a picture"),
        (png_bytes(dark_shirt_on_white())[:400], "cannot be read"),
        (bomb_png(), "megapixels"),
        (png_bytes(Image.new("RGB", (1, 1))), "at least 8"),
        (png_bytes(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), "fully transparent"),
        (png_bytes(Image.new("RGB", (64, 64), (90, 120, 200))), "single colour"),
    ],
)
def test_bad_files_get_a_clear_message_never_a_traceback(data, message):
    at = upload(data)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", "")
    assert "Prediction" not in metrics(at)


@pytest.mark.parametrize("name, expected", [(n, n.split(" ")[0]) for n in EXAMPLES])
def test_the_starter_gallery_is_recognised(name, expected):
    at = page("examples")
    at.radio(key="example").set_value(name).run()
    assert not at.exception
    assert metrics(at)["Prediction"].startswith(expected.rstrip("s"))  # "Trousers" -> "Trouser"


def test_an_unlike_picture_is_flagged_and_a_test_image_is_familiar():
    from PIL import ImageDraw

    ring = Image.new("L", (200, 200), 0)  # a ring: no garment looks like it
    draw = ImageDraw.Draw(ring)
    draw.ellipse([20, 20, 180, 180], fill=255)
    draw.ellipse([60, 60, 140, 140], fill=0)
    at = upload(png_bytes(ring))
    assert any("Unfamiliar input" in w.body for w in at.warning), [w.body for w in at.warning]
    # the printed numbers agree with the verdict: the distance is above the printed threshold
    import re

    warning = next(w.body for w in at.warning if "Unfamiliar input" in w.body)
    distance, share = re.search(r"mean distance ([0-9.]+)\) than ([0-9.]+)%", warning).groups()
    caption = next(c.value for c in at.caption if "unfamiliar" in c.value)
    limit = re.search(r"farther than 99% \(above ([0-9.]+)\) unfamiliar", caption).group(1)
    assert float(distance) > float(limit) and float(share) >= 99

    noise = (np.random.default_rng(0).random((200, 200, 3)) * 255).astype(np.uint8)
    noise[:, :20] = 0
    at = upload(png_bytes(Image.fromarray(noise)))  # at least unusual (the page says the check is weak)
    assert any("Unusual input" in i.body for i in at.info) or any("Unfamiliar" in w.body for w in at.warning)

    from dataset.fashion_mnist import load_split

    test_image = load_split("test").images[1]
    big = Image.fromarray(test_image).resize((112, 112), Image.NEAREST)
    at = upload(png_bytes(big))
    assert any(s.body.startswith("**Familiar.**") for s in at.success)
    assert len([c for c in at.markdown if "explain](" in c.value]) == 5  # its five nearest test images


def test_the_picture_stays_in_memory_and_in_its_session():
    def files():
        return {p: p.stat().st_mtime_ns for p in REPO_ROOT.rglob("*") if ".venv" not in p.parts and p.is_file()}

    before = files()
    first = upload(png_bytes(dark_shirt_on_white()))
    second = page()  # another browser session
    assert USER_IMAGE_KEY in first.session_state and USER_IMAGE_KEY not in second.session_state
    after = files()
    new = [p for p in after if p not in before or after[p] != before[p]]
    assert not [p for p in new if "__pycache__" not in p.parts and ".pytest_cache" not in p.parts], new


def test_the_explanation_pages_take_the_users_picture():
    pixels = convert(example_png("Sneaker (red)")).pixels
    for label in ("Saliency", "Inception branches"):
        at = AppTest.from_file(str(REPO_ROOT / app_pages()[label]), default_timeout=180)
        at.session_state[USER_IMAGE_KEY] = pixels
        at.query_params["source"] = "yours"
        at.run()
        assert not at.exception, at.exception
        assert at.markdown[0].value.startswith("**Your image** · predicted **Sneaker**")
        assert at.radio(key="image_source").value == "yours"
        if label == "Saliency":
            assert "true" not in at.selectbox(key="target").options  # a picture has no true class
            assert any(m.value.startswith("On this image, in the order of") for m in at.markdown)
    at = AppTest.from_file(str(REPO_ROOT / app_pages()["Saliency"]), default_timeout=180)
    at.query_params["source"] = "yours"
    at.run()  # no picture in this session: a test image, and a notice that says why
    assert any("has none yet" in i.body for i in at.info) and at.markdown[0].value.startswith("**Test image #")


def test_familiarity_on_points_whose_neighbours_are_known():
    grid = np.array([[x, y] for x in range(10) for y in range(10)], dtype=np.float32)  # spacing 1
    reference = familiarity.reference_distances(grid, k=4)
    assert reference.min() == pytest.approx(1.0)  # inside the grid: four neighbours at 1
    assert reference.max() == pytest.approx((1 + 1 + 2**0.5 + 2) / 4)  # a corner: 1, 1, the diagonal, then 2
    near = familiarity.familiarity(np.array([4.1, 5.0]), grid, reference, k=4)
    assert near.neighbours[0] == 45 and not near.unfamiliar
    far = familiarity.familiarity(np.array([40.0, 40.0]), grid, reference, k=4)
    assert far.unfamiliar and far.percentile == 100.0


def test_the_familiarity_numbers_compare_as_printed_at_the_boundary():
    # The reported case: a distance of 1.62 beyond the threshold 1.58 read "beyond 99% (here 1.6)" for a
    # distance shown as 1.6.
    reference = np.concatenate([np.linspace(0.5, 1.5, 98), [1.58, 1.7]])  # 100 test images
    assert familiarity.threshold(reference, 99) == 1.58 and familiarity.threshold(reference, 90) == reference[89]
    found = familiarity.judge(np.arange(5), np.full(5, 1.62), reference)
    shown = found.shown()
    assert found.level == "unfamiliar" and (shown.distance, shown.threshold, shown.percentile) == ("1.62", "1.58", "99")
    at_the_line = familiarity.judge(np.arange(5), np.full(5, 1.58), reference).shown()  # not beyond it
    assert at_the_line.distance == at_the_line.threshold and at_the_line.percentile == "98"
    # percentages too: 98.99% is not printed as 99% when 99% is the line
    many = np.arange(10_000) / 1000.0
    below = familiarity.judge(np.arange(5), np.full(5, many[9898] + 0.0005), many)
    assert below.level == "unusual" and below.percentile == 98.99 and below.shown().percentile == "98.99"


def test_the_familiarity_verdict_and_its_printed_numbers_never_disagree():
    rng = np.random.default_rng(3)
    reference = rng.gamma(9.0, 0.15, 10_000).astype(np.float32)  # like the real distances: 0.3 to 3
    edges = [familiarity.threshold(reference, q) for q in (90, 99)]
    means = np.concatenate([e + np.array([-1e-3, -1e-5, 0.0, 1e-5, 1e-3, 0.04]) for e in edges])
    for mean in np.concatenate([means, rng.uniform(0.5, 3.0, 300)]):
        found = familiarity.judge(np.arange(5), np.full(5, mean), reference)
        shown = found.shown()
        unfamiliar, beyond_unusual = found.level == "unfamiliar", found.level != "familiar"
        assert (float(shown.distance) > float(shown.threshold)) == unfamiliar, (mean, shown)
        assert (float(shown.distance) > float(shown.unusual_threshold)) == beyond_unusual, (mean, shown)
        assert (float(shown.percentile) >= 99) == unfamiliar and (float(shown.percentile) >= 90) == beyond_unusual
        assert (found.percentile >= 99) == unfamiliar  # the two definitions agree exactly


def test_the_conversion_settings_override_the_automatic_choices():
    at = upload(png_bytes(dark_shirt_on_white()))
    auto = at.session_state[USER_IMAGE_KEY].copy()
    at.radio(key="invert").set_value("no").run()
    assert not at.exception
    kept = at.session_state[USER_IMAGE_KEY]
    assert auto[14, 14] > 150 and kept[14, 14] < 100  # the garment stays dark when not negated


def test_editing_a_test_image_shows_the_prediction_before_and_after():
    at = page("edit")
    assert not at.exception, at.exception
    prediction = next(m for m in at.metric if m.label == "Prediction")
    results = runs.load_results(runs.SHIPPED_RUNS["shipped"])
    assert prediction.value == CLASS_NAMES[results.predictions[0]]  # no stroke yet: test image 0 as it is
    assert prediction.proto.delta.startswith(f"was {CLASS_NAMES[results.predictions[0]]}")
    assert len(at.get("plotly_chart")) == 1 and len(at.get("image")) == 1  # before/after bars, the map
    assert run_selector(at).label == "Model run"
    at.number_input(key="edit_index").set_value(7).run()
    assert next(m for m in at.metric if m.label == "Prediction").value == CLASS_NAMES[results.predictions[7]]
