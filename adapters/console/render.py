"""Messages as terminal text."""

from __future__ import annotations

import textwrap

from bot.values import Message

__all__ = ["render"]

_BOLD, _RED, _DIM, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m"


def _strip_controls(text: str) -> str:
    """Drop terminal control characters so stored text can't move the cursor or recolour."""
    return "".join(c for c in text if c in "\n\t" or (c >= " " and c != "\x7f"))


def render(message: Message, *, color: bool = False) -> str:
    """Render a message as plain lines; buttons become numbered choices."""
    bold, red, dim, reset = (_BOLD, _RED, _DIM, _RESET) if color else ("", "", "", "")
    lines: list[str] = []
    if message.title:
        lines.append(f"{bold}{_strip_controls(message.title)}{reset}")
    if message.fields:
        width = max(len(f.label) for f in message.fields)
        for field in message.fields:
            value = _strip_controls(field.value)
            first, *rest = value.splitlines() or [""]
            lines.append(f"  {field.label + ':':<{width + 1}} {first}")
            lines.extend(textwrap.indent(line, " " * (width + 4)) for line in rest)
    if message.text:
        text = _strip_controls(message.text)
        lines.append(f"{red}{text}{reset}" if message.error else text)
    if message.buttons:
        choices = "  ".join(f"[{i}] {b.label}" for i, b in enumerate(message.buttons, 1))
        lines.append(f"{dim}{choices}  (type a number){reset}")
    return "\n".join(lines)
