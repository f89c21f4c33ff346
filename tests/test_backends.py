"""The model and its training on Keras's JAX backend, on the CPU, with TensorFlow out of reach.

The GPU machines available to the project have JAX but no TensorFlow, so the model file must load,
predict and train there. Keras picks its backend once per process, so each check runs in a child
process with KERAS_BACKEND=jax and an import hook that refuses (and records) any import of
TensorFlow, as on those machines. About a minute on 2 cores, most of it XLA compiling on the CPU.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from runfolder import runs
from tests.conftest import REPO_ROOT, needs_data
from training.device import module_installed

pytestmark = [
    pytest.mark.skipif(not module_installed("jax"), reason="JAX not installed (pip install -r requirements-dev.txt)"),
    needs_data,
]

# Prepended to every child's code: TensorFlow cannot be imported, and every attempt is reported.
WITHOUT_TENSORFLOW = """
import atexit, json, sys
tried = []
class RefuseTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf_keras", "tf_keras_vis"):
            tried.append(name)
            raise ImportError(f"{name} is not installed here (refused by the test)")
sys.meta_path.insert(0, RefuseTensorFlow())
atexit.register(lambda: print("TENSORFLOW_TRIED " + json.dumps(tried), flush=True))
"""


@pytest.fixture(scope="module", autouse=True)
def compilation_cache(tmp_path_factory):
    """One XLA compilation cache for this file's child processes: the shipped model's check compiles the
    weight initialisers that the training run then reuses (about 7 s of CPU each time)."""
    folder = tmp_path_factory.mktemp("jax-cache")
    settings = {
        "JAX_COMPILATION_CACHE_DIR": str(folder),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }
    old = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    yield folder
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def run_on_jax(code: str, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TENSORFLOW + code, *map(str, args)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tried = [line for line in result.stdout.splitlines() if line.startswith("TENSORFLOW_TRIED ")]
    assert tried and json.loads(tried[-1].split(" ", 1)[1]) == [], tried  # not even an attempt
    return result


def last_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])


# Every fifth test image (2,000): predicting all 10,000 on JAX's CPU backend takes about 25 s more on 2
# cores; tests/test_model.py checks all 10,000 on TensorFlow.
SHIPPED_ON_JAX = """
import json
import keras, numpy as np
import model
from dataset.fashion_mnist import load_split, to_model_input
from runfolder import runs
assert keras.backend.backend() == "jax"
net = keras.models.load_model(runs.SHIPPED_RUNS["shipped"] / runs.MODEL_FILE, safe_mode=True)
sample = np.arange(0, 10_000, 5)
probabilities = net.predict(to_model_input(load_split("test").images[sample]), batch_size=500, verbose=0)
stored = runs.load_results(runs.SHIPPED_RUNS["shipped"])
print(json.dumps({
    "max_difference": float(np.abs(probabilities - stored.probabilities[sample]).max()),
    "same_answers": bool((probabilities.argmax(1) == stored.predictions[sample]).all()),
    "lrn": type(net.get_layer("block4_lrn")).__name__,
}))
"""


def test_the_shipped_model_loads_in_safe_mode_and_predicts_its_stored_outputs_on_jax():
    found = last_json(run_on_jax(SHIPPED_ON_JAX))
    assert found["lrn"] == "LocalResponseNormalization"
    assert found["max_difference"] < 1e-5 and found["same_answers"]


GPU_BENCHMARK = """
import runpy, sys
sys.argv = ["benchmarks.gpu_epoch", *sys.argv[1:]]
runpy.run_module("benchmarks.gpu_epoch", run_name="__main__", alter_sys=True)
"""


def test_the_gpu_benchmark_times_a_tiny_jax_run_whose_folder_is_valid(tmp_path):
    """benchmarks/gpu_epoch.py on the CPU: it runs the training command on JAX with TensorFlow refused (it
    fails if the training path so much as tries an import), and its run folder is a valid one."""
    import keras

    import model  # noqa: F401  (registers the LRN layer)

    out = tmp_path / "jax-run"
    # 576 training images in 9 batches of 64 and 64 validation images: whole batches, so XLA compiles
    # the training step once.
    args = ["--epochs", "2", "--limit", "640", "--batch-size", "64", "--keep", out, "--refuse-tensorflow"]
    result = run_on_jax(GPU_BENCHMARK, *args, timeout=400)
    assert "with Keras on jax" in result.stderr
    timing = json.loads(result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1])
    assert timing["backend"] == "jax" and timing["device"] == "CPU" and timing["epochs"] == 2
    assert timing["first_epoch_seconds"] > timing["later_epoch_seconds"] > 0  # the first one compiles
    assert timing["train_images"] == 576 and 0 <= timing["test_accuracy"] <= 1

    results = runs.load_results(out)  # validates the whole folder (runfolder.schema)
    assert runs.read_status(out)["state"] == runs.STATE_COMPLETE
    assert [int(e) for e in results.history["epoch"]] == [1, 2]
    assert results.card["versions"]["keras_backend"] == "jax" and results.card["versions"]["jax"]
    assert "tensorflow" not in results.card["versions"] and results.card["hardware"]["backend"] == "jax"
    assert results.card["settings"]["limit"] == 640 and results.probabilities.shape == (10_000, 10)
    # The file written on JAX loads here, on TensorFlow, and gives the probabilities JAX stored.
    from dataset.fashion_mnist import load_split, to_model_input

    net = keras.models.load_model(out / runs.MODEL_FILE, safe_mode=True)
    x = to_model_input(load_split("test").images[:200])
    assert np.abs(np.asarray(net.predict_on_batch(x)) - results.probabilities[:200]).max() < 1e-5
    # The snapshots, taken with JAX's compiled forward pass (training.snapshots): the weights of each epoch, and
    # answers that are those weights' answers (float16).
    from training import snapshots

    assert snapshots.recorded(out) == [1, 2]
    last = to_model_input(load_split("test").images[-200:])  # in the last 1,000-image chunk
    for epoch in (1, 2):
        snapshot = model.build_tiny_googlenet()
        snapshots.load_weights(snapshot, out, epoch)
        answers, seconds = snapshots.read_answers(out, epoch)
        assert np.abs(np.asarray(snapshot.predict_on_batch(x)) - answers[:200].astype(np.float32)).max() < 2e-3
        assert np.abs(np.asarray(snapshot.predict_on_batch(last)) - answers[-200:].astype(np.float32)).max() < 2e-3
        assert answers.shape == (10_000, 10) and seconds > 0
    # The selected epoch's snapshot is the shipped model: the weights validation saw (the averaged ones).
    selected = snapshots.read_answers(out, int(results.metrics["best_epoch"]))[0].astype(np.float32)
    assert np.abs(selected - results.probabilities).max() < 2e-3


RESUME_ON_JAX = """
import json, keras
from tests.test_training import resumed_training_difference
assert keras.backend.backend() == "jax"
print(json.dumps({"resumed": resumed_training_difference(), "not_resumed": resumed_training_difference(False)}))
"""


def test_a_resumed_fit_on_jax_gets_the_batches_of_the_epoch_it_resumes_at():
    found = last_json(run_on_jax(RESUME_ON_JAX))
    assert found["resumed"] < 1e-6 and found["not_resumed"] > 1e-4
