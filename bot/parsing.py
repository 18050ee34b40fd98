"""One parser for typed commands, shared by Slack's slash-command text and the console.

Rules, in the order a member meets them:

* ``key=value`` sets an option. An unquoted value runs until the next ``key=`` that
  names an option of the command, so ``contact=Dana Lee org=Acme`` works as typed and the
  value keeps its exact characters (line breaks included).
* Quotes group words: ``contact="Dana Lee"``. Straight and curly quotes both work, since
  phones turn ``"`` into ``“”``.
* Words before the first ``key=`` fill the command's positional options in order
  (``prompts trends``); the last positional option takes the rest (``contact Dana Lee``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.registry import Command, Registry
from bot.values import UserError

__all__ = ["ParsedText", "parse_command_text", "split_args"]

_CLOSERS = {'"': '"', "“": "”", "”": "”", "„": "“", "'": "'", "‘": "’", "«": "»"}
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)=")


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    key: str | None  # the option name for key tokens
    value_start: int  # where the value starts (after "key=") or the token start


@dataclass(frozen=True, slots=True)
class ParsedText:
    command: Command
    args: dict[str, str]


def _scan(text: str) -> list[tuple[int, int]]:
    """Split into whitespace-separated tokens; a quote at a value's start spans whitespace."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        key = _KEY.match(text, i)
        value_at = key.end() if key else i
        if value_at < n and text[value_at] in _CLOSERS:
            closer = _CLOSERS[text[value_at]]
            close = text.find(closer, value_at + 1)
            if text[value_at] in "'‘" and close == -1:
                close = -2  # a lone apostrophe is just an apostrophe
            if close == -1:
                raise UserError(
                    "A quote was opened but never closed. Put the closing quote after the "
                    'value, e.g. contact="Dana Lee".'
                )
            if close >= 0:
                i = close + 1
                while i < n and not text[i].isspace():
                    i += 1
                spans.append((start, i))
                continue
        while i < n and not text[i].isspace():
            i += 1
        spans.append((start, i))
    return spans


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] in _CLOSERS and raw.endswith(_CLOSERS[raw[0]]):
        inner = raw[1:-1]
        if _CLOSERS[raw[0]] not in inner:
            return inner
    return raw


def split_args(command: Command, text: str) -> dict[str, str]:
    """Turn the text after a command's name into raw option values (strings)."""
    names = {o.name for o in command.options if not o.hidden}
    tokens: list[_Token] = []
    for start, end in _scan(text):
        key = _KEY.match(text, start, end)
        if key and key.group(1).lower() in names:
            tokens.append(_Token(start, end, key.group(1).lower(), key.end()))
        elif key:
            close = difflib.get_close_matches(key.group(1).lower(), sorted(names), n=1)
            hint = f" Did you mean {close[0]}=?" if close else ""
            known = ", ".join(f"{n}=" for n in sorted(names)) or "none"
            raise UserError(
                f"`{command.name}` has no option {key.group(1)!r}.{hint} "
                f"Its options: {known}. If '=' is part of your text, put the whole value "
                'in quotes, e.g. notes="a=b".'
            )
        else:
            tokens.append(_Token(start, end, None, start))

    args: dict[str, str] = {}
    key_positions = [i for i, t in enumerate(tokens) if t.key is not None]
    first_key = key_positions[0] if key_positions else len(tokens)

    positional = [o for o in command.options if o.positional and not o.hidden]
    leading = tokens[:first_key]
    if leading:
        if not positional:
            stray = text[leading[0].start : leading[-1].end]
            example = f" For example: {command.examples[0]}" if command.examples else ""
            raise UserError(
                f"I didn't understand {stray[:60]!r}. `{command.name}` takes key=value "
                f"options.{example}"
            )
        for index, option in enumerate(positional):
            if index >= len(leading):
                break
            if index == len(positional) - 1:
                raw = text[leading[index].start : leading[-1].end]
            else:
                raw = text[leading[index].start : leading[index].end]
            args[option.name] = _unquote(raw)

    for pos, token_index in enumerate(key_positions):
        token = tokens[token_index]
        assert token.key is not None
        if token.key in args:
            raise UserError(f"{token.key}= is given twice; give it once.")
        next_index = key_positions[pos + 1] if pos + 1 < len(key_positions) else len(tokens)
        end = tokens[next_index - 1].end
        args[token.key] = _unquote(text[token.value_start : end])
    return args


def parse_command_text(registry: Registry, text: str) -> ParsedText:
    """Find the command named at the start of ``text`` and split the rest into options."""
    stripped = text.strip()
    for prefix in ("/tiara", "tiara"):
        if stripped.casefold().startswith(prefix) and (
            len(stripped) == len(prefix) or stripped[len(prefix)].isspace()
        ):
            stripped = stripped[len(prefix) :].strip()
            break
    stripped = stripped.removeprefix("/").strip()
    if not stripped:
        return ParsedText(registry.get(("help",)), {})
    words = stripped.split(None, 3)
    # Only plain words can name a command; "log contact=x" stops at "contact=x".
    name_words = []
    for word in words:
        if "=" in word or word[0] in _CLOSERS:
            break
        name_words.append(word)
    try:
        command, used = registry.match(name_words or words[:1])
    except UserError:
        members = registry.subcommands(name_words[0]) if name_words else []
        if members and len(name_words) > 1:
            # A mistyped subcommand (`practice jion`): the closest one, if any is close.
            names = {name.split()[-1]: name for name, _ in members}
            close = difflib.get_close_matches(name_words[1].casefold(), list(names), n=1)
            if close:
                shown = " ".join(name_words[:2])[:40]
                raise UserError(
                    f"I don't know the command {shown!r}. Did you mean `{names[close[0]]}`? "
                    f"`/tiara help {name_words[0].casefold()}` lists the others."
                ) from None
        if members:
            # A group's name (`practice`, `coach`), alone or with a word it doesn't know:
            # show what the group has.
            return ParsedText(registry.get(("help",)), {"command": " ".join(name_words[:2])})
        raise
    rest = stripped
    for _ in range(used):
        rest = rest.lstrip()
        rest = rest[len(rest.split(None, 1)[0]) :]
    return ParsedText(command, split_args(command, rest))
