"""Real-browser tests: `streamlit run` driven by headless Chromium through Playwright.

Screenshots of every page go to ./screenshots (or $SCREENSHOT_DIR) for a person to look at.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from dashboard import trust_widgets, ui
from dataset.fashion_mnist import CLASS_NAMES
from runfolder import artefacts, runs
from tests.browser import browser, chromium_path, tile_centre, wait_for_app
from tests.conftest import REPO_ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium not found: apt-get install chromium"),
]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", REPO_ROOT / "screenshots"))
PAGES = ["", *(url.removeprefix("./") for url in ui.PAGE_URLS.values())]  # "" is Home


@pytest.fixture(scope="module")
def page(app_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1440, "height": 1000})
        yield context.new_page()
        context.close()


def no_exception(page):
    assert page.locator("[data-testid='stException']").count() == 0, page.inner_text("body")[:2000]


def test_every_page_opens(page, app_url):
    for name in PAGES:
        page.goto(f"{app_url}/{name}")
        wait_for_app(page)
        no_exception(page)
        assert page.locator("h1").count() >= 1
        page.screenshot(path=str(SHOTS / f"{name or 'Home'}.png"))


def test_home_shows_accuracy_and_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    body = page.inner_text("body")
    shipped = runs.load_results(runs.SHIPPED_RUNS["shipped"]).metrics["test_accuracy"]
    assert f"{shipped:.2%}" in body and "89.54%" in body
    page.get_by_role("link", name="Confusion matrix").first.click()
    wait_for_app(page)
    assert "Confusion matrix" in page.inner_text("h1")


def test_selecting_a_confusion_cell_shows_its_images(page, app_url):
    page.goto(f"{app_url}/Confusion_matrix")
    wait_for_app(page)
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # Columns: row header then 10 classes; rows: header then 10 classes. Click (true Coat, predicted Pullover).
    index_width = box["width"] / 11
    x = box["x"] + index_width * 1.0 + (box["width"] - index_width) / 10 * 2.5
    y = box["y"] + 35 * 5.5
    page.mouse.click(x, y)
    page.wait_for_timeout(500)
    wait_for_app(page)
    no_exception(page)
    heading = page.get_by_text("True Coat, predicted Pullover")
    assert heading.count() == 1, page.inner_text("body")[:1500]
    page.screenshot(path=str(SHOTS / "Confusion_matrix_cell.png"), full_page=True)
    assert "predicted=2" in page.url and "true=4" in page.url


def test_deep_link_to_a_misclassified_image_renders_maps(page, app_url):
    results = runs.load_results(runs.SHIPPED_RUNS["shipped"])
    wrong = int(np.flatnonzero(results.predictions != results.labels)[0])
    page.goto(f"{app_url}/Saliency?index={wrong}&method=gradcam&target=predicted")
    wait_for_app(page)
    no_exception(page)
    body = page.inner_text("body")
    assert f"Test image #{wrong}" in body and "misclassified" in body
    images = page.locator("[data-testid='stImage'] img")
    assert images.count() >= 2
    for i in range(images.count()):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
    assert "AUC" in body
    page.screenshot(path=str(SHOTS / "Saliency_deep_link.png"), full_page=True)


def test_mistakes_link_opens_the_explanation(page, app_url):
    page.goto(f"{app_url}/Mistakes")
    wait_for_app(page)
    link = page.locator("a", has_text="explain").first
    href = link.get_attribute("href")
    assert "Saliency?index=" in href
    page.goto(f"{app_url}/{href.lstrip('./')}")
    wait_for_app(page)
    no_exception(page)
    assert "misclassified" in page.inner_text("body")


def test_a_hostile_link_value_is_shown_as_text_not_markdown(page, app_url):
    """Issue 13, case 4: a value with a backtick must not escape its code span in a real browser."""
    from urllib.parse import quote, urlparse

    attack = (
        "x` ![t](http://HOST/pixel.png) [Your session expired, log in here](https://evil.example/login) "
        ":red[**WARNING: model compromised**] `y"
    )
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{app_url}/Mistakes?sort={quote(attack)}")
    wait_for_app(page)
    no_exception(page)
    notice = page.locator("[data-testid='stAlert']", has_text="Ignored").first
    assert "![t](http://HOST" in notice.inner_text()  # shown literally (and shortened)
    assert page.locator("a[href*='evil.example']").count() == 0
    assert page.locator("img[src*='HOST']").count() == 0
    assert notice.locator("code").count() == 1 and notice.locator("strong, span[style*='color']").count() == 0
    assert not {urlparse(url).hostname for url in requested} & {"host", "evil.example"}  # the pixel was never fetched
    page.screenshot(path=str(SHOTS / "Mistakes_hostile_link.png"))


def test_the_trust_page_shows_the_scorecard_and_follows_a_link_from_saliency(page, app_url):

    card = artefacts.read_scorecard(runs.SHIPPED_RUNS["shipped"])
    page.goto(f"{app_url}/Saliency?index=0")
    wait_for_app(page)
    no_exception(page)
    body = page.inner_text("body")
    assert "Does this map hold up on this image?" in body and "garment pixels first" in body
    page.get_by_role("link", name="Details on the trust page").click()
    wait_for_app(page)
    no_exception(page)
    assert "Can the maps be trusted?" in page.inner_text("h1")
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert page.locator(".js-plotly-plot").count() == 2  # deletion and insertion: the open tab only
    page.get_by_role("tab", name=trust_widgets.EVIDENCE_TABS[1]).click()
    page.get_by_text("re-initialised, from the top down").first.wait_for(timeout=30_000)  # the cascade's axis
    wait_for_app(page)
    no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 1
    page.get_by_role("tab", name=trust_widgets.EVIDENCE_TABS[0]).click()
    page.get_by_text("Fill for deleted pixels").first.wait_for(timeout=30_000)
    wait_for_app(page)
    body = page.inner_text("body")
    nothing_passes = "no map passes every test" if card.get("version", 1) >= 2 else "No method passes"
    assert (nothing_passes in body) == (not card["any_passes"])
    page.screenshot(path=str(SHOTS / "Can_the_maps_be_trusted_full.png"), full_page=True)


def _own_image_page(page, app_url, source: str):
    page.goto(f"{app_url}/Your_own_image")
    wait_for_app(page)
    if source != "Draw":  # the default: clicking it again would unselect it
        page.get_by_role("radio", name=source).click()
        wait_for_app(page)
    page.wait_for_timeout(1500)


def _canvas_box(page) -> dict:
    """The drawing canvas's box once it has settled (the component mounts after the script's run)."""
    from playwright.sync_api import Error

    for _ in range(20):
        try:
            canvas = page.locator("canvas").last
            canvas.scroll_into_view_if_needed(timeout=2000)
            page.wait_for_timeout(300)
            box = canvas.bounding_box()
            if box and box["width"] == 280:
                return box
        except Error:
            pass
        page.wait_for_timeout(500)
    raise AssertionError("the drawing canvas did not appear")


def _prediction(page) -> str:
    metric = page.locator("[data-testid='stMetric']", has_text="Prediction").first
    metric.wait_for(timeout=30_000)
    return [line for line in metric.inner_text().splitlines() if line.strip()][1]  # the predicted class


def test_drawing_a_stroke_on_the_canvas_gives_a_prediction(page, app_url):
    _own_image_page(page, app_url, "Draw")
    box = _canvas_box(page)
    assert box["height"] == 280
    # The component can miss a stroke made in its first moments; a person simply draws again.
    for attempt in range(3):
        page.mouse.move(box["x"] + 140, box["y"] + 30)
        page.mouse.down()
        for y in range(30, 250, 10):
            page.mouse.move(box["x"] + 140 + (y % 20), box["y"] + y)
        page.mouse.up()
        page.wait_for_timeout(2500)
        wait_for_app(page)
        if page.locator("[data-testid='stMetric']", has_text="Prediction").count():
            break
    no_exception(page)
    assert _prediction(page) in CLASS_NAMES
    assert "What the network sees" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "Your_own_image_drawn.png"), full_page=True)
    # A button clears it (the canvas's own toolbar shows only under a mouse): an empty canvas and the hint again
    page.get_by_role("button", name="Clear the drawing").click()
    page.get_by_text("Draw a garment on the black square").wait_for(timeout=30_000)
    wait_for_app(page)
    assert page.get_by_text("What the network sees").count() == 0


def test_uploading_a_png_gives_a_prediction(page, app_url):
    from inputs.examples import example_png

    _own_image_page(page, app_url, "Upload a photo")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "sneaker.png", "mimeType": "image/png", "buffer": example_png("Sneaker (red)")}]
    )
    page.wait_for_timeout(1500)
    wait_for_app(page)
    no_exception(page)
    assert "Sneaker" in _prediction(page)
    page.screenshot(path=str(SHOTS / "Your_own_image_uploaded.png"), full_page=True)


def test_painting_over_a_test_image_changes_the_prediction(page, app_url):
    _own_image_page(page, app_url, "Edit a test image")
    before = _prediction(page)
    box = _canvas_box(page)

    def paint_and_read() -> str:
        """Wide white stripes over the whole image, then the answer once it differs (or after 20 s)."""
        for row in range(20, 270, 25):
            page.mouse.move(box["x"] + 5, box["y"] + row)
            page.mouse.down()
            page.mouse.move(box["x"] + 275, box["y"] + row, steps=8)
            page.mouse.up()
        for _ in range(20):
            page.wait_for_timeout(1000)
            wait_for_app(page)
            if (answer := _prediction(page)) != before:
                break
        return answer

    # As in the drawing test, the component can miss strokes made in its first moments, and on a busy machine
    # the rerun can start after a fixed wait has ended: paint again, as a person would, and wait for the answer.
    for _ in range(3):
        if (after := paint_and_read()) != before:
            break
    assert after != before, (before, after)
    page.screenshot(path=str(SHOTS / "Your_own_image_edited.png"), full_page=True)


def test_a_lasso_on_the_feature_map_selects_images(page, app_url):
    page.goto(f"{app_url}/Feature_space")
    wait_for_app(page)
    no_exception(page)
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 60, y - 60)
    page.mouse.down()
    for dx, dy in [(60, -60), (60, 60), (-60, 60), (-60, -60)]:  # a square drag round the middle
        page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()
    page.wait_for_timeout(300)
    wait_for_app(page)
    no_exception(page)
    heading = page.locator("h3", has_text="images selected").first
    heading.wait_for(timeout=30_000)
    assert int(heading.inner_text().split(" ")[0].replace(",", "")) > 10
    assert page.locator("a", has_text="explain").count() > 0
    page.screenshot(path=str(SHOTS / "Feature_space_selected.png"), full_page=True)


def _click_tile(page, channel: int, columns: int, count: int, tile: int, gap: int = 2) -> None:
    """Click the centre of a channel's tile in the first tile grid on the page."""
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    page.mouse.click(*tile_centre(page, channel, columns, count, tile, gap))
    page.wait_for_timeout(300)
    wait_for_app(page)


def test_clicking_a_tile_in_the_atlas_opens_its_channel(page, app_url):
    page.goto(f"{app_url}/Channel_atlas?layer=block2_3x3&channel=0")
    wait_for_app(page)
    no_exception(page)
    page.get_by_text("3x3 branch · channel 0").first.wait_for(timeout=30_000)
    _click_tile(page, 13, columns=8, count=32, tile=56)
    page.get_by_text("3x3 branch · channel 13").first.wait_for(timeout=30_000)
    no_exception(page)
    assert "channel=13" in page.url and "layer=block2_3x3" in page.url
    assert page.locator("a", has_text="#").count() >= 9  # the top images link to their explanations
    page.screenshot(path=str(SHOTS / "Channel_atlas_channel.png"), full_page=True)


def test_a_feature_map_tile_on_the_inception_page_opens_the_atlas(page, app_url):
    page.goto(f"{app_url}/Inception_branches?index=0&block=1")
    wait_for_app(page)
    no_exception(page)
    _click_tile(page, 5, columns=8, count=16, tile=28, gap=1)  # block 1's 1x1 reduction: 16 channels, 8 to a row
    page.wait_for_url("**/Channel_atlas**", timeout=30_000)
    wait_for_app(page)
    no_exception(page)
    assert "layer=block1_3x3_reduce" in page.url and "channel=5" in page.url
    page.get_by_text("1x1 reduction before the 3x3 · channel 5").first.wait_for(timeout=30_000)


def test_the_lesson_walks_through_its_steps(page, app_url):
    page.goto(f"{app_url}/How_it_computes?index=0&step=image&filter=3&row=10&col=12")
    wait_for_app(page)
    no_exception(page)
    expected = {
        "2 · Convolution": "Sum of the 9 products",
        "3 · Normalisation": "Sum of squares",
        "4 · ReLU and dropout": "After ReLU",
        "5 · Inception block": "1x1 convolution, filter 3",
        "6 · The answer": "Logits and softmax",
    }
    for label, text in expected.items():
        page.get_by_role("radio", name=label).click()  # a segmented control's options are radio buttons
        page.wait_for_timeout(300)
        wait_for_app(page)
        no_exception(page)
        page.get_by_text(text).first.wait_for(timeout=30_000)
    assert "step=head" in page.url
    page.screenshot(path=str(SHOTS / "How_it_computes_head.png"), full_page=True)


def test_one_quiz_question_is_answered_and_revealed(page, app_url):
    page.goto(f"{app_url}/Quiz?quiz=3&questions=2&mix=easy")
    wait_for_app(page)
    no_exception(page)
    page.get_by_text("Question 1 of 2").first.wait_for(timeout=30_000)
    _click_tile(page, 24, columns=7, count=49, tile=28, gap=0)  # "where does it look?": the centre square
    page.locator("[data-testid='stMain'] [data-testid='stRadio'] label").nth(1).click()  # a class
    wait_for_app(page)
    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("The network says").first.wait_for(timeout=60_000)
    wait_for_app(page)
    no_exception(page)
    assert "1 of 2" in page.inner_text("body")
    assert "You pointed at the outlined square" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "Quiz_revealed.png"), full_page=True)
