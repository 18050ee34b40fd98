"""What Slack says about a member, read with ``users.info``: their timezone and name, and
whether they run the workspace.

Workspace admins and owners (``is_admin``, ``is_owner``, ``is_primary_owner``) reach the core
with ``platform_admin``, which makes them coaches. The flag comes with the profile, read about
once a day, but a ``coach`` command re-reads it when older than five minutes, so a demoted
admin soon loses coach rights; a failed read counts as not an admin. Slack's ``user_change``
events update both at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.background import Background
from adapters.slack.notifier import error_code
from bot.core import Bot
from bot.events import Prepare
from bot.values import Invocation, UserRef

__all__ = ["ADMIN_EVERY", "PROFILE_EVERY", "ProfileReader"]

log = logging.getLogger(__name__)

PROFILE_EVERY = timedelta(days=1)
ADMIN_EVERY = timedelta(minutes=5)  # how old an admin flag a coach command may rely on
_COACH = "coach"  # the first word of every command only coaches may use
_ADMIN_FIELDS = ("is_admin", "is_owner", "is_primary_owner")


class ProfileReader:
    """Reads members' Slack profiles into the core, and remembers their admin flags."""

    def __init__(
        self,
        bot: Bot,
        background: Background,
        *,
        every: timedelta = PROFILE_EVERY,
        admin_every: timedelta = ADMIN_EVERY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.every = every
        self.admin_every = admin_every
        self.monotonic = monotonic
        self._background = background
        self._read_at: dict[UserRef, float] = {}  # monotonic time of the last read
        self._reads: dict[UserRef, asyncio.Task[None]] = {}  # the latest read
        # Profiles.stamp as the latest read began: it changes when the member erases their
        # data, and what was read before no longer counts.
        self._stamps: dict[UserRef, int] = {}
        self._admins: dict[UserRef, bool] = {}  # what the last read said, failed reads False
        self._admin_read: dict[UserRef, float] = {}  # monotonic time of the last good read

    def prepare(self, client: AsyncWebClient) -> Prepare:
        """The core's ``prepare`` step: an invocation once its member's profile is read
        ("tomorrow 3pm" needs their timezone), with their admin flag, fresh (at most
        ``admin_every`` old) for a coach command, else as last read."""

        async def prepare(invocation: Invocation) -> Invocation:
            user = invocation.user
            await self.refresh(client, user, admin=invocation.command[:1] == (_COACH,))
            return replace(invocation, platform_admin=self._admins.get(user, False))

        return prepare

    def start_refresh(self, client: AsyncWebClient, user: UserRef) -> None:
        """:meth:`refresh` in the background (as a form opens, say: by the time it is sent,
        the member's timezone is known)."""
        self._background.start(self.refresh(client, user))

    async def refresh(self, client: AsyncWebClient, user: UserRef, *, admin: bool = False) -> None:
        """Read the member's timezone and name from Slack, at most once a day (with
        ``admin``, also when their admin flag is older than ``admin_every``), and again as
        soon as they have erased their data: whoever comes back starts fresh, and must not
        be left on UTC until the day is out. When a read is already under way (started as a
        modal opened), wait for it, so the submission is read in the member's own
        timezone."""
        stamp = self.bot.profiles.stamp(user)
        same = self._stamps.get(user) == stamp  # no erasure since the latest read
        reading = self._reads.get(user)
        if reading is None or reading.done() or not same:
            now = self.monotonic()
            last = self._read_at.get(user)
            checked = self._admin_read.get(user)
            profile_fresh = same and last is not None and now - last < self.every.total_seconds()
            admin_fresh = checked is not None and now - checked < self.admin_every.total_seconds()
            if profile_fresh and (admin_fresh or not admin):
                return
            self._read_at[user] = now
            self._stamps[user] = stamp
            reading = self._background.start(self._read(client, user, stamp))
            self._reads[user] = reading
        await asyncio.shield(reading)

    async def _read(self, client: AsyncWebClient, user: UserRef, stamp: int) -> None:
        """Read the profile and record it, unless an erasure overtook the read (``stamp``
        is :meth:`Profiles.stamp` as it began)."""
        started = self.monotonic()
        try:
            answer = await client.users_info(user=user.user)
        except Exception as err:
            log.info("reading a profile failed with %s", error_code(err))
            self._admins[user] = False
            return
        profile = answer.get("user") or {}
        self._admins[user] = _is_admin(profile)
        self._admin_read[user] = started
        await self.bot.profiles.update(
            user,
            timezone=profile.get("tz"),
            display_name=_display_name(profile),
            active=not profile.get("deleted", False),
            stamp=stamp,
        )

    async def changed(self, user: UserRef, profile: Mapping[str, Any]) -> None:
        """Record a profile Slack reports changed (``user_change``), for a member Tiara
        knows; an admin flag it carries counts at once."""
        await self.bot.profiles.update(
            user,
            timezone=profile.get("tz"),
            display_name=_display_name(profile),
            active=not profile.get("deleted", False),
            known_only=True,
        )
        now = self.monotonic()
        self._read_at[user] = now
        if any(key in profile for key in _ADMIN_FIELDS):
            self._admins[user] = _is_admin(profile)
            self._admin_read[user] = now


def _display_name(profile: Mapping[str, Any]) -> str | None:
    details = profile.get("profile") or {}
    for name in (
        details.get("display_name"),
        details.get("real_name"),
        profile.get("real_name"),
        profile.get("name"),
    ):
        if isinstance(name, str) and name.strip():
            return name
    return None


def _is_admin(profile: Mapping[str, Any]) -> bool:
    """Whether Slack says this member runs the workspace (an admin or an owner)."""
    return any(profile.get(key) is True for key in _ADMIN_FIELDS)
