"""Regression tests for the second hardening round (issue 21): the analysis commands never touch the
shipped runs, every optional artefact is validated before a page trusts it, unsafe model files are marked,
bad --run values are one line and exit code 2, no page computes in the server's own process, and uploads in
any mode Pillow opens are converted or refused. Each test fails on the code before the fix."""

import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analysis import markup
from runfolder import artefacts, guard, runs, schema
from tests.conftest import REPO_ROOT, open_page, run_selector, run_training
from tests.test_hardening import copy_run, digest, isolated_runs, rendered  # noqa: F401  (isolated_runs: autouse)
from training import jobs

SHIPPED = runs.SHIPPED_RUNS["shipped"]
ORIGINAL = runs.SHIPPED_RUNS["original-recipe"]
ATTACK = "[click here](http://evil.example/login) ![p](http://evil.example/pixel.png) :red[RED]"
COMMANDS = {  # module -> (its main, the file it writes, arguments that make it quick)
    "explain.scorecard": (runs.FAITHFULNESS_FILE, ["--images", "2", "--cascade-images", "1"]),
    "explain.atlas": (runs.ATLAS_FILE, ["--images", "9", "--probe-per-class", "1", "--steps", "1"]),
    "analysis.embedding": (runs.EMBEDDING_FILE, []),
}


def command(module: str, run, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, "--run", str(run), *COMMANDS[module][1], *map(str, extra)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_refusal(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def assert_shown_literally(markdown: str, text: str) -> None:
    """``markdown`` renders ``text`` as these very characters: no link, image or HTML, no colour directive."""
    import markdown_it

    tokens = markdown_it.MarkdownIt("commonmark").parse(markdown)
    inline = [child for token in tokens if token.children for child in token.children]
    assert not {t.type for t in inline} & {"link_open", "image", "html_inline"}, markdown
    assert text in rendered(markdown).replace(markup.WORD_JOINER, "")  # the joiner is invisible


def folder_state(folder: Path) -> dict:
    """Digests of the folder's files (dot files are other processes' progress and locks, not results)."""
    return {p.name: digest(p) for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith(".")}


# --------------------------------------------------------------------------- 1. the shipped runs are read-only


@pytest.fixture
def shipped_spellings(tmp_path):
    link = tmp_path / "link-to-shipped"
    link.symlink_to(SHIPPED, target_is_directory=True)
    return {
        "relative": Path("model/shipped"),
        "dotted": Path("model/../model/./shipped"),
        "symlink": link,
        "original": Path("baselines/original_recipe"),
    }


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize("spelling", ["relative", "dotted", "symlink", "original"])
def test_1_every_analysis_command_refuses_a_shipped_run(module, spelling, shipped_spellings):
    folder = shipped_spellings[spelling]
    before = folder_state(REPO_ROOT / folder if not folder.is_absolute() else folder)
    result = command(module, folder)
    assert_one_line_refusal(result, "never overwritten", "--rebuild-shipped")
    assert folder_state(REPO_ROOT / folder if not folder.is_absolute() else folder) == before


def test_1_one_guard_for_every_command():
    """training.train and the analyses share runfolder.guard's checks (no command has its own copy)."""
    for source in ("training/train.py", "explain/scorecard.py", "explain/atlas.py", "analysis/embedding.py"):
        text = (REPO_ROOT / source).read_text()
        assert "guard." in text and "shipped_run_at" not in text, source
    problem = guard.shipped_problem(Path("model/../model/shipped"), "--run", rebuild_shipped=False)
    assert problem and "--rebuild-shipped" in problem
    assert guard.shipped_problem(Path("model/shipped"), "--run", rebuild_shipped=True) is None


# --------------------------------------------------------------------------- 4. every bad --run: one line, exit 2


def write_other_model(folder: Path, class_name: str = "Sequential") -> None:
    """A Keras archive of another network (no stem_conv, no inception blocks)."""
    config = {
        "module": "keras",
        "class_name": class_name,
        "config": {"name": "other", "layers": [{"module": "keras.layers", "class_name": "Dense", "config": {}}]},
    }
    with zipfile.ZipFile(folder / runs.MODEL_FILE, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"")


@pytest.fixture
def read_only_run(tmp_path):
    """A complete run folder that cannot be written (a read-only mount for root, mode 0555 otherwise)."""
    folder = tmp_path / "read-only-run"
    folder.mkdir()
    if os.geteuid() != 0:
        copy_run(ORIGINAL, folder / "run")
        (folder / "run").chmod(0o555)
        yield folder / "run"
        (folder / "run").chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        copy_run(ORIGINAL, folder / "run")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder / "run"
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("module", list(COMMANDS))
@pytest.mark.parametrize("case", ["missing", "a file", "another model", "incomplete", "locked", "read-only"])
def test_4_a_bad_run_is_one_line_and_exit_2_and_nothing_is_written(module, case, tmp_path, request):
    expected = {
        "missing": "does not exist",
        "a file": "is a file, not a folder",
        "another model": "not a Tiny GoogLeNet model",
        "incomplete": "lacks",
        "locked": "another process is writing",
        "read-only": "cannot be written",
    }[case]
    if case == "read-only":
        folder = request.getfixturevalue("read_only_run")
    else:
        folder = tmp_path / "run"
    if case == "a file":
        folder.write_text("not a folder")
    elif case in ("another model", "incomplete", "locked"):
        copy_run(ORIGINAL, folder)
        if case == "another model":
            write_other_model(folder)
        if case == "incomplete":
            (folder / runs.OUTPUTS_FILE).unlink()
    if case == "locked":
        with guard.folder_lock(folder):  # as a running training or analysis holds it
            before = folder_state(folder)
            result = command(module, folder)
    else:
        before = folder_state(folder) if folder.is_dir() else None
        result = command(module, folder)
    assert_one_line_refusal(result, expected)
    if before is not None:
        assert folder_state(folder) == before


def test_4_training_into_a_file_or_a_read_only_folder_is_one_line(tmp_path, read_only_run):
    target = tmp_path / "a-file"
    target.write_text("x")
    for out in (target, read_only_run):
        result = run_training(["--epochs", "1", "--out", out], timeout=120)
        assert_one_line_refusal(result)


# --------------------------------------------------------------------------- 2. every artefact validated


def tampered_run(base: Path, name: str = "tampered") -> Path:
    return copy_run(SHIPPED, base / name)


def edit_scorecard(folder: Path, change) -> None:
    path = folder / runs.FAITHFULNESS_FILE
    card = json.loads(path.read_text())
    change(card)
    path.write_text(json.dumps(card))


def _first_entry(card):
    return next(iter(card["entries"].values()))


SCORECARD_DAMAGE = {
    "beats holds a string": lambda c: _first_entry(c)["beats"]["deletion"].update(garment="0.9"),
    "default names an unknown method": lambda c: c["default"].update(method="magic", key="magic@input"),
    "unknown verdict": lambda c: _first_entry(c).update(verdict="trust me"),
    "no seconds": lambda c: c.pop("seconds"),
    "markdown in a label": lambda c: _first_entry(c).update(label=ATTACK),
    "a share above 1": lambda c: _first_entry(c).update(blank_rate=7.0),
    "NaN in a curve": lambda c: _first_entry(c)["curves"]["deletion"].__setitem__(0, float("nan")),
    "unknown layer": lambda c: _first_entry(c).update(layer="block9"),
    "an index outside the test set": lambda c: c["sample"]["indices"].append(10_000),
}


@pytest.mark.parametrize("damage", list(SCORECARD_DAMAGE))
def test_2_a_tampered_scorecard_is_refused_with_the_file_named(damage, tmp_path):
    folder = tampered_run(tmp_path)
    edit_scorecard(folder, SCORECARD_DAMAGE[damage])
    with pytest.raises(artefacts.ScorecardError, match="faithfulness.json"):
        artefacts.read_scorecard(folder)


@pytest.mark.parametrize("damage", ["beats holds a string", "default names an unknown method", "no seconds"])
@pytest.mark.parametrize("page", ["Can the maps be trusted?", "Saliency"])
def test_2_pages_with_a_tampered_scorecard_say_so_instead_of_raising(page, damage, isolated_runs):
    folder = tampered_run(isolated_runs)
    edit_scorecard(folder, SCORECARD_DAMAGE[damage])
    at = open_page(f"dashboard/{ui_pages()[page]}", session={"selected_run": "tampered"}, index="0")
    assert not at.exception, at.exception
    if page == "Can the maps be trusted?":
        notices = [rendered(i.body) for i in at.info]
        assert any("faithfulness.json" in n for n in notices), notices


def ui_pages():
    from dashboard import ui

    return ui.PAGES


def test_2_scorecard_text_is_shown_as_text_never_as_markdown(isolated_runs):
    """The pages word each verdict from the scorecard's numbers (analysis.trust.reason), so a sentence written
    into the file never reaches them at all; labels, which do, must be exactly the method's name."""
    from analysis import trust

    folder = tampered_run(isolated_runs)
    edit_scorecard(folder, lambda c: [e.update(reason=ATTACK) for e in c["entries"].values()])
    card = json.loads((folder / runs.FAITHFULNESS_FILE).read_text())
    default = card["entries"][card["default"]["key"]]
    for page in ("Can the maps be trusted?", "Saliency"):
        at = open_page(f"dashboard/{ui_pages()[page]}", session={"selected_run": "tampered"}, index="0")
        assert not at.exception, at.exception
        texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
        assert not [t for t in texts if "evil" in t], page
        rebuilt = [t for t in texts if markup.escape(trust.reason(default)) in t]
        assert rebuilt, page  # the verdict in words, from the numbers
    edit_scorecard(folder, lambda c: [e.update(label=ATTACK) for e in c["entries"].values()])
    with pytest.raises(artefacts.ScorecardError):
        artefacts.read_scorecard(folder)


ATLAS_DAMAGE = {
    "NaN in channels": lambda a: a.update(channels=np.where(np.arange(17) == 3, np.nan, a["channels"])),
    "a short field": lambda a: a.update(field=a["field"][:5]),
    "a negative top_peak": lambda a: a.update(top_peak=np.where(np.arange(9)[None, :, None] == 0, -1, a["top_peak"])),
    "a top_peak outside the grid": lambda a: a["top_peak"].__setitem__((5, 0, 0), 200),
    "a wrong probe shape": lambda a: a.update(probe_correct=a["probe_correct"][:4]),
    "images of the wrong kind": lambda a: a.update(images=np.array("10000")),
    "NaN in a class profile": lambda a: a["class_mean"].__setitem__((3, 3), np.nan),
    "a knock-out above the probe count": lambda a: a["knockout_correct"].__setitem__((3, 3), 10_000),
}


def write_atlas(folder: Path, change) -> None:
    path = folder / runs.ATLAS_FILE
    with np.load(path) as stored:
        arrays = {k: stored[k].copy() for k in stored.files}
    change(arrays)
    runs.write_npz_atomic(path, **arrays)


def read_atlas(folder: Path):
    results = runs.load_results(folder)
    return artefacts.read_atlas(folder, results.architecture, 10_000, runs.file_sha256(folder / runs.MODEL_FILE))


@pytest.mark.parametrize("damage", list(ATLAS_DAMAGE))
def test_2_a_tampered_atlas_is_refused_with_a_reason(damage, tmp_path):
    folder = tampered_run(tmp_path)
    write_atlas(folder, ATLAS_DAMAGE[damage])
    with pytest.raises(artefacts.AtlasError, match="atlas.npz"):
        read_atlas(folder)


@pytest.mark.parametrize("damage", ["NaN in channels", "a top_peak outside the grid", "images of the wrong kind"])
@pytest.mark.parametrize("link", [{}, {"layer": "block2_3x3", "channel": "3"}])
def test_2_the_atlas_page_says_what_is_wrong_instead_of_raising(damage, link, isolated_runs):
    folder = tampered_run(isolated_runs)
    write_atlas(folder, ATLAS_DAMAGE[damage])
    at = open_page(f"dashboard/{ui_pages()['Channel atlas']}", session={"selected_run": "tampered"}, **link)
    assert not at.exception, at.exception
    assert any("atlas.npz" in rendered(i.body) for i in at.info), [i.body for i in at.info]


def test_2_an_80_million_row_array_is_refused_from_its_header_without_being_read(tmp_path):
    folder = tampered_run(tmp_path)
    path = folder / runs.ATLAS_FILE
    with np.load(path) as stored:
        arrays = {k: stored[k] for k in stored.files}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (80_000_000, 9)})
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in arrays.items() if k != "top_value"})
    with zipfile.ZipFile(buffer, "a") as archive:  # the header of a 2.9 GB array and only 1 MB of its data
        archive.writestr("top_value.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + bytes(1 << 20))
    path.write_bytes(buffer.getvalue())
    tracemalloc.start()
    with pytest.raises(artefacts.AtlasError, match="top_value has shape"):
        read_atlas(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 2**20  # far less than the 2.9 GB the header claims


def test_2_object_arrays_are_never_unpickled(tmp_path):
    folder = tampered_run(tmp_path)
    buffer = io.BytesIO()
    np.savez(buffer, xy=np.array([{"a": 1}] * 3, dtype=object), features_sha256=np.array("x"))
    (folder / runs.EMBEDDING_FILE).write_bytes(buffer.getvalue())
    features = np.zeros((10_000, 250), dtype=np.float16)
    with pytest.raises(artefacts.EmbeddingError, match="Python objects"):
        artefacts.read_embedding(folder, features, "x")


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda a: a.update(xy=a["xy"][:100]), "has shape"),
        (lambda a: a["xy"].__setitem__((4, 1), np.inf), "NaN or infinite"),
        (lambda a: a.update(xy=a["xy"].astype(str)), "kind of values"),
        (lambda a: a.pop("features_sha256"), "no array features_sha256"),
    ],
)
def test_2_a_tampered_embedding_is_refused(damage, expected, tmp_path):
    from analysis import embedding

    folder = tampered_run(tmp_path)
    path = folder / runs.EMBEDDING_FILE
    with np.load(path) as stored:
        arrays = {k: stored[k].copy() for k in stored.files}
    damage(arrays)
    runs.write_npz_atomic(path, **arrays)
    with np.load(folder / runs.OUTPUTS_FILE) as outputs:
        features = outputs["features"]
    with pytest.raises(artefacts.EmbeddingError, match=expected):
        embedding.read(folder, features)


def test_2_the_names_the_validation_knows_are_the_apps_own():
    from analysis import trust
    from explain import randomisation, saliency

    assert set(artefacts.METHODS) == set(saliency.METHODS)
    assert set(artefacts.LAYERS) == {*saliency.TARGET_LAYERS, saliency.INPUT_LAYER}
    assert set(artefacts.VERDICTS) == set(trust.VERDICTS)
    assert artefacts.STAGES == tuple(randomisation.CASCADE)


def test_2_the_network_layers_the_model_check_requires_are_the_architectures():
    import model as tgn

    names = {layer.name for layer in tgn.build_tiny_googlenet().layers}
    assert set(schema.REQUIRED_LAYERS) <= names


# --------------------------------------------------------------------------- 3. unsafe model files


def rewrite_model_config(folder: Path, change) -> None:
    path = folder / runs.MODEL_FILE
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _add_lambda(config):
    config["config"]["layers"].append(
        {
            "module": "keras.layers",
            "class_name": "Lambda",
            "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "b64..."}}},
        }
    )


def _module_reference(config):
    lrn = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "LocalResponseNormalization")
    lrn.update(module="os", class_name="system")


def _unsafe_switch(config):
    config["config"]["enable_unsafe_deserialization"] = True


UNSAFE = {"a Lambda layer": _add_lambda, "a module reference": _module_reference, "an unsafe switch": _unsafe_switch}


@pytest.mark.parametrize("damage", list(UNSAFE))
def test_3_an_unsafe_model_file_is_refused_before_keras_sees_it(damage, tmp_path):
    folder = tampered_run(tmp_path)
    rewrite_model_config(folder, UNSAFE[damage])
    with pytest.raises(schema.RunFileError, match="not safe to load"):
        schema.check_model_file(folder, runs.MODEL_FILE)


@pytest.mark.parametrize("damage", list(UNSAFE))
@pytest.mark.parametrize("page", ["Home", "Saliency"])
def test_3_an_unsafe_model_is_marked_unreadable_with_its_reason_on_every_page(page, damage, isolated_runs):
    folder = tampered_run(isolated_runs, "unsafe")
    rewrite_model_config(folder, UNSAFE[damage])
    path = "dashboard/Home.py" if page == "Home" else f"dashboard/{ui_pages()[page]}"
    at = open_page(path, session={"selected_run": "unsafe"}, index="0")
    assert not at.exception, at.exception
    assert "unsafe (model file unreadable)" in run_selector(at).options
    reasons = [rendered(w.body) for w in at.sidebar.warning]
    assert any("not safe to load" in r for r in reasons), reasons


# --------------------------------------------------------------------------- 5. no computation in the server


def test_5_with_the_switch_off_no_page_offers_to_compute(isolated_runs, monkeypatch):
    monkeypatch.setenv(jobs.DISABLE_ENV, "1")
    folder = tampered_run(isolated_runs, "bare")
    for name in (runs.EMBEDDING_FILE, runs.FAITHFULNESS_FILE, runs.ATLAS_FILE):
        (folder / name).unlink()
    for page in ("Feature space", "Can the maps be trusted?", "Channel atlas"):
        at = open_page(f"dashboard/{ui_pages()[page]}", session={"selected_run": "bare"})
        assert not at.exception, at.exception
        assert not at.button, (page, [b.label for b in at.button])
        assert "switched off" in " ".join(m.value for m in at.markdown), page


def test_5_the_map_runs_in_the_job_slot_and_a_second_request_joins_it(isolated_runs):
    folder = tampered_run(isolated_runs, "bare")
    (folder / runs.EMBEDDING_FILE).unlink()
    page = f"dashboard/{ui_pages()['Feature space']}"
    first = open_page(page, session={"selected_run": "bare"})
    button = next(b for b in first.button if "Compute the map" in b.label)
    button.click().run()
    job = jobs.current_job()
    assert job is not None and job.module == jobs.EMBEDDING_MODULE and job.folder == folder
    assert job.pid != os.getpid()  # t-SNE runs in its own process, not the server's
    second = open_page(page, session={"selected_run": "bare"})
    assert not [b for b in second.button if "Compute the map" in b.label]  # it joins the running job
    assert jobs.current_job().pid == job.pid


# --------------------------------------------------------------------------- 6. uploads in any Pillow mode


def garment_in(mode: str) -> Image.Image:
    """A dark garment on a light background, in colour mode ``mode``."""
    rgb = np.full((40, 40, 3), 230, np.uint8)
    rgb[8:32, 12:28] = 30
    if mode == "LAB":  # Pillow converts nothing to LAB: build it (lightness, neutral a and b)
        grey = rgb[..., 0]
        return Image.fromarray(np.dstack([grey, np.full_like(grey, 128), np.full_like(grey, 128)]), "LAB")
    if mode == "I;16":
        return Image.fromarray(rgb[..., 0].astype(np.uint16) * 256).convert("I;16")
    if mode in ("RGBa", "La"):
        return Image.fromarray(rgb).convert("RGBA").convert(mode)
    return Image.fromarray(rgb).convert(mode)


@pytest.mark.parametrize("mode", ["LAB", "CMYK", "I;16", "YCbCr"])
def test_6_a_tiff_in_any_file_mode_is_converted(mode):
    from inputs.convert import convert

    buffer = io.BytesIO()
    garment_in(mode).save(buffer, format="TIFF")  # the attack: a TIFF named .png
    assert convert(buffer.getvalue()).pixels.max() > 150  # the garment, light on black


@pytest.mark.parametrize("mode", ["HSV", "RGBa", "La"])
def test_6_in_memory_modes_are_converted_or_refused_with_a_message(mode):
    from inputs.convert import ImageError, convert

    try:
        result = convert(garment_in(mode))
    except ImageError as exc:
        assert "colour mode" in str(exc), exc
        return
    assert result.pixels.max() > 150


def test_6_a_lab_tiff_named_png_on_the_own_image_page():
    from streamlit.testing.v1 import AppTest

    grey = np.full((40, 40), 230, np.uint8)
    grey[8:32, 12:28] = 30
    lab = Image.fromarray(np.dstack([grey, np.full_like(grey, 128), np.full_like(grey, 128)]), "LAB")
    buffer = io.BytesIO()
    lab.save(buffer, format="TIFF")
    at = AppTest.from_file(str(REPO_ROOT / "dashboard" / ui_pages()["Your own image"]), default_timeout=180).run()
    at.segmented_control(key="source").set_value("upload").run()
    at.file_uploader(key="upload").upload("garment.png", buffer.getvalue(), "image/png").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(m.label == "Prediction" for m in at.metric)


# --------------------------------------------------------------------------- 7. in a real browser


@pytest.mark.browser
def test_7_a_tampered_scorecards_markdown_fetches_nothing_and_reads_as_text(isolated_runs, tmp_path):
    from urllib.parse import urlparse

    from tests.browser import browser, chromium_path, streamlit_server, wait_for_app
    from tests.conftest import real_data_dir

    if chromium_path() is None:
        pytest.skip("Chromium not found: apt-get install chromium")
    folder = tampered_run(isolated_runs)
    edit_scorecard(folder, lambda c: [e.update(reason=ATTACK) for e in c["entries"].values()])
    env = {"FASHION_MNIST_DIR": str(real_data_dir()), runs.RUNS_DIR_ENV: str(isolated_runs)}
    with streamlit_server(env) as (url, _), browser() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/Can_the_maps_be_trusted")
        wait_for_app(page)
        page.locator("[data-testid='stSidebar'] [data-testid='stRadio']").get_by_text("tampered", exact=True).click()
        wait_for_app(page)
        body = page.inner_text("body").replace(markup.WORD_JOINER, "")  # invisible; it stops autolinking
        # The stored sentences are not shown (the verdicts are worded from the numbers), nor anything in them.
        assert "evil.example" not in body and "RED" not in body
        assert "method-layer pairs pass" in body or "On this model" in body  # the page itself (v1 or v2) is there
        links = page.locator("a[href*='evil.example']")
        shown = [links.nth(i).evaluate("a => a.parentElement.outerHTML") for i in range(links.count())]
        assert links.count() == 0, shown
        assert page.locator("img[src*='evil.example']").count() == 0
        assert not any(urlparse(u).hostname == "evil.example" for u in requested)
        page.screenshot(path=str(tmp_path / "tampered_scorecard.png"))
