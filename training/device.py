"""Which Keras backend and device a training job will use, and about how long it will take.

The Retrain page offers TensorFlow (the app's own backend, on the CPU or its GPU) and, where JAX
is installed and sees a GPU, JAX: it compiles the whole training step with XLA and trains the
shipped recipe at 2.4 s per epoch on an H200 (benchmarks/gpu_epoch.py). JAX on a CPU is
not offered: it is slower there than TensorFlow with oneDNN (README, speed section).

The app's server never imports TensorFlow or JAX for this: without an NVIDIA driver no GPU can
be used, so the answer is the CPU at no cost; with one, each backend is asked in a child process
(a few seconds, once). TensorFlow- and Streamlit-free; the detection functions can be replaced
by fakes, so the page's logic is tested without a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

from .config import TrainConfig

BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}

# Each probe prints "gpu<TAB>name" or "cpu<TAB>CPU" on its last line.
_PROBES = {
    "tensorflow": (
        "import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3');"
        "import tensorflow as tf;"
        "gpus = tf.config.list_physical_devices('GPU');"
        "print('gpu\\t' + tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name)"
        " if gpus else 'cpu\\tCPU')"
    ),
    "jax": (
        "import jax;d = jax.devices()[0];print(('cpu\\tCPU' if d.platform == 'cpu' else 'gpu\\t' + d.device_kind))"
    ),
}


@dataclass(frozen=True)
class BackendOption:
    """A Keras backend and the device it trains on."""

    backend: str  # the Keras backend's name, as --backend and $KERAS_BACKEND take it
    device: str  # "CPU", the GPU's name, or "unknown (why)"
    gpu: bool = False

    @property
    def label(self) -> str:
        """'JAX on NVIDIA H200 (GPU)', 'TensorFlow on the CPU'."""
        where = f"{self.device} (GPU)" if self.gpu else "the CPU" if self.device == "CPU" else self.device
        return f"{BACKEND_NAMES.get(self.backend, self.backend)} on {where}"


def module_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def nvidia_driver_present() -> bool:
    return shutil.which("nvidia-smi") is not None


def probe_device(backend: str, timeout: float = 120.0) -> tuple[bool, str]:
    """(is a GPU, device name) as ``backend`` sees it, asked in a child process."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBES[backend]], capture_output=True, text=True, timeout=timeout, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"unknown ({type(exc).__name__})"
    kind, _, name = (result.stdout.strip().splitlines() or [""])[-1].partition("\t")
    if result.returncode != 0 or kind not in ("gpu", "cpu"):
        return False, f"unknown ({BACKEND_NAMES[backend]} failed to start)"
    return kind == "gpu", name


def backend_options(
    installed: Callable[[str], bool] = module_installed,
    driver_present: Callable[[], bool] = nvidia_driver_present,
    probe: Callable[[str], tuple[bool, str]] = probe_device,
) -> list[BackendOption]:
    """The backends a job can train on here, best first: JAX on a GPU, then TensorFlow (on its GPU or
    the CPU). JAX is offered only with a GPU, and only when it sees one."""
    driver = driver_present()
    options = []
    if installed("jax") and driver:
        gpu, name = probe("jax")
        if gpu:
            options.append(BackendOption("jax", name, gpu=True))
    if installed("tensorflow"):
        gpu, name = probe("tensorflow") if driver else (False, "CPU")
        options.append(BackendOption("tensorflow", name, gpu=gpu))
    return options


def cpu_model() -> str:
    """The CPU's marketing name where the OS tells it (Linux), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# --------------------------------------------------------------------------- time estimates


@dataclass(frozen=True)
class Measurement:
    """The shipped recipe (batch 128, 55,000 training images, 5,000 validated) timed on one machine."""

    seconds_per_epoch: float  # a later epoch, validation included
    first_epoch_extra: float  # what the first epoch takes on top (tracing, XLA compilation)
    overhead: float  # start-up, data loading, the final test-set evaluation and saving
    where: str  # the machine and date, in words
    # The share of an epoch's time that is paid per step (the rest per image), from the two recipes timed on
    # the same machine: batch 128 (430 steps) and batch 32 (1,719 steps) of the 55,000 images. The H200 with
    # JAX: 2.4 and 7.8 s an epoch -> 0.75 (a small batch leaves a GPU idle). Not measured on the CPU (the two
    # shipped runs trained on different days under different loads), so per image there.
    step_share: float = 0.0


# Measured figures per (backend, on a GPU). The CPU figures are the development machine's: other CPUs
# differ, and a busy machine is slower (README, speed section). Start-up, data loading, the test set and
# saving (overhead): 18-22 s on the CPU (2026-11-28, the machine shared); on the GPU 32 s with the snapshots.
MEASURED = {
    ("tensorflow", False): Measurement(
        seconds_per_epoch=46.0,
        first_epoch_extra=5.0,
        overhead=20.0,
        where="measured on 2 cores of an AMD EPYC (AVX-512) with nothing else running, 2026-11-25",
    ),
    ("jax", True): Measurement(
        seconds_per_epoch=2.4,
        first_epoch_extra=24.0,
        overhead=30.0,  # start-up, data, the test set and the snapshots: 32 s in an 8-epoch run
        where="measured by benchmarks/gpu_epoch.py on an NVIDIA H200 (JAX 0.11.2), 2026-11-28",
        step_share=0.75,
    ),
}
SHIPPED_TRAINED_WITH = ("tensorflow", False)  # the shipped runs' backend, on a CPU (their model cards)
MEASURED_TRAIN_IMAGES = 55_000
MEASURED_BATCH_SIZE = 128
# The scorecard of a run started from the app (100 images, 20 for randomisation). Version 1 took 5.2 min on 2
# cores; version 2 (seven tests, five randomisation draws) is estimated from the shipped run's phases (500 images
# in 61 min, 50 for randomisation in 51 min, 2 cores shared) scaled to 100 and 20: about 25 min.
SCORECARD_SECONDS_PER_IMAGE = 15.0
# The training's story after training (explain.learning): the feature-space map (1-1.5 min) and, per snapshot,
# its features placed on the map and the default map of 100 probe images (a few seconds each, more for occlusion).
STORY_SECONDS = 180


@dataclass(frozen=True)
class Estimate:
    seconds_per_epoch: float
    seconds: float  # the whole training run: epochs, first-epoch extra, overhead
    scorecard_seconds: float
    where: str


def estimate(option: BackendOption, config: TrainConfig, scorecard_images: int = 0) -> Estimate | None:
    """How long ``config`` will train with ``option``, from the measured figure for its backend and device
    scaled by the number of training images and of steps (Measurement.step_share); None without a measured
    figure."""
    measured = MEASURED.get((option.backend, option.gpu))
    if measured is None:
        return None
    images = (config.limit or 60_000) - config.effective_val_size
    step_ratio = -(-images // config.batch_size) / -(-MEASURED_TRAIN_IMAGES // MEASURED_BATCH_SIZE)
    image_ratio = images / MEASURED_TRAIN_IMAGES
    share = measured.step_share
    per_epoch = measured.seconds_per_epoch * ((1 - share) * image_ratio + share * step_ratio)
    total = per_epoch * config.epochs + measured.first_epoch_extra + measured.overhead
    return Estimate(per_epoch, total, scorecard_images * SCORECARD_SECONDS_PER_IMAGE, measured.where)


def duration(seconds: float) -> str:
    """'40 s', '4 min', '1.5 h'."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate_text(
    option: BackendOption,
    config: TrainConfig,
    scorecard_images: int = 0,
    story: bool = False,
    observed: Sequence[float] | None = None,
) -> str:
    """The estimate in words, for the Retrain page, before Start. ``observed``: the shipped run's seconds per epoch
    (its history), stated beside the quiet-machine figure where ``option`` trains as it did (SHIPPED_TRAINED_WITH):
    the Learning curves page shows that run's time, about twice the estimate's, and the two must not seem to
    disagree."""
    found = estimate(option, config, scorecard_images)
    if found is None:
        return (
            f"No time estimate: nothing has been measured for {option.label}. The progress bar shows the "
            "real speed after the first batches."
        )
    seconds = found.seconds_per_epoch
    per_epoch = f"{seconds:.1f} s" if seconds < 10 else duration(seconds)  # a GPU epoch takes seconds
    text = (
        f"Estimated time: about {duration(found.seconds)} ({config.epochs} epoch{'s' * (config.epochs != 1)} × "
        f"about {per_epoch}, plus "
        f"start-up and the test set), from the shipped recipe's speed {found.where}; your machine may be "
        "faster or slower."
    )
    if observed and (option.backend, option.gpu) == SHIPPED_TRAINED_WITH:
        low, middle, high = min(observed), statistics.median(observed), max(observed)
        text += (
            f" The shipped run itself, trained while other work shared its machine, took {low:.0f}-{high:.0f} s "
            f"per epoch (median {middle:.0f} s): a busy server, a class's, trains slower."
        )
    if found.scorecard_seconds:
        text += f" Then about {duration(found.scorecard_seconds)} to score the saliency maps (on TensorFlow)."
    if story:
        text += (
            f" Then about {duration(STORY_SECONDS)} for the training's story on Watch it learn (the feature-space "
            "map and the snapshots' maps)."
        )
    return text
