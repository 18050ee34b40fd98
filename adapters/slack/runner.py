"""Starting Tiara on Slack: one workspace (a bot token) or many (OAuth), over Socket Mode
or HTTP, with the scheduler sending nudges in the same process."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import InstalledTokens, SingleToken, SlackAdapter
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.notifier import PacedRateLimitRetry, Pacer, SlackNotifier, Sleep
from bot.config import Settings
from bot.core import Bot
from storage.store import Store

__all__ = ["EVENTS_PATH", "SlackSetup", "run_slack", "slack_setup", "web_application"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_STATE_SECONDS = 600
SHUTDOWN_SECONDS = 5.0


class SlackConfigError(Exception):
    """Slack settings that can't work together; the message says what to set."""


@dataclass
class SlackSetup:
    """The Slack parts that exist before the bot: the client, the notifier, the stores."""

    settings: Settings
    client: AsyncWebClient
    notifier: SlackNotifier
    installation_store: AsyncSQLAlchemyInstallationStore | None
    store: Store

    def adapter(
        self, bot: Bot, *, http: bool, process_before_response: bool = False
    ) -> SlackAdapter:
        """The bolt app over ``bot``. HTTP mode checks every request's signature."""
        settings = self.settings
        secret = settings.slack_signing_secret
        if http and secret is None:
            raise SlackConfigError(
                "HTTP mode needs SLACK_SIGNING_SECRET (the app's Basic Information page)."
            )
        oauth = None
        if self.installation_store is not None:
            assert settings.slack_client_id is not None
            assert settings.slack_client_secret is not None
            oauth = AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=list(BOT_SCOPES),
                installation_store=self.installation_store,
                state_store=AsyncSQLAlchemyOAuthStateStore(
                    expiration_seconds=OAUTH_STATE_SECONDS, engine=self.store.engine
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            )
        app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret is not None else None,
            request_verification_enabled=http,
            oauth_settings=oauth,
            process_before_response=process_before_response,
        )
        return SlackAdapter(bot, app=app, notifier=self.notifier)


def slack_setup(
    settings: Settings,
    store: Store,
    *,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] | None = None,
) -> SlackSetup:
    """Build the Slack client and notifier from the settings (tokens or OAuth)."""
    pacer = Pacer(
        rate=settings.slack_messages_per_second, sleep=sleep, monotonic=monotonic or time.monotonic
    )
    installation_store = None
    if settings.slack_oauth:
        assert settings.slack_client_id is not None
        installation_store = AsyncSQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=store.engine
        )
        tokens: InstalledTokens | SingleToken = InstalledTokens(installation_store)
        bot_token = None
    elif settings.slack_bot_token is not None:
        bot_token = settings.slack_bot_token.get_secret_value()
        tokens = SingleToken(bot_token)
    else:
        raise SlackConfigError(
            "Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (installs through OAuth)."
        )
    client = AsyncWebClient(
        token=bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[PacedRateLimitRetry(sleep=sleep)],
    )
    notifier = SlackNotifier(
        tokens=tokens, pacer=pacer, base_url=settings.slack_api_url, sleep=sleep
    )
    return SlackSetup(settings, client, notifier, installation_store, store)


def web_application(adapter: SlackAdapter) -> web.Application:
    """The HTTP endpoints: Slack's requests, the OAuth install pages and a health check."""
    app = adapter.app

    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get("/healthz", healthz)
    flow = app.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.StreamResponse:
            return await to_aiohttp_response(
                await flow.handle_installation(await to_bolt_request(request))
            )

        async def callback(request: web.Request) -> web.StreamResponse:
            return await to_aiohttp_response(
                await flow.handle_callback(await to_bolt_request(request))
            )

        web_app.router.add_get(INSTALL_PATH, install)
        web_app.router.add_get(REDIRECT_PATH, callback)
    return web_app


async def run_slack(settings: Settings, *, http: bool, host: str, port: int) -> None:
    """Run until SIGINT or SIGTERM: serve Slack and send nudges as they fall due."""
    from bot.app import build_app, tune_gc
    from bot.clock import FileClock, SystemClock
    from bot.scheduler import TickScheduler

    store = Store(settings.database_url.get_secret_value())
    setup = slack_setup(settings, store)
    if not http and settings.slack_app_token is None:
        raise SlackConfigError(
            "Socket Mode needs SLACK_APP_TOKEN (an app-level token with connections:write); "
            "or run with --http and SLACK_SIGNING_SECRET."
        )
    if settings.slack_oauth and not http:
        raise SlackConfigError(
            "Installing through OAuth (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) needs HTTP mode, "
            "which serves /slack/install: run with --http and SLACK_SIGNING_SECRET."
        )
    clock = FileClock(settings.clock_file) if settings.clock_file else SystemClock()
    app = await build_app(settings, clock=clock, store=store, notifier=setup.notifier)
    adapter = setup.adapter(app.bot, http=http)
    tune_gc()
    scheduler = TickScheduler(app.bot, interval_seconds=settings.tick_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner: web.AppRunner | None = None
    socket_handler = None
    try:
        if http:
            runner = web.AppRunner(web_application(adapter), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1] if runner.addresses else port
            print(f"Tiara on Slack is listening on http://{host}:{bound}{EVENTS_PATH}", flush=True)
        else:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert settings.slack_app_token is not None
            socket_handler = AsyncSocketModeHandler(
                adapter.app, settings.slack_app_token.get_secret_value()
            )
            await socket_handler.connect_async()  # type: ignore[no-untyped-call]
            print("Tiara on Slack is connected over Socket Mode.", flush=True)
        scheduler.start()
        await stop.wait()
    finally:
        print("Tiara is stopping.", file=sys.stderr, flush=True)
        scheduler.shutdown()
        if socket_handler is not None:
            # Closing the websocket waits on Slack; a stop must not hang on it.
            try:
                await asyncio.wait_for(
                    socket_handler.close_async(),  # type: ignore[no-untyped-call]
                    timeout=SHUTDOWN_SECONDS,
                )
            except TimeoutError:
                log.warning("the Socket Mode connection did not close in time")
        if runner is not None:
            await runner.cleanup()
        await adapter.drain()
        await app.close()
