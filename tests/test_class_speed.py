"""What makes the app hold a class (issue 23), checked where it can fail: no per-click work that is the same
for everybody. (How fast it is, is measured by benchmarks/classroom.py, not here.)"""

import os
import tomllib

import pytest

from tests.conftest import REPO_ROOT


def test_streamlit_does_not_collect_all_garbage_after_every_click():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_streamlit_no_longer_resets_keras_after_every_script_run(data_env):
    import keras
    from keras.src.backend.common import global_state
    from streamlit.runtime.scriptrunner import script_runner

    from dashboard import model_cache
    from runfolder import runs

    model_cache.load_model(str(runs.SHIPPED_RUNS["shipped"]))
    before = global_state.GLOBAL_STATE_TRACKER
    script_runner._clean_problem_modules()  # what Streamlit calls when a script run ends
    assert global_state.GLOBAL_STATE_TRACKER is before  # Keras's state (and TensorFlow's kernel cache) kept
    keras.backend.clear_session(free_memory=False)  # anyone else still gets the real reset
    assert global_state.GLOBAL_STATE_TRACKER is not before


@pytest.mark.parametrize("module", ["dashboard.ui", "analysis.trust", "runfolder.artefacts", "explain.faithfulness"])
def test_the_fast_pages_modules_import_neither_tensorflow_nor_scipy(module):
    import subprocess
    import sys

    code = f"import sys, {module}; print(sorted(m for m in ('tensorflow', 'scipy', 'keras') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_test_images_default_view_and_the_quiz_import_no_tensorflow(data_env):
    """With the run's stored default maps, what a class opens most never imports TensorFlow."""
    import subprocess
    import sys

    code = """
import sys
from tests.conftest import open_page
saliency = open_page("dashboard/app_pages/10_Saliency.py", index="5")
quiz = open_page("dashboard/app_pages/3_Quiz.py", quiz="7", questions="3")
quiz.radio(key="guess_7_0").set_value(0).run()
quiz.button(key="reveal").click().run()
assert not saliency.exception and not quiz.exception
print("tensorflow" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_server_warms_up_tensorflow_and_the_picture_path_in_the_background(monkeypatch, data_env):
    """The first student to upload a picture must not pay TensorFlow's import for the whole class."""
    from dashboard import model_cache, own_image
    from runfolder import runs

    folder = str(runs.SHIPPED_RUNS["shipped"])
    called = []
    for module, name in ((model_cache, "predict_pixels"), (model_cache, "explainers"), (own_image, "calibration")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _n=name, _r=real: called.append((_n, a[0])) or _r(*a))
    monkeypatch.setattr(model_cache, "WARM_UP_DELAY_S", 0.0)
    model_cache.warm_up_in_background.clear()
    timer = model_cache.warm_up_in_background(folder)
    timer.join(300)
    assert [n for n, _ in called] == ["predict_pixels", "explainers", "calibration"]
    assert {f for _, f in called} == {folder}
    assert model_cache.warm_up_in_background(folder) is timer  # once per process


def test_home_reads_neither_the_artefacts_models_nor_the_whole_test_split(data_env):
    """Home's first render is the teacher's first impression: it validates the run's results (pydantic's
    run models) but not every artefact's models, and reads only the start of the test file."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from dashboard import ui
from dataset import fashion_mnist
split, indices = ui.first_of_each_class()
labels = fashion_mnist.load_split("test").labels
assert indices == [int(np.flatnonzero(labels == c)[0]) for c in range(10)], indices
assert len(split.images) == 100, len(split.images)
print("runfolder.artefacts" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_watch_it_learn_imports_neither_scipy_nor_tensorflow(data_env):
    """Its drift chart ranks the maps with NumPy: importing scipy.stats cost the page's first visit 0.6 s."""
    import subprocess
    import sys

    code = """
import sys
from tests.conftest import open_page
page = open_page("dashboard/app_pages/14_Watch_it_learn.py", epoch="5")
assert not page.exception and page.select_slider(key="epoch").value == 5
print(sorted(m for m in ('tensorflow', 'scipy', 'keras') if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_warm_up_switch_reads_the_environment_and_the_secret(monkeypatch):
    from dashboard import model_cache

    monkeypatch.delenv(model_cache.WARM_UP_ENV, raising=False)
    assert model_cache.warm_up_wanted({}) and model_cache.warm_up_wanted(None)
    assert model_cache.warm_up_wanted({"warm_up_model": True})
    assert not model_cache.warm_up_wanted({"warm_up_model": False})
    assert not model_cache.warm_up_wanted({"warm_up_model": "off"})
    monkeypatch.setenv(model_cache.WARM_UP_ENV, "0")
    assert not model_cache.warm_up_wanted({"warm_up_model": True})  # either one is enough to turn it off
    monkeypatch.setenv(model_cache.WARM_UP_ENV, "1")
    assert model_cache.warm_up_wanted({})


@pytest.mark.parametrize("setting", ["1", "0"])
def test_home_starts_the_warm_up_unless_it_is_switched_off(data_env, setting):
    """Switched off, no TensorFlow is imported after the warm-up's delay; on, its thread is waiting."""
    import subprocess
    import sys

    code = """
import sys, threading, time
from streamlit.testing.v1 import AppTest
from dashboard import model_cache
at = AppTest.from_file("dashboard/Home.py", default_timeout=120).run()
assert not at.exception, at.exception
started = any(t.name == "tgn-warm-up" for t in threading.enumerate())
if not started:
    time.sleep(model_cache.WARM_UP_DELAY_S + 1.5)
print(started, "tensorflow" in sys.modules)
"""
    env = {**os.environ, "TGN_WARM_UP": setting}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    started, tensorflow = done.stdout.split()[-2:]
    assert (started, tensorflow) == (("True", "False") if setting == "1" else ("False", "False"))
