"""Sending on Discord: nudges by DM, practice plans by DM or private thread, round
announcements in the practice channel.

discord.py paces requests by Discord's rate-limit buckets and retries a 429 after its
``retry_after``; a wait longer than the client's ``max_ratelimit_timeout`` is raised
instead, and becomes a transient failure the next tick retries. A member whose DMs are
closed (403, code 50007) is a permanent failure: the core marks them unreachable and
doesn't try again until they talk to Tiara. Only Discord's own JSON error says a failure
is permanent: an answer in another shape (a proxy's 502 page, text, bytes that aren't
UTF-8, broken JSON) is transient, whatever its status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord

from adapters.discord.files import send_with_files
from adapters.discord.ids import ComponentIds
from adapters.discord.render import ALLOWED_MENTIONS, build_view, render
from bot.notify import DeliveryError
from bot.values import ChannelRef, Message, UserRef

__all__ = ["PERMANENT_CODES", "DiscordNotifier", "delivery_error"]

log = logging.getLogger(__name__)

# Discord error codes after which the same send can't succeed.
PERMANENT_CODES = frozenset(
    {
        10003,  # unknown channel
        10004,  # unknown guild
        10007,  # unknown member
        10013,  # unknown user
        40005,  # request entity too large (files over the upload limit)
        50001,  # missing access
        50007,  # cannot send messages to this user (DMs closed, no shared server)
        50013,  # missing permissions
        50278,  # cannot send messages to this user (blocked)
    }
)

GroupChannel = Callable[[str], Awaitable[str | None]]  # workspace -> practice channel, if any


def delivery_error(err: Exception) -> DeliveryError:
    """Translate a Discord or network failure into the core's ``DeliveryError``.

    Permanent only when Discord itself says so: a code in ``PERMANENT_CODES``, or a 404 in
    Discord's JSON. Anything else is transient: a 5xx, a proxy's page (its 404 too, which
    says nothing about the member), a body that isn't UTF-8 or isn't the JSON it claims.
    """
    if isinstance(err, discord.HTTPException):
        code = err.code or err.status
        permanent = err.code in PERMANENT_CODES or (err.status == 404 and _from_discord(err))
        return DeliveryError(f"discord_{code}", permanent=permanent)
    if isinstance(err, ValueError):  # discord.py couldn't decode the body (UTF-8, JSON)
        return DeliveryError("discord_bad_response")
    return DeliveryError(type(err).__name__)


def _from_discord(err: discord.HTTPException) -> bool:
    """Whether the error came as Discord's JSON (the only body discord.py decodes)."""
    headers = getattr(getattr(err, "response", None), "headers", None)
    return headers is not None and headers.get("Content-Type") == "application/json"


# What a send can fail with: Discord's errors, the network's, and a body discord.py can't
# decode (ValueError: not UTF-8, or not the JSON it claims to be).
_SEND_ERRORS = (discord.DiscordException, aiohttp.ClientError, TimeoutError, ValueError)


@dataclass
class DiscordNotifier:
    """The core's ``Notifier`` on Discord."""

    client: discord.Client
    ids: ComponentIds
    group_channel: GroupChannel | None = None  # set: practice groups get a private thread
    _channels: dict[tuple[str, str], int] = field(default_factory=dict)

    async def send_dm(self, user: UserRef, message: Message) -> None:
        user_id = _int(user.user)
        if user_id is None:
            raise DeliveryError("bad_user_id", permanent=True)
        try:
            channel = await self.client.create_dm(discord.Object(user_id))
        except _SEND_ERRORS as err:
            raise delivery_error(err) from None
        await self._send(channel, user, message)

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        """A practice group: a private thread in the practice channel when configured, else
        the plan by DM to each (it names everyone in the group)."""
        if not users:
            return
        workspace = users[0].workspace
        if self.group_channel is not None:
            channel_name = await self.group_channel(workspace)
            if channel_name:
                await self._thread(workspace, channel_name, users, message)
                return
        failures: list[DeliveryError] = []
        for user in users:
            try:
                await self.send_dm(user, message)
            except DeliveryError as err:
                log.info("a practice plan DM failed: %s", err.reason)
                failures.append(err)
        if len(failures) == len(users):
            # Nobody got it. Anyone who did isn't sent it twice: only a total failure is
            # reported, and then as the first member's.
            raise failures[0]

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        target = await self._text_channel(channel.workspace, channel.channel)
        await self._send(target, _anyone(channel.workspace), message)

    async def _thread(
        self, workspace: str, channel_name: str, users: Sequence[UserRef], message: Message
    ) -> None:
        parent = await self._text_channel(workspace, channel_name)
        if not isinstance(parent, discord.TextChannel):
            raise DeliveryError("not_a_text_channel", permanent=True)
        try:
            thread = await parent.create_thread(
                name=_thread_name(message),
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=10080,
            )
            for user in users:
                await thread.add_user(discord.Object(int(user.user)))
        except _SEND_ERRORS as err:
            raise delivery_error(err) from None
        await self._send(thread, _anyone(workspace), message)

    async def _text_channel(self, workspace: str, name_or_id: str) -> Any:
        """A messageable channel from an id or a name like "#practice"."""
        wanted = name_or_id.strip().lstrip("#")
        if wanted.isdigit():
            return self.client.get_partial_messageable(int(wanted), guild_id=_int(workspace))
        key = (workspace, wanted.casefold())
        channel_id = self._channels.get(key)
        if channel_id is None:
            guild_id = _int(workspace)
            if guild_id is None:
                raise DeliveryError("bad_workspace_id", permanent=True)
            try:
                guild = self.client.get_guild(guild_id) or await self.client.fetch_guild(guild_id)
                channels = guild.text_channels or [
                    c for c in await guild.fetch_channels() if isinstance(c, discord.TextChannel)
                ]
            except _SEND_ERRORS as err:
                raise delivery_error(err) from None
            for found in channels:
                self._channels[(workspace, found.name.casefold())] = found.id
            channel_id = self._channels.get(key)
            if channel_id is None:
                raise DeliveryError("channel_not_found", permanent=True)
        return self.client.get_channel(channel_id) or self.client.get_partial_messageable(
            channel_id, guild_id=_int(workspace)
        )

    async def _send(
        self, channel: discord.abc.Messageable, drawn_for: UserRef, message: Message
    ) -> None:
        """Send ``message``; its buttons are drawn for one member, or ``_anyone``; its files
        attached (a bot's 10 MiB limit holds in DMs and every server)."""
        for part in render(message):
            view = None
            if part.buttons:
                pairs = [(b, await self.ids.button_id(drawn_for, b)) for b in part.buttons]
                view = build_view(pairs)
            try:
                kwargs: dict[str, Any] = {
                    "content": part.content,
                    "embeds": list(part.embeds),
                    "allowed_mentions": ALLOWED_MENTIONS,
                }
                if view is not None:
                    kwargs["view"] = view
                await send_with_files(channel.send, kwargs, part.files)
            except _SEND_ERRORS as err:
                raise delivery_error(err) from None
            finally:
                if view is not None:
                    view.stop()  # clicks are dispatched by custom_id, not kept in memory


def _anyone(workspace: str) -> UserRef:
    """Buttons in a channel or thread: anyone there may click them."""
    return UserRef("discord", workspace, "")


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _thread_name(message: Message) -> str:
    first = message.title or next((line for line in message.text.splitlines() if line), "")
    name = " ".join(first.split()) or "Practice"
    return name if len(name) <= 100 else name[:99] + "…"
