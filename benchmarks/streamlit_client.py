"""A light Streamlit client: one browser tab's conversation with the server, without a browser.

Thirty Chromiums do not fit on a 2-core server beside the app, but thirty of these do: each is a
websocket speaking Streamlit's own protocol (streamlit 1.67, Starlette server), in one asyncio loop.

What a tab does, and what this copies:

1. GET the page's HTML, ``/_stcore/health`` (which sets the XSRF cookie) and ``/_stcore/host-config``;
   the JavaScript bundle is left out (a browser has it cached after the first tab).
2. Open ``ws://host/_stcore/stream`` with the subprotocol ``streamlit``.
3. Send ``BackMsg.rerun_script`` (a ``ClientState``) with the URL's query string and its path as
   ``page_name`` (the server matches it against each page's ``url_pathname``).
4. Read ``ForwardMsg``s: ``new_session`` at the start of each run (it carries the session id),
   ``navigation`` (the pages with their ``page_script_hash``), ``delta``s (the elements, widgets with
   their ids), ``page_info_changed`` (the app rewrote the URL's query string), ``page_not_found``,
   and ``script_finished``. A run stopped by ``st.rerun()`` finishes with FINISHED_EARLY_FOR_RERUN and
   is followed by another run: only FINISHED_SUCCESSFULLY (or a compile error) ends an interaction.
5. An interaction is another ``rerun_script`` with the page's widget states (``WidgetStates``; a
   button is a one-shot ``trigger_value``), the current query string and page hash.

Images (``st.image``) arrive as ``/media/...`` URLs that the browser fetches afterwards; this client
fetches them too, in the background, so the server serves what it would serve a class.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import FileURLs
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINAL_STATUSES = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
XSRF_COOKIE = "_streamlit_xsrf"
_request_ids = itertools.count()


class ProtocolError(RuntimeError):
    """The server did not answer as a browser would expect (no file URLs, an upload refused...)."""


# --------------------------------------------------------------------------- plain HTTP


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def http_request(
    base_url: str, method: str, path: str, headers: dict | None = None, body: bytes = b"", timeout: float = 60
) -> HttpResponse:
    """One HTTP/1.1 request on its own connection (no library: only what the benchmark needs).

    Streamlit's uvicorn answers ``Connection: close`` requests and closes, so the body is what is
    read until then."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port or 80
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("PUT", "POST"):
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        # Several Set-Cookie headers: keep them all, joined (only the XSRF cookie is read).
        key = name.strip().lower()
        parsed[key] = f"{parsed[key]}, {value.strip()}" if key in parsed else value.strip()
    if parsed.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return HttpResponse(int(status_line.split()[1]), parsed, payload)


def _unchunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def multipart(field_name: str, filename: str, content_type: str, data: bytes) -> tuple[str, bytes]:
    """(Content-Type header, body) of a multipart/form-data request with one file, as a browser sends it."""
    boundary = "----benchmark" + uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


# --------------------------------------------------------------------------- one run's answer


@dataclass
class RunResult:
    """What one interaction drew: the elements of the run that finished it, and how long it took."""

    elements: list = field(default_factory=list)  # Element protos in script order
    exceptions: list[str] = field(default_factory=list)  # st.exception / uncaught errors shown
    page_not_found: str | None = None
    page_script_hash: str = ""  # the page that ran (from new_session)
    started: bool = False  # a run began after the request (a script_finished before that is an old run's)
    seconds: float = float("nan")  # request sent -> script_finished
    first_match_seconds: float | None = None  # request sent -> the first element ``until`` accepted

    def widgets(self, kind: str) -> list:
        """The protos of one widget type (``button``, ``radio``, ``button_group``, ``file_uploader``...)."""
        return [getattr(e, kind) for e in self.elements if e.WhichOneof("type") == kind]

    def widget(self, kind: str, key: str | None = None, label: str | None = None):
        """One widget by its user key (element ids end in ``-<key>``) or its label; KeyError if absent."""
        for proto in self.widgets(kind):
            if (key is not None and proto.id.endswith(f"-{key}")) or (label is not None and proto.label == label):
                return proto
        raise KeyError(f"no {kind} with key={key!r} label={label!r} in this run")

    def headings(self) -> list[str]:
        return [e.heading.body for e in self.elements if e.WhichOneof("type") == "heading"]

    def page_links(self) -> list:
        """The ``st.page_link`` protos (a click on one is ``StreamlitTab.follow``)."""
        return [e.page_link for e in self.elements if e.WhichOneof("type") == "page_link"]

    def markdown(self) -> str:
        return "\n".join(e.markdown.body for e in self.elements if e.WhichOneof("type") == "markdown")

    def media_urls(self) -> list[str]:
        return [img.url for e in self.elements if e.WhichOneof("type") == "imgs" for img in e.imgs.imgs]


# --------------------------------------------------------------------------- the session


class StreamlitTab:
    """One browser tab: a websocket session with the page's widget states and its URL.

    Use ``await tab.open("Quiz?quiz=7")``, then interactions (``click``, ``choose``, ``choose_segment``,
    ``upload``, ``go_to``), each returning the RunResult of the run that answered it, then ``close()``.
    """

    def __init__(self, base_url: str, timeout: float = 60.0, fetch_media: bool = True):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.fetch_media = fetch_media
        self.session_id = ""
        self.query_string = ""
        self.page_script_hash = ""
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash, from the navigation message
        self.widget_states: dict[str, WidgetState] = {}  # what the frontend would send: the page's widgets
        self.xsrf = ""
        self.media_errors: list[str] = []
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._run = RunResult()
        self._finished: asyncio.Future | None = None
        self._until: Callable | None = None
        self._sent_at = 0.0
        self._file_urls: dict[str, asyncio.Future] = {}
        self._media_tasks: set[asyncio.Task] = set()

    # ----- connecting

    async def open(self, path: str) -> RunResult:
        """Load ``path`` (``"Quiz?quiz=7"``, ``""`` for Home) as a new tab: the HTTP requests a page load makes,
        the websocket, and the first run. ``seconds`` counts from the first request."""
        started = time.perf_counter()
        page, _, query = path.partition("?")
        await self._get(f"/{path}")
        health = await self._get("/_stcore/health")
        match = re.search(rf"{XSRF_COOKIE}=([^;,\s]+)", health.headers.get("set-cookie", ""))
        self.xsrf = match.group(1) if match else ""
        await self._get("/_stcore/host-config")
        ws_url = "ws" + self.base_url.removeprefix("http") + "/_stcore/stream"
        self._ws = await asyncio.wait_for(
            # No keepalive pings: browsers send none, and a server busy for 20 s would be cut off by them.
            websockets.connect(
                ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout, ping_interval=None
            ),
            self.timeout,
        )
        self._reader = asyncio.create_task(self._read_forever())
        self.query_string = query
        result = await self._rerun(page_name=page, started=started)
        return result

    async def close(self) -> None:
        """Close the tab: the websocket closes; the server keeps the session for its disconnect TTL."""
        for task in list(self._media_tasks):
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # ----- interactions

    async def click(self, key: str | None = None, label: str | None = None, run: RunResult | None = None, **kw):
        """Press a button of the last run (``st.button``: a trigger, true for one run only)."""
        button = (run or self._run).widget("button", key, label)
        return await self._rerun(changes=[WidgetState(id=button.id, trigger_value=True)], **kw)

    async def choose(self, option: str, key: str | None = None, label: str | None = None, **kw) -> RunResult:
        """Pick a radio option by its shown text (radios send the formatted option as a string)."""
        radio = self._run.widget("radio", key, label)
        if option not in radio.options:
            raise ProtocolError(f"radio {radio.label!r} has no option {option!r}")
        return await self._rerun(changes=[WidgetState(id=radio.id, string_value=option)], **kw)

    async def choose_segment(self, option: str, key: str, **kw) -> RunResult:
        """Pick a segmented-control option by its shown text (``st.segmented_control``: a ButtonGroup, whose
        value is a list of the chosen options' texts)."""
        group = self._run.widget("button_group", key)
        if option not in [o.content for o in group.options]:
            raise ProtocolError(f"segmented control {key!r} has no option {option!r}")
        state = WidgetState(id=group.id)
        state.string_array_value.data.append(option)
        return await self._rerun(changes=[state], **kw)

    async def upload(self, key: str, filename: str, data: bytes, content_type: str = "image/png", **kw) -> RunResult:
        """Upload a file through ``st.file_uploader`` as the frontend does: ask for an upload URL
        (``file_urls_request``), PUT the file there (multipart, XSRF header), then rerun with the
        uploader's state naming the file."""
        uploader = self._run.widget("file_uploader", key)
        started = time.perf_counter()
        request_id = f"upload-{next(_request_ids)}"
        answer = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = answer
        message = BackMsg()
        message.file_urls_request.request_id = request_id
        message.file_urls_request.session_id = self.session_id
        message.file_urls_request.file_names.append(filename)
        await self._ws.send(message.SerializeToString())
        response = await asyncio.wait_for(answer, self.timeout)
        if response.error_msg or not response.file_urls:
            raise ProtocolError(f"no upload URL: {response.error_msg or 'empty answer'}")
        urls: FileURLs = response.file_urls[0]
        header, body = multipart("file", filename, content_type, data)
        put = await http_request(
            self.base_url,
            "PUT",
            urlsplit(urls.upload_url).path,
            {"Content-Type": header, "X-Xsrftoken": self.xsrf, "Cookie": f"{XSRF_COOKIE}={self.xsrf}"},
            body,
            self.timeout,
        )
        if put.status >= 300:
            raise ProtocolError(f"upload refused: HTTP {put.status} {put.body[:200]!r}")
        state = WidgetState(id=uploader.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, filename, len(data)
        info.file_urls.CopyFrom(urls)
        return await self._rerun(changes=[state], started=started, **kw)

    async def go_to(self, url_pathname: str, query: str = "", back: bool = False, **kw) -> RunResult:
        """Change page inside the app (a menu entry, ``st.page_link``, or with ``back`` the browser's back
        button, which reruns the earlier page with its URL): same session, the target page's script
        hash, a new query string, and no widget states of the old page."""
        if url_pathname not in self.pages:
            raise ProtocolError(f"no page {url_pathname!r} in the navigation ({sorted(self.pages)})")
        self.widget_states.clear()
        self.query_string = query
        result = await self._rerun(
            page_script_hash=self.pages[url_pathname], page_name=url_pathname, history=back, **kw
        )
        if result.page_script_hash != self.pages[url_pathname]:
            result.page_not_found = f"asked for {url_pathname!r}, another page ran"
        return result

    async def follow(self, link, **kw) -> RunResult:
        """Click an ``st.page_link`` (a PageLink proto): its page and query string, in this session."""
        pathname = next((p for p, h in self.pages.items() if h == link.page_script_hash), None)
        if pathname is None:
            raise ProtocolError(f"page link {link.label!r} points at no page of the navigation")
        return await self.go_to(pathname, link.query_string, **kw)

    # ----- the protocol

    async def _rerun(
        self,
        changes: list[WidgetState] = (),
        page_script_hash: str | None = None,
        page_name: str = "",
        started: float | None = None,
        until: Callable | None = None,
        history: bool = False,
    ) -> RunResult:
        """Send one ``rerun_script`` and wait for the run that finishes it; ``until(element)`` marks the
        moment a particular element arrives (``first_match_seconds``)."""
        for state in changes:
            self.widget_states[state.id] = state
        client_state = ClientState(
            query_string=self.query_string,
            page_script_hash=self.page_script_hash if page_script_hash is None else page_script_hash,
            page_name=page_name,
            is_history_navigation=history,
        )
        client_state.widget_states.widgets.extend(self.widget_states.values())
        client_state.context_info.timezone = "UTC"
        client_state.context_info.timezone_offset = 0
        client_state.context_info.locale = "en-US"
        client_state.context_info.url = f"{self.base_url}/{page_name}"
        message = BackMsg(rerun_script=client_state)
        # Triggers (buttons) are true for the one run they cause, as in the frontend.
        for state_id, state in list(self.widget_states.items()):
            if state.WhichOneof("value") == "trigger_value":
                del self.widget_states[state_id]

        self._run = RunResult()
        self._until = until
        self._finished = asyncio.get_running_loop().create_future()
        self._sent_at = time.perf_counter() if started is None else started
        await self._ws.send(message.SerializeToString())
        try:
            await asyncio.wait_for(asyncio.shield(self._finished), self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no script_finished within {self.timeout:.0f} s") from None
        return self._run

    async def _read_forever(self) -> None:
        try:
            async for data in self._ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._handle(message)
        except websockets.ConnectionClosed as exc:
            if self._finished is not None and not self._finished.done():
                self._finished.set_exception(ConnectionError(f"websocket closed: {exc}"))
        except Exception as exc:  # a bug in this reader must fail the interaction, not hang it
            if self._finished is not None and not self._finished.done():
                self._finished.set_exception(exc)

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            # Each run starts with one; after st.rerun() the elements of the stopped run are dropped.
            if message.new_session.initialize.session_id:
                self.session_id = message.new_session.initialize.session_id
            self.page_script_hash = message.new_session.page_script_hash
            self._run.elements.clear()
            self._run.started = True
            self._run.page_script_hash = self.page_script_hash
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in message.navigation.app_pages}
            self.page_script_hash = message.navigation.page_script_hash or self.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "page_not_found":
            self._run.page_not_found = message.page_not_found.page_name or "(the default page was shown)"
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._add_element(message.delta.new_element)
        elif kind == "session_event" and message.session_event.WhichOneof("type") in (
            "script_compilation_exception",
            "script_changed_on_disk",
        ):
            self._run.exceptions.append(f"session event: {message.session_event.WhichOneof('type')}")
        elif kind == "file_urls_response":
            answer = self._file_urls.pop(message.file_urls_response.response_id, None)
            if answer is not None and not answer.done():
                answer.set_result(message.file_urls_response)
        elif kind == "script_finished" and message.script_finished in FINAL_STATUSES and self._run.started:
            self._run.seconds = time.perf_counter() - self._sent_at
            if self.fetch_media:
                self._fetch_media(self._run.media_urls())
            if self._finished is not None and not self._finished.done():
                self._finished.set_result(None)

    def _add_element(self, element) -> None:
        self._run.elements.append(element)
        if element.WhichOneof("type") == "exception":
            self._run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
        if self._until is not None and self._run.first_match_seconds is None and self._until(element):
            self._run.first_match_seconds = time.perf_counter() - self._sent_at

    # ----- HTTP

    async def _get(self, path: str) -> HttpResponse:
        response = await http_request(self.base_url, "GET", path, timeout=self.timeout)
        if response.status >= 400:
            raise ProtocolError(f"GET {path}: HTTP {response.status}")
        return response

    def _fetch_media(self, urls: list[str]) -> None:
        """Fetch the run's images as the browser would, without holding up the interaction."""

        async def fetch(url: str) -> None:
            try:
                await self._get(urlsplit(url).path if url.startswith("http") else url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.media_errors.append(f"{url}: {exc}")

        for url in urls:
            task = asyncio.create_task(fetch(url))
            self._media_tasks.add(task)
            task.add_done_callback(self._media_tasks.discard)

    async def media_done(self) -> None:
        """Wait for the images still being fetched (call before the next interaction to keep order)."""
        if self._media_tasks:
            await asyncio.gather(*list(self._media_tasks), return_exceptions=True)
