"""Requests for an informational interview: recording one sent, and the answer to it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.items import ItemRef, looks_like_item, parse_item
from bot.nudges import kinds as k
from bot.nudges.plan import CHECK_BACK_AFTER
from bot.usecases import Scope
from bot.usecases.contacts import NameToCheck, name_to_check
from bot.usecases.lookup import find_contact, find_item, label, upsert_contact
from bot.values import UserError
from storage.enums import RequestOutcome, RequestStatus
from storage.models import Contact, Nudge, OutreachRequest

__all__ = [
    "ReplyAgain",
    "ReplyRecorded",
    "RequestRecorded",
    "RequestWaiting",
    "record_reply",
    "record_request",
]


@dataclass(frozen=True)
class RequestRecorded:
    request: OutreachRequest
    contact: Contact
    created_contact: bool
    follow_up: Nudge | None  # the first reminder planned, if no reply comes


@dataclass(frozen=True)
class RequestWaiting:
    """Nothing is saved: a request to the same contact still waits for a reply."""

    contact: Contact
    waiting: OutreachRequest


async def record_request(
    scope: Scope,
    *,
    contact: str,
    org: str | None = None,
    role: str | None = None,
    via: str = "email",
    sent_at: datetime | None = None,
    email: str | None = None,
    confirm: bool = False,
    new: Collection[str] = (),
) -> RequestRecorded | NameToCheck | RequestWaiting:
    """Record a request sent to ``contact`` (added if new), pending until they answer,
    and plan the follow-up reminders. Unless ``confirm``, a name close to a contact's
    (not answered as ``new``) or a request to them still waiting is asked about first."""
    asked = await name_to_check(scope, "contact", contact, new=new)
    if asked is not None:
        return asked
    uow, member = scope.uow, scope.member
    known = await uow.tracker.contact_by_name(member.id, contact)
    if known is not None and not confirm:
        waiting = await uow.tracker.pending_requests_to(member.id, known.id)
        if waiting:
            return RequestWaiting(known, waiting[0])
    person, created = await upsert_contact(scope, contact, org=org, role=role)
    if email is not None:
        person.email = email
    row = OutreachRequest(
        workspace_id=member.workspace_id,
        member_id=member.id,
        seq=await uow.members.allocate_seq(member, "R"),
        contact=person,
        via=via,
        sent_at=sent_at if sent_at is not None else scope.now,
        status=RequestStatus.PENDING,
        created_at=scope.now,
    )
    uow.add(row)
    await uow.flush()
    await scope.nudges.request_sent(row)
    planned = await uow.nudges.pending(member.id, request_id=row.id, limit=1)
    return RequestRecorded(row, person, created, planned[0] if planned else None)


@dataclass(frozen=True)
class ReplyRecorded:
    """The answer recorded on ``requests`` (one, or every request to them waiting)."""

    requests: tuple[OutreachRequest, ...]
    name: str  # the contact's
    outcome: RequestOutcome
    # The same answer was recorded before: only the check-back date changed. When it was
    # recorded first (None if never).
    repeated: bool
    first_replied_at: datetime | None
    # outcome=later: when the check-back reminder is due, and whether the member chose it.
    check_back: datetime | None
    check_back_chosen: bool
    # The reply was given a time before the request was sent: recorded at that time.
    early: OutreachRequest | None


@dataclass(frozen=True)
class ReplyAgain:
    """The same answer recorded again: nothing changed, unless its time (``moved``)."""

    requests: tuple[OutreachRequest, ...]
    name: str
    outcome: RequestOutcome
    moved: bool
    replied_at: datetime
    check_back: datetime | None  # outcome=later: when the check-back reminder is due


async def record_reply(
    scope: Scope,
    *,
    outcome: RequestOutcome,
    contact: str | None = None,
    item: ItemRef | str | None = None,
    when: datetime | None = None,
    back: datetime | None = None,
    command: str = "reply",
) -> ReplyRecorded | ReplyAgain:
    """Record a contact's answer to a request: scheduled and later mark it replied,
    declined closes it; later plans a check-back reminder (at ``back``, else in two
    weeks). The request is ``item``, else the ones to ``contact`` waiting (an id typed as
    ``contact``, R15, is the request's id unless a contact has that name)."""
    uow, mid = scope.uow, scope.member.id
    if (
        item is None
        and contact is not None
        and looks_like_item(contact)
        and await uow.tracker.contact_by_name(mid, contact) is None
    ):
        item, contact = parse_item(contact), None  # `reply R15`: the request's id
    if item is not None:
        found = await find_item(
            scope,
            item,
            want=OutreachRequest,
            prefer=lambda r: isinstance(r, OutreachRequest) and r.status == RequestStatus.PENDING,
            command=command,
        )
        if not isinstance(found, OutreachRequest):
            raise UserError(f"{label(found)} is a meeting, not a request.")
        settled: list[OutreachRequest] = [found]  # a new answer replaces an earlier one
    elif contact is not None:
        settled = await _answered(scope, await find_contact(scope, contact), outcome)
    else:
        raise UserError('Say whose reply it is: /tiara reply contact="Dana Lee" outcome=scheduled')
    if back is not None and outcome != RequestOutcome.LATER:
        raise UserError("back= is for outcome=later: when they asked you to check back.")
    if back is not None and back <= scope.now:
        raise UserError('Check back at a time still to come, e.g. back="in 3 weeks".')
    name = settled[-1].contact.name
    repeated = all(r.outcome == outcome and r.replied_at is not None for r in settled)
    if repeated and back is None:
        return await _reply_again(scope, settled, name, outcome, when)
    first_replied_at = settled[-1].replied_at
    at = when if when is not None else scope.now
    # A reply can't come before the request it answers: it is recorded at the request's
    # time, and the member is told.
    early = [r for r in settled if at < r.sent_at]
    for req in settled:
        if not repeated or when is not None:  # the same answer again keeps its time
            req.replied_at = max(at, req.sent_at)
        req.outcome = outcome
        req.status = (
            RequestStatus.CLOSED if outcome == RequestOutcome.DECLINED else RequestStatus.REPLIED
        )
        await scope.nudges.request_answered(req)
    due = None
    if outcome == RequestOutcome.LATER:
        rhythm = scope.nudges.rhythm
        check_back = back
        if check_back is None:
            check_back = rhythm.at_nudge_time(rhythm.local_date(scope.now + CHECK_BACK_AFTER))
        nudge = await scope.nudges.check_back(settled[-1], check_back)
        due = nudge.due_at if nudge is not None else check_back
    return ReplyRecorded(
        tuple(settled),
        name,
        outcome,
        repeated,
        first_replied_at,
        due,
        back is not None,
        early[-1] if early else None,
    )


async def _answered(
    scope: Scope, contact: Contact, outcome: RequestOutcome
) -> list[OutreachRequest]:
    """The requests to ``contact`` an answer is about: those waiting for a reply, else
    the latest answered "later", else the latest answered so already."""
    uow, mid = scope.uow, scope.member.id
    settled = list(await uow.tracker.pending_requests_to(mid, contact.id))
    if not settled:
        # "Come back later" and now they answered: that request gets the new outcome.
        later = [
            r
            for r in await uow.tracker.requests_to(mid, contact.id)
            if r.outcome == RequestOutcome.LATER
        ]
        settled = later[-1:]
    if not settled:
        # Already answered so: typed again, it is said to be recorded.
        settled = [
            r for r in await uow.tracker.requests_to(mid, contact.id) if r.outcome == outcome
        ][-1:]
    if not settled:
        raise UserError(
            f"You have no request to {contact.name} waiting for a reply. "
            f'Record one first: /tiara request contact="{contact.name}" via=email'
        )
    return settled


async def _reply_again(
    scope: Scope,
    settled: list[OutreachRequest],
    name: str,
    outcome: RequestOutcome,
    when: datetime | None,
) -> ReplyAgain:
    """The same answer recorded again: nothing changes, unless ``when`` is another time."""
    moved = False
    if when is not None:
        for req in settled:
            at = max(when, req.sent_at)
            if at != req.replied_at:
                req.replied_at = at
                moved = True
                await scope.nudges.request_answered(req)
    check_back = None
    if outcome == RequestOutcome.LATER:
        planned = await scope.uow.nudges.pending(
            scope.member.id, request_id=settled[-1].id, kinds=(k.CHECK_BACK,), limit=1
        )
        check_back = planned[0].due_at if planned else None
    replied_at = settled[-1].replied_at or scope.now
    return ReplyAgain(tuple(settled), name, outcome, moved, replied_at, check_back)
