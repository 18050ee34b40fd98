"""Checks and converts option values, whether typed, submitted in a form or carried by a button."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.items import looks_like_item, parse_item
from bot.registry import Command, Kind, Option
from bot.timeutil import (
    AUTO_TIMEZONE,
    DateQuestion,
    format_when,
    is_fixed_offset,
    parse_when,
    resolve_timezone,
    zones_for_abbreviation,
)
from bot.values import UserError

__all__ = ["CONFIRMED", "Choice", "Question", "convert_args"]

# Carried by a button that answers a question (which date? is this zone right?): the value
# it carries is the member's choice, so it is not asked about again.
CONFIRMED = "_confirmed"
# A date this far back, or this far ahead, is checked with the member before it is saved.
SURPRISING_PAST = timedelta(days=60)
SURPRISING_FUTURE = timedelta(days=365)
# Options that take a date to come although their kind allows both (a reminder snoozed to
# "friday" is this week's): a bare weekday is the coming one, not a question.
FUTURE_ONLY = frozenset({("snooze", "when"), ("reply", "back")})


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer to a :class:`Question`: a button that runs the command again with the
    option set to ``value``."""

    label: str
    value: str


class Question(UserError):
    """Not a mistake: a value that could mean more than one thing, or is surprising.

    The member answers with a button (each runs the same command again with the option
    set to that choice, marked ``CONFIRMED``); nothing is saved meanwhile. ``fix`` says how
    to change it instead: "date" (the command's form, when it has one), "timezone", or
    "choice" (a mistyped choice: the button is the closest one, not a confirmation).
    """

    def __init__(self, message: str, *, option: str, choices: tuple[Choice, ...], fix: str):
        super().__init__(message, option=option)
        self.choices = choices
        self.fix = fix


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"(?:https?://)?[^\s/:@]+\.[^\s/:@]+(?::\d+)?(?:/\S*)?", re.IGNORECASE)
_TRUE = {"yes", "y", "true", "1", "on"}
_FALSE = {"no", "n", "false", "0", "off"}
MAX_NAMES = 20


def _check_text(option: Option, text: str) -> str:
    if len(text) > option.limit:
        raise UserError(
            f"{option.name}= is {len(text):,} characters long; the limit is {option.limit:,}. "
            "Shorten it and try again (nothing was saved)."
        )
    for char in text:
        if char in "\n\t\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise UserError(
                f"{option.name}= contains an invisible control character; retype it as plain text."
            )
    if option.kind is not Kind.LONGTEXT and "\n" in text:
        raise UserError(f"{option.name}= must fit on one line.")
    return text


@dataclass(frozen=True, slots=True)
class _Reading:
    """How the member's dates are read: their timezone and date order, whether they chose
    that order (else digits that read two ways are asked about), and whether this value
    was confirmed by a button."""

    tz: str
    now: datetime
    order: str
    order_chosen: bool
    confirmed: bool
    future_only: bool = False


def _button_text(moment: datetime, tz: str) -> str:
    """A moment as text that reads back as itself whatever the member's date order."""
    return f"{moment.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


def _day(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y}"


def _when(option: Option, text: str, how: _Reading) -> datetime:
    past = option.kind is Kind.PAST_WHEN
    try:
        moment = parse_when(
            text,
            tz=how.tz,
            now=how.now,
            past=past,
            order=how.order,
            ask_weekday=not past and not how.future_only and not how.confirmed,
            future=how.future_only,
            ask_swap=not how.order_chosen and not how.confirmed,
        )
    except DateQuestion as question:
        raise Question(
            question.message,
            option=option.name,
            choices=tuple(Choice(label, _button_text(m, how.tz)) for label, m in question.readings),
            fix="date",
        ) from None
    if how.confirmed:
        return moment
    shown = format_when(moment, how.tz)
    if how.now - moment > SURPRISING_PAST:
        days = (how.now - moment).days
        raise Question(
            f"{text!r} reads as {shown}, {days} days ago. Is that right? Nothing is saved "
            "until you say so.",
            option=option.name,
            choices=(Choice(f"Yes, {_day(moment, how.tz)}", _button_text(moment, how.tz)),),
            fix="date",
        )
    if moment - how.now > SURPRISING_FUTURE:
        raise Question(
            f"{text!r} reads as {shown}, more than a year from now. Is that right? Nothing "
            "is saved until you say so.",
            option=option.name,
            choices=(Choice(f"Yes, {_day(moment, how.tz)}", _button_text(moment, how.tz)),),
            fix="date",
        )
    return moment


def _timezone(option: Option, text: str, how: _Reading) -> str:
    if text.strip().casefold() == AUTO_TIMEZONE:
        return AUTO_TIMEZONE  # hands the choice back to the platform profile (or workspace)
    found = zones_for_abbreviation(text)
    if found is not None:
        zones, description = found
        typed = text.strip().upper()
        said = f"{typed} usually means {description} ({zones[0]})."
        if len(zones) > 1:
            said += f" It can also mean {' or '.join(zones[1:])}."
        raise Question(
            f"{said} I save a place's zone rather than the abbreviation, so your reminders "
            "follow the clocks there when they change. Which is yours?",
            option=option.name,
            choices=tuple(Choice(f"Use {zone}", zone) for zone in zones),
            fix="timezone",
        )
    zone = resolve_timezone(text)
    if is_fixed_offset(zone) and not how.confirmed:
        raise Question(
            f"{zone} is a fixed offset from UTC that never changes for daylight saving "
            "(and Etc/GMT+5 means five hours behind UTC). A city's zone, such as "
            "America/New_York or Europe/Berlin, follows the clocks where you live. Keep "
            f"{zone} anyway?",
            option=option.name,
            choices=(Choice(f"Use {zone} anyway", zone),),
            fix="timezone",
        )
    return zone


# Words members use for a choice, mapped to the choice they mean (only offered, never applied).
_SYNONYMS = {
    "zoom": "video",
    "teams": "video",
    "meet": "video",
    "google meet": "video",
    "webex": "video",
    "skype": "video",
    "facetime": "video",
    "videocall": "video",
    "video call": "video",
    "online": "video",
    "call": "phone",
    "phone call": "phone",
    "telephone": "phone",
    "tel": "phone",
    "in person": "in-person",
    "inperson": "in-person",
    "person": "in-person",
    "coffee": "in-person",
    "office": "in-person",
    "f2f": "in-person",
    "mail": "email",
    "e-mail": "email",
    "gmail": "email",
    "linked in": "linkedin",
    "li": "linkedin",
    "dm": "linkedin",
    "yes": "scheduled",
    "agreed": "scheduled",
    "accepted": "scheduled",
    "meeting": "scheduled",
    "no": "declined",
    "decline": "declined",
    "rejected": "declined",
    "refused": "declined",
    "wait": "later",
    "resource": "resources",
    "assignment": "assignments",
    "trend": "trends",
    "insight": "insights",
}


def _choice_error(option: Option, text: str, matches: list[str]) -> UserError:
    """Why a choice wasn't taken, with the closest one offered as a button (not applied)."""
    word = " ".join(text.casefold().split())
    shown = text if len(text) <= 30 else text[:30] + "…"
    listed = ", ".join(option.choices)
    if len(matches) > 1:
        return Question(
            f"{shown!r} could be {' or '.join(matches[:4])}; {option.name}= takes one of: "
            f"{listed}. Which one? (Nothing was saved.)",
            option=option.name,
            choices=tuple(Choice(match, match) for match in matches[:4]),
            fix="choice",
        )
    # The closest choice, or the closest word members use for one ("zom" -> zoom -> video).
    words = {c: c for c in option.choices}
    words.update((w, c) for w, c in _SYNONYMS.items() if c in option.choices)
    close = [word] if word in words else difflib.get_close_matches(word, list(words), n=1)
    guess = words[close[0]] if close else None
    if guess is None:
        return UserError(
            f"{option.name}= takes one of: {listed} (you typed {shown!r}). Nothing was saved."
        )
    typed = guess if option.positional else f"{option.name}={guess}"
    return Question(
        f"Did you mean {typed}? {option.name}= takes one of: {listed}, and {shown!r} isn't "
        "one of them. Nothing was saved.",
        option=option.name,
        choices=(Choice(f"Yes, {guess}", guess),),
        fix="choice",
    )


def _name(option: Option, text: str) -> str:
    if any(unicodedata.category(c) == "Cf" for c in text):
        raise UserError(
            f"{option.name}= contains an invisible formatting character (such as a "
            "zero-width space); retype the name as plain text."
        )
    return " ".join(text.split())


def _convert(option: Option, raw: object, how: _Reading) -> Any:
    kind = option.kind
    if kind is Kind.BOOL:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().casefold()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        close = difflib.get_close_matches(word, ["yes", "no", "on", "off"], n=1, cutoff=0.6)
        hint = f" Did you mean {option.name}={close[0]}?" if close else ""
        raise UserError(f"{option.name}= takes on or off (yes or no).{hint} Nothing was saved.")
    if kind is Kind.ITEM:
        # An id (M3, R2, a number from a button) or a contact's name, looked up later.
        if not isinstance(raw, str) or looks_like_item(raw) or not raw.strip():
            return parse_item(raw)
        return _name(option, _check_text(Option(option.name, Kind.NAME, ""), raw.strip()))
    text = str(raw)
    text = text if kind is Kind.LONGTEXT else text.strip()
    if kind is Kind.CHOICE:
        word = text.casefold()
        matches = [c for c in option.choices if c == word] or [
            c for c in option.choices if c.startswith(word)
        ]
        if len(matches) != 1:
            raise _choice_error(option, text, matches)
        return matches[0]
    if kind in (Kind.WHEN, Kind.PAST_WHEN):
        return _when(option, _check_text(option, text), how)
    if kind is Kind.TIMEZONE:
        return _timezone(option, _check_text(option, text), how)
    text = _check_text(option, text)
    if kind is Kind.NAMES:
        names: list[str] = []
        for part in text.split(","):
            name = " ".join(part.split())
            if name and name.casefold() not in {n.casefold() for n in names}:
                names.append(_check_text(Option(option.name, Kind.NAME, ""), name))
        if len(names) > MAX_NAMES:
            raise UserError(f"{option.name}= takes at most {MAX_NAMES} names at a time.")
        return names
    if kind is Kind.NAME:
        return _name(option, text)
    if kind is Kind.URL and not _URL.fullmatch(text):
        raise UserError(
            f"{text[:60]!r} doesn't look like a web address; use one such as "
            "https://www.linkedin.com/in/dana-lee"
        )
    if kind is Kind.EMAIL and not _EMAIL.fullmatch(text):
        raise UserError(f"{text[:60]!r} doesn't look like an email address (name@example.org).")
    return text


def convert_args(
    command: Command,
    raw_args: Mapping[str, object],
    *,
    tz: str,
    now: datetime,
    order: str = "mdy",
    order_chosen: bool = True,
) -> dict[str, Any]:
    """Check every value against the command's options; return typed values.

    Empty values count as not given (for a command that ``clears``, they are None).
    Raises ``UserError`` naming what to type instead, or
    :class:`Question` when a value needs the member's word first (a date that reads two
    ways or is far off, a timezone abbreviation). ``order`` is how the member writes dates
    in digits; ``order_chosen`` says they set it (else it comes from their timezone).
    """
    args: dict[str, Any] = {}
    confirmed = raw_args.get(CONFIRMED) is True
    for key, raw in raw_args.items():
        if key == CONFIRMED:
            continue
        option = command.option(key)
        if option is None:
            raise UserError(f"`/tiara {command.name}` has no option {key}=. {_usage(command)}")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if command.clears and isinstance(raw, str) and not option.positional:
                args[key] = None  # typed empty on purpose: clear it
            continue
        try:
            how = _Reading(
                tz, now, order, order_chosen, confirmed, (command.name, key) in FUTURE_ONLY
            )
            args[key] = _convert(option, raw, how)
        except Question:
            raise
        except UserError as err:
            raise UserError(err.message, option=err.option or key) from None
    for option in command.options:
        if option.required and args.get(option.name) is None:
            raise UserError(
                f"`/tiara {command.name}` needs {option.name}= ({option.help}). {_usage(command)}",
                option=option.name,
            )
    return args


def _usage(command: Command) -> str:
    example = command.examples[0] if command.examples else f"/tiara {command.usage}"
    return f"For example: {example}"
