"""Finding a member's contacts, meetings and requests by what they typed, and the
one-line summaries that name them (in answers, and in the errors that list candidates)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.items import ItemRef, item_label, looks_like_item, parse_item
from bot.nudges.plan import Planner
from bot.timeutil import days_ago, format_when
from bot.usecases import Scope
from bot.values import UserError
from storage.enums import RequestStatus
from storage.models import Contact, Meeting, OutreachRequest
from storage.tracker import name_key

__all__ = [
    "THANKS_WINDOW",
    "Clocked",
    "Item",
    "clip",
    "find_contact",
    "find_item",
    "label",
    "likely_meant",
    "meeting_line",
    "request_line",
    "thanks_state",
    "upsert_contact",
    "who",
]

THANKS_WINDOW = timedelta(hours=24)

Item = Meeting | OutreachRequest


class Clocked(Protocol):
    """The moment and the member's timezone a summary is written for (a Scope, a
    command's Context, a view)."""

    @property
    def now(self) -> datetime: ...

    @property
    def tz(self) -> str: ...


def label(item: Item) -> str:
    return item_label("M" if isinstance(item, Meeting) else "R", item.seq)


def who(contact: Contact) -> str:
    return f"{contact.name} ({contact.organization})" if contact.organization else contact.name


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _starts(name: str, typed: str) -> bool:
    """Whether ``typed`` begins the name, or begins its words from one of them on."""
    words = name.casefold().split()
    wanted = " ".join(typed.casefold().split())
    return any(" ".join(words[i:]).startswith(wanted) for i in range(len(words)))


async def find_contact(scope: Scope, name: str) -> Contact:
    """One of the member's contacts by name, a unique start of a name (``Priya`` for
    Priya Shah), or a meeting's or request's id (``R15``, their contact); else an error
    listing the candidates or close names."""
    uow, mid = scope.uow, scope.member.id
    contact = await uow.tracker.contact_by_name(mid, name)
    if contact is not None:
        return contact
    if looks_like_item(name):
        ref = parse_item(name)
        numbered = await _items_numbered(scope, ref)
        if len({item.contact_id for item in numbered}) == 1:  # or M3 and R3, one person
            return numbered[0].contact
        raise UserError(
            _which_one(scope, ref, numbered) if numbered else await _not_found(scope, ref)
        )
    names = await uow.tracker.contact_names(mid)
    if name.strip():
        starting = [n for n in names if _starts(n, name)]
        if len(starting) == 1:
            found = await uow.tracker.contact_by_name(mid, starting[0])
            if found is not None:
                return found
        if len(starting) > 1:
            few = starting[:8]
            more = f" (and {len(starting) - len(few)} more)" if len(starting) > len(few) else ""
            raise UserError(
                f"{clip(name)!r} could be {', '.join(few)}{more}. Type more of the name, "
                f'e.g. "{few[0]}".'
            )
    folded = {n.casefold(): n for n in names}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
    starts = [n for k, n in folded.items() if k.startswith(name.casefold())]
    suggestions = list(dict.fromkeys(starts + [folded[c] for c in close]))[:3]
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    shown = name if len(name) <= 60 else name[:60] + "…"
    raise UserError(
        f"You have no contact named {shown!r}.{hint} A contact is added when you log a "
        "request or meeting with them."
    )


# How alike a new name must be to an existing contact's to ask whether that one was meant
# ("Hana Itto" for Hana Ito), as difflib's ratio of the folded names.
_ALIKE = 0.9


async def likely_meant(scope: Scope, typed: str, *, besides: Contact | None = None) -> list[str]:
    """Existing contacts a name typed for a NEW contact likely meant: names it begins
    (``Erik`` for Erik Berg, ``Dana L`` for Dana Lee) or nearly spells (``Hana Itto``),
    leaving out ``besides`` (the contact whose name is being corrected).

    Empty when ``typed`` is a contact's name already (any case), or too short to tell.
    Names with other numbers in them (Person 1, Person 10) are other people.
    """
    uow, mid = scope.uow, scope.member.id
    wanted = " ".join(typed.split())
    if len(wanted) < 2 or await uow.tracker.contact_by_name(mid, wanted) is not None:
        return []
    digits = re.sub(r"\D", "", wanted)
    names = [
        n
        for n in await uow.tracker.contact_names(mid)
        if re.sub(r"\D", "", n) == digits and (besides is None or name_key(n) != besides.name_key)
    ]
    starting = [n for n in names if _starts(n, wanted)]
    folded = {n.casefold(): n for n in names}
    alike = difflib.get_close_matches(wanted.casefold(), list(folded), n=3, cutoff=_ALIKE)
    return list(dict.fromkeys(starting + [folded[a] for a in alike]))[:3]


async def upsert_contact(
    scope: Scope,
    name: str,
    *,
    org: str | None = None,
    role: str | None = None,
    referred_by: Contact | None = None,
    met_at: datetime | None = None,
) -> tuple[Contact, bool]:
    """The member's contact called ``name``, created if new.

    Org and role are updated when given; ``referred_by`` is recorded unless the contact
    already has a referrer. A new contact met at ``met_at`` has that as its last
    interaction from the start (the planner would record it later, in an UPDATE).
    """
    contact = await scope.uow.tracker.contact_by_name(scope.member.id, name)
    created = contact is None
    if contact is None:
        contact = Contact(
            workspace_id=scope.member.workspace_id,
            member_id=scope.member.id,
            name=name,
            name_key=name_key(name),
            created_at=scope.now,
            updated_at=scope.now,
        )
        scope.uow.add(contact)
    if referred_by is not None and contact.referred_by_id is None:
        contact.referred_by_id = referred_by.id
    if org is not None:
        contact.organization = org
    if role is not None:
        contact.title = role
    if org is not None or role is not None:
        contact.updated_at = scope.now
    if created and met_at is not None:
        Planner.remember(contact, met_at)
    await scope.uow.flush()
    return contact, created


_KIND_NAMES = {"M": "meeting", "R": "request"}


async def find_item(
    scope: Scope,
    ref: ItemRef | str,
    *,
    want: type[Meeting] | type[OutreachRequest] | None = None,
    prefer: Callable[[Item], bool] | None = None,
    command: str = "show",
) -> Item:
    """The member's meeting or request with this short id, or named by its contact.

    M3 is meeting 3 and R3 request 3. A bare number (3, #3) that both have is the one of
    the ``want`` kind, the older from a button (one counter numbered both kinds then);
    otherwise the member is asked which.

    With a name, the contact's items of the wanted kind are the candidates (those
    ``prefer`` likes, when it likes any); one candidate is the answer, several are listed
    with their ids so the member can pick one, in an example of ``command`` (the words
    after ``/tiara``).
    """
    if isinstance(ref, str):
        return await _item_named(scope, ref, want=want, prefer=prefer, command=command)
    found = await _items_numbered(scope, ref)
    if len(found) > 1 and want is not None:
        # M3 and R3, for a command that acts on one kind: `reply 3` is about R3.
        found = [item for item in found if isinstance(item, want)]
    if len(found) > 1 and ref.from_button:
        # A button of a message from when one counter numbered both kinds: it meant the
        # item that had the number then, the older.
        found = [min(found, key=lambda item: item.created_at)]
    if len(found) > 1:
        raise UserError(_which_one(scope, ref, found))
    if not found:
        raise UserError(await _not_found(scope, ref))
    return found[0]


async def _items_numbered(scope: Scope, ref: ItemRef) -> list[Item]:
    """The member's items with ``ref``'s number, of its kind when it has a letter."""
    if ref.kind is None:
        return await scope.uow.tracker.items_by_seq(scope.member.id, ref.seq)
    item = await scope.uow.tracker.item_by_seq(scope.member.id, ref.seq, ref.kind)
    return [] if item is None else [item]


async def _not_found(scope: Scope, ref: ItemRef) -> str:
    other_kind = {"M": "R", "R": "M"}.get(ref.kind or "")
    if ref.kind is not None and other_kind is not None:
        other = await scope.uow.tracker.item_by_seq(scope.member.id, ref.seq, other_kind)
        if other is not None:
            actual = label(other)
            return (
                f"You have no {_KIND_NAMES[ref.kind]} {ref}; #{ref.seq} is your "
                f"{_KIND_NAMES[other_kind]} {actual}. Use {actual} if that's the one."
            )
    return (
        f"I can't find {ref} among your meetings and requests. "
        "`/tiara meetings` lists them with their ids."
    )


def _which_one(scope: Scope, ref: ItemRef, found: list[Item]) -> str:
    """Ask which of a meeting and a request with the same number was meant."""
    meant = [
        f"{label(item)} (your meeting with {item.contact.name}, {scope.when(item.held_at)})"
        if isinstance(item, Meeting)
        else f"{label(item)} (your request to {item.contact.name}, "
        f"sent {days_ago(item.sent_at, scope.now, scope.tz)})"
        for item in found
    ]
    ids = " or ".join(label(item) for item in found)
    return (
        f"You have a meeting and a request numbered {ref.seq}. Did you mean "
        f"{' or '.join(meant)}? Type the letter with the number: {ids}."
    )


async def _item_named(
    scope: Scope,
    name: str,
    *,
    want: type[Meeting] | type[OutreachRequest] | None,
    prefer: Callable[[Item], bool] | None,
    command: str,
) -> Item:
    try:
        person = await find_contact(scope, name)
    except UserError as err:
        raise UserError(
            err.message + " Or give an id such as M3 or R2: `/tiara meetings` lists them."
        ) from None
    items: list[Item] = []
    if want is not OutreachRequest:
        items += await scope.uow.tracker.meetings_with(scope.member.id, person.id)
    if want is not Meeting:
        items += await scope.uow.tracker.requests_to(scope.member.id, person.id)
    what = (
        "meetings"
        if want is Meeting
        else "requests"
        if want is OutreachRequest
        else "meetings or requests"
    )
    if not items:
        raise UserError(
            f"You have no {what} with {person.name} yet. `/tiara meetings` lists yours."
        )
    liked = [i for i in items if prefer(i)] if prefer is not None else []
    candidates = liked or items
    if len(candidates) == 1:
        return candidates[0]
    lines = [
        "• " + (meeting_line(scope, i) if isinstance(i, Meeting) else request_line(scope, i))
        for i in candidates[:10]
    ]
    return_hint = f"/tiara {command} {label(candidates[0])}"
    raise UserError(
        f"You have {len(candidates)} {what} with {person.name}; say which by its id:\n"
        + "\n".join(lines)
        + f"\n\nFor example: {return_hint}"
    )


def thanks_state(at: Clocked, meeting: Meeting) -> str | None:
    """Where the thank-you note stands, for a meeting that has happened."""
    if meeting.held_at > at.now:
        return None
    if meeting.thanks_at is not None:
        late = meeting.thanks_at - meeting.held_at > THANKS_WINDOW
        return f"thank-you sent {format_when(meeting.thanks_at, at.tz)}" + (
            " (late)" if late else ""
        )
    deadline = meeting.held_at + THANKS_WINDOW
    if at.now < deadline:
        return f"thank-you due by {format_when(deadline, at.tz)}"
    return "no thank-you recorded"


def meeting_line(at: Clocked, meeting: Meeting) -> str:
    parts = [label(meeting), format_when(meeting.held_at, at.tz), who(meeting.contact)]
    if meeting.venue:
        parts.append(meeting.venue)
    state = thanks_state(at, meeting)
    if state:
        parts.append(state)
    return " · ".join(parts)


def request_line(at: Clocked, request: OutreachRequest) -> str:
    age = days_ago(request.sent_at, at.now, at.tz)
    parts = [label(request), who(request.contact), f"via {request.via}", f"sent {age}"]
    if request.status != RequestStatus.PENDING:
        parts.append(request.status + (f" ({request.outcome})" if request.outcome else ""))
    return " · ".join(parts)
