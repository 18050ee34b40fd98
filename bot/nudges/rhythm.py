"""A member's daily rhythm: their timezone, quiet hours and the time nudges arrive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Rhythm", "format_minutes", "parse_clock", "parse_quiet"]

_DAY = 24 * 60


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str) -> int | None:
    """Minutes after midnight for "9", "9:30", "09:30", "9am", "5pm"; None if unreadable."""
    cleaned = text.strip().casefold().replace(" ", "").replace(".", "")
    suffix = ""
    for marker in ("am", "pm"):
        if cleaned.endswith(marker):
            cleaned, suffix = cleaned[: -len(marker)], marker
    hours_text, _, minutes_text = cleaned.partition(":")
    if not hours_text.isdigit() or (minutes_text and not minutes_text.isdigit()):
        return None
    hours, minutes = int(hours_text), int(minutes_text or 0)
    if suffix:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if suffix == "pm" else 0)
    if hours > 23 or minutes > 59 or len(minutes_text) not in (0, 2):
        return None
    return hours * 60 + minutes


def parse_quiet(text: str) -> tuple[int, int] | None:
    """Quiet hours like "21-8" or "22:30-7:00" as (start, end) minutes; None if unreadable."""
    start_text, dash, end_text = text.strip().partition("-")
    if not dash:
        return None
    start, end = parse_clock(start_text), parse_clock(end_text)
    if start is None or end is None:
        return None
    return start, end


@dataclass(frozen=True, slots=True)
class Rhythm:
    """When a member wants to hear from the bot. Quiet hours may span midnight (21:00-08:00)."""

    tz: str
    quiet_start: int = 21 * 60
    quiet_end: int = 8 * 60
    nudge_time: int = 9 * 60

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def at(self, day: date, minutes: int) -> datetime:
        """``day`` at ``minutes`` past local midnight, in UTC.

        A time that doesn't exist that day (skipped by a DST change) lands just after the
        gap; a time that happens twice counts the first one.
        """
        # zoneinfo reads a time in the spring-forward gap with the offset before the change,
        # which lands it after the gap (2:30 becomes 3:30), and a repeated autumn time as its
        # first occurrence (fold=0).
        return datetime.combine(day, time(minutes // 60, minutes % 60), self.zone).astimezone(UTC)

    def at_nudge_time(self, day: date) -> datetime:
        return self.at(day, self.nudge_time)

    def _minute_of_day(self, moment: datetime) -> int:
        local = self.local(moment)
        return local.hour * 60 + local.minute

    def is_quiet(self, moment: datetime) -> bool:
        if self.quiet_start == self.quiet_end:
            return False
        minute = self._minute_of_day(moment)
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= minute < self.quiet_end
        return minute >= self.quiet_start or minute < self.quiet_end

    def after_quiet(self, moment: datetime) -> datetime:
        """``moment``, or the end of the quiet hours it falls in."""
        if not self.is_quiet(moment):
            return moment
        local_day = self.local_date(moment)
        minute = self._minute_of_day(moment)
        crosses_midnight = self.quiet_start > self.quiet_end
        end_day = (
            local_day + timedelta(days=1)
            if crosses_midnight and minute >= self.quiet_start
            else local_day
        )
        return self.at(end_day, self.quiet_end)

    def before_quiet(self, moment: datetime) -> datetime:
        """``moment``, or half an hour before the quiet hours it falls in begin."""
        if not self.is_quiet(moment):
            return moment
        local_day = self.local_date(moment)
        minute = self._minute_of_day(moment)
        crosses_midnight = self.quiet_start > self.quiet_end
        start_day = (
            local_day - timedelta(days=1)
            if crosses_midnight and minute < self.quiet_end
            else local_day
        )
        return self.at(start_day, self.quiet_start) - timedelta(minutes=30)

    def next_day_at_nudge_time(self, moment: datetime, days: int = 1) -> datetime:
        """The member's nudge time on the local day after ``moment`` (or ``days`` after)."""
        return self.at_nudge_time(self.local_date(moment) + timedelta(days=days))
