"""A workspace's practice cadence and channel as people write them.

Coaches set them with ``/tiara coach cadence`` and ``/tiara coach channel``, operators with
``tiara workspace set``: both read and show them here, so the two agree on what they accept
and say the same about it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.nudges.rhythm import format_minutes, parse_clock
from bot.practice.rounds import next_slot
from bot.timeutil import WEEKDAYS, parse_weekday
from bot.values import UserError
from storage.models import Workspace

__all__ = ["CADENCE_FIELDS", "cadence_text", "change_cadence", "channel", "start_time", "weekday"]

# The workspace's columns that say when rounds start.
CADENCE_FIELDS = ("practice_day", "practice_time", "practice_every_weeks")

# How Slack and Discord write a channel in a message: <#C0123ABC|practice>, <#987654321>.
_MENTION = re.compile(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def channel(text: str) -> str:
    """The channel's id (from a mention) or name (from "#practice" or "practice")."""
    cleaned = text.strip()
    found = _MENTION.match(cleaned)
    name = found.group(1) if found else cleaned.lstrip("#").strip()
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise UserError("Give one channel, like #practice.", option="channel")
    return name


def weekday(text: str) -> int:
    """0 for Monday ... 6 for Sunday, from "monday", "Mon", "thu"..."""
    close = difflib.get_close_matches(text.strip().casefold(), WEEKDAYS, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return _read(
        parse_weekday, text, f"isn't a day of the week.{hint} Write it like monday or thu.", "day"
    )


def start_time(text: str) -> int:
    """Minutes after midnight, from "10:00", "9:30", "2pm"..."""
    problem = "isn't a time I can read. Write it like 10:00 or 2pm."
    return _read(parse_clock, text, problem, "time")


def _read(parse: Callable[[str], int | None], text: str, problem: str, option: str) -> int:
    value = parse(text)
    if value is None:
        raise UserError(f"{text[:20]!r} {problem}", option=option)
    return value


def cadence_text(ws: Workspace) -> str:
    """Like "Thursday at 14:00, every 2 weeks"."""
    every = ws.practice_every_weeks
    return f"{WEEKDAYS[ws.practice_day].title()} at {format_minutes(ws.practice_time)}, every " + (
        "week" if every == 1 else f"{every} weeks"
    )


def change_cadence(
    ws: Workspace,
    changes: Mapping[str, int],
    *,
    tz: str,
    now: datetime,
    running_until: datetime | None,
) -> None:
    """Set ``changes`` (of CADENCE_FIELDS) and move the next round to match; a workspace
    without one (nobody practises yet) gets one when someone joins.

    A round still running (until ``running_until``, see ``PracticeRepo.running_round``)
    runs to its end: the next round starts at the first slot of the new cadence from then
    on, never while it runs.
    """
    for name, value in changes.items():
        if name not in CADENCE_FIELDS:
            raise ValueError(f"not a cadence field: {name}")
        setattr(ws, name, value)
    if ws.next_round_at is not None:
        if running_until is not None and running_until > now:
            # A slot right at the round's end is fine: one round ends as the next starts.
            ws.next_round_at = next_slot(ws, tz, running_until - timedelta(microseconds=1))
        else:
            ws.next_round_at = next_slot(ws, tz, now)
