"""The Notifier port: how the core sends messages it was not asked for (nudges, pairings).

Each platform adapter provides one. The core only knows this protocol and the two
failure kinds below; an adapter turns its platform's errors into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.values import ChannelRef, Message, UserRef

__all__ = [
    "DeliveryError",
    "Notifier",
    "NullNotifier",
    "PlatformNotifier",
    "RecordingNotifier",
    "Sent",
]


class DeliveryError(Exception):
    """A message could not be delivered.

    ``permanent`` means trying again will not help (the member closed their DMs or left
    the workspace); otherwise the failure is transient (rate limit, network, outage) and
    the message is retried later. ``reason`` is a short code for logs, never user text.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Notifier(Protocol):
    """Sends messages on a platform. Every method raises ``DeliveryError`` on failure."""

    async def send_dm(self, user: UserRef, message: Message) -> None:
        """Send ``message`` to one member in a direct message."""

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        """Send ``message`` to several members in one group conversation."""

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        """Post ``message`` in a channel."""


@dataclass(frozen=True, slots=True)
class Sent:
    """One message a ``RecordingNotifier`` was asked to send."""

    to: UserRef | ChannelRef | tuple[UserRef, ...]
    message: Message


@dataclass
class RecordingNotifier:
    """Keeps what it is asked to send (for tests and the console); can be told to fail."""

    sent: list[Sent] = field(default_factory=list)
    failures: dict[str, DeliveryError] = field(default_factory=dict)  # by user id

    async def send_dm(self, user: UserRef, message: Message) -> None:
        if user.user in self.failures:
            raise self.failures[user.user]
        self.sent.append(Sent(user, message))

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        self.sent.append(Sent(tuple(users), message))

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        self.sent.append(Sent(channel, message))

    def dms_to(self, user: str) -> list[Message]:
        return [s.message for s in self.sent if isinstance(s.to, UserRef) and s.to.user == user]

    def sent_messages(self) -> list[Message]:
        return [s.message for s in self.sent]

    def clear(self) -> None:
        self.sent.clear()


class NullNotifier:
    """Accepts everything and sends nothing (benchmarks)."""

    async def send_dm(self, user: UserRef, message: Message) -> None:
        return None

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        return None

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        return None


@dataclass(frozen=True)
class PlatformNotifier:
    """Sends each message through the notifier of its platform (Slack and Discord in one
    process). A platform without one is a permanent failure."""

    by_platform: Mapping[str, Notifier]

    def _for(self, platform: str) -> Notifier:
        notifier = self.by_platform.get(platform)
        if notifier is None:
            raise DeliveryError(f"no_{platform}_notifier", permanent=True)
        return notifier

    async def send_dm(self, user: UserRef, message: Message) -> None:
        await self._for(user.platform).send_dm(user, message)

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        if users:
            await self._for(users[0].platform).send_group(users, message)

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        await self._for(channel.platform).post_channel(channel, message)
