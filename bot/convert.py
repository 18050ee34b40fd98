"""Checks and converts option values, whether typed, submitted in a form or carried by a button."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.items import parse_item, parse_nudge
from bot.registry import Command, Kind, Option
from bot.timeutil import AUTO_TIMEZONE, parse_when, resolve_timezone
from bot.values import UserError

__all__ = ["convert_args"]

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


def _convert(option: Option, raw: object, *, tz: str, now: datetime) -> Any:
    kind = option.kind
    if kind is Kind.BOOL:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().casefold()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise UserError(f"{option.name}= takes yes or no.")
    if kind is Kind.ITEM:
        return parse_item(raw)
    if kind is Kind.NUDGE:
        return parse_nudge(raw)
    text = str(raw)
    text = text if kind is Kind.LONGTEXT else text.strip()
    if kind is Kind.CHOICE:
        word = text.casefold()
        matches = [c for c in option.choices if c == word] or [
            c for c in option.choices if c.startswith(word)
        ]
        if len(matches) != 1:
            raise UserError(
                f"{option.name}= takes one of: {', '.join(option.choices)} "
                f"(you typed {text[:30]!r})."
            )
        return matches[0]
    if kind in (Kind.WHEN, Kind.PAST_WHEN):
        return parse_when(_check_text(option, text), tz=tz, now=now, past=kind is Kind.PAST_WHEN)
    if kind is Kind.TIMEZONE:
        text = _check_text(option, text)
        # "auto" hands the choice back to the platform profile (or the workspace).
        return AUTO_TIMEZONE if text.strip().casefold() == AUTO_TIMEZONE else resolve_timezone(text)
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
        if any(unicodedata.category(c) == "Cf" for c in text):
            raise UserError(
                f"{option.name}= contains an invisible formatting character (such as a "
                "zero-width space); retype the name as plain text."
            )
        return " ".join(text.split())
    if kind is Kind.URL and not _URL.fullmatch(text):
        raise UserError(
            f"{text[:60]!r} doesn't look like a web address; use one such as "
            "https://www.linkedin.com/in/dana-lee"
        )
    if kind is Kind.EMAIL and not _EMAIL.fullmatch(text):
        raise UserError(f"{text[:60]!r} doesn't look like an email address (name@example.org).")
    return text


def convert_args(
    command: Command, raw_args: Mapping[str, object], *, tz: str, now: datetime
) -> dict[str, Any]:
    """Check every value against the command's options; return typed values.

    Empty values count as not given. Raises ``UserError`` naming what to type instead.
    """
    args: dict[str, Any] = {}
    for key, raw in raw_args.items():
        option = command.option(key)
        if option is None:
            raise UserError(f"`/tiara {command.name}` has no option {key}=. {_usage(command)}")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            args[key] = _convert(option, raw, tz=tz, now=now)
        except UserError as err:
            raise UserError(err.message, option=err.option or key) from None
    for option in command.options:
        if option.required and option.name not in args:
            raise UserError(
                f"`/tiara {command.name}` needs {option.name}= ({option.help}). {_usage(command)}",
                option=option.name,
            )
    return args


def _usage(command: Command) -> str:
    example = command.examples[0] if command.examples else f"/tiara {command.usage}"
    return f"For example: {example}"
