"""Presenter mode and the guided tour, on every page (``ui.setup_page`` calls ``frame``).

- **Presenter mode** (``?present=1``, or the sidebar switch): everything in the main area drawn larger
  for a projector, and the tour on.
- **Guided tour** (``?tour=1``): a bar at the top of each page of the lesson plan
  (``analysis.lesson_plan``) with its talking points and Previous / Next, which keep this browser
  session. A teacher hands out the tour as a link; students follow it at their own pace.

Both are kept in the session, so they survive moving between pages by the menu too.
"""

from __future__ import annotations

import streamlit as st

from analysis import lesson_plan
from analysis.query import QueryReader

PRESENT = "presenter_mode"
TOUR = "guided_tour"
LAST_STOP = "tour_last_stop"
ZOOM = 1.35  # the main area's scale in presenter mode: 16 px text reads as about 22 px

# ``zoom`` scales text, figures and images together (Chromium, Edge, Safari and Firefox 126+), so a chart
# keeps its layout; the sidebar keeps its size so the menu stays usable.
PRESENTER_CSS = f"""
<style>
[data-testid="stMainBlockContainer"] {{ zoom: {ZOOM}; max-width: 100%; }}
</style>
"""


def _flag(reader: QueryReader, name: str) -> bool | None:
    value = reader.choice(name, ["0", "1"], None)
    return None if value is None else value == "1"


def _adopt(name: str, key: str, reader: QueryReader) -> bool | None:
    """Take the URL's ``name`` (0/1) into the session when the URL brings a new value; that value."""
    from dashboard.ui import LINK_SEEN

    raw = st.query_params.get(name)
    seen = LINK_SEEN.format(name)
    if raw is None or raw == st.session_state.get(seen):
        return None
    st.session_state[seen] = raw
    flag = _flag(reader, name)
    if flag is not None:
        st.session_state[key] = flag
    return flag


def _write_url(name: str, on: bool) -> None:
    """Keep the URL saying the mode, so a copied address opens the same way."""
    if on and st.query_params.get(name) != "1":
        st.query_params[name] = "1"
    elif not on and name in st.query_params:
        del st.query_params[name]
    from dashboard.ui import LINK_SEEN

    st.session_state[LINK_SEEN.format(name)] = "1" if on else None


def query(**extra) -> dict[str, str]:
    """The query that keeps the current modes when moving to another page."""
    modes = {}
    if st.session_state.get(PRESENT):
        modes["present"] = "1"
    if st.session_state.get(TOUR):
        modes["tour"] = "1"
    return {**modes, **{name: str(value) for name, value in extra.items()}}


def frame(page: str) -> None:
    """The modes' switches in the sidebar, presenter mode's style and the tour's bar for ``page``."""
    reader = QueryReader(st.query_params)
    if _adopt("present", PRESENT, reader) and "tour" not in st.query_params:
        st.session_state[TOUR] = True  # a presenter's link opens the lesson
    _adopt("tour", TOUR, reader)
    for notice in reader.notices:
        st.info(notice, icon=":material/link_off:")
    with st.sidebar:
        present = st.toggle(
            "Presenter mode",
            value=bool(st.session_state.get(PRESENT)),
            help="Large text and figures for a projector, and the guided tour of the lesson. "
            "Add ?present=1 to a link to open it this way.",
        )
        if present and not st.session_state.get(PRESENT):
            st.session_state[TOUR] = True  # presenting means following the lesson
        st.session_state[PRESENT] = present
        tour = st.toggle(
            "Guided tour",
            value=bool(st.session_state.get(TOUR)),
            help=f"A {lesson_plan.total_minutes()}-minute path through {len(lesson_plan.STOPS)} pages with "
            "talking points and Next / Previous. Add ?tour=1 to a link to hand it out.",
        )
        st.session_state[TOUR] = tour
    _write_url("present", present)
    _write_url("tour", tour)
    if present:
        st.html(PRESENTER_CSS)
    if tour:
        _tour_bar(page)


def _go(page: str) -> None:
    from dashboard import ui

    st.session_state[LAST_STOP] = lesson_plan.stop_of(page)
    ui.open_page(page, **query())


def _tour_bar(page: str) -> None:
    stops = lesson_plan.STOPS
    at = lesson_plan.stop_of(page)
    with st.container(border=True, key="tour_bar"):
        if at is None:
            back = st.session_state.get(LAST_STOP) or 0
            left, right = st.columns([3, 1], vertical_alignment="center")
            left.markdown(f"**Guided tour** · this page is not one of its {len(stops)} stops.")
            if right.button(f"Back to stop {back + 1}", icon=":material/undo:", width="stretch"):
                _go(stops[back].page)
            return
        st.session_state[LAST_STOP] = at
        stop = stops[at]
        st.markdown(f"**Stop {at + 1} of {len(stops)} · {stop.title}** · about {stop.minutes} min")
        st.markdown("\n".join(f"- {point}" for point in stop.points))
        left, middle, right = st.columns([1, 2, 1], vertical_alignment="center")
        if at > 0 and left.button(
            "Previous", icon=":material/arrow_back:", width="stretch", help=f"Stop {at}: {stops[at - 1].title}"
        ):
            _go(stops[at - 1].page)
        middle.progress((at + 1) / len(stops))
        if at + 1 < len(stops) and right.button(
            "Next",
            icon=":material/arrow_forward:",
            type="primary",
            width="stretch",
            help=f"Stop {at + 2}: {stops[at + 1].title}",
        ):
            _go(stops[at + 1].page)
