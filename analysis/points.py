"""Changes of a share (an accuracy, a probability) in percentage points, as the pages print them.

A share that goes from 80% to 76% changes by -4 percentage points ("points"), not by -4% (which would
be 80% -> 76.8%). A change that prints as zero gets no sign, no arrow and no colour: "+0.0 points" in
green with an up arrow claims an improvement that is not there."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PointsChange:
    text: str  # "-4.2 points", or "no change" when it prints as zero
    direction: int  # +1, -1, or 0 when it prints as zero (no arrow, no colour)

    @property
    def delta_color(self) -> str:
        """For ``st.metric``: coloured by direction, grey when there is none."""
        return "normal" if self.direction else "off"

    @property
    def delta_arrow(self) -> str:
        return "auto" if self.direction else "off"


def points_change(before: float, after: float, decimals: int = 1) -> PointsChange:
    """``after - before`` (shares from 0 to 1) in percentage points with ``decimals`` decimals."""
    change = (after - before) * 100.0
    if round(change, decimals) == 0:
        if change == 0:
            return PointsChange("no change", 0)
        return PointsChange(f"no change to {10.0**-decimals:.{decimals}f} points", 0)
    return PointsChange(f"{change:+.{decimals}f} points", 1 if change > 0 else -1)
