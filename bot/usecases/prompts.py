"""TIARA questions and meeting preparation: fresh questions the member hasn't seen yet
(what they have seen is remembered, until a category runs out)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.items import looks_like_item, parse_item
from bot.questions import TIARA, Category, Question, Tailoring, bank
from bot.usecases import Scope
from bot.usecases.lookup import find_contact, find_item
from storage.models import Contact, Meeting

__all__ = ["ALL", "PER_CATEGORY", "Picked", "Prep", "Prompts", "prep", "prompts", "tailoring"]

ALL = "all"  # one question of each TIARA letter
PER_CATEGORY = 3


@dataclass(frozen=True)
class Picked:
    category: Category
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Prompts:
    """Questions to ask (``person``: tailored to them): one of each TIARA letter, or a few
    of one category."""

    category: str  # ALL, or the category's name
    person: Contact | None
    picked: tuple[Picked, ...]

    @property
    def tailoring(self) -> Tailoring | None:
        return tailoring(self.person)


@dataclass(frozen=True)
class Prep:
    """What to prepare for ``person``: their next ``meeting`` (if any), who referred them,
    a TIARA question of each letter."""

    person: Contact
    meeting: Meeting | None
    referrer: Contact | None
    questions: tuple[Question, ...]

    @property
    def tailoring(self) -> Tailoring | None:
        return tailoring(self.person)


def tailoring(person: Contact | None) -> Tailoring | None:
    """What a question can be tailored with: the contact's organization, role, field."""
    if person is None:
        return None
    return Tailoring(org=person.organization, role=person.title, field=person.field)


async def _pick(scope: Scope, category: str, count: int) -> tuple[Question, ...]:
    picked = await bank().pick(
        scope.uow, scope.member, category, count, now=scope.now, rng=scope.rng
    )
    return tuple(picked)


async def prompts(
    scope: Scope, *, category: str = ALL, person: str | Contact | None = None
) -> Prompts:
    """Questions the member hasn't seen yet: one of each TIARA letter (``ALL``), else
    ``PER_CATEGORY`` of one category (a name in the bank); tailored to ``person`` (a
    contact, or their name as typed) when given."""
    if isinstance(person, str):
        person = await find_contact(scope, person)
    questions = bank()
    if category == ALL:
        picked = [Picked(questions.categories[name], await _pick(scope, name, 1)) for name in TIARA]
    else:
        picked = [
            Picked(questions.categories[category], await _pick(scope, category, PER_CATEGORY))
        ]
    return Prompts(category, person, tuple(picked))


async def _prep_target(scope: Scope, typed: str) -> Contact | Meeting:
    """A meeting by its id (3 is M3 rather than R3; a request's id names its contact),
    unless a contact has that name; else a contact."""
    if looks_like_item(typed) and not await scope.uow.tracker.contact_by_name(
        scope.member.id, typed
    ):
        item = await find_item(scope, parse_item(typed), want=Meeting, command="prep")
        return item if isinstance(item, Meeting) else item.contact
    return await find_contact(scope, typed)


async def prep(scope: Scope, *, target: str | Contact | Meeting) -> Prep:
    """A preparation for a meeting, or for a contact (their next meeting, if any);
    ``target`` as typed is a contact's name or a meeting's id (M3)."""
    if isinstance(target, str):
        target = await _prep_target(scope, target)
    meeting: Meeting | None = None
    if isinstance(target, Meeting):
        person, meeting = target.contact, target
    else:
        person = target
        upcoming = [
            m
            for m in await scope.uow.tracker.meetings_with(scope.member.id, person.id)
            if m.held_at > scope.now
        ]
        meeting = upcoming[0] if upcoming else None
    referrer = await person.awaitable_attrs.referred_by
    questions = [q for name in TIARA for q in await _pick(scope, name, 1)]
    return Prep(person, meeting, referrer, tuple(questions))
