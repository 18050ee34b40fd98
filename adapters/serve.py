"""Running Tiara on one or more platforms in one process, with the scheduler beside them.

Each platform is a :class:`Service`: built from the settings before the bot (its notifier
is the bot's way out), started with the bot, stopped on SIGINT or SIGTERM. With Slack and
Discord both configured, one process serves both and each message goes out through its
own platform's notifier.

Whatever stops the start is a :class:`ConfigError` that says what to fix: settings a
service refuses, a database that can't be opened, reached or migrated
(:class:`DatabaseUnusable`), a platform that refuses the token or can't be reached. An
``OSError`` that leaves :func:`serve` is the HTTP server failing to listen.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Protocol

import aiohttp

from adapters.bootstrap import build_app, tune_gc
from adapters.discord.runner import DiscordService
from adapters.errors import ConfigError, DatabaseUnusable
from adapters.health import HealthServer
from adapters.slack.runner import SlackService
from bot.clock import Clock, FileClock, SystemClock
from bot.config import Settings
from bot.core import Bot
from bot.notify import Notifier, PlatformNotifier
from bot.scheduler import TickScheduler
from storage.store import Store

__all__ = ["ConfigError", "DatabaseUnusable", "Service", "serve"]

log = logging.getLogger(__name__)

# Where each platform's API is, when it isn't the platform's own address.
_API_SETTINGS = {"slack": "TIARA_SLACK_API_URL", "discord": "TIARA_DISCORD_API_URL"}


class Service(Protocol):
    """One platform's connection: what it needs before the bot exists, and its lifetime."""

    platform: str

    @property
    def notifier(self) -> Notifier:
        """How the bot sends on this platform."""

    async def start(self, bot: Bot) -> asyncio.Task[None] | None:
        """Connect or start serving. A returned task ends when the connection is lost for
        good (its exception stops the process)."""

    async def stop(self) -> None:
        """Disconnect and finish work in flight."""


def _service(
    platform: str,
    settings: Settings,
    store: Store,
    clock: Clock,
    *,
    http: bool,
    host: str,
    port: int,
) -> Service:
    if platform == "slack":
        return SlackService(settings, store, http=http, host=host, port=port)
    if platform == "discord":
        return DiscordService(settings, store, clock)
    raise ConfigError(f"Unknown platform {platform!r}: use slack, discord or console.")


def _store(settings: Settings) -> Store:
    """The store (nothing connects yet); :class:`DatabaseUnusable` if the URL can't work."""
    url = settings.database_url.get_secret_value()
    try:
        return Store(url)
    except Exception as err:  # not a URL, no driver for it
        raise DatabaseUnusable(url, err) from err


async def _upgrade(store: Store, settings: Settings) -> None:
    """Bring the schema up to date; :class:`DatabaseUnusable` if it can't be."""
    try:
        await store.upgrade()
    except Exception as err:  # missing, unreachable, refused, unwritable, a newer schema
        raise DatabaseUnusable(settings.database_url.get_secret_value(), err) from err


async def _start(service: Service, bot: Bot) -> asyncio.Task[None] | None:
    """Start ``service``; a platform that can't be reached is said in one line."""
    try:
        return await service.start(bot)
    except (aiohttp.ClientError, TimeoutError) as err:  # never the HTTP port: that's a bind
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        setting = _API_SETTINGS.get(service.platform, "the platform's address")
        raise ConfigError(
            f"Can't reach {service.platform.capitalize()} ({reason[:200]}): check the "
            f"network and any proxy, and {setting} if it is set."
        ) from err


async def serve(
    settings: Settings, platforms: list[str], *, http: bool = False, host: str, port: int
) -> None:
    """Run until SIGINT or SIGTERM: serve every platform in ``platforms`` and send nudges as
    they fall due."""

    store = _store(settings)
    clock: Clock = FileClock(settings.clock_file) if settings.clock_file else SystemClock()
    try:
        # Settings a service refuses are said before the database is asked anything.
        services = [
            _service(p, settings, store, clock, http=http, host=host, port=port) for p in platforms
        ]
        await _upgrade(store, settings)
    except BaseException:
        await store.close()
        raise
    notifier: Notifier = (
        services[0].notifier
        if len(services) == 1
        else PlatformNotifier({s.platform: s.notifier for s in services})
    )
    app = await build_app(
        settings,
        clock=clock,
        store=store,
        notifier=notifier,
        platforms=frozenset(platforms),
        migrate=False,  # _upgrade did
    )
    tune_gc()
    scheduler = TickScheduler(app.bot.ticker, interval_seconds=settings.tick_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started: list[Service] = []
    running = False
    health: HealthServer | None = None
    try:
        watched: list[asyncio.Task[None]] = []
        for service in services:
            started.append(service)  # stopped even if starting fails half-way
            connection = await _start(service, app.bot)
            if connection is not None:
                watched.append(connection)
        scheduler.start()
        running = True
        # Only now: /healthz must not say ok while a platform may still refuse the token.
        if settings.health_port and not (http and "slack" in platforms):
            health = HealthServer(app.bot.ticker, tick_seconds=settings.tick_seconds)
            await health.start(host, settings.health_port)
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopping, *watched], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        for ended in done:
            if ended is not stopping:
                ended.result()  # a connection lost for good: say why
    finally:
        if running:
            print("Tiara is stopping.", file=sys.stderr, flush=True)
        await scheduler.stop()
        if health is not None:
            await health.stop()
        for service in reversed(started):
            try:
                await service.stop()
            except Exception as err:
                log.warning("stopping %s failed with %s", service.platform, type(err).__name__)
        await app.close()
