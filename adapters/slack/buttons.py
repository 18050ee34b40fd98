"""A button's value on Slack: the command and arguments a click runs, as compact JSON.

A click's value comes back from Slack as untrusted text, so :func:`decode_button` accepts only
what :func:`encode_button` could have written: a short command, a few plain arguments.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Final, TypeAlias

from adapters.slack.text import units
from bot.values import Button

__all__ = ["ACTION_PREFIX", "decode_button", "encode_button"]

ACTION_PREFIX: Final = "tiara:"
"""Every button's ``action_id`` starts with this, so one listener can claim them all."""

_BUTTON_VALUE = 2000  # Slack's limit on a button's value

# What a click may ask for.
_COMMAND_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_MAX_COMMAND_WORDS = 3
_MAX_ARGS = 16
_MAX_ARG_TEXT = 500
_MAX_ARG_INT = 2**53 - 1  # integers JavaScript and every JSON reader keep exactly
_VALUE_KEYS = frozenset({"c", "a", "f"})

_ArgValue: TypeAlias = str | int | float | bool | None


def _checked_command(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= _MAX_COMMAND_WORDS:
        raise ValueError(f"a command is a list of 1 to {_MAX_COMMAND_WORDS} words")
    words: list[str] = []
    for word in value:
        if not isinstance(word, str) or not _COMMAND_WORD.fullmatch(word):
            raise ValueError("a command word is a short lowercase name")
        words.append(word)
    return tuple(words)


def _checked_arg(value: object) -> _ArgValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_ARG_INT:
            raise ValueError("an integer argument is out of range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number argument must be finite")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_ARG_TEXT:
            raise ValueError(f"a text argument is at most {_MAX_ARG_TEXT} characters")
        return value
    raise ValueError(f"an argument can't be a {type(value).__name__}")


def _checked_args(value: object) -> dict[str, _ArgValue]:
    if not isinstance(value, Mapping):
        raise ValueError("arguments are a mapping of names to values")
    if len(value) > _MAX_ARGS:
        raise ValueError(f"a button carries at most {_MAX_ARGS} arguments")
    args: dict[str, _ArgValue] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _ARG_NAME.fullmatch(name):
            raise ValueError("an argument name is a short identifier")
        args[name] = _checked_arg(item)
    return args


def encode_button(button: Button) -> str:
    """A button's command, arguments and ``opens_form`` as compact JSON for its ``value``.

    The format is ``{"c": [words], "a": {args}, "f": true}``, the last two only when
    non-empty. Raises ``ValueError`` for what :func:`decode_button` would refuse (odd command
    words, unsupported argument types, or a value longer than Slack's 2,000 characters).
    """
    data: dict[str, object] = {"c": list(_checked_command(button.command))}
    args = _checked_args(button.args)
    if args:
        data["a"] = args
    if button.opens_form:
        data["f"] = True
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if units(value) > _BUTTON_VALUE:
        raise ValueError(f"a button value is at most {_BUTTON_VALUE} characters")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a valid argument")


def decode_button(value: str) -> Button:
    """The button a clicked ``value`` encodes; ``ValueError`` for anything else.

    The value comes back from Slack, so it is checked as untrusted input: at most 2,000
    characters of JSON holding a command of 1 to 3 short lowercase words, at most 16 arguments
    with identifier names and text (at most 500 characters), integer, finite number, boolean or
    null values, and nothing more. The label and style aren't carried: the label is the command.
    """
    if not isinstance(value, str) or not value or units(value) > _BUTTON_VALUE:
        raise ValueError(f"a button value is 1 to {_BUTTON_VALUE} characters")
    try:
        data: object = json.loads(
            value, object_pairs_hook=_unique_keys, parse_constant=_no_constants
        )
    except RecursionError as err:
        raise ValueError("a button value is nested too deeply") from err
    if not isinstance(data, dict) or "c" not in data or not data.keys() <= _VALUE_KEYS:
        raise ValueError('a button value is an object with "c" and optionally "a" and "f"')
    command = _checked_command(data["c"])
    args = _checked_args(data.get("a", {}))
    opens_form = data.get("f", False)
    if not isinstance(opens_form, bool):
        raise ValueError('"f" is true or false')
    return Button(" ".join(command), command, args, opens_form=opens_form)
