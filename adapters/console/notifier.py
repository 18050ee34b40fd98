"""The console's Notifier: DMs wait until their member is speaking; channel posts show at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.values import ChannelRef, Message, UserRef

__all__ = ["ConsoleNotifier", "Delivered"]


@dataclass(frozen=True, slots=True)
class Delivered:
    at: datetime
    message: Message


class ConsoleNotifier:
    """Keeps each member's DMs (with the time they were sent) for the console to print."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._outbox: dict[UserRef, list[Delivered]] = defaultdict(list)
        self._posts: list[tuple[ChannelRef, Delivered]] = []

    async def send_dm(self, user: UserRef, message: Message) -> None:
        self._outbox[user].append(Delivered(self.clock.now(), message))

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        for user in users:
            await self.send_dm(user, message)

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        self._posts.append((channel, Delivered(self.clock.now(), message)))

    def take_posts(self) -> list[tuple[ChannelRef, Delivered]]:
        """Channel posts not shown yet (everyone in the workspace can see them)."""
        posts, self._posts = self._posts, []
        return posts

    def take(self, user: UserRef) -> list[Delivered]:
        """The DMs waiting for ``user``, oldest first; they are removed from the outbox."""
        return self._outbox.pop(user, [])

    def pending(self) -> tuple[list[tuple[UserRef, Delivered]], list[tuple[ChannelRef, Delivered]]]:
        """Every DM and channel post not shown yet, oldest first (to keep when leaving)."""
        dms = [(user, item) for user, items in self._outbox.items() for item in items]
        return sorted(dms, key=lambda pair: pair[1].at), list(self._posts)

    def restore(
        self,
        dms: Sequence[tuple[UserRef, Delivered]],
        posts: Sequence[tuple[ChannelRef, Delivered]] = (),
    ) -> None:
        """Put back what :meth:`pending` returned in an earlier session."""
        for user, item in dms:
            self._outbox[user].append(item)
        self._posts.extend(posts)

    def waiting(self) -> dict[str, int]:
        """How many DMs wait for each member (by user id)."""
        return {user.user: len(items) for user, items in self._outbox.items() if items}
