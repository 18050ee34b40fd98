"""Contacts: their details, everything about one of them, deleting one, and the check
before a typed name becomes a new contact."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from bot.items import looks_like_item
from bot.usecases import Scope
from bot.usecases.lookup import find_contact, likely_meant, upsert_contact
from bot.values import UserError
from storage.models import Contact, Meeting, OutreachRequest
from storage.tracker import name_key

__all__ = [
    "ContactDeleted",
    "ContactDetails",
    "ContactSaved",
    "ContactView",
    "DeleteContactAsked",
    "NameToCheck",
    "contact_card",
    "delete_contact",
    "name_to_check",
    "save_contact",
]


@dataclass(frozen=True)
class NameToCheck:
    """Nothing is saved: ``typed``, given as a new contact in ``option``, is close to the
    name of contacts the member has (``meant``): Erik for Erik Berg, Dana L for Dana Lee.
    ``names`` is every name the option gave, when it takes several."""

    option: str
    typed: str
    meant: tuple[str, ...]
    names: tuple[str, ...] | None = None


async def name_to_check(
    scope: Scope,
    option: str,
    value: str | Sequence[str] | None,
    *,
    new: Collection[str] = (),
    besides: Contact | None = None,
) -> NameToCheck | None:
    """The first name in ``value`` to ask about before it becomes a new contact; None
    when each is someone known, clearly someone new, or was answered as new (``new``).
    ``besides`` is the contact whose name is being corrected."""
    several = value is not None and not isinstance(value, str)
    typed = ([value] if value else []) if isinstance(value, str) else list(value or ())
    new_keys = {name_key(n) for n in new}
    for name in typed:
        if name_key(name) in new_keys or looks_like_item(name):
            continue
        meant = await likely_meant(scope, name, besides=besides)
        if meant:
            return NameToCheck(option, name, tuple(meant), tuple(typed) if several else None)
    return None


# A contact's details: the option names and the columns they fill.
COLUMNS = {
    "title": "title",
    "org": "organization",
    "field": "field",
    "email": "email",
    "url": "profile_url",
    "phone": "phone",
    "notes": "notes",
}


@dataclass(frozen=True)
class ContactDetails:
    """Details to save on a contact; None leaves one as it is."""

    title: str | None = None
    org: str | None = None
    field: str | None = None
    email: str | None = None
    url: str | None = None
    phone: str | None = None
    notes: str | None = None

    def given(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class ContactSaved:
    contact: Contact
    created: bool
    changed: tuple[str, ...]  # the details saved, by option name, sorted; referred_by last


async def save_contact(
    scope: Scope,
    name: str,
    *,
    details: ContactDetails,
    referred_by: str | None = None,
    new: Collection[str] = (),
) -> ContactSaved | NameToCheck:
    """Save details of a contact (added if new), and who introduced them."""
    updates = details.given()
    referrer = await find_contact(scope, referred_by) if referred_by is not None else None
    asked = await name_to_check(scope, "name", name, new=new)
    if asked is not None:
        return asked
    person, created = await upsert_contact(scope, name)
    if referrer is not None:
        if referrer.id == person.id:
            raise UserError("A contact can't be referred by themselves.")
        person.referred_by_id = referrer.id
    for key, value in updates.items():
        setattr(person, COLUMNS[key], value)
    person.updated_at = scope.now
    await scope.uow.flush()
    changed = sorted(updates) + (["referred_by"] if referrer is not None else [])
    return ContactSaved(person, created, tuple(changed))


@dataclass(frozen=True)
class ContactView:
    """Everything about one contact, as of ``now``."""

    contact: Contact
    referrer: Contact | None
    requests: tuple[OutreachRequest, ...]
    meetings: tuple[Meeting, ...]
    referrals: tuple[Contact, ...]  # whom they referred the member to
    last_interaction: datetime | None
    now: datetime
    tz: str


async def contact_card(scope: Scope, name: str) -> ContactView:
    """One contact (found as :func:`find_contact` finds them) with their requests,
    meetings, referrals and the member's last interaction with them."""
    person = await find_contact(scope, name)
    referrer = await person.awaitable_attrs.referred_by
    mid = scope.member.id
    requests = tuple(await scope.uow.tracker.requests_to(mid, person.id))
    met = tuple(await scope.uow.tracker.meetings_with(mid, person.id))
    referrals = tuple(await scope.uow.tracker.referrals_of(mid, person.id))
    moments = [r.sent_at for r in requests] + [r.replied_at for r in requests if r.replied_at]
    moments += [m.held_at for m in met if m.held_at <= scope.now]
    moments += [m.thanks_at for m in met if m.thanks_at]
    last = max((m for m in moments if m is not None), default=None)
    return ContactView(person, referrer, requests, met, referrals, last, scope.now, scope.tz)


@dataclass(frozen=True)
class DeleteContactAsked:
    """Nothing is deleted yet: the member is to confirm."""

    contact: Contact
    meetings: int
    requests: int


@dataclass(frozen=True)
class ContactDeleted:
    name: str


async def delete_contact(
    scope: Scope, name: str, *, confirm: bool
) -> DeleteContactAsked | ContactDeleted:
    """Delete a contact with their meetings, requests and reminders (once confirmed);
    people they referred stay, referred by no one."""
    person = await find_contact(scope, name)
    uow, mid = scope.uow, scope.member.id
    meetings = await uow.tracker.meetings_with(mid, person.id)
    requests = await uow.tracker.requests_to(mid, person.id)
    if not confirm:
        return DeleteContactAsked(person, len(meetings), len(requests))
    for referral in await uow.tracker.referrals_of(mid, person.id):
        referral.referred_by_id = None
    for nudge in await uow.nudges.pending(mid, contact_id=person.id):
        await uow.delete(nudge)
    for item in [*meetings, *requests]:
        for nudge in await uow.nudges.pending(
            mid,
            meeting_id=item.id if isinstance(item, Meeting) else None,
            request_id=item.id if isinstance(item, OutreachRequest) else None,
        ):
            await uow.delete(nudge)
        await uow.delete(item)
    await uow.delete(person)
    await uow.flush()
    return ContactDeleted(person.name)
