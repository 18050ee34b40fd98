"""Cohort progress for coaches: counts, who needs attention, and a chart. Never a note,
a follow-up's text or a contact: only members' names and numbers."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.coach.chart import progress_chart
from bot.nudges import kinds as k
from bot.values import Attachment, Field, Message
from storage.coach import CoachRepo, MemberCounts, WeekCounts
from storage.enums import PracticeStatus
from storage.models import Workspace

__all__ = ["CohortStats", "gather", "plural", "render_stats"]

WEEK = timedelta(weeks=1)
QUIET_AFTER = timedelta(days=14)  # no use of Tiara for this long: "gone quiet"
MAX_LINES = 40  # members listed in the message; a bigger cohort's table comes as a CSV
MAX_CHART_WEEKS = 26  # the chart shows the window's weeks, up to half a year


@dataclass(frozen=True)
class CohortStats:
    weeks: int
    now: datetime
    tz: str
    rows: list[MemberCounts]
    chart: WeekCounts

    @property
    def members(self) -> list[MemberCounts]:
        """Members still in the workspace."""
        return [r for r in self.rows if not r.left]

    def quiet(self, row: MemberCounts) -> bool:
        seen = row.last_seen_at or row.joined_at
        return self.now - seen >= QUIET_AFTER


def week_starts(now: datetime, tz: str, count: int) -> list[datetime]:
    """The Mondays (local midnight) of the last ``count`` weeks, this week's last."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=n) for n in range(count - 1, -1, -1)]
    return [datetime(d.year, d.month, d.day, tzinfo=zone) for d in days]


async def gather(
    session: AsyncSession,
    ws: Workspace,
    *,
    now: datetime,
    weeks: int,
    tz: str,
    chart_weeks: int | None = None,
) -> CohortStats:
    """The counts of the last ``weeks`` weeks, and a chart of as many weeks (or
    ``chart_weeks``: the weekly digest counts one week and charts a trend)."""
    repo = CoachRepo(session)
    rows = await repo.member_counts(
        ws.id, start=now - weeks * WEEK, now=now, follow_up_kinds=(k.FOLLOW_UP, k.FOLLOW_UP_LAST)
    )
    charted = min(max(chart_weeks or weeks, 1), MAX_CHART_WEEKS)
    chart = await repo.weekly(ws.id, week_starts(now, tz, charted))
    return CohortStats(weeks=weeks, now=now, tz=tz, rows=rows, chart=chart)


def _rate(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "none yet"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _line(stats: CohortStats, row: MemberCounts) -> str:
    parts = [
        plural(row.requests, "request"),
        plural(row.meetings, "meeting"),
        f"{row.thanks_on_time}/{row.thanks_due} thank-yous on time",
        plural(row.followups_done, "follow-up"),
        f"practised {row.practice_met}×" if row.practice != PracticeStatus.OUT else "no practice",
    ]
    flags = []
    if row.unreachable:
        flags.append("DMs closed")
    if stats.quiet(row):
        seen = row.last_seen_at or row.joined_at
        flags.append(f"quiet {(stats.now - seen).days // 7} weeks")
    flag = f" ({', '.join(flags)})" if flags else ""
    return f"• {row.name}{flag}: " + " · ".join(parts)


def _table_csv(rows: list[MemberCounts]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(
        [
            "member",
            "requests",
            "replies",
            "meetings",
            "thank_yous_due",
            "thank_yous_on_time",
            "follow_ups_done",
            "practice",
            "practised",
            "dms_closed",
            "last_seen",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.name,
                r.requests,
                r.replies,
                r.meetings,
                r.thanks_due,
                r.thanks_on_time,
                r.followups_done,
                r.practice,
                r.practice_met,
                "yes" if r.unreachable else "no",
                r.last_seen_at.date().isoformat() if r.last_seen_at else "",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


async def render_stats(stats: CohortStats, *, title: str) -> Message:
    """The coach's view: totals, who needs attention, a line per member, and the chart."""
    members = stats.members
    seen_week = sum(1 for r in members if r.last_seen_at and stats.now - r.last_seen_at < WEEK)
    requests = sum(r.requests for r in members)
    replies = sum(r.replies for r in members)
    meetings = sum(r.meetings for r in members)
    due = sum(r.thanks_due for r in members)
    on_time = sum(r.thanks_on_time for r in members)
    joined = sum(1 for r in members if r.practice != PracticeStatus.OUT)
    practised = sum(1 for r in members if r.practice_met)
    fields = (
        Field("Members", f"{len(members)} ({seen_week} active this week)"),
        Field(
            "Requests sent",
            f"{requests} ({_rate(replies, requests)} got a reply)" if requests else "0",
        ),
        Field("Meetings held", str(meetings)),
        Field(
            "Thank-yous within 24 h",
            f"{on_time} of {due} ({_rate(on_time, due)})" if due else "none due yet",
        ),
        Field("Follow-ups done", str(sum(r.followups_done for r in members))),
        Field("Practice", f"{joined} joined, {practised} practised"),
    )
    window = "the last week" if stats.weeks == 1 else f"the last {stats.weeks} weeks"
    parts = [f"Counts for {window}. Notes and contacts stay private to each student."]
    closed = [r.name for r in members if r.unreachable]
    quiet = [r.name for r in members if stats.quiet(r) and not r.unreachable]
    if closed:
        parts.append(
            "Can't be reached (DMs closed or left): "
            + ", ".join(closed)
            + ". Ask them to allow direct messages from Tiara."
        )
    if quiet:
        parts.append("Gone quiet (2 weeks or more without Tiara): " + ", ".join(quiet) + ".")
    if not members:
        parts.append("No one has used Tiara in this workspace yet.")
    ordered = sorted(
        members, key=lambda r: (not r.unreachable, not stats.quiet(r), r.name.casefold())
    )
    lines = [_line(stats, r) for r in ordered[:MAX_LINES]]
    attachments = []
    if lines:
        more = len(ordered) - MAX_LINES
        if more > 0:
            lines.append(f"…and {more} more: the whole table is in the attached CSV.")
            attachments.append(
                Attachment("tiara-cohort.csv", _table_csv(ordered), "text/csv", "Cohort counts")
            )
        parts.append("Members\n" + "\n".join(lines))
    chart = stats.chart
    png = await asyncio.to_thread(
        progress_chart, chart.starts, chart.meetings, chart.thanks, tz=stats.tz
    )
    attachments.insert(
        0, Attachment("tiara-progress.png", png, "image/png", "Meetings and thank-yous per week")
    )
    return Message(
        title=title, text="\n\n".join(parts), fields=fields, attachments=tuple(attachments)
    )
