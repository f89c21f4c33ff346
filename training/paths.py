"""Paths as the app and the training log show them: relative to the project, never the server's layout.

A visitor of a hosted app has no business knowing where the server keeps its files (issue 22),
and a path relative to the project is what a user who runs it locally types anyway.
"""

from __future__ import annotations

import os
from pathlib import Path

from runfolder import runs


def shown_path(path) -> str:
    """``path`` relative to the project root (``runs/run-1``); a path outside the project is named by
    the environment variable that put it there (``$TGN_RUNS_DIR/run-1``) or, failing that, by its
    last component only."""
    path = Path(path)
    resolved = path.resolve()
    root = runs.REPO_ROOT.resolve()
    if resolved == root:
        return "."
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    configured = os.environ.get(runs.RUNS_DIR_ENV)
    if configured:
        base = Path(configured).resolve()
        if resolved == base:
            return f"${runs.RUNS_DIR_ENV}"
        if resolved.is_relative_to(base):
            return f"${runs.RUNS_DIR_ENV}/{resolved.relative_to(base).as_posix()}"
    return f"…/{path.name}" if path.name else "…"
