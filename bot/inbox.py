"""What a platform's adapter keeps between one interaction and a later one, and the little
it needs to know about a workspace: the core's side of the platforms' inbox.

A button or form can carry only so much (Discord: 100 characters), and what it carries comes
back days later, perhaps to another process. What doesn't fit is kept here under a key the
component carries instead, for the member it was drawn for (or anyone in the workspace), and
given back only to them.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

from bot.clock import Clock
from bot.values import UserRef
from storage.store import Store

__all__ = ["KEY_LENGTH", "Inbox"]

KEY_LENGTH = 22  # characters of URL-safe base64: 132 bits of a SHA-256


class Inbox:
    """Kept payloads, and what adapters read of workspaces and members, each in its own
    short unit of work."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def keep(self, payload: str, *, owner: UserRef, lifetime: timedelta) -> str:
        """Keep ``payload`` for ``owner`` (``owner.user`` empty: for anyone in the workspace)
        for ``lifetime``; the key to get it back with (:data:`KEY_LENGTH` characters of
        ``[A-Za-z0-9_-]``). The same payload for the same owner gets the same key, and keeping
        it again lengthens its life."""
        text = "\x1f".join((owner.workspace, owner.user, payload))
        key = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode()
        key = key[:KEY_LENGTH]
        async with self.store.unit() as uow:
            await uow.inbox.keep_payload(
                key,
                platform=owner.platform,
                workspace=owner.workspace,
                user_id=owner.user,
                payload=payload,
                expires_at=self.clock.now() + lifetime,
            )
        return key

    async def kept(self, key: str, *, reader: UserRef) -> str | None:
        """The payload kept under ``key``, when it was kept in ``reader``'s workspace for them
        (or for anyone there) and hasn't expired; else None."""
        async with self.store.unit() as uow:
            found = await uow.inbox.kept_payload(key, self.clock.now())
            if (
                found is None
                or (found.platform, found.workspace) != (reader.platform, reader.workspace)
                or found.user_id not in ("", reader.user)
            ):
                return None
            return found.payload

    async def is_active_member(self, user: UserRef) -> bool:
        """Whether ``user`` is one of ours in their workspace, and hasn't left it."""
        async with self.store.unit() as uow:
            member = await uow.members.find(user.platform, user.workspace, user.user)
            return member is not None and member.active

    async def practice_channel(self, platform: str, workspace: str) -> str | None:
        """The channel a workspace's practice rounds are announced in (as a coach set it)."""
        async with self.store.unit() as uow:
            found = await uow.members.find_workspace(platform, workspace)
            return found.practice_channel if found is not None else None
