"""One meeting or request, by its id: showing it, changing it, deleting it.

Recording them is in :mod:`bot.usecases.requests` and :mod:`bot.usecases.meetings`,
contacts in :mod:`bot.usecases.contacts`, finding them in :mod:`bot.usecases.lookup`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum

from bot.items import ItemRef
from bot.nudges import kinds as k
from bot.usecases import Scope
from bot.usecases.contacts import NameToCheck, name_to_check
from bot.usecases.lookup import Item, find_item, label, upsert_contact
from bot.values import UserError
from storage.enums import RequestStatus
from storage.models import Contact, Meeting
from storage.tracker import name_key

__all__ = [
    "KEEP",
    "DeleteAsked",
    "Edits",
    "ItemDeleted",
    "ItemEdited",
    "ItemView",
    "delete_item",
    "edit_item",
    "show_item",
]


@dataclass(frozen=True)
class ItemView:
    """One meeting or request in full; for a meeting, whom its contact referred."""

    item: Item
    referrals: tuple[Contact, ...] = ()


async def show_item(scope: Scope, ref: ItemRef | str, *, command: str = "show") -> ItemView:
    item = await find_item(scope, ref, command=command)
    if not isinstance(item, Meeting):
        return ItemView(item)
    referrals = await scope.uow.tracker.referrals_of(scope.member.id, item.contact_id)
    return ItemView(item, tuple(referrals))


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # an edit leaves this as it is (None clears it)


@dataclass(frozen=True)
class Edits:
    """What to change on a meeting or request: a value replaces the old one, None clears
    it, KEEP (the default) leaves it. org and role are the meeting's contact's; contact
    moves the item to another contact; referrals replaces whom they suggested."""

    when: datetime | _Keep | None = KEEP
    venue: str | _Keep | None = KEEP
    notes: str | _Keep | None = KEEP
    followups: str | _Keep | None = KEEP
    org: str | _Keep | None = KEEP
    role: str | _Keep | None = KEEP
    via: str | _Keep | None = KEEP
    contact: str | _Keep | None = KEEP
    referrals: Sequence[str] | _Keep | None = KEEP

    def given(self) -> dict[str, object]:
        """The changes, by option name."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not KEEP}


_MEETING_EDITS = {"when", "venue", "notes", "followups", "org", "role", "contact", "referrals"}
_REQUEST_EDITS = {"when", "via", "contact"}
_NEEDED = {"when", "contact", "via"}  # can be changed, never emptied


@dataclass(frozen=True)
class ItemEdited:
    item: Item
    edits: Edits
    changed: tuple[str, ...]  # given a new value, sorted (contact aside)
    cleared: tuple[str, ...]  # emptied, sorted
    moved: bool  # now with another contact (item.contact)


async def edit_item(
    scope: Scope,
    ref: ItemRef | str,
    edits: Edits,
    *,
    new: Collection[str] = (),
    command: str = "edit",
) -> ItemEdited | NameToCheck:
    """Change a meeting's when, venue, notes, followups, org, role, contact or
    referrals, or a request's when, via or contact, and plan its reminders again.
    Recorded facts, such as a thank-you sent, stay. A new contact's or referral's name
    close to a contact's (not answered as ``new``) is asked about first."""
    item = await find_item(scope, ref, command=command)
    changes = edits.given()
    allowed = _MEETING_EDITS if isinstance(item, Meeting) else _REQUEST_EDITS
    if not changes:
        raise UserError(
            f"Say what to change, e.g. /tiara edit {label(item)} "
            + ('notes="..."' if isinstance(item, Meeting) else "via=phone")
            + f". You can change: {', '.join(sorted(allowed))}."
        )
    wrong = sorted(set(changes) - allowed)
    if wrong:
        raise UserError(
            f"{label(item)} has no {', '.join(wrong)} to change. You can change: "
            f"{', '.join(sorted(allowed))}."
        )
    emptied = sorted(key for key, value in changes.items() if value is None and key in _NEEDED)
    if emptied:
        raise UserError(
            f"{', '.join(f'{key}=' for key in emptied)} can be changed but not left empty; "
            f"give a new value, e.g. /tiara edit {label(item)} {emptied[0]}=..."
        )
    contact = edits.contact if isinstance(edits.contact, str) else None
    if contact and name_key(contact) != item.contact.name_key:
        # Close to the name it has? Then the name is being corrected (Dana Le to Dana Lee).
        asked = await name_to_check(scope, "contact", contact, new=new, besides=item.contact)
        if asked is not None:
            return asked
    referrals = edits.referrals if not isinstance(edits.referrals, _Keep) else None
    if isinstance(item, Meeting) and referrals:
        asked = await name_to_check(scope, "referrals", referrals, new=new)
        if asked is not None:
            return asked
    before = item.contact
    if contact is not None:
        if name_key(contact) == before.name_key:
            del changes["contact"]
        else:
            item.contact, _ = await upsert_contact(scope, contact)
    if isinstance(item, Meeting):
        await _edit_meeting(scope, item, edits, changes)
    else:
        if isinstance(edits.when, datetime):
            if edits.when > scope.now:
                raise UserError("A request's when= can't be in the future.")
            item.sent_at = edits.when
        if isinstance(edits.via, str):
            item.via = edits.via
        if item.status == RequestStatus.PENDING and ("when" in changes or "contact" in changes):
            await scope.uow.flush()
            await scope.nudges.request_sent(item)
    moved = "contact" in changes
    if moved:
        await scope.uow.flush()
        await scope.nudges.keep_in_touch(before)  # met them still? else no keep-in-touch
    cleared = sorted(key for key, value in changes.items() if value is None)
    changed = sorted(key for key, value in changes.items() if value is not None)
    return ItemEdited(
        item, edits, tuple(c for c in changed if c != "contact"), tuple(cleared), moved
    )


async def _edit_meeting(
    scope: Scope, item: Meeting, edits: Edits, changes: dict[str, object]
) -> None:
    thanked = item.thanks_at
    if isinstance(edits.when, datetime):
        item.held_at = edits.when
    for key in ("venue", "notes", "followups"):
        if key in changes:
            setattr(item, key, changes[key])
    if not isinstance(edits.org, _Keep):
        item.contact.organization = edits.org
    if not isinstance(edits.role, _Keep):
        item.contact.title = edits.role
    item.updated_at = scope.now
    if not isinstance(edits.referrals, _Keep):
        await _set_referrals(scope, item, edits.referrals or [])
    if "when" in changes or "contact" in changes:
        await scope.uow.flush()
        await scope.nudges.meeting_changed(item)
        if thanked is not None and item.thanks_at is None:
            # A recorded thank-you is a fact: moving the meeting doesn't undo it.
            item.thanks_at = thanked
            await scope.nudges.cancel((k.THANKS, k.THANKS_LAST), meeting=item)
    if item.held_at <= scope.now and ("notes" in changes or "followups" in changes):
        await scope.nudges.meeting_logged_after_the_fact(item)


async def _set_referrals(scope: Scope, meeting: Meeting, names: Sequence[str]) -> None:
    """Make ``names`` exactly the people the meeting's contact referred."""
    source = meeting.contact
    keys = {name_key(n) for n in names}
    if source.name_key in keys:
        raise UserError(f"{source.name} can't be their own referral; check referrals=.")
    for old in await scope.uow.tracker.referrals_of(scope.member.id, source.id):
        if old.name_key not in keys:
            old.referred_by_id = None
            old.updated_at = scope.now
    await scope.uow.flush()
    for name in names:
        referral, created = await upsert_contact(scope, name)
        referral.referred_by_id = source.id
        if created:
            await scope.nudges.referral_received(referral, meeting)


@dataclass(frozen=True)
class DeleteAsked:
    """Nothing is deleted yet: the member is to confirm."""

    item: Item


@dataclass(frozen=True)
class ItemDeleted:
    item: Item  # deleted: its id and contact, as they were
    contact: Contact  # kept


async def delete_item(
    scope: Scope, ref: ItemRef | str, *, confirm: bool, command: str = "delete"
) -> DeleteAsked | ItemDeleted:
    """Delete a meeting or request (once confirmed); the contact stays."""
    item = await find_item(scope, ref, command=command)
    if not confirm:
        return DeleteAsked(item)
    person = item.contact
    await scope.uow.delete(item)
    await scope.uow.flush()
    await scope.nudges.keep_in_touch(person)  # no longer "met"? then no keep-in-touch either
    return ItemDeleted(item, person)
