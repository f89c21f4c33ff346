"""Show text that a user controls (a link's value, a run name, a file's content) inside Markdown
without it ever becoming Markdown.

Streamlit renders ``st.markdown``, ``st.info``, ``st.error`` and friends as Markdown with its
own extensions (``:red[...]`` colours, ``:material/...:`` icons, links, images that the browser
fetches). Text from outside the app goes through one of these two functions first:

- ``code(value)``: the value as an inline code span, shortened; nothing inside a code span is
  interpreted, whatever backticks the value holds.
- ``escape(text)``: longer text as plain words: every ASCII punctuation character is
  backslash-escaped, which CommonMark allows for all of them, so no link, image, emphasis,
  directive or HTML tag can start. Bare URLs and e-mail addresses need more: Streamlit's GFM
  autolinking finds them in the text *after* the escapes are resolved, so an invisible word
  joiner (U+2060) is put after ``http``/``https``/``ftp``/``www`` and after ``@``, which those
  patterns then no longer match (measured in Chromium: an escaped ``http://`` still became a link).
"""

from __future__ import annotations

import re
import string

DEFAULT_LIMIT = 60
_PUNCTUATION = frozenset(string.punctuation)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_AUTOLINK_START = re.compile(r"(?i)(https?(?=:)|ftp(?=:)|www(?=\.)|@)")
WORD_JOINER = "\u2060"


def shorten(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """At most ``limit`` characters, control characters and line breaks shown as one space."""
    text = _CONTROL.sub(" ", str(text))
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def code(value, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` as a Markdown code span that shows it literally (shortened to ``limit`` characters)."""
    text = shorten(value, limit)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # A span that starts or ends with a backtick (or is blank) needs a space inside its fences.
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def escape(text, limit: int | None = None) -> str:
    """``text`` as Markdown that renders as exactly these characters (shortened if ``limit`` is given)."""
    text = shorten(text, limit) if limit is not None else _CONTROL.sub(" ", str(text))
    text = _AUTOLINK_START.sub(lambda m: m.group(0) + WORD_JOINER, text)
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in text)


def message(text) -> str:
    """A plain-text message as safe Markdown, its `backtick-quoted` parts (commands, paths) shown as
    code. Error messages from the logic modules are plain text written this way; whatever a file or
    folder name inside them holds, every part is either escaped or a code span."""
    parts = _CONTROL.sub(" ", str(text)).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: nothing is code
        return escape(text)
    return "".join(code(part, limit=300) if i % 2 else escape(part) for i, part in enumerate(parts))
