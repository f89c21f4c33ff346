"""Real-browser tests of the app as a class uses it: links that keep a student's work, every page on a
phone, the quiz with the keyboard alone. Screenshots go to ./screenshots (or $SCREENSHOT_DIR)."""

import os
from pathlib import Path

import pytest

from dashboard import ui
from tests.browser import browser, chromium_path, wait_for_app
from tests.conftest import REPO_ROOT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium not found: apt-get install chromium"),
]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", REPO_ROOT / "screenshots"))
PAGES = ["", *(url.removeprefix("./") for url in ui.PAGE_URLS.values())]  # "" is Home

# Elements of the page that reach past the right edge of the window, leaving out those inside a box that
# scrolls sideways on purpose (a wide table, a row of tabs): what a phone user would have to pan to see.
OVERFLOW = """() => {
  const scrolls = e => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const x = getComputedStyle(p).overflowX; if (x === 'auto' || x === 'scroll') return true; } return false; };
  return Array.from(document.querySelectorAll('[data-testid="stMain"] *')).filter(e => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.right > window.innerWidth + 2 && !scrolls(e);
  }).slice(0, 5).map(e => (e.getAttribute('data-testid') || e.tagName) + ' ends at '
                         + Math.round(e.getBoundingClientRect().right));
}"""


@pytest.fixture(scope="module")
def chromium():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser() as instance:
        yield instance


def _menu(page, label: str) -> None:
    """Move to a page the way a student does: the menu (the same browser session)."""
    page.locator("[data-testid='stSidebarNav'] a", has_text=label).first.click()
    page.wait_for_timeout(500)
    wait_for_app(page)


def test_a_gallery_link_keeps_the_students_picture_and_quiz_score(chromium, app_url):
    from inputs.examples import example_png

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    wait_for_app(page)
    _menu(page, "Your own image")
    page.get_by_role("radio", name="Upload a photo").click()
    wait_for_app(page)
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "sneaker.png", "mimeType": "image/png", "buffer": example_png("Sneaker (red)")}]
    )
    page.locator("[data-testid='stMetric']", has_text="Prediction").first.wait_for(timeout=60_000)

    _menu(page, "Quiz")
    page.get_by_text("Question 1 of").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stMain'] [data-testid='stRadio'] label").nth(1).click()
    wait_for_app(page)
    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("The network says").first.wait_for(timeout=60_000)
    wait_for_app(page)

    _menu(page, "Mistakes")
    link = page.locator("[data-testid='stPageLink'] a", has_text="explain").first
    link.click()
    page.wait_for_url("**/Saliency?index=*", timeout=30_000)
    wait_for_app(page)
    assert len(context.pages) == 1  # no new tab
    # The picture survived: only a session holding one is offered "Your image" to explain.
    assert page.get_by_role("radio", name="Your image").count() == 1
    _menu(page, "Quiz")
    answered = page.locator("[data-testid='stMetric']", has_text="Questions answered").first.inner_text()
    assert "1 of" in answered, answered
    page.screenshot(path=str(SHOTS / "class_quiz_kept.png"))
    context.close()


TABLES_WIDER_THAN_THEIR_BOX = """() => [...document.querySelectorAll("[data-testid='stDataFrame']")]
    .filter(table => table.offsetParent !== null)  // the one of two versions the screen shows
    .map(table => table.querySelector('.dvn-scroller'))
    .filter(scroller => scroller && scroller.scrollWidth > scroller.clientWidth + 1)
    .map(scroller => `${scroller.scrollWidth} > ${scroller.clientWidth}`)"""


def test_every_page_fits_a_phone(chromium, app_url):
    context = chromium.new_context(viewport={"width": 400, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = {}
    for name in PAGES:
        page.goto(f"{app_url}/{name}")
        wait_for_app(page, 180_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / f"phone_{name or 'Home'}.png"))
        over = page.evaluate(OVERFLOW) + page.evaluate(TABLES_WIDER_THAN_THEIR_BOX)  # nor a sideways swipe
        if over:
            problems[name or "Home"] = over
    context.close()
    assert not problems, problems


def test_a_phone_sees_every_column_of_the_lessons_answer_and_of_the_confusion_matrix(chromium, app_url):
    """At 400 px no table of the lesson's last step, and not the confusion matrix, needs a sideways swipe; a tap
    on the phone's matrix picks its cell (true Coat, predicted Pullover) as a click does on a desktop."""
    context = chromium.new_context(viewport={"width": 400, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{app_url}/How_it_computes?index=0&step=head")
    wait_for_app(page, 180_000)
    page.get_by_text("Logits and softmax").first.wait_for()
    assert page.evaluate(TABLES_WIDER_THAN_THEIR_BOX) == []
    page.goto(f"{app_url}/How_it_computes?index=0&step=lrn")  # a row of eleven neighbours, turned on a phone
    wait_for_app(page)
    assert page.evaluate(TABLES_WIDER_THAN_THEIR_BOX) == []
    page.goto(f"{app_url}/Confusion_matrix")
    wait_for_app(page)
    grid = page.locator("[data-testid='stDataFrame']:visible").first
    grid.scroll_into_view_if_needed()
    assert page.evaluate(TABLES_WIDER_THAN_THEIR_BOX) == []
    assert "Top T-shirt/top" in page.inner_text("body")  # the headings' legend
    box = grid.bounding_box()
    cell = (box["width"] - 8) / 10.25  # the rows' names take a quarter cell more (PHONE_CELL_PX + 8)
    page.touchscreen.tap(box["x"] + 1.25 * cell + 2.5 * cell, box["y"] + 35 * 5.5)  # column Pul, row Coa
    page.wait_for_url("**predicted=2**", timeout=30_000)
    wait_for_app(page)
    assert page.get_by_text("True Coat, predicted Pullover").count() == 1 and "true=4" in page.url
    page.screenshot(path=str(SHOTS / "phone_confusion_cell.png"))
    context.close()


def test_one_press_of_back_returns_from_an_explanation_to_the_mistakes(chromium, app_url):
    """Pages no longer write their defaults into the URL on arrival (each change of the URL is a history entry):
    from a Mistakes gallery to Saliency and back is one press of Back, and the address stays as the link made it
    until the student changes the view."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app_url}/Mistakes")
    wait_for_app(page)
    page.locator("[data-testid='stPageLink'] a", has_text="explain").first.click()
    page.wait_for_url("**/Saliency?index=*", timeout=30_000)
    wait_for_app(page, 120_000)
    arrived = page.url
    page.wait_for_timeout(500)
    assert page.url == arrived and "method=" not in arrived
    page.go_back()
    page.wait_for_url("**/Mistakes*", timeout=30_000)
    wait_for_app(page)
    assert page.locator("h1", has_text="Mistakes browser").count() == 1
    # One change of view, one history entry, even where it changes two values (the step, and the block it drops)
    page.goto(f"{app_url}/How_it_computes?index=0&step=block&block=2")
    wait_for_app(page, 120_000)
    before = page.evaluate("history.length")
    page.locator("[data-testid='stButtonGroup'] button", has_text="2 · Convolution").click()
    page.wait_for_url("**step=conv**", timeout=30_000)
    wait_for_app(page)
    assert page.evaluate("history.length") == before + 1 and "block=" not in page.url
    context.close()


def test_a_quiz_and_a_tour_opened_on_their_own_page_survive_a_reload(chromium, app_url):
    """The teacher's 'Open this quiz here' and Home's 'Start the tour' rewrite the address (a page link to the
    page already open did not, and a reload brought back quiz 1 and no tour)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app_url}/Quiz")
    wait_for_app(page)
    page.get_by_text("For teachers: make a link and print the questions").click()
    number = page.get_by_label("Quiz number")
    number.fill("8")
    number.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Open this quiz here").click()
    page.wait_for_url("**/Quiz?quiz=8&questions=10&mix=mixed", timeout=30_000)
    page.reload()
    wait_for_app(page)
    assert page.get_by_text("Quiz 8: a mix of the three kinds").count() == 1
    page.goto(f"{app_url}/")
    wait_for_app(page)
    page.get_by_text("For teachers: a").click()
    wait_for_app(page)
    page.get_by_role("button", name="Start the tour").click()
    page.wait_for_url("**/?tour=1", timeout=30_000)
    page.reload()
    wait_for_app(page)
    assert page.get_by_text("Stop 1 of").count() == 1  # the tour's bar, still there
    context.close()


def test_the_teachers_sheets_are_the_linked_quiz_and_its_settings_outlive_closing_the_panel(chromium, app_url):
    """The panel's downloads are the quiz its link opens, not the one on the page (a teacher printed quiz 1's
    answers under quiz 8's link), and closing the panel keeps what was set (both found in review)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{app_url}/Quiz")
    wait_for_app(page)
    panel = page.get_by_text("For teachers: make a link and print the questions")
    panel.click()
    for label, value in (("Quiz number", "8"), ("Questions", "4")):
        field = page.get_by_role("spinbutton", name=label)
        field.fill(value)
        field.press("Enter")
        wait_for_app(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Questions and answers (CSV)").click()
    assert download.value.suggested_filename == "quiz-8.csv"
    rows = Path(download.value.path()).read_text().strip().splitlines()
    assert len(rows) == 1 + 4, rows  # a heading, then quiz 8's four questions
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Printable sheet (HTML)").click()
    sheet = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == "quiz-8.html" and sheet.count("data:image/png;base64,") == 4
    panel.click()  # closed
    wait_for_app(page)
    assert page.get_by_role("spinbutton", name="Quiz number").count() == 0
    panel.click()  # and open again
    wait_for_app(page)
    numbers = [page.get_by_role("spinbutton", name=label).input_value() for label in ("Quiz number", "Questions")]
    assert numbers == ["8", "4"]
    assert page.get_by_text("Quiz 1: a mix of the three kinds").count() == 1  # the page's own quiz is unchanged
    context.close()


def test_two_taps_pick_a_square_of_the_quiz_on_a_touch_screen(chromium, app_url):
    """Plotly's first tap on a touch screen only shows a label; the caption says to tap twice, and two taps pick
    the square the reveal then talks about."""
    context = chromium.new_context(viewport={"width": 400, "height": 800}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{app_url}/Quiz?quiz=5&questions=2&mix=easy")
    wait_for_app(page)
    assert page.get_by_text("tap twice").count() == 1
    heights = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stMain] [role=radiogroup] label')]"
        ".map(label => label.getBoundingClientRect().height)"
    )
    assert len(heights) == 10 and min(heights) >= 24, heights  # a finger's target (WCAG 2.5.8), not a 22 px line
    grid = page.locator(".js-plotly-plot .nsewdrag").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    for _ in range(2):  # each tap answered before the next (a tap while the chart is redrawn can be lost)
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(700)
        wait_for_app(page)
    page.locator("[data-testid='stMain'] [data-testid='stRadio'] label").nth(1).click()
    wait_for_app(page)
    page.get_by_role("button", name="Reveal").tap()
    page.get_by_text("The network says").first.wait_for(timeout=60_000)
    wait_for_app(page)  # the sentence about the square comes after the answer, in the same run
    assert page.get_by_text("You pointed at the outlined square").count() == 1
    context.close()


def test_the_quiz_can_be_answered_with_the_keyboard_alone(chromium, app_url):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app_url}/Quiz?quiz=5&questions=2&mix=easy")
    wait_for_app(page)
    page.get_by_text("Question 1 of 2").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stMain'] [data-testid='stRadio'] input").first.focus()
    page.keyboard.press("ArrowRight")  # the second class
    page.keyboard.press("Space")
    wait_for_app(page)
    for _ in range(12):  # Tab on to the Reveal button, as a keyboard user would
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.innerText").strip().endswith("Reveal"):
            break
    else:
        raise AssertionError("the Reveal button cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.get_by_text("The network says").first.wait_for(timeout=60_000)
    wait_for_app(page)
    assert "1 of 2" in page.locator("[data-testid='stMetric']", has_text="Questions answered").first.inner_text()
    context.close()


def test_the_explanation_report_downloads_as_one_page(chromium, app_url):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{app_url}/Saliency?index=12")
    wait_for_app(page)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Explanation report (HTML)").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("<!doctype html>") and "Test image #12" in text
    assert "Does the map hold up on this image?" in text and text.count("data:image/png;base64,") >= 3
    assert "<script" not in text
    context.close()


def test_printing_leaves_out_the_sidebar_and_the_controls(chromium, app_url):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{app_url}/Saliency?index=3")
    wait_for_app(page)
    assert page.locator("[data-testid='stSidebar']").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    assert not page.get_by_role("button", name="Next mistake").is_visible()
    assert page.locator("[data-testid='stImage']").first.is_visible()  # the content stays
    context.close()
