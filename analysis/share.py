"""Links a teacher hands out: the app's pages as full URLs, and their QR codes (segno).

A relative link such as ``Quiz?quiz=7`` cannot be typed by a student; the full address can be read off
the board or scanned from the projector. The app learns its own address from the browser
(``st.context.url``), so the links are right behind any host, port or path prefix.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import segno


def app_root(current_url: str, page_paths: Iterable[str]) -> str:
    """The app's root address, ending in '/', from the address of the page being viewed.

    ``page_paths`` are the pages' URL paths (``Quiz``, ``Saliency``...): a last path segment that is one of
    them is the page, not part of the app's address (a hosted app may live under a prefix)."""
    parts = urlsplit(current_url)
    if not parts.scheme or not parts.netloc:
        return ""
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1] in set(page_paths):
        segments = segments[:-1]
    path = "/" + "".join(f"{s}/" for s in segments)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def page_url(root: str, url_path: str, query: Mapping[str, object] | None = None) -> str:
    """The full address of one page with its query (``root`` from app_root; relative when it is empty)."""
    address = f"{root}{quote(url_path)}" if url_path else root or "./"
    if query:
        address += "?" + urlencode({name: str(value) for name, value in query.items()})
    return address


def parse_query(text: str) -> dict[str, str]:
    """'a=1&b=2' -> {'a': '1', 'b': '2'} (the form the pages' links are written in)."""
    return dict(part.split("=", 1) for part in text.split("&") if "=" in part)


def qr_png(text: str, scale: int = 10) -> bytes:
    """A QR code of ``text`` as PNG bytes (medium error correction: still scans off a dim projector)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def qr_svg(text: str, scale: int = 6) -> str:
    """The same QR code as an SVG element, for a printed page (sharp at any size)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()
