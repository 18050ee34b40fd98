"""A local stand-in for Discord's REST API and gateway, for tests that must not touch the network.

``FakeDiscord`` is an aiohttp server bound to 127.0.0.1 on a free port, reachable from other
processes too. Point a real discord.py client at it::

    discord.http.Route.BASE = fake.api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

(``Route`` reads ``BASE`` whenever a request is built, and the webhook adapter that answers
interactions uses the same ``Route``, so both are redirected.)

REST: every request under ``/api/v10`` is recorded as a ``Call`` and answered the way Discord
does: JSON with ``Content-Type: application/json`` exactly (discord.py only decodes that), ids
as strings, errors as ``{"code", "message"}``. Requests need ``Authorization: Bot <token>``
except the interaction callback and interaction webhook routes, which discord.py sends without
one (the interaction token is the credential), as Discord allows. Tests can script errors
(``fail``), rate limits (``rate_limit``) and answers that aren't Discord's JSON, as a proxy
in front of it may give (``answer_raw``: text, HTML, bytes that aren't UTF-8). The fake is
strict where Discord is and a bot can get it wrong: posting to a channel it doesn't know (a
user id is not a channel id) is 404 Unknown Channel, an empty message is 50006, content over
2000 characters is 50035, answering an interaction twice is 40060, a follow-up before the
answer is 10015. Files come as multipart/form-data (``payload_json`` and ``files[n]``) on
channel messages, interaction answers and follow-ups: more than 10 a message is 50035, a
file (or all of them together) over ``upload_limit`` (10 MiB, a bot's default) is 413 with
code 40005. ``files_in`` gives back what arrived, byte for byte.

Gateway: a websocket at ``/gateway`` (any query, e.g. ``?v=10&encoding=json&compress=
zlib-stream``) that always sends uncompressed TEXT frames, which discord.py parses without
decompressing. It says HELLO, answers IDENTIFY with READY and a GUILD_CREATE per guild,
heartbeats with ACKs, RESUME with the missed events and RESUMED, and REQUEST_GUILD_MEMBERS
with one GUILD_MEMBERS_CHUNK. ``dispatch`` and ``interaction`` push events to every session.

A test client should pass ``guild_ready_timeout`` (e.g. 0.05) to ``discord.Client``:
discord.py waits that long after the last GUILD_CREATE before on_ready (2 s by default).
Close clients before stopping the fake, or they will try to reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from tests import discord_payloads as payloads
from tests.local_server import LocalServer

__all__ = ["API_PREFIX", "GATEWAY_PATH", "SAFETY", "Call", "FakeDiscord"]

API_PREFIX = "/api/v10"
# Seconds a wait may take before the test is taken for hung. Waits are for something to
# happen, never a measure of speed: a loaded machine is slow, and no result depends on it.
SAFETY = 120.0
GATEWAY_PATH = "/gateway"
DEFAULT_GUILDS: tuple[dict[str, Any], ...] = ({"id": payloads.GUILD_ID, "name": "Cohort"},)
MAX_CONTENT = 2000
MAX_CUSTOM_ID = 100
MAX_MODAL_TITLE = 45
MAX_CHOICES = 25
MAX_FILES = 10
EPHEMERAL = 1 << 6
LOADING = 1 << 7
# Privileged gateway intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
GUILDS_INTENT = 1 << 0
_DISCORD_EPOCH_MS = 1_420_070_400_000
_ID_BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: ids the fake hands out start here
_REDACTED = "Bot [redacted]"
_TRACE = ['["gateway-prd-fake-1",{"micros":0}]']


@dataclass(frozen=True)
class Call:
    """One REST request the fake received.

    ``path`` is without the ``/api/v10`` prefix; ``json`` the decoded JSON body, or the
    ``payload_json`` part of a multipart body; ``files`` the uploaded files' form ``name``
    (``files[0]``), ``filename``, ``size``, ``content_type`` and ``data`` (the bytes);
    ``headers`` with the Authorization value redacted (see
    ``FakeDiscord.saw_token``); ``status`` what the fake answered.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int
    files: tuple[dict[str, Any], ...] = ()
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Rule:
    """A scripted answer (error or 429) for requests matching method and path."""

    method: str
    path: str | re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    remaining: int | None  # None: forever
    rate_limit: float | None = None  # retry_after, for 429s (headers are made per answer)
    is_global: bool = False
    raw: bytes | None = None  # set: this body as it is, not Discord's JSON (see answer_raw)
    content_type: str = "text/plain"


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: tuple[dict[str, Any], ...]
    match: re.Match[str]
    invalid_json: bool = False

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body if it is an object, else empty."""
        return self.json if isinstance(self.json, dict) else {}


@dataclass
class _Answer:
    status: int
    body: Any = None  # None: no content
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # set: sent as it is, with ``content_type``, instead of ``body``
    content_type: str = "text/plain"


class _Refusal(Exception):
    """Raised by a REST handler (or a lookup it makes) to answer with an error."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


@dataclass(eq=False)
class _Interaction:
    """An interaction the fake delivered (or saw answered), to follow its responses."""

    id: int
    token: str
    type: int = 2
    channel_id: int = 0  # 0: a channel the fake can't know
    guild_id: int | None = None
    user: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    answered: int | None = None  # the callback type, once answered
    original: int | None = None  # id of the message behind @original
    followups: list[int] = field(default_factory=list)


@dataclass(eq=False)
class _Connection:
    socket: web.WebSocketResponse
    query: dict[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: _Session | None = None
    ready: bool = False
    closed_by_server: bool = False


@dataclass(eq=False)
class _Session:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: _Connection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


Handler = Callable[[_Request], Awaitable[_Answer]]


def _error(status: int, code: int, message: str, errors: Any = None) -> _Answer:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return _Answer(status, body)


def _form_error(errors: dict[str, Any]) -> _Answer:
    return _error(400, 50035, "Invalid Form Body", errors)


def _too_long(limit: int) -> dict[str, Any]:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class FakeDiscord(LocalServer):
    """An in-process fake of Discord's REST API and gateway over real HTTP on 127.0.0.1.

    Use as ``async with FakeDiscord() as fake:`` or call ``start``/``stop``. Every REST
    request is kept in ``calls``, including those answered with a scripted error.
    """

    def __init__(
        self,
        *,
        application_id: int = payloads.APPLICATION_ID,
        bot_user_id: int = payloads.BOT_USER_ID,
        bot_name: str = "Tiara",
        token: str | None = None,
        guilds: Sequence[Mapping[str, Any]] = DEFAULT_GUILDS,
        channels: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
        members: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
        heartbeat_interval_ms: int = 41_250,
        privileged_intents: int | None = None,
        roles: Mapping[int, Sequence[Mapping[str, Any]]] | None = None,
        upload_limit: int = payloads.ATTACHMENT_SIZE_LIMIT,
    ) -> None:
        """Configure the fake.

        ``guilds`` need an ``id`` and a ``name`` (other guild fields are filled in);
        ``channels`` and ``members`` map a guild id to its channel and member payloads
        (``discord_payloads.text_channel`` / ``member``), ``roles`` to roles besides
        @everyone and the bot's (``discord_payloads.role``). A guild without channels gets a
        text channel "practice" (id 5100 for guild 5000, else guild id + 100). The bot is
        always a member. ``token`` set: only that bot token is accepted (REST 401, gateway
        close 4004 otherwise); unset, any. ``privileged_intents`` set: IDENTIFY asking for
        other privileged intents is closed with 4014, as when they're off in the portal.
        ``upload_limit``: the most bytes a file (and a message's files together) may have.
        """
        self.application_id = application_id
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.bot = payloads.bot_user(bot_user_id, bot_name)
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents = privileged_intents
        self._token = token
        self.upload_limit = upload_limit
        self._extra_roles = {gid: [dict(r) for r in found] for gid, found in (roles or {}).items()}
        self._token_digests: set[str] = set()
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.member_requests: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.gateway_connections = 0  # websocket connections accepted
        self.handshakes = 0  # IDENTIFYs answered with READY plus RESUMEs answered with RESUMED
        self._rules: list[_Rule] = []
        self._ids = itertools.count(1)
        self._guilds: dict[int, dict[str, Any]] = {}
        self._channels: dict[int, dict[str, Any]] = {}
        self._members: dict[int, dict[int, dict[str, Any]]] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._posted: dict[int, list[dict[str, Any]]] = {}
        self._uploads: dict[int, list[dict[str, Any]]] = {}
        self._nonces: dict[tuple[int, str], int] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._by_token: dict[str, _Interaction] = {}
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._command_version = 0
        self._thread_members: dict[int, set[int]] = {}
        self._refused_dms: set[int] = set()
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []
        super().__init__()
        for guild in guilds:
            self._add_guild(guild, (channels or {}).get(int(guild["id"])), members)
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._build_routes()

    # ----------------------------------------------------------------- lifecycle

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self._handle_gateway)
        app.router.add_route("*", "/api/{version:v[0-9]+}/{tail:.*}", self._handle_rest)
        return app

    async def close_sockets(self) -> None:
        for connection in list(self._connections):
            connection.closed_by_server = True
            with contextlib.suppress(Exception):
                await connection.socket.close(code=1001, message=b"server stopping")

    # ------------------------------------------------------------------- public

    @property
    def api_url(self) -> str:
        """The REST base for ``discord.http.Route.BASE``: ``http://127.0.0.1:PORT/api/v10``."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """The websocket url for ``DiscordWebSocket.DEFAULT_GATEWAY``, without a query."""
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    @property
    def guild_ids(self) -> list[int]:
        """The guilds the bot is in (each sent as GUILD_CREATE after READY)."""
        return list(self._guilds)

    def saw_token(self, token: str) -> bool:
        """Whether a REST request (``Bot <token>``) or an IDENTIFY/RESUME carried ``token``."""
        return _digest(token) in self._token_digests

    def calls_to(self, method: str, path: str | re.Pattern[str]) -> list[Call]:
        """Recorded calls with ``method`` and ``path`` (exact, or a regex fullmatch)."""
        return [
            call
            for call in self.calls
            if call.method == method.upper() and _path_matches(path, call.path)
        ]

    async def wait_for(
        self,
        method: str,
        path: str | re.Pattern[str],
        count: int = 1,
        within: float = SAFETY,
    ) -> list[Call]:
        """Wait until at least ``count`` calls match; return all that match.

        Raises ``TimeoutError`` if they don't arrive within ``within`` seconds.
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method, path)) >= count)
        return self.calls_to(method, path)

    def rate_limit(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        retry_after: float = 0.05,
        times: int = 1,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with 429, as Discord's edge does.

        The answer carries ``Via: 1.1 google`` (without it discord.py takes a 429 for a
        Cloudflare ban and raises), ``Retry-After`` and the ``X-RateLimit-*`` headers, and
        ``{"message": "You are being rate limited.", "retry_after": ..., "global": ...}``.
        """
        if times < 0:
            raise ValueError("times must not be negative")
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = is_global
        self._rules.append(
            _Rule(
                method.upper(),
                path,
                429,
                body,
                {},
                times,
                rate_limit=retry_after,
                is_global=is_global,
            )
        )

    def fail(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        status: int = 403,
        code: int = 50007,
        message: str = "Cannot send messages to this user",
        times: int | None = None,
    ) -> None:
        """Answer matching requests with a Discord JSON error, ``times`` times (None: always)."""
        if times is not None and times < 0:
            raise ValueError("times must not be negative")
        body = {"message": message, "code": code}
        self._rules.append(_Rule(method.upper(), path, status, body, {}, times))

    def answer_raw(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        status: int = 502,
        body: bytes | str = b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        content_type: str = "text/html",
        headers: Mapping[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests the way a proxy or load balancer in front of Discord
        may, ``times`` times (None: always): ``status`` with ``body`` as it is (text, HTML,
        bytes that aren't UTF-8, or broken JSON under ``application/json``), typed
        ``content_type``, with ``headers`` and without Discord's (no ``Via: 1.1 google``).

        discord.py decodes a body only when it is typed exactly ``application/json``, and
        retries a 500, 502, 504 or 524 itself (after 1 s, then 3 s, ...) before raising.
        """
        if times is not None and times < 0:
            raise ValueError("times must not be negative")
        raw = body.encode() if isinstance(body, str) else bytes(body)
        rule = _Rule(method.upper(), path, status, {}, dict(headers or {}), times)
        rule.raw, rule.content_type = raw, content_type
        self._rules.append(rule)

    def clear_failures(self) -> None:
        """Forget scripted errors and rate limits not used yet."""
        self._rules.clear()

    def refuse_dms(self, user_id: int) -> None:
        """``user_id`` doesn't accept DMs: posting in their DM channel is 403, code 50007.

        Opening the DM channel still works, as on Discord.
        """
        self._refused_dms.add(user_id)

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the DM channel ``POST /users/@me/channels`` opens with ``user_id``."""
        return payloads.dm_channel_id(user_id)

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """The JSON bodies successfully posted to ``/channels/{channel_id}/messages``."""
        return list(self._posted.get(channel_id, []))

    def files_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Files that arrived in ``channel_id`` (in messages, interaction answers and
        follow-ups), oldest first: ``message_id``, ``filename``, ``data`` (the bytes),
        ``description`` and ``content_type`` as sent."""
        return copy.deepcopy(self._uploads.get(channel_id, []))

    def message(self, message_id: int) -> dict[str, Any] | None:
        """A message the fake created, as it stands now (after edits), or None."""
        found = self._messages.get(message_id)
        return copy.deepcopy(found) if found is not None else None

    def interaction_responses(self, interaction_id: int) -> list[Call]:
        """The ``POST /interactions/{id}/{token}/callback`` calls for ``interaction_id``."""
        pattern = re.compile(rf"/interactions/{interaction_id}/[^/]+/callback")
        return self.calls_to("POST", pattern)

    def followups(self, token: str) -> list[Call]:
        """Every call (any method) to ``/webhooks/{application_id}/{token}...``."""
        prefix = f"/webhooks/{self.application_id}/{token}"
        return [
            call for call in self.calls if call.path == prefix or call.path.startswith(prefix + "/")
        ]

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The application commands registered globally (or in ``guild_id``)."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    def channel(self, channel_id: int) -> dict[str, Any] | None:
        """A channel (guild channel, thread or DM) the fake knows, or None."""
        found = self._channels.get(channel_id)
        return copy.deepcopy(found) if found is not None else None

    def add_channel(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        """Make a channel known (a guild channel needs ``guild_id``); return it as stored."""
        stored = self._normalise_channel(dict(channel))
        self._channels[int(stored["id"])] = stored
        return copy.deepcopy(stored)

    def thread_members(self, thread_id: int) -> set[int]:
        """Users in thread ``thread_id`` (its creator, the bot, and those added)."""
        return set(self._thread_members.get(thread_id, set()))

    def add_member(self, guild_id: int, member: Mapping[str, Any]) -> None:
        """Add a member payload (``discord_payloads.member``) to a guild."""
        stored = dict(member)
        stored.pop("permissions", None)
        self._members[guild_id][int(stored["user"]["id"])] = stored

    def add_role(self, guild_id: int, role: Mapping[str, Any]) -> None:
        """Add a role (``discord_payloads.role``) to a guild; clients that connect (or
        reconnect) afterwards know it."""
        self._extra_roles.setdefault(guild_id, []).append(dict(role))

    async def member_leaves(self, guild_id: int, user_id: int) -> None:
        """``user_id`` leaves ``guild_id``: forget the member and dispatch GUILD_MEMBER_REMOVE."""
        gone = self._members.get(guild_id, {}).pop(user_id, None)
        name = gone["user"]["username"] if gone else "student"
        await self.dispatch("GUILD_MEMBER_REMOVE", payloads.member_remove(guild_id, user_id, name))

    # ------------------------------------------------------------------ gateway

    @property
    def connected(self) -> int:
        """How many gateway connections have completed IDENTIFY (or RESUME) and are open."""
        return sum(1 for connection in self._connections if connection.ready)

    async def wait_connected(self, within: float = SAFETY, *, count: int = 1) -> None:
        """Wait until a client is connected and was sent READY (and every GUILD_CREATE).

        ``count`` counts handshakes in all (IDENTIFY or RESUME), to wait for a reconnection.
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.handshakes >= count and self.connected > 0)

    async def wait_disconnected(self, within: float = SAFETY) -> None:
        """Wait until no gateway connection is open."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: not self._connections)

    async def dispatch(self, event: str, data: dict[str, Any], *, within: float = SAFETY) -> None:
        """Send ``event`` (op 0, next sequence number) to every session.

        Waits up to ``within`` for a connected client first. A session whose connection
        dropped keeps the event, to replay it when the client RESUMEs, as Discord does.
        """
        await self.wait_connected(within)
        for session in list(self._sessions.values()):
            async with session.lock:
                await self._emit(session, event, data)

    async def interaction(self, payload: dict[str, Any], *, within: float = SAFETY) -> None:
        """Dispatch INTERACTION_CREATE with ``payload`` (see ``discord_payloads``).

        The fake remembers the interaction to check how it is answered.
        """
        self.register_interaction(payload)
        await self.dispatch("INTERACTION_CREATE", payload, within=within)

    async def disconnect_all(self, code: int = 4000, *, resumable: bool = True) -> None:
        """Close every gateway connection with ``code`` (4000: "unknown error", reconnect).

        With ``resumable`` the sessions survive and clients RESUME; without, a RESUME is
        answered with INVALID_SESSION and clients IDENTIFY again.
        """
        if not resumable:
            self._sessions.clear()
        for connection in list(self._connections):
            connection.closed_by_server = True
            with contextlib.suppress(Exception):
                await connection.socket.close(code=code, message=b"fake disconnect")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connection, as Discord does before maintenance."""
        for connection in list(self._connections):
            await self._send(connection, {"op": 7, "d": None, "s": None, "t": None})

    # ---------------------------------------------------------------- internals

    def _next_id(self) -> int:
        return (_ID_BASE_MS - _DISCORD_EPOCH_MS + next(self._ids)) << 22

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _add_guild(
        self,
        guild: Mapping[str, Any],
        channels: Sequence[Mapping[str, Any]] | None,
        members: Mapping[int, Sequence[Mapping[str, Any]]] | None,
    ) -> None:
        guild_id = int(guild["id"])
        self._guilds[guild_id] = {**guild, "id": str(guild_id)}
        if channels is None:
            channel_id = payloads.CHANNEL_ID if guild_id == payloads.GUILD_ID else guild_id + 100
            channels = [payloads.text_channel(channel_id, "practice", guild_id=guild_id)]
        for channel in channels:
            self.add_channel({"guild_id": str(guild_id), **channel})
        self._members[guild_id] = {}
        bot = payloads.member(
            self.bot_user_id, self.bot_name, roles=[guild_id + 1], permissions=None, bot=True
        )
        self.add_member(guild_id, bot)
        for member in (members or {}).get(guild_id, ()):
            self.add_member(guild_id, member)

    def _normalise_channel(self, channel: dict[str, Any]) -> dict[str, Any]:
        channel["id"] = str(channel["id"])
        kind = int(channel.setdefault("type", 0))
        if kind in (1, 3):  # DM, group DM
            channel.setdefault("recipients", [])
            channel.setdefault("last_message_id", None)
            channel.setdefault("flags", 0)
            return channel
        if "guild_id" not in channel:
            raise ValueError("a guild channel needs a guild_id")
        channel["guild_id"] = str(channel["guild_id"])
        channel.setdefault("name", f"channel-{channel['id']}")
        channel.setdefault("position", 0)
        channel.setdefault("permission_overwrites", [])
        channel.setdefault("parent_id", None)
        channel.setdefault("nsfw", False)
        channel.setdefault("flags", 0)
        channel.setdefault("last_message_id", None)
        channel.setdefault("rate_limit_per_user", 0)
        return channel

    def _roles(self, guild_id: int) -> list[dict[str, Any]]:
        role = payloads.role
        return [
            role(guild_id, "@everyone", payloads.EVERYONE_PERMISSIONS),
            role(
                guild_id + 1,
                self.bot_name,
                payloads.BOT_PERMISSIONS,
                position=1,
                managed=True,
                tags={"bot_id": str(self.bot_user_id)},
            ),
            *copy.deepcopy(self._extra_roles.get(guild_id, [])),
        ]

    def _guild(self, guild_id: int) -> dict[str, Any]:
        """The guild as ``GET /guilds/{id}`` answers (no channels or members)."""
        guild = self._guilds[guild_id]
        guild_channels = [c for c in self._channels.values() if c.get("guild_id") == str(guild_id)]
        text = [c for c in guild_channels if c["type"] == 0]
        return {
            "id": str(guild_id),
            "name": guild.get("name", "Guild"),
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.get("owner_id", 1)),
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": self._roles(guild_id),
            "emojis": [],
            "stickers": [],
            "features": list(guild.get("features", [])),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": text[0]["id"] if text else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "nsfw": False,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
            "hub_type": None,
            "latest_onboarding_question_id": None,
        }

    def _guild_channels(self, guild_id: int, *, threads: bool) -> list[dict[str, Any]]:
        """Copies of the guild's channels, or of its threads."""
        return [
            copy.deepcopy(c)
            for c in self._channels.values()
            if c.get("guild_id") == str(guild_id) and (c["type"] in (10, 11, 12)) == threads
        ]

    def _guild_create(self, guild_id: int) -> dict[str, Any]:
        """The full GUILD_CREATE discord.py builds its Guild from."""
        members = self._members[guild_id]
        return {
            **self._guild(guild_id),
            "joined_at": payloads.TIMESTAMP,
            "large": len(members) >= 250,
            "unavailable": False,
            "lazy": True,
            "member_count": len(members),
            "voice_states": [],
            "members": [copy.deepcopy(members[self.bot_user_id])],
            "channels": self._guild_channels(guild_id, threads=False),
            "threads": self._guild_channels(guild_id, threads=True),
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "activity_instances": [],
            "application_command_counts": {},
        }

    def _app_flags(self) -> int:
        allowed = PRIVILEGED_INTENTS if self.privileged_intents is None else self.privileged_intents
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if allowed & (1 << 8):
            flags |= 1 << 13  # GATEWAY_PRESENCE_LIMITED
        if allowed & (1 << 1):
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED
        if allowed & (1 << 15):
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user_id:
            return payloads.user(user_id, self.bot_name, bot=True)
        for members in self._members.values():
            if user_id in members:
                return copy.deepcopy(members[user_id]["user"])
        return payloads.user(user_id)

    def register_interaction(self, payload: Mapping[str, Any]) -> None:
        """Remember an interaction (``interaction`` does it) to check how it is answered.

        For tests that hand a payload to the bot some other way than the gateway.
        """
        interaction_id = int(payload["id"])
        guild_id = payload.get("guild_id")
        channel = payload.get("channel") or {}
        channel_id = int(payload.get("channel_id") or channel.get("id") or 0)
        if channel and int(channel.get("type", 0)) == 1 and channel_id not in self._channels:
            self.add_channel(channel)
        who = payload.get("member", {}).get("user") if "member" in payload else payload.get("user")
        message = payload.get("message")
        record = _Interaction(
            id=interaction_id,
            token=str(payload["token"]),
            type=int(payload.get("type", 2)),
            channel_id=channel_id,
            guild_id=int(guild_id) if guild_id is not None else None,
            user=copy.deepcopy(who) if who else None,
            message=copy.deepcopy(message) if message else None,
        )
        if message is not None and int(message["id"]) not in self._messages:
            self._messages[int(message["id"])] = copy.deepcopy(dict(message))
        self._interactions[interaction_id] = record
        self._by_token[record.token] = record

    # ------------------------------------------------------------- gateway: wire

    async def _send(self, connection: _Connection, frame: dict[str, Any]) -> None:
        async with connection.lock:
            if connection.socket.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.socket.send_str(json.dumps(frame))

    async def _emit(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch on ``session`` (its lock held); keep it for replay on RESUME."""
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.connection is not None:
            await self._send(session.connection, frame)

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=0, timeout=2.0)
        await socket.prepare(request)
        connection = _Connection(socket=socket, query=dict(request.query))
        self._connections.append(connection)
        self.gateway_connections += 1
        try:
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": _TRACE}
            await self._send(connection, {"op": 10, "d": hello, "s": None, "t": None})
            async for message in socket:
                if message.type is WSMsgType.TEXT:
                    raw = message.data
                elif message.type is WSMsgType.BINARY:
                    raw = message.data.decode("utf-8", "replace")
                else:
                    continue
                try:
                    frame = json.loads(raw)
                except ValueError:
                    connection.closed_by_server = True
                    await socket.close(code=4002, message=b"Error while decoding payload.")
                    break
                if isinstance(frame, dict):
                    await self._on_frame(connection, frame)
        finally:
            self._connections.remove(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                # A client that closes with 1000/1001 ends its session, as on Discord.
                if not connection.closed_by_server and socket.close_code in (1000, 1001):
                    self._sessions.pop(session.session_id, None)
            await self._notify()
        return socket

    async def _on_frame(self, connection: _Connection, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op == 1:  # HEARTBEAT
            self.heartbeats += 1
            await self._send(connection, {"op": 11, "d": None, "s": None, "t": None})
            await self._notify()
        elif op == 2 and isinstance(data, dict):  # IDENTIFY
            await self._identify(connection, data)
        elif op == 6 and isinstance(data, dict):  # RESUME
            await self._resume(connection, data)
        elif op == 8 and isinstance(data, dict):  # REQUEST_GUILD_MEMBERS
            await self._request_members(connection, data)
        # Presence (3), voice state (4) and anything else: accepted and ignored.

    async def _close(self, connection: _Connection, code: int, reason: str) -> None:
        connection.closed_by_server = True
        await connection.socket.close(code=code, message=reason.encode())

    def _token_ok(self, token: object) -> bool:
        if not isinstance(token, str) or not token:
            return False
        self._token_digests.add(_digest(token))
        return self._token is None or token == self._token

    async def _identify(self, connection: _Connection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await self._close(connection, 4005, "Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await self._close(connection, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool):
            await self._close(connection, 4013, "Invalid intent(s).")
            return
        self.identifies.append({**data, "token": "[redacted]"})
        if self.privileged_intents is not None:
            asked = intents & PRIVILEGED_INTENTS
            if asked & ~self.privileged_intents:
                await self._close(connection, 4014, "Disallowed intent(s).")
                return
        shard = data.get("shard")
        session = _Session(
            session_id=uuid.uuid4().hex,
            intents=intents,
            shard=list(shard) if isinstance(shard, list) else None,
        )
        self._sessions[session.session_id] = session
        connection.session = session
        session.connection = connection
        ready: dict[str, Any] = {
            "v": 10,
            "user": copy.deepcopy(self.bot),
            "user_settings": {},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self._guilds],
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central"],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self._app_flags()},
            "auth": {},
            "_trace": _TRACE,
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        async with session.lock:
            await self._emit(session, "READY", ready)
            if intents & GUILDS_INTENT:
                for guild_id in self._guilds:
                    await self._emit(session, "GUILD_CREATE", self._guild_create(guild_id))
        connection.ready = True
        self.handshakes += 1
        await self._notify()

    async def _resume(self, connection: _Connection, data: dict[str, Any]) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if not self._token_ok(data.get("token")):
            await self._close(connection, 4004, "Authentication failed.")
            return
        self.resumes.append({**data, "token": "[redacted]"})
        if session is None:
            await self._send(connection, {"op": 9, "d": False, "s": None, "t": None})
            return
        previous = session.connection
        if previous is not None and previous is not connection:
            previous.session = None
            await self._close(previous, 4009, "Session timed out.")
        connection.session = session
        session.connection = connection
        after = data.get("seq")
        after = after if isinstance(after, int) else 0
        async with session.lock:
            for frame in session.sent:
                if frame["s"] > after:
                    await self._send(connection, frame)
            await self._emit(session, "RESUMED", {"_trace": _TRACE})
        connection.ready = True
        self.handshakes += 1
        await self._notify()

    async def _request_members(self, connection: _Connection, data: dict[str, Any]) -> None:
        session = connection.session
        if session is None:
            await self._close(connection, 4003, "Not authenticated.")
            return
        self.member_requests.append(copy.deepcopy(data))
        guild_ids = data.get("guild_id")
        for raw_id in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            guild_id = int(str(raw_id))
            members = list(self._members.get(guild_id, {}).values())
            not_found: list[str] = []
            if data.get("user_ids"):
                wanted = data["user_ids"]
                wanted = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
                found = {int(m["user"]["id"]) for m in members}
                not_found = [str(u) for u in wanted if u not in found]
                members = [m for m in members if int(m["user"]["id"]) in wanted]
            else:
                query = str(data.get("query") or "").lower()
                members = [
                    m
                    for m in members
                    if m["user"]["username"].lower().startswith(query)
                    or (m.get("nick") or "").lower().startswith(query)
                ]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild_id),
                "members": copy.deepcopy(members),
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": not_found,
            }
            if data.get("presences"):
                chunk["presences"] = []
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            async with session.lock:
                await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ---------------------------------------------------------------- REST: wire

    def _build_routes(self) -> None:
        snowflake = r"[0-9]{1,20}"
        app = f"/applications/(?P<app_id>{snowflake})"
        guild_commands = f"{app}/guilds/(?P<guild_id>{snowflake})/commands"
        channel = f"/channels/(?P<channel_id>{snowflake})"
        message = f"{channel}/messages/(?P<message_id>{snowflake})"
        thread_member = f"{channel}/thread-members/(?P<user_id>{snowflake}|@me)"
        guild = f"/guilds/(?P<guild_id>{snowflake})"
        webhook = f"/webhooks/(?P<app_id>{snowflake})/(?P<token>[^/]+)"
        webhook_message = f"{webhook}/messages/(?P<message_id>{snowflake}|@original)"
        callback = f"/interactions/(?P<interaction_id>{snowflake})/(?P<token>[^/]+)/callback"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/users/@me", self._get_me),
            ("GET", "/users/@me/guilds", self._get_my_guilds),
            ("POST", "/users/@me/channels", self._open_dm),
            ("GET", f"/users/(?P<user_id>{snowflake})", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", f"{app}/commands", self._get_commands),
            ("PUT", f"{app}/commands", self._put_commands),
            ("GET", guild_commands, self._get_commands),
            ("PUT", guild_commands, self._put_commands),
            ("GET", channel, self._get_channel),
            ("POST", f"{channel}/messages", self._post_message),
            ("POST", f"{channel}/typing", self._typing),
            ("GET", message, self._get_message),
            ("PATCH", message, self._edit_message),
            ("DELETE", message, self._delete_message),
            ("POST", f"{channel}/threads", self._create_thread),
            ("PUT", thread_member, self._add_thread_member),
            ("DELETE", thread_member, self._remove_thread_member),
            ("GET", guild, self._get_guild),
            ("GET", f"{guild}/channels", self._get_guild_channels),
            ("GET", f"{guild}/roles", self._get_roles),
            ("GET", f"{guild}/members/(?P<user_id>{snowflake})", self._get_member),
            ("POST", callback, self._interaction_callback),
            ("POST", webhook, self._post_followup),
            ("GET", webhook_message, self._get_webhook_message),
            ("PATCH", webhook_message, self._edit_webhook_message),
            ("DELETE", webhook_message, self._delete_webhook_message),
        ]
        self._routes = [
            (method, re.compile(path), path, handler) for method, path, handler in table
        ]

    def _route(
        self, method: str, path: str
    ) -> tuple[str | None, Handler | None, re.Match[str] | None]:
        """The route template, handler and match for a request.

        The handler is None for an unknown route (and the template too) or another method.
        """
        template: str | None = None
        for route_method, pattern, raw, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method == method:
                return raw, handler, match
            template = raw
        return template, None, None

    @staticmethod
    def _needs_auth(path: str) -> bool:
        """Interaction callbacks and interaction webhooks are authorised by their token."""
        return not (
            path.startswith("/interactions/")
            or re.match(r"/webhooks/[0-9]+/[^/]+", path) is not None
            or path == "/gateway"
        )

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        for rule in self._rules:
            if rule.method != method or not _path_matches(rule.path, path):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    @staticmethod
    def _bucket(template: str | None, path: str) -> str:
        return hashlib.sha1((template or path).encode()).hexdigest()[:32]

    def _rule_answer(self, rule: _Rule, bucket: str) -> _Answer:
        headers = dict(rule.headers)
        if rule.rate_limit is not None:
            retry_after = rule.rate_limit
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
            if rule.is_global:
                headers["X-RateLimit-Global"] = "true"
                headers["X-RateLimit-Scope"] = "global"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                        "X-RateLimit-Bucket": bucket,
                        "X-RateLimit-Scope": "user",
                    }
                )
        if rule.raw is not None:
            return _Answer(rule.status, None, headers, raw=rule.raw, content_type=rule.content_type)
        return _Answer(rule.status, copy.deepcopy(rule.body), headers)

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        method = request.method.upper()
        path = "/" + request.match_info["tail"]
        query = dict(request.query)
        body, files, invalid = await _read_body(request)
        headers = dict(request.headers)
        auth = headers.get("Authorization")
        if auth is not None:
            headers["Authorization"] = _REDACTED
        template, handler, match = self._route(method, path)
        bucket = self._bucket(template, path)
        token = auth[4:] if auth is not None and auth.startswith("Bot ") else None
        token_ok = self._token_ok(token)
        if self._needs_auth(path) and not token_ok:
            answer = _error(401, 0, "401: Unauthorized")
        elif (rule := self._take_rule(method, path)) is not None:
            answer = self._rule_answer(rule, bucket)
        elif invalid:
            answer = _error(400, 50109, "The request body contains invalid JSON.")
        elif handler is None:
            if template is not None:
                answer = _error(405, 0, "405: Method Not Allowed")
            else:
                answer = _error(404, 0, "404: Not Found")
        else:
            assert match is not None
            parsed = _Request(method, path, query, body, files, match)
            try:
                answer = await handler(parsed)
            except _Refusal as refusal:
                answer = refusal.answer
        self.calls.append(
            Call(
                method=method,
                path=path,
                query=query,
                json=body,
                headers=headers,
                status=answer.status,
                files=files,
            )
        )
        await self._notify()
        return self._respond(answer, bucket)

    @staticmethod
    def _respond(answer: _Answer, bucket: str) -> web.Response:
        if answer.raw is not None:  # a proxy's answer: its own headers, not Discord's
            typed = {**answer.headers, "Content-Type": answer.content_type}
            return web.Response(status=answer.status, body=answer.raw, headers=typed)
        headers = {"Via": "1.1 google", **answer.headers}
        if answer.status < 300 and "X-RateLimit-Bucket" not in headers:
            # Generous but realistic limits: discord.py reads them and never has to wait.
            headers.update(
                {
                    "X-RateLimit-Limit": "50",
                    "X-RateLimit-Remaining": "49",
                    "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
                    "X-RateLimit-Reset-After": "1.000",
                    "X-RateLimit-Bucket": bucket,
                }
            )
        if answer.body is None:
            return web.Response(status=answer.status, headers=headers)
        # Exactly "application/json": discord.py leaves anything else (a charset) undecoded.
        headers["Content-Type"] = "application/json"
        return web.Response(
            status=answer.status, body=json.dumps(answer.body).encode(), headers=headers
        )

    # ------------------------------------------------------- REST: users and app

    async def _get_gateway(self, request: _Request) -> _Answer:
        return _Answer(200, {"url": f"ws://127.0.0.1:{self.port}"})

    async def _get_gateway_bot(self, request: _Request) -> _Answer:
        return _Answer(
            200,
            {
                "url": f"ws://127.0.0.1:{self.port}",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    async def _get_me(self, request: _Request) -> _Answer:
        return _Answer(200, copy.deepcopy(self.bot))

    async def _get_my_guilds(self, request: _Request) -> _Answer:
        guilds = [
            {
                "id": str(guild_id),
                "name": guild.get("name", "Guild"),
                "icon": None,
                "banner": None,
                "owner": False,
                "permissions": str(payloads.BOT_PERMISSIONS),
                "features": list(guild.get("features", [])),
            }
            for guild_id, guild in self._guilds.items()
        ]
        return _Answer(200, guilds)

    async def _get_user(self, request: _Request) -> _Answer:
        return _Answer(200, self._user(int(request.match["user_id"])))

    async def _open_dm(self, request: _Request) -> _Answer:
        body = request.body
        try:
            user_id = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            return _form_error({"recipient_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}})
        channel = self._channels.setdefault(
            self.dm_channel_id(user_id),
            {**payloads.dm_channel(user_id), "recipients": [self._user(user_id)]},
        )
        return _Answer(200, copy.deepcopy(channel))

    async def _get_application(self, request: _Request) -> _Answer:
        owner = payloads.user(1, "owner")
        return _Answer(
            200,
            {
                "id": str(self.application_id),
                "name": self.bot_name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": self._app_flags(),
                "owner": owner,
                "team": None,
                "bot": payloads.user(self.bot_user_id, self.bot_name, bot=True),
                "rpc_origins": [],
                "redirect_uris": [],
                "tags": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
                "integration_types_config": {"0": {}},
                "approximate_guild_count": len(self._guilds),
                "approximate_user_install_count": 0,
            },
        )

    # ------------------------------------------------------------ REST: commands

    def _command_scope(self, request: _Request) -> int | None:
        """The guild of a guild command route (None: global); refused for another app."""
        if int(request.match["app_id"]) != self.application_id:
            raise _Refusal(_error(403, 20012, "You are not authorized to perform this action"))
        raw_guild = request.match.groupdict().get("guild_id")
        if raw_guild is None:
            return None
        if int(raw_guild) not in self._guilds:
            raise _Refusal(_error(403, 50001, "Missing Access"))
        return int(raw_guild)

    async def _get_commands(self, request: _Request) -> _Answer:
        return _Answer(200, self.commands(self._command_scope(request)))

    async def _put_commands(self, request: _Request) -> _Answer:
        guild_id = self._command_scope(request)
        if not isinstance(request.json, list):
            return _form_error({"_errors": [{"code": "LIST_TYPE_CONVERT", "message": "list"}]})
        self._command_version += 1
        registered: list[dict[str, Any]] = []
        for command in request.json:
            kind = int(command.get("type", 1))
            key = (guild_id, str(command.get("name")), kind)
            command_id = self._command_ids.setdefault(key, self._next_id())
            stored = {
                "default_member_permissions": None,
                "nsfw": False,
                "description": "",
                "options": [],
                "integration_types": [0],
                "contexts": None,
                "name_localizations": None,
                "description_localizations": None,
                **command,
                "id": str(command_id),
                "application_id": str(self.application_id),
                "type": kind,
                "version": str(self._next_id()),
            }
            if guild_id is not None:
                stored["guild_id"] = str(guild_id)
            registered.append(stored)
        self._commands[guild_id] = registered
        return _Answer(200, copy.deepcopy(registered))

    # ------------------------------------------------------- REST: guilds, channels

    def _known_guild(self, request: _Request) -> int:
        guild_id = int(request.match["guild_id"])
        if guild_id not in self._guilds:
            raise _Refusal(_error(404, 10004, "Unknown Guild"))
        return guild_id

    def _known_channel(self, request: _Request) -> dict[str, Any]:
        channel = self._channels.get(int(request.match["channel_id"]))
        if channel is None:
            raise _Refusal(_error(404, 10003, "Unknown Channel"))
        return channel

    async def _get_guild(self, request: _Request) -> _Answer:
        guild_id = self._known_guild(request)
        guild = self._guild(guild_id)
        guild["approximate_member_count"] = len(self._members[guild_id])
        return _Answer(200, guild)

    async def _get_guild_channels(self, request: _Request) -> _Answer:
        return _Answer(200, self._guild_channels(self._known_guild(request), threads=False))

    async def _get_roles(self, request: _Request) -> _Answer:
        return _Answer(200, self._roles(self._known_guild(request)))

    async def _get_member(self, request: _Request) -> _Answer:
        members = self._members[self._known_guild(request)]
        found = members.get(int(request.match["user_id"]))
        if found is None:
            return _error(404, 10007, "Unknown Member")
        return _Answer(200, copy.deepcopy(found))

    async def _get_channel(self, request: _Request) -> _Answer:
        return _Answer(200, copy.deepcopy(self._known_channel(request)))

    async def _typing(self, request: _Request) -> _Answer:
        self._known_channel(request)
        return _Answer(204)

    async def _create_thread(self, request: _Request) -> _Answer:
        parent = self._known_channel(request)
        parent_id = int(parent["id"])
        if parent["type"] not in (0, 5):
            return _error(400, 50024, "Cannot execute action on this channel type")
        body = request.body
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return _form_error({"name": _too_long(100)})
        kind = int(body.get("type", 11))
        thread_id = self._next_id()
        now = _now()
        thread = {
            "id": str(thread_id),
            "type": kind,
            "guild_id": parent["guild_id"],
            "parent_id": str(parent_id),
            "owner_id": str(self.bot_user_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
            "flags": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "archive_timestamp": now,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 4320),
                "locked": False,
                "invitable": bool(body.get("invitable", True)) if kind == 12 else True,
                "create_timestamp": now,
            },
            "member": {
                "id": str(thread_id),
                "user_id": str(self.bot_user_id),
                "join_timestamp": now,
                "flags": 1,
                "muted": False,
                "mute_config": None,
            },
        }
        self._channels[thread_id] = thread
        self._thread_members[thread_id] = {self.bot_user_id}
        return _Answer(201, copy.deepcopy(thread))

    def _thread_member(self, request: _Request, *, joins: bool) -> _Answer:
        thread = self._known_channel(request)
        if thread["type"] not in (10, 11, 12):
            return _error(400, 50024, "Cannot execute action on this channel type")
        raw_user = request.match["user_id"]
        user_id = self.bot_user_id if raw_user == "@me" else int(raw_user)
        members = self._thread_members.setdefault(int(thread["id"]), set())
        if joins:
            members.add(user_id)
        else:
            members.discard(user_id)
        thread["member_count"] = len(members)
        return _Answer(204)

    async def _add_thread_member(self, request: _Request) -> _Answer:
        return self._thread_member(request, joins=True)

    async def _remove_thread_member(self, request: _Request) -> _Answer:
        return self._thread_member(request, joins=False)

    # ------------------------------------------------------------ REST: messages

    def _message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]],
        *,
        interaction: _Interaction | None = None,
        message_type: int = 0,
        extra_flags: int = 0,
    ) -> dict[str, Any]:
        """A message the bot (or its interaction webhook) posted, as Discord answers it."""
        message_id = self._next_id()
        message: dict[str, Any] = {
            "id": str(message_id),
            "type": message_type,
            "channel_id": str(channel_id),
            "author": payloads.user(self.bot_user_id, self.bot_name, bot=True),
            "content": str(body.get("content") or ""),
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": _attachments(body, files, self._next_id),
            "embeds": copy.deepcopy(body.get("embeds") or []),
            "components": copy.deepcopy(body.get("components") or []),
            "pinned": False,
            "flags": int(body.get("flags") or 0) | extra_flags,
        }
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("message_reference"):
            reference = dict(body["message_reference"])
            reference.setdefault("channel_id", str(channel_id))
            message["message_reference"] = reference
            if message_type == 0:
                message["type"] = 19  # REPLY
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            if interaction.user is not None:
                metadata: dict[str, Any] = {
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "user": copy.deepcopy(interaction.user),
                    "authorizing_integration_owners": {},
                }
                if interaction.original is not None:
                    metadata["original_response_message_id"] = str(interaction.original)
                message["interaction_metadata"] = metadata
        self._messages[message_id] = message
        self._record_uploads(message, files)
        channel = self._channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = str(message_id)
        return copy.deepcopy(message)

    def _record_uploads(
        self, message: Mapping[str, Any], files: Sequence[Mapping[str, Any]]
    ) -> None:
        """Keep the files that arrived with ``message`` (its attachments, in order)."""
        kept = self._uploads.setdefault(int(message["channel_id"]), [])
        for upload, attachment in zip(files, message.get("attachments") or [], strict=False):
            kept.append(
                {
                    "message_id": int(message["id"]),
                    "filename": attachment["filename"],
                    "data": bytes(upload.get("data") or b""),
                    "description": attachment.get("description"),
                    "content_type": upload.get("content_type"),
                }
            )

    def _edit(
        self,
        message: dict[str, Any],
        body: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]],
    ) -> dict[str, Any]:
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = copy.deepcopy(body[key]) if body[key] is not None else None
        if message.get("content") is None:
            message["content"] = ""
        for key in ("embeds", "components"):
            if message.get(key) is None:
                message[key] = []
        if "attachments" in body or files:
            message["attachments"] = _attachments(body, files, self._next_id)
            self._record_uploads(message, files)
        if "flags" in body and body["flags"] is not None:
            message["flags"] = (message.get("flags", 0) & EPHEMERAL) | int(body["flags"])
        message["flags"] = int(message.get("flags", 0)) & ~LOADING
        message["edited_timestamp"] = _now()
        return copy.deepcopy(message)

    async def _post_message(self, request: _Request) -> _Answer:
        channel = self._known_channel(request)
        channel_id = int(channel["id"])
        if channel["type"] == 1:
            recipients = [int(u["id"]) for u in channel.get("recipients", [])]
            if any(user_id in self._refused_dms for user_id in recipients):
                return _error(403, 50007, "Cannot send messages to this user")
        body = request.body
        problem = _check_message(body, request.files, upload_limit=self.upload_limit)
        if problem is not None:
            return problem
        # discord.py sends a nonce with enforce_nonce: a retried post gets the first message.
        nonce_key = (channel_id, str(body.get("nonce")))
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            existing = self._messages.get(self._nonces.get(nonce_key, 0))
            if existing is not None:
                return _Answer(200, copy.deepcopy(existing))
        message = self._message(channel_id, body, request.files)
        if body.get("nonce") is not None:
            self._nonces[nonce_key] = int(message["id"])
        self._posted.setdefault(channel_id, []).append(copy.deepcopy(body))
        return _Answer(200, message)

    def _channel_message(self, request: _Request) -> dict[str, Any]:
        channel_id = int(self._known_channel(request)["id"])
        message = self._messages.get(int(request.match["message_id"]))
        if message is None or message["channel_id"] != str(channel_id):
            raise _Refusal(_error(404, 10008, "Unknown Message"))
        return message

    def _edit_answer(self, message: dict[str, Any], request: _Request) -> _Answer:
        """Edit ``message`` as ``request`` asks, if Discord would allow the edit."""
        problem = _check_message(
            request.body, request.files, edit=True, upload_limit=self.upload_limit
        )
        if problem is not None:
            return problem
        return _Answer(200, self._edit(message, request.body, request.files))

    async def _get_message(self, request: _Request) -> _Answer:
        return _Answer(200, copy.deepcopy(self._channel_message(request)))

    async def _edit_message(self, request: _Request) -> _Answer:
        return self._edit_answer(self._channel_message(request), request)

    async def _delete_message(self, request: _Request) -> _Answer:
        del self._messages[int(self._channel_message(request)["id"])]
        return _Answer(204)

    # -------------------------------------------------------- REST: interactions

    def _interaction_for(self, interaction_id: int, token: str) -> _Interaction:
        """The interaction the fake dispatched, or a stand-in for one it never saw."""
        found = self._interactions.get(interaction_id)
        if found is not None:
            return found
        stand_in = _Interaction(id=interaction_id, token=token)
        self._interactions[interaction_id] = stand_in
        self._by_token[token] = stand_in
        return stand_in

    async def _interaction_callback(self, request: _Request) -> _Answer:
        interaction = self._interaction_for(
            int(request.match["interaction_id"]), request.match["token"]
        )
        if interaction.token != request.match["token"]:
            return _error(401, 50027, "Invalid Webhook Token")
        body = request.body
        try:
            kind = int(body["type"])
        except (KeyError, TypeError, ValueError):
            return _form_error({"type": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}})
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if interaction.answered is not None:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        problem = self._check_callback(interaction, kind, data, request.files)
        if problem is not None:
            return problem
        interaction.answered = kind
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] | None = None
        if kind in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            flags = int(data.get("flags") or 0)
            loading = LOADING if kind == 5 else 0
            content = data if kind == 4 else {"flags": flags & EPHEMERAL}
            message = self._message(
                interaction.channel_id,
                content,
                request.files if kind == 4 else (),
                interaction=interaction,
                message_type=20 if interaction.type == 2 else 0,
                extra_flags=loading,
            )
            interaction.original = int(message["id"])
            summary.update(
                response_message_id=message["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(flags & EPHEMERAL),
            )
            resource = {"type": kind, "message": message}
        elif kind in (6, 7) and interaction.message is not None:
            # DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE: @original is the component's message.
            message_id = int(interaction.message["id"])
            stored = self._messages.setdefault(message_id, copy.deepcopy(interaction.message))
            interaction.original = message_id
            summary["response_message_id"] = str(message_id)
            if kind == 7:
                resource = {"type": 7, "message": self._edit(stored, data, request.files)}
        if _truthy(request.query.get("with_response")):
            answer: dict[str, Any] = {"interaction": summary}
            if resource is not None:
                answer["resource"] = resource
            return _Answer(200, answer)
        return _Answer(204)

    def _check_callback(
        self,
        interaction: _Interaction,
        kind: int,
        data: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]],
    ) -> _Answer | None:
        if kind not in (4, 5, 6, 7, 8, 9):
            return _form_error({"type": {"_errors": [{"code": "ENUM_TYPE_COERCE"}]}})
        if kind in (6, 7) and interaction.type not in (3, 5):
            return _error(400, 40061, "Interaction cannot be responded to with this type")
        if kind == 4:
            return _check_message(data, files, prefix="data", upload_limit=self.upload_limit)
        if kind == 7:
            return _check_message(
                data, files, prefix="data", edit=True, upload_limit=self.upload_limit
            )
        if kind == 8:
            if interaction.type != 4:
                return _error(400, 40061, "Interaction cannot be responded to with this type")
            if len(data.get("choices") or []) > MAX_CHOICES:
                return _form_error({"data": {"choices": _too_long(MAX_CHOICES)}})
        if kind == 9:
            if interaction.type == 5:
                return _error(400, 40061, "Interaction cannot be responded to with this type")
            title = str(data.get("title") or "")
            if not title or len(title) > MAX_MODAL_TITLE:
                return _form_error({"data": {"title": _too_long(MAX_MODAL_TITLE)}})
            if not data.get("custom_id") or not data.get("components"):
                return _form_error({"data": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}})
            too_long = _long_custom_id(data.get("components"), data.get("custom_id"))
            if too_long:
                return _form_error({"data": {"custom_id": _too_long(MAX_CUSTOM_ID)}})
        return None

    async def _post_followup(self, request: _Request) -> _Answer:
        interaction = self._by_token.get(request.match["token"])
        if interaction is None and int(request.match["app_id"]) == self.application_id:
            # A token the fake never dispatched: accept it, in a channel it can't know.
            interaction = _Interaction(id=0, token=request.match["token"], answered=4)
            self._by_token[interaction.token] = interaction
        if interaction is None:
            return _error(404, 10015, "Unknown Webhook")
        if interaction.answered is None:
            return _error(404, 10015, "Unknown Webhook")  # no follow-up before the response
        body = request.body
        problem = _check_message(body, request.files, upload_limit=self.upload_limit)
        if problem is not None:
            return problem
        message = self._message(
            interaction.channel_id, body, request.files, interaction=interaction
        )
        interaction.followups.append(int(message["id"]))
        if not _truthy(request.query.get("wait")):
            return _Answer(204)
        return _Answer(200, message)

    def _webhook_message(self, request: _Request) -> tuple[_Interaction, dict[str, Any]]:
        """The interaction behind a webhook route and its message (@original or a follow-up)."""
        interaction = self._by_token.get(request.match["token"])
        if int(request.match["app_id"]) != self.application_id or interaction is None:
            raise _Refusal(_error(404, 10015, "Unknown Webhook"))
        raw = request.match["message_id"]
        message_id = interaction.original if raw == "@original" else int(raw)
        owned = message_id is not None and (
            message_id == interaction.original or message_id in interaction.followups
        )
        message = self._messages.get(message_id) if owned and message_id is not None else None
        if message is None:
            raise _Refusal(_error(404, 10008, "Unknown Message"))
        return interaction, message

    async def _get_webhook_message(self, request: _Request) -> _Answer:
        _, message = self._webhook_message(request)
        return _Answer(200, copy.deepcopy(message))

    async def _edit_webhook_message(self, request: _Request) -> _Answer:
        _, message = self._webhook_message(request)
        return self._edit_answer(message, request)

    async def _delete_webhook_message(self, request: _Request) -> _Answer:
        interaction, message = self._webhook_message(request)
        message_id = int(message["id"])
        del self._messages[message_id]
        if interaction.original == message_id:
            interaction.original = None
        elif message_id in interaction.followups:
            interaction.followups.remove(message_id)
        return _Answer(204)


# ---------------------------------------------------------------------- helpers


def _path_matches(pattern: str | re.Pattern[str], path: str) -> bool:
    if isinstance(pattern, re.Pattern):
        return pattern.fullmatch(path) is not None
    return pattern == path


def _long_custom_id(components: Any, custom_id: Any = None) -> bool:
    """Whether ``custom_id`` or any component's, however nested, is over 100 characters."""
    if isinstance(custom_id, str) and len(custom_id) > MAX_CUSTOM_ID:
        return True
    if isinstance(components, list):
        return any(_long_custom_id(item) for item in components)
    if isinstance(components, dict):
        if _long_custom_id(None, components.get("custom_id")):
            return True
        return any(
            _long_custom_id(components.get(key)) for key in ("components", "component", "accessory")
        )
    return False


def _check_message(
    body: Mapping[str, Any],
    files: Sequence[Mapping[str, Any]],
    *,
    prefix: str | None = None,
    edit: bool = False,
    upload_limit: int = payloads.ATTACHMENT_SIZE_LIMIT,
) -> _Answer | None:
    """Discord's checks on a message body that a bot can fail: length, emptiness, custom ids,
    how many files and how big."""

    def nest(errors: dict[str, Any]) -> dict[str, Any]:
        return {prefix: errors} if prefix else errors

    sizes = [int(upload.get("size") or 0) for upload in files]
    if any(size > upload_limit for size in sizes) or sum(sizes) > upload_limit:
        return _error(413, 40005, "Request entity too large")
    if len(files) > MAX_FILES:
        return _form_error(nest({"attachments": _too_long(MAX_FILES)}))
    content = body.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        return _form_error(nest({"content": _too_long(MAX_CONTENT)}))
    if _long_custom_id(body.get("components")):
        return _form_error(nest({"components": _too_long(MAX_CUSTOM_ID)}))
    if edit:
        return None
    has_body = any(body.get(key) for key in ("content", "embeds", "components", "sticker_ids"))
    if not (has_body or files or body.get("attachments") or body.get("poll")):
        return _error(400, 50006, "Cannot send an empty message")
    return None


def _attachments(
    body: Mapping[str, Any],
    files: Sequence[Mapping[str, Any]],
    next_id: Callable[[], int],
) -> list[dict[str, Any]]:
    attachments: list[dict[str, Any]] = []
    for index, upload in enumerate(files):
        attachment_id = next_id()
        filename = str(upload.get("filename") or f"file{index}")
        url = f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{filename}"
        attachment = {
            "id": str(attachment_id),
            "filename": filename,
            "size": int(upload.get("size") or 0),
            "url": url,
            "proxy_url": url,
            "content_type": _content_type(filename),
        }
        description = _file_description(body, upload, index)
        if description is not None:
            attachment["description"] = description
        attachments.append(attachment)
    if not attachments and isinstance(body.get("attachments"), list):
        for item in body["attachments"]:
            if isinstance(item, dict) and "url" in item:
                attachments.append(copy.deepcopy(item))
    return attachments


_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".ics": "text/calendar",
    ".png": "image/png",
    ".txt": "text/plain",
    ".json": "application/json",
}


def _content_type(filename: str) -> str:
    """The type Discord gives an attachment, guessed from its name as Discord does."""
    _, dot, extension = filename.rpartition(".")
    return _CONTENT_TYPES.get(f".{extension.lower()}" if dot else "", "application/octet-stream")


def _file_description(body: Mapping[str, Any], upload: Mapping[str, Any], index: int) -> str | None:
    """The alt text ``payload_json.attachments`` gives the upload ``files[n]``, if any."""
    match = re.fullmatch(r"files\[([0-9]+)\]", str(upload.get("name") or ""))
    wanted = int(match[1]) if match else index
    listed = body.get("attachments")
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and str(item.get("id")) == str(wanted):
            description = item.get("description")
            return str(description) if description is not None else None
    return None


async def _read_body(
    request: web.Request,
) -> tuple[Any, tuple[dict[str, Any], ...], bool]:
    """The JSON body (or multipart ``payload_json``), the uploaded files, and whether bad JSON."""
    if not request.can_read_body:
        return None, (), False
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue  # a nested multipart: discord.py never sends one
            if part.name == "payload_json":
                try:
                    payload = json.loads(await part.text())
                except ValueError:
                    return None, tuple(files), True
            else:
                data = bytes(await part.read())
                files.append(
                    {
                        "name": part.name,
                        "filename": part.filename,
                        "size": len(data),
                        "content_type": part.headers.get("Content-Type"),
                        "data": data,
                    }
                )
        return payload, tuple(files), False
    raw = await request.text()
    if not raw.strip():
        return None, (), False
    if request.content_type == "application/json":
        try:
            return json.loads(raw), (), False
        except ValueError:
            return None, (), True
    return {"_body": raw}, (), False
