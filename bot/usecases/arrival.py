"""A member talks to Tiara: who they are, and what that says about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.values import UserRef
from storage.models import Member
from storage.unit import UnitOfWork

__all__ = ["SEEN_EVERY", "Arrival", "arrive"]

# A member's last use of Tiara is written at most this often (coaches see who is quiet).
SEEN_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Arrival:
    member: Member
    # The row was made just now, without the platform's profile: first contact the
    # adapter didn't read for, or a member back after erasing (maybe in another process,
    # whose adapter still thinks it read them today).
    unread: bool
    # Reminders couldn't reach them, or they had left: talking to us, DMs work again.
    was_unreachable: bool


async def arrive(uow: UnitOfWork, user: UserRef, now: datetime, *, as_coach: bool) -> Arrival:
    """The member behind ``user`` (made on first contact), marked reachable and seen; a
    member using a coach command is left out of the cohort's counts from now on."""
    member = await uow.members.ensure(user.platform, user.workspace, user.user, now=now)
    unread = uow.is_new(member) and member.profile_checked_at is None
    was_unreachable = member.unreachable_at is not None or not member.active
    if was_unreachable:
        member.unreachable_at = None
        member.active = True
    if member.last_seen_at is None or now - member.last_seen_at >= SEEN_EVERY:
        member.last_seen_at = now
    if as_coach and member.coach_since is None:
        member.coach_since = now
    return Arrival(member, unread, was_unreachable)
