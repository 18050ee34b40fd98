"""Short ids of a member's meetings and requests: M3 for a meeting, R2 for a request.

Each kind is numbered on its own (a member's first meeting is M1 whatever requests came
before), so M3 and R3 can both exist: the letter says which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.values import UserError

__all__ = ["MAX_ITEM", "ItemRef", "item_label", "looks_like_item", "parse_item", "parse_nudge"]

_NUDGE = re.compile(r"#?\s*n?\s*(\d{1,9})", re.IGNORECASE)
_ITEM = re.compile(r"#?\s*([mr])?\s*(\d{1,9})", re.IGNORECASE)
MAX_ITEM = 10**9  # ids have at most 9 digits, typed or carried by a button


def item_label(kind: str, seq: int) -> str:
    """A short id as members see it."""
    return f"{kind}{seq}"


@dataclass(frozen=True, slots=True)
class ItemRef:
    """A short id as given: the number, and the letter when one was typed.

    ``from_button``: a bare number carried by a button of an older message, from when one
    counter numbered both kinds (so it named one item then, the older of two today).
    """

    seq: int
    kind: str | None = None  # "M", "R" or None
    from_button: bool = False

    def __str__(self) -> str:
        return item_label(self.kind or "#", self.seq)


def looks_like_item(text: str) -> bool:
    return _ITEM.fullmatch(text.strip()) is not None


def parse_item(value: object) -> ItemRef:
    """Read a short id (M3, r2, #3, 3, or a number from a button)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_ITEM:
        return ItemRef(value, from_button=True)
    text = str(value).strip()
    match = _ITEM.fullmatch(text)
    if match is None or int(match.group(2)) == 0:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise UserError(
            f"{shown!r} is not an id. Ids look like M3 (a meeting) or R2 (a request); "
            "`/tiara meetings` lists yours."
        )
    letter = match.group(1)
    return ItemRef(int(match.group(2)), letter.upper() if letter else None)


def parse_nudge(value: object) -> int:
    """Read a reminder's short id (N4, n4, 4) as its number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < MAX_ITEM:
        return value
    text = str(value).strip()
    match = _NUDGE.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise UserError(
            f"{shown!r} is not a reminder id. Reminder ids look like N4; "
            "`/tiara followups` lists yours."
        )
    return int(match.group(1))
