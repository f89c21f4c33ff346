"""Parse deep-link query parameters with safe fallbacks and notices a user can read.

Every page that reads the URL uses these, so ``?index=-3`` or ``?index=abc`` never
raises: the value falls back to a default and a notice explains why. Notices are
Markdown in which the link's value appears only as a shortened code span
(``markup.code``): a value is never interpreted as Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis import markup
from dataset.fashion_mnist import CLASS_NAMES

# ASCII digits only: str.isdigit() accepts '²' and '①', which int() then rejects.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")


@dataclass
class QueryReader:
    """Wraps a mapping of query parameters (``st.query_params`` or a dict) and collects notices."""

    params: object
    notices: list[str] = field(default_factory=list)

    def _raw(self, name: str):
        try:
            value = self.params.get(name)
        except Exception:  # a malformed mapping is treated as absent
            return None
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        return value

    def _ignored(self, name: str, raw, why: str) -> None:
        self.notices.append(f"Ignored {markup.code(f'{name}={raw}')} in the link: {why}.")

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        text = str(raw).strip()
        if not _WHOLE_NUMBER.fullmatch(text):
            self._ignored(name, raw, f"it must be a whole number from {low} to {high}")
            return default
        value = int(text)
        if not low <= value <= high:
            self._ignored(name, value, f"it must be between {low} and {high}")
            return default
        return value

    def class_index(self, name: str, default: int | None = None) -> int | None:
        """A class given as 0-9 or by name (case-insensitive)."""
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        text = str(raw).strip()
        names = [c.lower() for c in CLASS_NAMES]
        if text.lower() in names:
            return names.index(text.lower())
        if _WHOLE_NUMBER.fullmatch(text) and 0 <= int(text) < len(CLASS_NAMES):
            return int(text)
        self._ignored(name, raw, "not a class (use 0-9 or a class name)")
        return default

    def choice(self, name: str, options, default):
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        if raw in options:
            return raw
        self._ignored(name, raw, f"choose one of {', '.join(map(str, options))}")
        return default
