"""Resumable per-run analyses (the maps' scorecard, the channel atlas): work saved as it goes, and progress.

``PartialResults`` holds the arrays computed so far in one npz file (plain arrays, no pickles), tagged with
a fingerprint of the model and settings: a file made under another fingerprint, or unreadable, is ignored,
so a rerun starts again rather than mixing results. ``write_progress`` writes the progress file the app's
progress bars read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from runfolder import runs


class PartialResults:
    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.arrays: dict[str, np.ndarray] = {}
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as stored:
                    arrays = {k: stored[k] for k in stored.files}
                if str(arrays.pop("fingerprint", "")) == fingerprint:
                    self.arrays = arrays
            except Exception:  # unreadable: start again
                self.arrays = {}

    def count(self, key: str) -> int:
        """Rows stored under ``key`` so far (0 if none)."""
        return len(self.arrays[key]) if key in self.arrays else 0

    def extend(self, values: dict[str, np.ndarray]) -> None:
        """Append rows to the arrays of the same keys (in memory; ``save`` writes them)."""
        for key, value in values.items():
            value = np.asarray(value)
            self.arrays[key] = np.concatenate([self.arrays[key], value]) if key in self.arrays else value

    def add(self, seconds: float, **arrays) -> None:
        """Store whole arrays and save at once."""
        self.arrays.update(arrays)
        self.save(seconds)

    def save(self, seconds: float) -> None:
        """Save atomically, adding ``seconds`` of work to what earlier sessions spent."""
        self.arrays["seconds"] = np.array(self.seconds() + seconds)
        runs.write_npz_atomic(self.path, fingerprint=np.array(self.fingerprint), **self.arrays)

    def seconds(self) -> float:
        return float(self.arrays.get("seconds", 0.0))


def write_progress(path: Path, phase: str, done: int, total: int, started: float) -> None:
    """The progress file (phase, done of total) an app's progress bar reads; the same line on stdout."""
    elapsed = time.time() - started
    runs.write_json_atomic(
        Path(path),
        {
            "phase": phase,
            "done": done,
            "total": total,
            "elapsed_seconds": elapsed,
            "pid": os.getpid(),
            "updated_at": time.time(),
        },
    )
    print(f"{phase}: {done}/{total} ({elapsed:.0f} s)", flush=True)
