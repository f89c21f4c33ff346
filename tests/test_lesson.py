"""The lesson's arithmetic recomputed in NumPy from the weights, against the Keras layers' outputs."""

import json

import numpy as np
import pytest

from analysis import arithmetic as ar
from runfolder import runs

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def traced(data_env_module):
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain import lesson

    net = tgn.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE)
    images = load_split("test").images
    return {index: lesson.trace(net, to_model_input(images[index : index + 1])[0]) for index in (0, 17)}


@pytest.fixture(scope="module")
def data_env_module():
    from tests.conftest import real_data_dir

    if real_data_dir() is None:
        pytest.skip("Fashion-MNIST not found: set FASHION_MNIST_DIR or provide ../shared/data/fashion-mnist")


def test_arithmetic_on_numbers_worked_by_hand():
    inputs = np.arange(9, dtype=float).reshape(3, 3, 1)
    kernel = np.zeros((3, 3, 1, 2))
    kernel[1, 1, 0, 1], kernel[0, 0, 0, 1] = 2.0, 1.0
    step = ar.conv_at(inputs, kernel, np.array([0.0, 0.5]), 0, 0, 1)
    assert step.patch[..., 0].tolist() == [[0, 0, 0], [0, 0, 1], [0, 3, 4]]  # zero padding above and left
    assert step.value == 0.5  # the centre (0) times 2, the padded corner times 1, plus the bias
    assert ar.conv_at(inputs, kernel, np.array([0.0, 0.5]), 1, 1, 1).value == 2 * 4 + 0 + 0.5
    lrn = ar.lrn_at(np.array([3.0, 4.0, 0.0]), 0, depth_radius=1, bias=1.0, alpha=1.0, beta=0.5)
    assert lrn.neighbours.tolist() == [0, 1] and lrn.result == pytest.approx(3 / np.sqrt(26))
    assert ar.pool_window(np.arange(9.0).reshape(3, 3, 1), 1, 1, 0).tolist() == [[8.0]]  # the odd edge
    soft = ar.softmax(np.array([1.0, 2.0, 3.0]))
    assert soft.probabilities == pytest.approx(np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    assert ar.batch_norm([2.0], [3.0], [1.0], [1.0], [3.99], 0.01).result == pytest.approx([2.5])


@pytest.mark.parametrize("index", [0, 17])
def test_every_number_the_lesson_shows_matches_the_keras_layers(traced, index):
    t = traced[index]
    out, w, c = t.outputs, t.weights, t.constants
    image = out["image"]
    rng = np.random.default_rng(index)
    for row, col, filter in [(0, 0, 0), (27, 27, 15), (10, 12, 3), *zip(*rng.integers(0, [28, 28, 16], (5, 3)).T)]:
        conv = ar.conv_at(image, *w["stem_conv"], row, col, filter)
        assert conv.value == pytest.approx(out["stem_conv"][row, col, filter], abs=TOLERANCE)
        lrn = ar.lrn_at(out["stem_conv"][row, col], filter, **c["stem_lrn"])
        assert lrn.result == pytest.approx(out["stem_lrn"][row, col, filter], abs=TOLERANCE)
        assert max(lrn.result, 0.0) == pytest.approx(out["stem_relu"][row, col, filter], abs=TOLERANCE)
        assert out["stem_dropout"][row, col, filter] == out["stem_relu"][row, col, filter]  # identity at prediction
        one = ar.conv_at(out["stem_dropout"], *w["block1_3x3_reduce"], row, col, filter)
        assert max(one.value, 0.0) == pytest.approx(out["block1_3x3_reduce"][row, col, filter], abs=TOLERANCE)
        three = ar.conv_at(out["block1_3x3_reduce"], *w["block1_3x3"], row, col, filter)
        assert max(three.value, 0.0) == pytest.approx(out["block1_3x3"][row, col, filter], abs=TOLERANCE)
        concat = out["block1_concat"][row, col]
        assert concat[filter] == out["block1_3x3"][row, col, filter]
        assert concat[16 + filter] == out["block1_5x5"][row, col, filter]
        lrn1 = ar.lrn_at(concat, filter, **c["block1_lrn"])
        assert lrn1.result == pytest.approx(out["block1_lrn"][row, col, filter], abs=TOLERANCE)
        window = ar.pool_window(out["block1_lrn"], row // 2, col // 2, filter)
        assert window.max() == pytest.approx(out["block1_pool"][row // 2, col // 2, filter], abs=TOLERANCE)
    flat = out["block4_pool"].reshape(-1)
    assert flat == pytest.approx(out["head_flatten"], abs=TOLERANCE) and flat.size == 1024
    features = np.maximum(ar.dense(flat, *w["head_dense"]), 0)
    assert features == pytest.approx(out["head_dense"], abs=TOLERANCE)
    normalised = ar.batch_norm(out["head_dense"], *w["head_batchnorm"], **c["head_batchnorm"]).result
    assert normalised == pytest.approx(out["head_batchnorm"], abs=TOLERANCE)
    soft = ar.softmax(ar.dense(out["head_dropout"], *w["predictions"]))
    assert soft.probabilities == pytest.approx(out["predictions"], abs=TOLERANCE)


@pytest.mark.parametrize("index", [0, 17])
def test_the_inception_branch_chains_each_value_into_the_next_and_matches_keras(traced, index):
    out, w, c = traced[index].outputs, traced[index].weights, traced[index].constants
    rng = np.random.default_rng(index)
    for block, size, channels in [(1, 28, 16), (2, 14, 32), (3, 7, 64), (4, 4, 128)]:
        block_input = out["stem_dropout" if block == 1 else f"block{block - 1}_dropout"]
        for row, col, channel in zip(*rng.integers(0, [size, size, channels], (6, 3)).T):
            layer = f"block{block}_{{}}".format
            step = ar.inception_branch(
                block_input, w[layer("3x3_reduce")], out[layer("3x3_reduce")], w[layer("3x3")],
                out[layer("concat")], c[layer("lrn")], out[layer("lrn")], channel, row, col,
            )  # fmt: skip
            # each step starts from the number the step before it computed
            assert step.conv.patch[1, 1, channel] == step.reduced == max(step.reduce.value, 0.0)
            assert step.lrn.value == step.branch_value == max(step.conv.value, 0.0)
            assert step.window[row % 2, col % 2] == step.lrn.result
            # and each agrees with the Keras layer
            assert step.reduced == pytest.approx(out[layer("3x3_reduce")][row, col, channel], abs=TOLERANCE)
            assert step.branch_value == pytest.approx(out[layer("3x3")][row, col, channel], abs=TOLERANCE)
            assert step.lrn.result == pytest.approx(out[layer("lrn")][row, col, channel], abs=TOLERANCE)
            assert step.pooled == pytest.approx(out[layer("pool")][(*step.pool_position, channel)], abs=TOLERANCE)


# --------------------------------------------------------------------------- the lesson page


from analysis import quiz as qz  # noqa: E402
from analysis.glossary import TERMS, define  # noqa: E402
from dashboard import quiz_widgets as qw  # noqa: E402
from dataset.fashion_mnist import CLASS_NAMES  # noqa: E402
from tests.conftest import app_pages, open_page  # noqa: E402

LESSON, QUIZ = app_pages()["How it computes"], app_pages()["Quiz"]
SHIPPED = runs.SHIPPED_RUNS["shipped"]


@pytest.fixture
def isolated_runs(tmp_path, monkeypatch, data_env):
    monkeypatch.setenv(runs.RUNS_DIR_ENV, str(tmp_path / "runs"))


page = open_page


def all_text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [m.value for m in at.metric])


@pytest.mark.parametrize("step", ["image", "conv", "lrn", "relu", "block", "head"])
def test_every_lesson_step_renders_with_four_decimals(isolated_runs, step):
    at = page(LESSON, index="0", step=step, filter="3", row="10", col="12")
    assert not at.exception and not at.error
    assert at.segmented_control(key="lesson_step").value == step
    text = all_text(at)
    assert "Keras computed" in text or "Keras:" in text or step in ("image", "relu")
    assert any(len(part.split(".")[-1]) >= 4 for part in text.replace("*", " ").split() if part[:1].isdigit())


def test_the_issue_link_shows_that_convolution_value(isolated_runs):
    """?index=0&step=conv&filter=3&row=10&col=12 shows the stem convolution's value there, with its sum."""
    import model as tgn
    from dataset.fashion_mnist import load_split, to_model_input
    from explain import lesson

    net = tgn.load_model(SHIPPED / runs.MODEL_FILE)
    value = lesson.trace(net, to_model_input(load_split("test").images[:1])[0]).outputs["stem_conv"][10, 12, 3]
    at = page(LESSON, index="0", step="conv", filter="3", row="10", col="12")
    assert at.number_input(key="lesson_filter").value == 3
    assert at.slider(key="lesson_row").value == 10 and at.slider(key="lesson_col").value == 12
    line = next(m.value for m in at.markdown if m.value.startswith("Sum of the 9 products"))
    assert f"= **{value:.4f}**" in line
    assert len(at.dataframe) == 3  # the patch, the filter, the products


def test_step_5_normalises_and_pools_the_value_it_computed(isolated_runs):
    """Block 2, filter 3 at (5, 6) of its grid: both convolutions are positive there for test image 0, so
    every number of the chain is shown, and each is the one the step before it computed."""
    import re

    at = page(LESSON, index="0", step="block", filter="3", row="10", col="12", block="2")
    assert not at.exception and not at.error
    text = [m.value for m in at.markdown]

    def line(start: str) -> str:
        return next(t for t in text if t.startswith(start))

    reduced = re.search(r"after ReLU \*\*([-0-9.]+)\*\*", line("Sum ")).group(1)
    assert float(reduced) > 0
    assert f"with **{reduced}** from step a" in line("**b · 3x3 convolution**")
    patch = at.dataframe[0].value  # step b's first table: channel 3 of the 1x1 outputs around (5, 6)
    assert f"{patch.iloc[1, 1]:.4f}" == reduced  # the middle of the 3x3 patch is step a's value
    branch = re.search(r"after ReLU \*\*([-0-9.]+)\*\*", line("Channel 3's 9 products")).group(1)
    assert float(branch) > 0
    assert f"channel 3 is **{branch}** from step b" in line("**c · Concatenation**")
    normalised = re.search(r"\): ([-0-9.]+) / ([-0-9.]+) = \*\*([-0-9.]+)\*\*", line("**d · LRN**"))
    assert normalised.group(1) == branch  # LRN divides the value computed just before (it once did not)
    assert f"holds {normalised.group(3)} from step d" in line("**e · Max pooling**")
    # the 1x1 convolution's 32 input channels are all on the page: a static table, no scroll bar inside
    mix = at.table[0].value
    assert list(mix.index) == [f"channel {k}" for k in range(32)]
    assert list(mix.columns) == ["input", "weight", "product"]
    import pyarrow as pa  # the numbers as the table shows them: 4 decimals (a wrong format printed "%.4f")

    shown = pa.ipc.open_stream(at.table[0].proto.arrow_data.styler.display_values).read_all().to_pandas()
    assert shown.shape == (32, 3) and all(re.fullmatch(r"-?\d+\.\d{4}", v) for v in shown.to_numpy().ravel())
    assert shown.loc["channel 2", "input"] == f"{mix.loc['channel 2', 'input']:.4f}"


def test_the_answer_step_gives_a_phone_the_same_numbers_in_tables_that_fit(isolated_runs):
    """Step 6's batch-normalisation and softmax tables each come twice (display.two_versions): a phone gets the
    batch-normalisation table turned (one column per feature) and short softmax headings in narrow columns, so the
    results and probabilities are not off-screen at 400 px (looked at); the numbers are the wide tables'."""
    from dashboard import lesson_widgets as lw

    at = page(LESSON, index="0", step="head")
    assert not at.exception
    wide_bn, phone_bn, wide_softmax, phone_softmax = (d.value for d in at.dataframe)
    assert list(phone_bn.index) == ["x", "mean", "variance", "gamma", "beta", "result"]
    assert list(phone_bn.columns) == [f"#{k}" for k in wide_bn["feature"]]
    np.testing.assert_array_equal(phone_bn.loc["result"].to_numpy(), wide_bn["result"].to_numpy())
    np.testing.assert_array_equal(phone_bn.loc["mean"].to_numpy(), wide_bn["moving mean"].to_numpy())
    assert phone_softmax.equals(wide_softmax) and wide_softmax["probability"].sum() == pytest.approx(1, abs=1e-6)
    headings = at.dataframe[3].proto.columns  # the phone's column settings (JSON): short headings, fixed widths
    import json

    config = json.loads(headings)
    assert {config[name]["label"] for name in lw.SOFTMAX_PHONE_HEADINGS} == {"logit", "- max", "exp", "P"}
    assert all(config[name]["width"] <= lw.PHONE_NUMBER_PX for name in lw.SOFTMAX_PHONE_HEADINGS)
    assert 84 + len(lw.SOFTMAX_PHONE_HEADINGS) * lw.PHONE_NUMBER_PX <= 400 - 2 * 16  # a phone's width less margins


def test_a_phone_gets_the_numbers_around_the_chosen_position(isolated_runs):
    """Step 1's 7 x 7 pixel values are wider than a phone: its version holds the 5 x 5 around the chosen pixel
    (the same numbers); a window cut short by the edge fits as it is; step 3's row of neighbours is turned."""
    at = page(LESSON, index="0", step="image", row="14", col="1")
    assert len(at.dataframe) == 1 and at.dataframe[0].value.shape == (7, 5)  # columns 0-4: narrow enough as it is
    at = page(LESSON, index="0", step="image", row="14", col="14")
    wide, phone = at.dataframe[0].value, at.dataframe[1].value
    assert wide.shape == (7, 7) and list(phone.index) == ["12", "13", "14", "15", "16"]
    assert list(phone.columns) == ["12", "13", "14", "15", "16"] and phone.equals(wide.loc[phone.index, phone.columns])
    assert any(c.value.startswith("The 5 x 5 around the chosen position") for c in at.caption)
    at = page(LESSON, index="0", step="lrn", filter="5", row="14", col="14")
    row, column = at.dataframe[0].value, at.dataframe[1].value
    assert row.shape == (1, 11) and column.shape == (11, 1) and column.T.equals(row)


def test_the_nearest_live_unit_is_positive_after_both_convolutions_and_nearest():
    reduce, branch = np.zeros((4, 4, 2)), np.zeros((4, 4, 2))
    reduce[0, 0, 1] = branch[0, 0, 1] = 1.0  # far away, alive in both
    reduce[2, 3, 1] = 1.0  # near, but the 3x3 branch is zero there
    reduce[3, 1, 1] = branch[3, 1, 1] = 0.5  # near and alive in both
    assert ar.nearest_live_unit(reduce, branch, 1, (2, 2)) == (3, 1)
    assert ar.nearest_live_unit(reduce, branch, 1, (0, 1)) == (0, 0)
    assert ar.nearest_live_unit(reduce, branch, 0, (2, 2)) is None  # channel 0 is zero everywhere


def test_step_5_offers_a_live_position_when_its_value_is_zero(isolated_runs):
    """The lesson's first view of step 5 (image 0, channel 0 at (14, 14) of block 1) follows a value the 3x3
    convolution's ReLU makes zero: the page says so and its button moves to the nearest live position, where
    both ReLUs pass a positive value on."""
    import re

    at = page(LESSON, index="0", step="block")
    assert not at.exception
    assert "so the steps below carry a zero" in at.info[0].body and "(14, 15)" in at.info[0].body
    at.button(key="lesson_live_unit").click().run()
    assert not at.exception and not at.info
    assert (at.slider(key="lesson_row").value, at.slider(key="lesson_col").value) == (14, 15)
    text = [m.value for m in at.markdown]
    first = next(t for t in text if t.startswith("Sum "))
    second = next(t for t in text if t.startswith("Channel 0's 9 products"))
    assert all(float(re.search(r"after ReLU \*\*([-0-9.]+)\*\*", t).group(1)) > 0 for t in (first, second))
    assert at.query_params["col"] in ("15", ["15"])


@pytest.mark.parametrize(
    "query, notice",
    [({"step": "softmax"}, "step=softmax"), ({"filter": "16"}, "between 0 and 15"), ({"row": "x"}, "whole number")],
)
def test_bad_lesson_links_fall_back_with_a_notice(isolated_runs, query, notice):
    at = page(LESSON, index="0", **query)
    assert not at.exception and any(notice in info.body for info in at.info)


def test_the_glossary_defines_every_term_the_lesson_uses_and_is_shown(isolated_runs):
    at = page(LESSON, index="0", step="head")
    assert all(f"**{term}**" in m.value for term in TERMS for m in at.expander[0].markdown)
    assert "exponentiate" in define("softmax")
    with pytest.raises(KeyError):
        define("no such term")


# --------------------------------------------------------------------------- the quiz


def test_quiz_questions_are_drawn_from_the_right_pools_in_a_seeded_order():
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    probabilities = np.full((8, 3), 0.0)
    probabilities[[0, 2, 4], [0, 1, 2]] = 0.99  # easy: right and sure
    probabilities[[1, 3], [1, 2]] = 0.9  # confident mistakes
    probabilities[[5, 6, 7]] = [0.45, 0.5, 0.05]  # near misses (and 6 is one that is right)
    pools = qz.pools(labels, probabilities)
    assert pools["easy"].tolist() == [0, 2, 4] and pools["mistakes"].tolist() == [1, 3]
    assert pools["near"].tolist() == [5, 6, 7]
    first, again = qz.draw(labels, probabilities, 7, 3, "mixed"), qz.draw(labels, probabilities, 7, 3, "mixed")
    assert first.indices.tolist() == again.indices.tolist() and first.notice is None
    assert sorted(int(i) in pools[k] for k in pools for i in first.indices).count(True) == 3
    assert qz.draw(labels, probabilities, 8, 8, "mixed").indices.tolist() != first.indices.tolist()
    short = qz.draw(labels, probabilities, 1, 5, "mistakes")
    assert sorted(short.indices.tolist()) == [1, 3] and "only 2 confident mistakes" in short.notice


def test_the_printable_sheet_escapes_text():
    quiz = qz.Quiz(1, "easy", np.array([0]))
    sheet = qz.answer_sheet(quiz, np.array([0]), np.array([[0.9, 0.1]]), ["<b>Bag</b>", "x"])
    link = "https://class.example/Quiz?quiz=1&mix=<x>"
    page_html = qz.printable_html(
        sheet, ["data:image/png;base64,AAAA"], "Quiz <script>", link, ["<i>T-shirt</i>", "Bag"], "<svg></svg>"
    )
    assert "<script>" not in page_html and "&lt;b&gt;Bag&lt;/b&gt;" in page_html
    # The sheet carries the full link (escaped), its QR code and the class names a student chooses from.
    assert "https://class.example/Quiz?quiz=1&amp;mix=&lt;x&gt;" in page_html and "<svg></svg>" in page_html
    assert "<li>&lt;i&gt;T-shirt&lt;/i&gt;</li><li>Bag</li>" in page_html


def test_a_full_quiz_round_answer_reveal_score(isolated_runs):
    results = runs.load_results(SHIPPED)
    at = page(QUIZ, quiz="7", questions="3", mix="mistakes")
    assert not at.exception and at.subheader[0].value == "Question 1 of 3"
    first = qz.draw(results.labels, results.probabilities, 7, 3, "mistakes").indices[0]
    network = int(results.predictions[first])
    at.radio(key="guess_7_0").set_value(network).run()
    at.button(key="reveal").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Questions answered"] == "1 of 3"
    line = "Questions answered: **1 of 3** · You predicted the network: **1 of 1** · The network was right: **0 of 1**"
    assert any(m.value == line for m in at.markdown)  # the phone's version of the three metrics
    assert metrics["You predicted the network"] == "1 of 1" and metrics["The network was right"] == "0 of 1"
    assert any(f"The network says **{CLASS_NAMES[network]}**" in m.value for m in at.markdown)
    assert any("Where it looked" in (p.caption or "") for e in at.get("image") for p in e.proto.imgs)
    from analysis import trust

    card = json.loads((SHIPPED / runs.FAITHFULNESS_FILE).read_text())
    badge = trust.BADGES[card["entries"][card["default"]["key"]]["verdict"]]  # in the map's caption, then in words
    assert any(c.value.endswith(".") and f"{badge}: on this run's trust tests" in c.value for c in at.caption)
    assert trust.badge_meaning(None, "layercam", "block2", "LayerCAM") == ""
    at.button(key="next_question").click().run()
    assert at.subheader[0].value == "Question 2 of 3"


def test_a_teachers_link_gives_two_fresh_sessions_the_same_questions(isolated_runs):
    def walk(at) -> list[int]:
        """The test images of every question, read from the reveal's 'explain' link."""
        seen = []
        for number in range(5):
            at.radio(key=f"guess_42_{number}").set_value(0).run()
            at.button(key="reveal").click().run()
            link = next(m.value for m in at.markdown if "Explain this image in detail" in m.value)
            seen.append(int(link.split("index=")[1].rstrip(")")))
            if number < 4:
                at.button(key="next_question").click().run()
        return seen

    teacher = {qw.TEACHER_PANEL: True}  # the first session is the teacher's, with the panel open
    first, second = (page(QUIZ, session, quiz="42", questions="5", mix="near") for session in (teacher, None))
    assert first.code[0].value.endswith("?quiz=42&questions=5&mix=near")  # the link a teacher hands out
    order = walk(first)
    assert walk(second) == order and len(set(order)) == 5
    results = runs.load_results(SHIPPED)
    assert set(order) <= set(qz.pools(results.labels, results.probabilities)["near"].tolist())
    assert qz.draw(results.labels, results.probabilities, 43, 5, "near").indices.tolist() != order


def test_the_teachers_open_this_quiz_here_puts_the_quiz_in_the_address(isolated_runs):
    """'Open this quiz here' writes the quiz into the address (ui.here_link): a page link to the page already
    open changed the quiz but left the address at /Quiz, so a reload brought back quiz 1 (found in review)."""
    at = page(QUIZ, {qw.TEACHER_PANEL: True})
    assert at.caption[0].value.startswith("Quiz 1:")
    at.number_input(key="teacher_seed").set_value(8).run()
    at.number_input(key="teacher_count").set_value(4).run()
    assert any(c.value == "The sheets below are quiz 8's, the one this link opens." for c in at.caption)
    at.button(key="open_quiz").click().run()
    assert not at.exception
    assert {k: at.query_params[k] for k in ("quiz", "questions", "mix")} in (
        {"quiz": "8", "questions": "4", "mix": "mixed"},
        {"quiz": ["8"], "questions": ["4"], "mix": ["mixed"]},
    )
    assert at.caption[0].value.startswith("Quiz 8:") and at.subheader[0].value == "Question 1 of 4"
    kind = next(s for s in at.selectbox if s.label == "Kind")  # the kind's name in the box, its meaning below it
    assert [kind.format_func(m) for m in qz.MIXES] == [
        "A mix of the three kinds",
        "Easy",
        "Near misses",
        "Confident mistakes",
    ]
    kind.set_value("mistakes").run()
    assert any(c.value == "Confident mistakes: the network is wrong and sure." for c in at.caption)


def test_an_impossible_quiz_link_says_what_it_did_instead(isolated_runs):
    results = runs.load_results(SHIPPED)
    available = len(qz.pools(results.labels, results.probabilities)["mistakes"])
    at = page(QUIZ, quiz="1", questions=str(available + 10), mix="mistakes")
    assert not at.exception
    assert f"the quiz has {available} questions" in at.info[0].body
    assert at.subheader[0].value == f"Question 1 of {available}"
    at = page(QUIZ, mix="everything")
    assert any("mix=everything" in info.body for info in at.info)


def test_where_the_student_pointed_is_scored_against_the_map():
    saliency = np.zeros((28, 28))
    saliency[0:4, 24:28] = 3.0  # all the weight in the top-right square
    saliency[12:16, 12:16] = 1.0  # a quarter of that in the centre square
    shares = qz.cell_shares(saliency)
    assert shares[0, 6] == pytest.approx(0.75) and shares[3, 3] == pytest.approx(0.25) and shares.sum() == 1
    assert "75% of its weight" in qz.where_verdict(saliency, 0, 6) and "the one you picked" in qz.where_verdict(
        saliency, 0, 6
    )
    assert "3 squares away" in qz.where_verdict(saliency, 3, 3)
    assert "blank" in qz.where_verdict(np.zeros((28, 28)), 1, 1)


def test_pointing_where_the_network_looks_is_scored_after_the_reveal(isolated_runs):
    at = page(QUIZ, {"where_5_0": (3, 3)}, quiz="5", questions="2", mix="easy")  # as a click on the centre leaves it
    assert not at.exception and len(at.get("plotly_chart")) == 1  # the clickable squares before the reveal
    at.radio(key="guess_5_0").set_value(0).run()
    at.button(key="reveal").click().run()
    verdict = next(m.value for m in at.markdown if m.value.startswith("You pointed at the outlined square."))
    assert "of its weight in the square you picked" in verdict or "blank" in verdict
