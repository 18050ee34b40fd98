"""The cohort's progress as a picture: meetings held and thank-yous sent, week by week."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["progress_chart"]

_MEETINGS = "#2f6db5"
_THANKS = "#3a9d5d"


def progress_chart(
    starts: Sequence[datetime], meetings: Sequence[int], thanks: Sequence[int], *, tz: str
) -> bytes:
    """A PNG bar chart, one pair of bars per week (labelled by the week's Monday in ``tz``).

    Rendering takes a CPU-bound tenth of a second or so: call it in a worker thread.
    """
    # Imported here: matplotlib takes a while to import and only coaches need it.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    zone = ZoneInfo(tz)
    labels = [f"{s.astimezone(zone):%d %b}".lstrip("0") for s in starts]
    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.subplots()
    positions = list(range(len(starts)))
    width = 0.38
    axes.bar(
        [p - width / 2 for p in positions], meetings, width, label="Meetings held", color=_MEETINGS
    )
    axes.bar(
        [p + width / 2 for p in positions], thanks, width, label="Thank-yous sent", color=_THANKS
    )
    axes.set_xticks(positions, labels=labels)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0, top=max([*meetings, *thanks, 1]) * 1.15)
    axes.set_title("Meetings and thank-yous per week", loc="left", fontsize=12)
    axes.set_xlabel("Week of")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
