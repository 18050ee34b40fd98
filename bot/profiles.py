"""What the platforms say about members (timezone, name, whether they left), and this
process's memory of erasures, so a profile read that an erasure overtook can't bring a
member's row back."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.nudges.plan import Planner
from bot.timeutil import resolve_timezone
from bot.values import UserError, UserRef
from bot.zones import effective_timezone
from storage.store import Store

__all__ = ["ERASED_MEMORY", "Profiles"]

log = logging.getLogger(__name__)

# After an erasure, profile updates an adapter started around it are ignored this long,
# so they can't bring the member's row back.
ERASED_MEMORY = timedelta(minutes=10)


class Profiles:
    """Members' platform profiles, and the erasures this process has seen."""

    def __init__(self, *, store: Store, clock: Clock, default_timezone: str = "UTC") -> None:
        self.store = store
        self.clock = clock
        self.default_timezone = default_timezone
        self._erased: dict[UserRef, datetime] = {}
        # Per member, in this process: erasures and fresh rows seen (Profiles.stamp).
        self._stamps: Counter[UserRef] = Counter()
        self._wanted: set[UserRef] = set()

    def made_unread(self, user: UserRef) -> None:
        """A command made the member's row afresh, without their platform profile: the
        adapter should read it now (see :meth:`wanted`)."""
        self._wanted.add(user)
        self._stamps[user] += 1

    def forget(self, user: UserRef, now: datetime) -> None:
        """Remember an erasure for a while, so profile updates don't recreate the member."""
        self._erased = {u: t for u, t in self._erased.items() if now - t < ERASED_MEMORY}
        self._erased[user] = now
        self._stamps[user] += 1

    def stamp(self, user: UserRef) -> int:
        """Taken by an adapter as it starts reading a member's profile, and handed back to
        :meth:`update`: a profile read before an erasure is then dropped, while one
        read after it (the member came back) is kept. It changes when the member erases
        their data, and when a command makes their row afresh without a profile."""
        return self._stamps[user]

    def wanted(self, user: UserRef) -> bool:
        """Whether the member's row was made by a command, without their platform profile
        (say, they erased their data through another process, and this one's adapter
        thought it had read them today): the adapter should read it now."""
        return user in self._wanted

    def _just_erased(self, user: UserRef, now: datetime) -> bool:
        erased = self._erased.get(user)
        return erased is not None and now - erased < ERASED_MEMORY

    async def update(
        self,
        user: UserRef,
        *,
        timezone: str | None = None,
        display_name: str | None = None,
        active: bool = True,
        known_only: bool = False,
        stamp: int | None = None,
    ) -> None:
        """Record what the platform says about a member (an adapter reads their profile).

        A timezone the platform reports is used unless the member chose one; when it
        changes what the member's times mean, their pending reminders are planned again.
        An unknown timezone name is ignored. ``active=False`` means the member left or
        was deactivated: nothing more is sent to them until they talk to Tiara again.
        With ``known_only`` someone who never used Tiara is left unrecorded (a platform
        reports changes to everyone's profile). ``stamp`` (from :meth:`stamp`,
        taken when the read began) tells a read that began after an erasure, which is
        kept, from one that an erasure overtook, which is dropped; without it, updates in
        the ten minutes after an erasure are dropped.
        """
        zone: str | None = None
        if timezone:
            try:
                zone = resolve_timezone(timezone)
            except UserError:
                log.info("ignored a platform timezone this bot doesn't know")
        async with self.store.unit() as uow:
            now = self.clock.now()
            if stamp is not None:
                if stamp != self.stamp(user):
                    return  # erased while the profile was being read
            elif self._just_erased(user, now):
                return
            if known_only:
                found = await uow.members.find(user.platform, user.workspace, user.user)
                if found is None:
                    return
                member = found
            else:
                member = await uow.members.ensure(user.platform, user.workspace, user.user, now=now)
            before = effective_timezone(member, self.default_timezone)
            if zone is not None:
                member.platform_timezone = zone
            if display_name:
                member.display_name = " ".join(display_name.split())[:80] or None
            member.active = active
            member.profile_checked_at = now
            self._wanted.discard(user)
            after = effective_timezone(member, self.default_timezone)
            if after != before:
                await Planner(uow, member, now, after).replan()

    async def timezone_of(self, user: UserRef) -> str:
        """The member's timezone (the workspace default for someone new)."""
        async with self.store.unit() as uow:
            member = await uow.members.find(user.platform, user.workspace, user.user)
            if member is None:
                return self.default_timezone
            return effective_timezone(member, self.default_timezone)
