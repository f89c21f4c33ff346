"""Which device TensorFlow will train on: CPU without an NVIDIA driver, else asked in a subprocess.

The app's server process never imports TensorFlow for this: the answer costs one
TensorFlow start-up (a few seconds) in a child process, once.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys

_PROBE = (
    "import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3');"
    "import tensorflow as tf;"
    "gpus = tf.config.list_physical_devices('GPU');"
    "print(tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name) if gpus else 'CPU')"
)


def training_device(timeout: float = 120.0) -> str:
    """'CPU', the GPU's name, or a short explanation when TensorFlow cannot be started."""
    if shutil.which("nvidia-smi") is None:
        # No NVIDIA driver: TensorFlow cannot see a GPU, so skip starting it (half a GB of memory).
        return "CPU"
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({type(exc).__name__})"
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return "unknown (TensorFlow failed to start)"
    return lines[-1]


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
