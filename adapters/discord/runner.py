"""Starting Tiara on Discord, and publishing its commands (``tiara discord sync``)."""

from __future__ import annotations

import asyncio
import logging

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.app import DiscordAdapter, TiaraClient
from adapters.discord.commands import build_group
from adapters.discord.ids import ComponentIds
from adapters.discord.notifier import DiscordNotifier
from adapters.errors import ConfigError
from bot.clock import Clock
from bot.config import Settings
from bot.core import Bot
from bot.inbox import Inbox
from bot.registry import Registry
from storage.store import Store

__all__ = ["DiscordConfigError", "DiscordService", "point_at", "sync_commands"]

log = logging.getLogger(__name__)

RATE_LIMIT_WAIT = 30.0  # seconds: a longer 429 wait fails the send, retried next tick
READY_WITHIN = 60.0


class DiscordConfigError(ConfigError):
    """Discord settings that can't work; the message says what to set."""


def point_at(settings: Settings) -> None:
    """Send REST calls and the gateway connection where the settings say (a proxy, a test's
    fake); discord.py keeps both as class attributes."""
    if settings.discord_api_url:
        Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise DiscordConfigError(
            "Discord needs DISCORD_TOKEN (the bot token from the Developer Portal's Bot page)."
        )
    return settings.discord_token.get_secret_value()


class DiscordService:
    """Discord as a :class:`~adapters.serve.Service`: a gateway connection."""

    platform = "discord"

    def __init__(self, settings: Settings, store: Store, clock: Clock) -> None:
        self.token = _token(settings)
        point_at(settings)
        self.client = TiaraClient(max_ratelimit_timeout=RATE_LIMIT_WAIT)
        self.inbox = Inbox(store, clock)
        self.ids = ComponentIds(self.inbox)
        self.coach_role = settings.discord_coach_role
        self.notifier = DiscordNotifier(
            self.client,
            self.ids,
            group_channel=self._practice_channel if settings.discord_practice_threads else None,
        )
        self.adapter: DiscordAdapter | None = None

    async def _practice_channel(self, workspace: str) -> str | None:
        return await self.inbox.practice_channel(self.platform, workspace)

    async def start(self, bot: Bot) -> asyncio.Task[None]:
        self.adapter = DiscordAdapter(
            bot,
            client=self.client,
            ids=self.ids,
            notifier=self.notifier,
            coach_role=self.coach_role,
        )
        try:
            await self.client.login(self.token)
        except discord.LoginFailure:
            raise DiscordConfigError(
                "Discord refused DISCORD_TOKEN: copy the bot token again from the Developer "
                "Portal (Bot page, Reset Token)."
            ) from None
        connection = asyncio.ensure_future(self._connect())
        ready = asyncio.ensure_future(self.client.ready.wait())
        await asyncio.wait({connection, ready}, timeout=READY_WITHIN, return_when="FIRST_COMPLETED")
        if connection.done():
            ready.cancel()
            connection.result()  # raises why it ended
        elif ready.done():
            user = self.client.user
            print(f"Tiara on Discord is connected as {user}.", flush=True)
        else:
            ready.cancel()
            log.warning("Discord hasn't said READY yet; still trying")
        return connection

    async def _connect(self) -> None:
        try:
            await self.client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise DiscordConfigError(
                'Discord refused the Server Members intent: turn on "Server Members Intent" on '
                "the Developer Portal's Bot page (Tiara uses it to notice members leaving)."
            ) from None

    async def stop(self) -> None:
        await self.client.close()
        if self.adapter is not None:
            await self.adapter.drain()


async def sync_commands(settings: Settings, guild: int | None, registry: Registry) -> int:
    """Publish ``/tiara`` to Discord (one server at once, or globally); the number of
    top-level commands published."""

    token = _token(settings)
    point_at(settings)
    client = TiaraClient()

    async def nothing(*_args: object) -> None:
        return None

    async def no_suggestions(*_args: object) -> list[str]:
        return []

    client.tree.add_command(build_group(registry, nothing, no_suggestions))
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise DiscordConfigError("Discord refused DISCORD_TOKEN.") from None
    try:
        target = discord.Object(guild) if guild is not None else None
        if target is not None:
            client.tree.copy_global_to(guild=target)
        published = await client.tree.sync(guild=target)
        return len(published)
    finally:
        await client.close()
