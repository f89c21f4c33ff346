"""Parse deep-link query parameters with safe fallbacks and notices a user can read.

Every page that reads the URL uses these, so ``?index=-3`` or ``?index=abc`` never
raises: the value falls back to a default and a notice explains why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.data import CLASS_NAMES


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

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(str(raw).strip())
        except ValueError:
            self.notices.append(f"Ignored `{name}={raw}` in the link: it must be a whole number from {low} to {high}.")
            return default
        if not low <= value <= high:
            self.notices.append(f"Ignored `{name}={value}` in the link: it must be between {low} and {high}.")
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
        if text.isdigit() and 0 <= int(text) < len(CLASS_NAMES):
            return int(text)
        self.notices.append(f"Ignored `{name}={raw}` in the link: not a class (use 0-9 or a class name).")
        return default

    def choice(self, name: str, options, default):
        raw = self._raw(name)
        if raw is None or raw == "":
            return default
        if raw in options:
            return raw
        self.notices.append(f"Ignored `{name}={raw}` in the link: choose one of {', '.join(map(str, options))}.")
        return default
