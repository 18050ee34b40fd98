"""Starting Tiara on Slack: one workspace (a bot token) or many (OAuth), over Socket Mode
or HTTP, with the scheduler sending nudges in the same process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import ConfigError
from adapters.health import add_health_routes
from adapters.slack.app import SlackAdapter
from adapters.slack.gate import RequestGate
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.notifier import (
    WEB_API_FAILURES,
    PacedRateLimitRetry,
    Pacer,
    SlackNotifier,
    Sleep,
    error_code,
    library_logger,
)
from adapters.slack.tokens import InstalledTokens, SingleToken
from bot.config import Settings
from bot.core import Bot
from storage.store import Store

__all__ = [
    "EVENTS_PATH",
    "SlackConfigError",
    "SlackService",
    "SlackSetup",
    "slack_setup",
    "web_application",
]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
OAUTH_STATE_SECONDS = 600
SHUTDOWN_SECONDS = 5.0
TOKEN_CHECK_SECONDS = 10.0  # auth.test at start; past this, Slack is taken to be down
# What auth.test answers when the token itself won't do: fixing it is the operator's job,
# and starting anyway would only fail every request. Anything else (Slack down, a 5xx
# from a proxy, no network) is an outage, which must not stop Tiara from starting.
REFUSED_TOKEN_ERRORS = frozenset(
    {
        "account_inactive",
        "ekm_access_denied",
        "invalid_auth",
        "no_permission",
        "not_allowed_token_type",
        "not_authed",
        "org_login_required",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
        "two_factor_setup_required",
    }
)


class SlackConfigError(ConfigError):
    """Slack settings that can't work together; the message says what to set."""


@dataclass
class SlackSetup:
    """The Slack parts that exist before the bot: the client, the notifier, the stores."""

    settings: Settings
    client: AsyncWebClient
    notifier: SlackNotifier
    installation_store: AsyncSQLAlchemyInstallationStore | None
    store: Store
    http_session: ClientSession | None = None

    async def open_http(self) -> None:
        """One aiohttp session (a pool of kept-alive connections) for every Web API call
        and every answer to a response_url. Without it slack_sdk opens a connection, with
        its TLS handshake, per call."""
        if self.http_session is None:
            # slack_sdk's own timeout (30 s) applies only to sessions it makes itself; a
            # send must give up well inside the nudge lease, or another replica would
            # take the reminder over and send it again.
            self.http_session = ClientSession(timeout=ClientTimeout(total=self.client.timeout))
            self.client.session = self.http_session
            self.notifier.use_session(self.http_session)

    async def close_http(self) -> None:
        session, self.http_session = self.http_session, None
        if session is not None:
            self.client.session = None
            self.notifier.use_session(None)
            await session.close()

    def adapter(
        self, bot: Bot, *, http: bool, process_before_response: bool = False
    ) -> SlackAdapter:
        """The bolt app over ``bot``. In HTTP mode, serve it with :func:`web_application`,
        which checks every request's signature before bolt sees it."""
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
                # Tiara acts with its bot token only: one lookup per request (the bot of
                # the workspace), not two (the latest install, then the member's own).
                installation_store_bot_only=True,
                state_store=AsyncSQLAlchemyOAuthStateStore(
                    expiration_seconds=OAUTH_STATE_SECONDS, engine=self.store.engine
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            )
        app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret is not None else None,
            # The RequestGate checks signatures, before anything parses the body; bolt's
            # own check would parse first, and log the whole body when a check fails.
            request_verification_enabled=False,
            oauth_settings=oauth,
            process_before_response=process_before_response,
            logger=library_logger("slack_bolt"),
            # A request no listener takes goes to the adapter's error handler, which logs
            # one line of its own, instead of bolt's, which quotes the payload.
            raise_error_for_unhandled_request=True,
        )
        return SlackAdapter(bot, app=app, notifier=self.notifier, http_session=self.http_session)


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
        logger=library_logger("slack_sdk"),
    )
    notifier = SlackNotifier(
        tokens=tokens, pacer=pacer, base_url=settings.slack_api_url, sleep=sleep
    )
    return SlackSetup(settings, client, notifier, installation_store, store)


def web_application(
    adapter: SlackAdapter,
    *,
    signing_secret: str,
    clock: Callable[[], float] = time.time,
    tick_seconds: float = 30.0,
) -> web.Application:
    """The HTTP endpoints: Slack's requests (signed with ``signing_secret``, checked against
    ``clock``), the OAuth install pages, ``/healthz`` and ``/metrics``."""
    app = adapter.app
    gate = RequestGate(app, signing_secret, clock=clock)

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            answer = await gate.handle(
                request.headers.items(), request.read, query=request.query_string
            )
        except web.HTTPRequestEntityTooLarge:
            log.warning(
                "refused a Slack request (413): a body over %d bytes", request.client_max_size
            )
            return web.Response(status=413)
        return await to_aiohttp_response(answer)

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events)
    add_health_routes(web_app, adapter.bot.ticker, tick_seconds=tick_seconds)
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


class SlackService:
    """Slack as a :class:`~adapters.serve.Service`: Socket Mode, or HTTP at /slack/events."""

    platform = "slack"

    def __init__(
        self, settings: Settings, store: Store, *, http: bool, host: str, port: int
    ) -> None:
        if not http and settings.slack_app_token is None:
            raise SlackConfigError(
                "Socket Mode needs SLACK_APP_TOKEN (an app-level token with connections:write); "
                "or run with --http and SLACK_SIGNING_SECRET."
            )
        if settings.slack_oauth and not http:
            raise SlackConfigError(
                "Installing through OAuth (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) needs HTTP "
                "mode, which serves /slack/install: run with --http and SLACK_SIGNING_SECRET."
            )
        self.settings = settings
        self.http = http
        self.host = host
        self.port = port
        self.setup = slack_setup(settings, store)
        self.notifier = self.setup.notifier
        self.adapter: SlackAdapter | None = None
        self._runner: web.AppRunner | None = None
        self._socket: Any = None

    async def start(self, bot: Bot) -> None:
        await self.setup.open_http()
        await self._check_token()
        self.adapter = adapter = self.setup.adapter(bot, http=self.http)
        if self.http:
            secret = self.settings.slack_signing_secret
            assert secret is not None  # the adapter needs it in HTTP mode
            self._runner = web.AppRunner(
                web_application(
                    adapter,
                    signing_secret=secret.get_secret_value(),
                    tick_seconds=self.settings.tick_seconds,
                ),
                access_log=None,
            )
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            await site.start()
            bound = self._runner.addresses[0][1] if self._runner.addresses else self.port
            print(
                f"Tiara on Slack is listening on http://{self.host}:{bound}{EVENTS_PATH}",
                flush=True,
            )
            return

        assert self.settings.slack_app_token is not None
        self._socket = AsyncSocketModeHandler(
            adapter.app, self.settings.slack_app_token.get_secret_value()
        )
        await self._socket.connect_async()
        print("Tiara on Slack is connected over Socket Mode.", flush=True)

    async def _check_token(self) -> None:
        """Ask Slack whether ``SLACK_BOT_TOKEN`` works (``auth.test``) before serving: a
        token Slack refuses is a :class:`SlackConfigError` saying so (never the token). When
        Slack can't be reached, Tiara starts anyway, with a warning: an outage at start
        must not become a crash loop."""
        if self.settings.slack_oauth or self.settings.slack_bot_token is None:
            return  # OAuth: each workspace's token was checked as it was installed
        try:
            async with asyncio.timeout(TOKEN_CHECK_SECONDS):
                await self.setup.client.auth_test()
        except WEB_API_FAILURES as err:
            code = error_code(err)
            if code in REFUSED_TOKEN_ERRORS:
                raise SlackConfigError(
                    f"Slack refused SLACK_BOT_TOKEN ({code}): set it to the app's Bot User "
                    "OAuth Token (xoxb-...) from its OAuth & Permissions page, reinstalling "
                    "the app if the token was revoked."
                ) from None
            log.warning("couldn't check SLACK_BOT_TOKEN with Slack (%s); starting anyway", code)

    async def stop(self) -> None:
        if self._socket is not None:
            # Closing the websocket waits on Slack; a stop must not hang on it.
            try:
                await asyncio.wait_for(self._socket.close_async(), timeout=SHUTDOWN_SECONDS)
            except TimeoutError:
                log.warning("the Socket Mode connection did not close in time")
        if self._runner is not None:
            await self._runner.cleanup()
        if self.adapter is not None:
            await self.adapter.drain()
        await self.setup.close_http()
