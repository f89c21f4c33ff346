"""Time epochs of the shipped recipe with Keras on JAX, on whatever device JAX sees, and print JSON.

    python -m benchmarks.gpu_epoch                 # 3 epochs of the shipped recipe, all 55,000 images
    python -m benchmarks.gpu_epoch --epochs 5 --keep runs/jax-timing
    python -m benchmarks.gpu_epoch --epochs 2 --limit 2000 --refuse-tensorflow   # a quick check on a CPU

It runs ``python -m training.train --backend jax`` (the real training command: NumPy input pipeline,
checkpoints, the final test-set evaluation) into a temporary folder and reads the run's own records:
``history.csv`` gives each epoch's seconds (validation included), ``model_card.json`` the device.
The first epoch includes XLA's compilation of the training and validation steps.

Made for the GPU machines that have JAX but no TensorFlow: this script imports the standard library
only, and the training command imports no TensorFlow under JAX (tests/test_backends.py checks it).
Besides JAX it needs the project's own dependencies of the training path: keras, namex, optree,
pydantic (with pydantic-core, annotated-types, typing-extensions, typing-inspection) and filelock,
brought as wheels (README, "Backends"), and the Fashion-MNIST files ($FASHION_MNIST_DIR).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Runs the training command with every import of TensorFlow refused, and fails (exit 3) if it so much as
# tried one: proof, on a machine that has TensorFlow, that a machine without it can run this benchmark.
REFUSE_TENSORFLOW = """
import runpy, sys
tried = []
class RefuseTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            tried.append(name)
            raise ImportError(f"{name} refused (--refuse-tensorflow)")
sys.meta_path.insert(0, RefuseTensorFlow())
sys.argv = ["training.train", *sys.argv[1:]]
try:
    runpy.run_module("training.train", run_name="__main__", alter_sys=True)
finally:
    if tried:
        print(f"the training path tried to import {sorted(set(tried))}", file=sys.stderr, flush=True)
        sys.exit(3)
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_epoch", description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=3, help="epochs to time (default 3: the first and two later)")
    p.add_argument("--limit", type=int, help="use only the first N training images (default: all 60,000)")
    p.add_argument("--batch-size", type=int, help="batch size (default: the shipped recipe's 128)")
    p.add_argument("--keep", type=Path, help="write the run folder here and keep it (default: a temporary one)")
    p.add_argument("--refuse-tensorflow", action="store_true", help="fail if the training path imports TensorFlow")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the first epoch includes compilation")
    return args


def training_command(args: argparse.Namespace, out: Path) -> list[str]:
    options = ["--backend", "jax", "--epochs", str(args.epochs), "--out", str(out), "--force"]
    if args.limit:
        options += ["--limit", str(args.limit)]
    if args.batch_size:
        options += ["--batch-size", str(args.batch_size)]
    if args.refuse_tensorflow:
        return [sys.executable, "-c", REFUSE_TENSORFLOW, *options]
    return [sys.executable, "-m", "training.train", *options]


def summarise(out: Path, wall_seconds: float) -> dict:
    """The figures from the run folder: device, first epoch, later epochs, accuracy."""
    with open(out / "history.csv", newline="") as f:
        seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    card = json.loads((out / "model_card.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    later = seconds[1:]
    return {
        "device": card["hardware"]["device"],
        "backend": card["hardware"].get("backend"),
        "versions": card["versions"],
        "train_images": card["train_images"],
        "batch_size": card["settings"]["batch_size"],
        "epochs": len(seconds),
        "first_epoch_seconds": round(seconds[0], 2),
        "later_epoch_seconds": round(statistics.median(later), 2),
        "epoch_seconds": [round(s, 2) for s in seconds],
        "test_accuracy": metrics["test_accuracy"],
        "wall_seconds": round(wall_seconds, 1),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.keep or Path(tempfile.mkdtemp(prefix="gpu-epoch-")) / "run"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    started = time.perf_counter()
    # The training command's progress goes to stderr, so stdout carries the JSON alone.
    result = subprocess.run(training_command(args, out), cwd=REPO_ROOT, env=env, stdout=sys.stderr)
    wall = time.perf_counter() - started
    try:
        if result.returncode != 0:
            print(f"training failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
        print(json.dumps(summarise(out, wall), indent=2))
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
