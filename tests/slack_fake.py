"""A local stand-in for Slack's Web API, for tests that must not touch the network.

``FakeSlackApi`` is an aiohttp server bound to 127.0.0.1 on a free port. Point slack_sdk at it
with ``AsyncWebClient(token="xoxb-test", base_url=fake.url)``; every request is recorded as a
``Call`` and answered with a plausible Slack-shaped body. Tests can script errors
(``fail``), answers that aren't Slack's JSON (``fail_raw``: a 5xx in ``text/plain`` from a
proxy, or garbage) and rate limiting (``rate_limit``) for particular methods, and refuse a
token everywhere (``refuse_token``: ``auth.test`` then answers ``invalid_auth``).

OAuth installs work as on slack.com: ``approve_install`` stands for an installer clicking
"Allow" and returns the one-time ``code`` Slack would put in the redirect; ``oauth.v2.access``
exchanges it (once) for a bot token of that workspace, and ``auth.test`` with that token
answers with the workspace's team and bot ids.

slack_sdk does not send every method the same way, so the server accepts all of them:

* JSON bodies (``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``, ``views.*`` —
  always, not only when blocks are present);
* a POST with the arguments in the *query string* and an empty body (``auth.test``,
  ``conversations.open`` and most other "params" methods); booleans arrive as ``"1"``/``"0"``;
* GET with query parameters (``users.info``, ``conversations.list``);
* form-encoded or multipart bodies (other clients).

Query, form and JSON arguments are merged into one ``params`` dict. ``blocks``, ``view``,
``attachments`` and ``files`` given as JSON text are decoded so tests can inspect them as objects.

File uploads work as slack_sdk's ``files_upload_v2`` makes them: ``files.getUploadURLExternal``
hands out an ``upload_url`` on this server and a file id, the client POSTs the bytes there
(recorded as a call to ``"file_upload"`` with the file id and size, never the bytes), and
``files.completeUploadExternal`` shares the uploaded files in ``channel_id``, which must be a
conversation id (``C``/``G``/``D``), not a user id, as on Slack. Each shared file is kept in
``uploads`` as an ``Upload`` (channel, filename, title, bytes, initial comment). The upload POST
can be refused like a method: ``rate_limit("file_upload")`` answers 429 with ``Retry-After``,
``fail("file_upload", error)`` answers HTTP 500.

Besides ``/api/<method>`` the server answers:

* ``POST /respond/<name>`` — a stand-in ``response_url`` (see ``FakeSlackApi.response_url``),
  recorded with method ``"response_url"``;
* ``POST /upload/<file_id>`` — the ``upload_url`` of ``files.getUploadURLExternal``;
* ``GET /socket`` — a Socket Mode websocket, once ``enable_socket_mode`` was called (then
  ``apps.connections.open`` with an app-level ``xapp-`` token answers with its url). It greets
  with ``hello``, carries envelopes the test ``push``es, and records each acknowledgement the
  client sends back as a call to ``"socket_mode.ack"``;
* a control API for use from another process: ``GET /_calls`` (optional ``?method=``),
  ``POST /_fail``, ``POST /_fail_raw``, ``POST /_rate_limit``, ``POST /_refuse_token``,
  ``POST /_users`` and ``POST /_reset``.

Run it standalone with ``python -m tests.slack_fake --port-file PATH``; the url is written to
PATH once the server is listening.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import os
import signal
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSMsgType, web

from tests.local_server import LocalServer

__all__ = [
    "FILE_UPLOAD_METHOD",
    "SOCKET_ACK_METHOD",
    "Call",
    "FakeSlackApi",
    "Install",
    "Upload",
    "serve_forever",
]

RESPONSE_URL_METHOD = "response_url"
# The POST of a file's bytes to its upload_url is recorded as a call to this "method".
FILE_UPLOAD_METHOD = "file_upload"
# An acknowledgement a Socket Mode client sent back over the websocket is recorded as a call to
# this "method", with the ack as sent (``envelope_id`` and any ``payload``) as its params.
SOCKET_ACK_METHOD = "socket_mode.ack"
SOCKET_PATH = "/socket"
DEFAULT_TZ = "America/New_York"
DEFAULT_CHANNELS: tuple[dict[str, Any], ...] = (
    {"id": "C0PRACTICE", "name": "practice"},
    {"id": "C0GENERAL", "name": "general"},
)
# Arguments slack_sdk (or another client) may send as JSON text inside a form or query string.
_JSON_TEXT_PARAMS = frozenset({"blocks", "view", "attachments", "files"})
# users.info fields that sit at the top level of the user object; anything else is profile.
_TOP_LEVEL_USER_FIELDS = frozenset(
    {
        "id",
        "team_id",
        "name",
        "real_name",
        "deleted",
        "is_bot",
        "is_app_user",
        "is_admin",
        "is_owner",
        "is_primary_owner",
        "is_restricted",
        "is_ultra_restricted",
        "tz",
        "tz_label",
        "tz_offset",
        "color",
        "updated",
    }
)


@dataclass(frozen=True)
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``) or ``"response_url"``;
    ``params`` merges query, form and JSON arguments; ``token`` is the bearer token (or a
    ``token`` argument) if any; ``at`` is ``time.monotonic()`` in the serving process.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    peer: str | None = None  # the client's "host:port": one per connection it opened


@dataclass(frozen=True)
class Upload:
    """A file shared by ``files.completeUploadExternal``: what a member sees in ``channel``."""

    file_id: str
    channel: str
    filename: str
    title: str
    data: bytes
    initial_comment: str | None
    token: str | None


@dataclass(frozen=True)
class _Pending:
    """A file between ``files.getUploadURLExternal`` and ``files.completeUploadExternal``."""

    filename: str
    length: int
    data: bytes | None = None


@dataclass(frozen=True)
class Install:
    """A workspace that installed the app through OAuth (see ``FakeSlackApi.approve_install``)."""

    team_id: str
    team_name: str
    installer: str
    bot_user_id: str
    bot_id: str
    scope: str
    client_id: str | None
    token: str


@dataclass(frozen=True)
class _Scripted:
    """A canned answer queued for the next call to one method: a JSON ``body``, or ``raw``
    bytes sent as they are with ``content_type`` (what a proxy in front of Slack may say)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes | None = None
    content_type: str = "application/json"


class FakeSlackApi(LocalServer):
    """An in-process fake of Slack's Web API served over real HTTP on 127.0.0.1.

    Use as ``async with FakeSlackApi(users={...}) as fake:`` or call ``start``/``stop``.
    Every request is kept in ``calls``, including those answered with a scripted error.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        users: dict[str, dict[str, Any]] | None = None,
        app_id: str = "ATEST",
    ) -> None:
        """Configure the fake.

        ``users`` maps user ids to fields for ``users.info``, for example
        ``{"U1": {"tz": "America/Chicago", "real_name": "Ann Lee", "deleted": False}}``.
        Fields Slack keeps in ``profile`` (``display_name``, ``email``, ...) may be given flat.
        """
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.app_id = app_id
        self.users: dict[str, dict[str, Any]] = {uid: dict(f) for uid, f in (users or {}).items()}
        self.calls: list[Call] = []
        self._scripted: dict[str, deque[_Scripted]] = {}
        self.refused_tokens: dict[str, str] = {}  # token -> the error every call gets
        self._ts_micros = 1_700_000_000_000_000
        self._view_counter = 0
        self._home_views: dict[str, str] = {}
        self._codes: dict[str, Install] = {}  # approved installs whose code is not used yet
        self.installs: dict[str, Install] = {}  # by bot token, once its code was exchanged
        self._install_counter = 0
        self._socket_mode = False
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_connections = 0  # websocket connections accepted so far
        self._pending_files: dict[str, _Pending] = {}  # by file id, until completed
        self._file_counter = 0
        self.uploads: list[Upload] = []  # files shared in a conversation, oldest first
        super().__init__()

    # ----------------------------------------------------------------- lifecycle

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/respond/{name:.*}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_file_upload)
        app.router.add_get(SOCKET_PATH, self._handle_socket)
        app.router.add_get("/_calls", self._handle_calls)
        app.router.add_post("/_fail", self._handle_fail)
        app.router.add_post("/_rate_limit", self._handle_rate_limit)
        app.router.add_post("/_fail_raw", self._handle_fail_raw)
        app.router.add_post("/_refuse_token", self._handle_refuse_token)
        app.router.add_post("/_users", self._handle_users)
        app.router.add_post("/_reset", self._handle_reset)
        return app

    async def close_sockets(self) -> None:
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server stopping")

    # ------------------------------------------------------------------- public

    @property
    def url(self) -> str:
        """The base url for slack_sdk, e.g. ``http://127.0.0.1:PORT/api/`` (note the slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        """A ``response_url`` served by this fake; posts to it are recorded as ``response_url``."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def uploads_to(self, channel: str) -> list[Upload]:
        """The files shared in ``channel`` (a conversation id such as ``D1``), oldest first."""
        return [upload for upload in self.uploads if upload.channel == channel]

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls to ``method``, oldest first."""
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, method: str, *, count: int = 1, within: float = 60.0) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` arrived; return all of them.

        Raises ``TimeoutError`` if they don't arrive within ``within`` seconds.
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``.

        The HTTP status is 200, as Slack uses for API errors.
        """
        body = {"ok": False, "error": error}
        self._script(method, _Scripted(200, body, {}), times)

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP 429 and ``Retry-After``."""
        body = {"ok": False, "error": "ratelimited"}
        self._script(method, _Scripted(429, body, {"Retry-After": str(retry_after)}), times)

    def fail_raw(
        self,
        method: str,
        *,
        status: int = 503,
        body: str | bytes = "upstream connect error or disconnect/reset before headers",
        content_type: str = "text/plain",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``body`` as it is, not Slack's
        JSON: by default a 503 in ``text/plain``, as a load balancer or proxy in front of Slack
        says it. ``content_type="application/json"`` with a body that isn't JSON is garbage
        claiming to be JSON."""
        raw = body.encode() if isinstance(body, str) else body
        answer = _Scripted(status, {}, {}, raw=raw, content_type=content_type)
        self._script(method, answer, times)

    def refuse_token(self, token: str, error: str = "invalid_auth") -> None:
        """From now on answer every call made with ``token`` (``auth.test`` too) with
        ``{"ok": false, "error": error}``, as Slack does for a revoked or mistyped token."""
        self.refused_tokens[token] = error

    def reset(self) -> None:
        """Forget recorded calls, uploads, refused tokens and any scripted failures not yet
        used."""
        self.calls.clear()
        self._scripted.clear()
        self.refused_tokens.clear()
        self.uploads.clear()
        self._pending_files.clear()

    # ------------------------------------------------------------------ OAuth

    def approve_install(
        self,
        *,
        team_id: str,
        team_name: str,
        installer: str = "U0INSTALLER",
        scope: str = "commands,chat:write",
        bot_user_id: str | None = None,
        client_id: str | None = None,
    ) -> str:
        """An installer in ``team_id`` clicks "Allow" on Slack's authorize page.

        Returns the one-time code Slack sends to the app's redirect url. ``oauth.v2.access``
        exchanges it once for a new bot token; a second exchange gets ``invalid_code``, and
        so does an exchange by another app than ``client_id`` (when given).
        """
        self._install_counter += 1
        number = self._install_counter
        install = Install(
            team_id=team_id,
            team_name=team_name,
            installer=installer,
            bot_user_id=bot_user_id or self.bot_user_id,
            bot_id=f"B{number:02d}{team_id[1:]}",
            scope=scope,
            client_id=client_id,
            token=f"xoxb-installed-{team_id}-{number}",
        )
        code = f"code-{number}-{uuid.uuid4().hex[:8]}"
        self._codes[code] = install
        return code

    def _exchange_code(self, params: dict[str, Any]) -> dict[str, Any]:
        """``oauth.v2.access``: a code approved by ``approve_install``, for a bot token."""
        install = self._codes.pop(str(params.get("code", "")), None)
        if not params.get("client_id"):
            return {"ok": False, "error": "invalid_client_id"}
        if not params.get("client_secret"):
            return {"ok": False, "error": "bad_client_secret"}
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        if install.client_id is not None and install.client_id != params["client_id"]:
            return {"ok": False, "error": "invalid_code"}
        self.installs[install.token] = install
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": install.installer},
            "scope": install.scope,
            "token_type": "bot",
            "access_token": install.token,
            "bot_user_id": install.bot_user_id,
            "team": {"id": install.team_id, "name": install.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------- Socket Mode

    def enable_socket_mode(self) -> None:
        """Let ``apps.connections.open`` hand out this fake's websocket url.

        Before this is called it answers ``not_allowed_token_type``, as Slack does for an app
        without Socket Mode; after, it still does for any token but an app-level ``xapp-`` one.
        """
        self._socket_mode = True

    @property
    def socket_url(self) -> str:
        """The websocket url ``apps.connections.open`` answers with."""
        return f"ws://127.0.0.1:{self.port}{SOCKET_PATH}"

    @property
    def open_sockets(self) -> int:
        """How many Socket Mode connections are open now."""
        return len(self._sockets)

    async def wait_for_socket(self, *, count: int = 1, within: float = 60.0) -> None:
        """Wait until ``count`` websocket connections were accepted in all (and one is open)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: self.socket_connections >= count and bool(self._sockets)
            )

    async def wait_for_sockets_closed(self, *, within: float = 60.0) -> None:
        """Wait until no Socket Mode connection is open (the client closed it, or went away)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: not self._sockets)

    async def push(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        envelope_id: str | None = None,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        within: float = 60.0,
    ) -> str:
        """Send an envelope to the newest open Socket Mode connection; return its id.

        ``envelope_type`` is ``"slash_commands"``, ``"interactive"`` or ``"events_api"``, and
        ``payload`` what Slack would have posted over HTTP, as a dict. Slack accepts a response
        payload in the ack for everything but events, unless told otherwise.
        """
        await self.wait_for_socket(within=within)
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type != "events_api"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        await self._sockets[-1].send_json(envelope)
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, *, within: float = 60.0) -> Call:
        """Wait for the client's acknowledgement of ``envelope_id``; return it as a ``Call``."""

        def acked() -> list[Call]:
            return [
                call
                for call in self.calls_to(SOCKET_ACK_METHOD)
                if call.params.get("envelope_id") == envelope_id
            ]

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: bool(acked()))
        return acked()[0]

    async def disconnect_sockets(self, reason: str = "refresh_requested") -> None:
        """Ask every connected client to reconnect, as Slack does every few hours."""
        for socket in list(self._sockets):
            await socket.send_json(
                {
                    "type": "disconnect",
                    "reason": reason,
                    "debug_info": {"host": "applink-fake"},
                }
            )

    # ---------------------------------------------------------------- internals

    def _script(self, method: str, answer: _Scripted, times: int) -> None:
        if times < 0:
            raise ValueError("times must not be negative")
        self._scripted.setdefault(method, deque()).extend([answer] * times)

    async def _record(
        self,
        method: str,
        params: dict[str, Any],
        token: str | None,
        request: web.Request | None = None,
    ) -> None:
        peer = None
        if request is not None and request.transport is not None:
            host, port, *_ = request.transport.get_extra_info("peername") or ("?", 0)
            peer = f"{host}:{port}"
        self.calls.append(
            Call(method=method, params=params, token=token, at=time.monotonic(), peer=peer)
        )
        async with self._changed:
            self._changed.notify_all()

    def _next_scripted(self, method: str) -> _Scripted | None:
        """Use up the next scripted answer for ``method``, if one is queued."""
        queue = self._scripted.get(method)
        if not queue:
            return None
        answer = queue.popleft()
        if not queue:
            del self._scripted[method]
        return answer

    def _scripted_response(self, method: str) -> web.Response | None:
        answer = self._next_scripted(method)
        if answer is None:
            return None
        if answer.raw is not None:
            return web.Response(
                status=answer.status,
                body=answer.raw,
                headers={**answer.headers, "Content-Type": answer.content_type},
            )
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    def _next_ts(self) -> str:
        self._ts_micros += 100
        seconds, micros = divmod(self._ts_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _next_view_id(self) -> str:
        self._view_counter += 1
        return f"V{self._view_counter:08d}"

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, token = await _read_params(request)
        await self._record(method, params, token, request)
        scripted = self._scripted_response(method)
        if scripted is not None:
            return scripted
        if token is not None and token in self.refused_tokens:
            return web.json_response({"ok": False, "error": self.refused_tokens[token]})
        return web.json_response(self._answer(method, params, token))

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        params, token = await _read_params(request)
        params["response_url_name"] = request.match_info["name"]
        await self._record(RESPONSE_URL_METHOD, params, token, request)
        return self._scripted_response(RESPONSE_URL_METHOD) or web.json_response({"ok": True})

    async def _handle_file_upload(self, request: web.Request) -> web.Response:
        """The ``upload_url`` of one file: Slack's file servers answer ``OK - <size>``."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        await self._record(
            FILE_UPLOAD_METHOD, {"file_id": file_id, "size": len(data)}, None, request
        )
        scripted = self._next_scripted(FILE_UPLOAD_METHOD)
        if scripted is not None and scripted.raw is not None:
            return web.Response(
                status=scripted.status,
                body=scripted.raw,
                headers={**scripted.headers, "Content-Type": scripted.content_type},
            )
        if scripted is not None:
            # Slack's file servers answer a refusal with an HTTP error, not {"ok": false}.
            status = scripted.status if scripted.status != 200 else 500
            error = str(scripted.body.get("error", "error"))
            return web.Response(status=status, text=error, headers=scripted.headers)
        pending = self._pending_files.get(file_id)
        if pending is None:
            return web.Response(status=404, text="unknown upload url")
        self._pending_files[file_id] = _Pending(pending.filename, pending.length, data)
        return web.Response(text=f"OK - {len(data)}")

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        """``files.getUploadURLExternal``: where to POST one file's bytes, and its id."""
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length", ""))
        except ValueError:
            length = -1
        if not filename or length < 0:
            return {"ok": False, "error": "invalid_arguments"}
        self._file_counter += 1
        file_id = f"F{self._file_counter:08d}"
        self._pending_files[file_id] = _Pending(filename, length)
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def _complete_upload(self, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """``files.completeUploadExternal``: share uploaded files in ``channel_id``."""
        files = params.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(params.get("channel_id") or "")
        if channel and channel[0] not in "CGD":  # a user id is refused, as on Slack
            return {"ok": False, "error": "invalid_arguments"}
        ready: list[tuple[str, str, _Pending]] = []
        for entry in files:
            file_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
            pending = self._pending_files.get(file_id)
            if pending is None or pending.data is None:
                return {"ok": False, "error": "file_not_found"}
            if len(pending.data) != pending.length:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            ready.append((file_id, str(entry.get("title") or pending.filename), pending))
        shared: list[dict[str, Any]] = []
        comment = params.get("initial_comment")
        for file_id, title, pending in ready:
            del self._pending_files[file_id]
            assert pending.data is not None
            if channel:
                self.uploads.append(
                    Upload(
                        file_id=file_id,
                        channel=channel,
                        filename=pending.filename,
                        title=title,
                        data=pending.data,
                        initial_comment=str(comment) if comment is not None else None,
                        token=token,
                    )
                )
            shared.append(
                {"id": file_id, "name": pending.filename, "title": title, "size": pending.length}
            )
        return {"ok": True, "files": shared}

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode connection: ``hello``, then envelopes out and acks in."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        self.socket_connections += 1
        try:
            await socket.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            async with self._changed:
                self._changed.notify_all()
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    sent = json.loads(message.data)
                except ValueError:
                    sent = {"_invalid_json": message.data}
                if isinstance(sent, dict) and "envelope_id" in sent:
                    await self._record(SOCKET_ACK_METHOD, sent, None)
        finally:
            self._sockets.remove(socket)
            async with self._changed:
                self._changed.notify_all()
        return socket

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        """The default successful (or realistic failing) body for ``method``."""
        install = self.installs.get(token or "")
        team_id = install.team_id if install is not None else self.team_id
        if method == "auth.test":
            if install is not None:
                return {
                    "ok": True,
                    "url": f"https://{install.team_id.lower()}.slack.com/",
                    "team": install.team_name,
                    "user": "tiara",
                    "team_id": install.team_id,
                    "user_id": install.bot_user_id,
                    "bot_id": install.bot_id,
                    "is_enterprise_install": False,
                }
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "tiara",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": "BTEST",
                "is_enterprise_install": False,
            }
        if method == "oauth.v2.access":
            return self._exchange_code(params)
        if method == "chat.postMessage":
            channel = _dm_for(str(params.get("channel", "")))
            ts = self._next_ts()
            message = self._message(params, ts)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            ts = str(params.get("ts", ""))
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": ts,
                "text": params.get("text", ""),
                "message": self._message(params, ts),
            }
        if method == "conversations.open":
            return self._open_conversation(params)
        if method == "files.getUploadURLExternal":
            return self._upload_url(params)
        if method == "files.completeUploadExternal":
            return self._complete_upload(params, token)
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": self._view(method, params, team_id)}
        if method == "users.info":
            user_id = str(params.get("user", ""))
            if user_id not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": self._user(user_id, team_id)}
        if method == "users.list":
            return {
                "ok": True,
                "members": [self._user(uid, team_id) for uid in self.users],
                "response_metadata": {"next_cursor": ""},
            }
        if method == "conversations.list":
            return {
                "ok": True,
                "channels": [dict(channel) for channel in DEFAULT_CHANNELS],
                "response_metadata": {"next_cursor": ""},
            }
        if method == "apps.connections.open":
            if self._socket_mode and (token or "").startswith("xapp-"):
                return {"ok": True, "url": f"{self.socket_url}?ticket={uuid.uuid4()}"}
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True}

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "BTEST",
            "ts": ts,
            "text": params.get("text", ""),
        }
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        if "thread_ts" in params:
            message["thread_ts"] = params["thread_ts"]
        return message

    def _open_conversation(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": str(params["channel"])}}
        users = sorted({u.strip() for u in str(params.get("users", "")).split(",") if u.strip()})
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) == 1:
            return {"ok": True, "channel": {"id": _dm_for(users[0]), "is_im": True}}
        digest = hashlib.sha1(",".join(users).encode()).hexdigest()[:10].upper()
        return {"ok": True, "channel": {"id": f"G{digest}", "is_mpim": True}}

    def _view(self, method: str, params: dict[str, Any], team_id: str) -> dict[str, Any]:
        view = params.get("view")
        echoed: dict[str, Any] = dict(view) if isinstance(view, dict) else {}
        if method == "views.update" and params.get("view_id"):
            view_id = str(params["view_id"])
        elif method == "views.publish" and params.get("user_id"):
            user_id = str(params["user_id"])
            view_id = self._home_views.setdefault(user_id, self._next_view_id())
        else:
            view_id = self._next_view_id()
        echoed.update(
            {
                "id": view_id,
                "team_id": team_id,
                "app_id": self.app_id,
                "bot_id": "BTEST",
                "hash": f"1700000000.{view_id}",
            }
        )
        echoed.setdefault("blocks", [])
        echoed.setdefault("private_metadata", "")
        echoed.setdefault("callback_id", "")
        echoed.setdefault("state", {"values": {}})
        return echoed

    def _user(self, user_id: str, team_id: str) -> dict[str, Any]:
        fields = self.users[user_id]
        real_name = str(fields.get("real_name", user_id))
        tz = str(fields.get("tz", DEFAULT_TZ))
        tz_label, tz_offset = _tz_details(tz)
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": team_id,
            "name": real_name.lower().replace(" ", "."),
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
        }
        profile: dict[str, Any] = {"display_name": "", "real_name": real_name}
        for key, value in fields.items():
            if key == "profile" and isinstance(value, dict):
                profile.update(value)
            elif key in _TOP_LEVEL_USER_FIELDS:
                user[key] = value
            else:
                profile[key] = value
        profile.setdefault("real_name_normalized", profile["real_name"])
        profile.setdefault("display_name_normalized", profile["display_name"])
        user["profile"] = profile
        return user

    # -------------------------------------------------------------- control API

    async def _handle_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = self.calls if method is None else self.calls_to(method)
        return web.json_response([asdict(call) for call in calls])

    async def _handle_fail(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        try:
            self.fail(str(body["method"]), str(body["error"]), times=int(body.get("times", 1)))
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad /_fail request: {exc!r}") from exc
        return web.json_response({"ok": True})

    async def _handle_rate_limit(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        try:
            self.rate_limit(
                str(body["method"]),
                retry_after=int(body.get("retry_after", 1)),
                times=int(body.get("times", 1)),
            )
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad /_rate_limit request: {exc!r}") from exc
        return web.json_response({"ok": True})

    async def _handle_fail_raw(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        try:
            self.fail_raw(
                str(body["method"]),
                status=int(body.get("status", 503)),
                body=str(body.get("body", "upstream connect error")),
                content_type=str(body.get("content_type", "text/plain")),
                times=int(body.get("times", 1)),
            )
        except (KeyError, ValueError) as exc:
            raise web.HTTPBadRequest(text=f"bad /_fail_raw request: {exc!r}") from exc
        return web.json_response({"ok": True})

    async def _handle_refuse_token(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        try:
            self.refuse_token(str(body["token"]), str(body.get("error", "invalid_auth")))
        except KeyError as exc:
            raise web.HTTPBadRequest(text=f"bad /_refuse_token request: {exc!r}") from exc
        return web.json_response({"ok": True})

    async def _handle_users(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        if not all(isinstance(fields, dict) for fields in body.values()):
            raise web.HTTPBadRequest(text="/_users expects {user_id: {field: value}}")
        for user_id, fields in body.items():
            self.users.setdefault(str(user_id), {}).update(fields)
        return web.json_response({"ok": True})

    async def _handle_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})


# ---------------------------------------------------------------------- helpers


def _dm_for(channel: str) -> str:
    """Slack answers a post to a user id from the app's DM with that user: ``U123`` -> ``D123``."""
    return f"D{channel[1:]}" if channel.startswith("U") else channel


def _tz_details(tz: str) -> tuple[str, int]:
    """A label and the current UTC offset in seconds for an IANA zone name."""
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return tz, 0
    offset = now.utcoffset()
    return now.tzname() or tz, int(offset.total_seconds()) if offset is not None else 0


def _decode_json_text(params: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_TEXT_PARAMS & params.keys():
        value = params[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


async def _read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Merge query, form/multipart and JSON arguments; pull out the token."""
    params: dict[str, Any] = dict(request.query.items())
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.text()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"_invalid_json": raw}
                if isinstance(body, dict):
                    params.update(body)
                else:
                    params["_json"] = body
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"filename": value.filename, "size": len(value.file.read())}
                else:
                    params[key] = value
        else:
            raw = await request.text()
            if raw:
                params["_body"] = raw
    token: str | None = None
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[len("bearer ") :].strip() or None
    elif auth.lower().startswith("basic "):
        # oauth.v2.access: slack_sdk sends the app's client id and secret as Basic auth.
        with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
            user, _, password = base64.b64decode(auth[len("basic ") :]).decode().partition(":")
            params.setdefault("client_id", user)
            params.setdefault("client_secret", password)
    body_token = params.pop("token", None)
    if token is None and isinstance(body_token, str):
        token = body_token
    return _decode_json_text(params), token


async def _control_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="control requests take a JSON object") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="control requests take a JSON object")
    return body


# ------------------------------------------------------------ separate process


async def serve_forever(
    port_file: str | os.PathLike[str],
    *,
    port: int = 0,
    team_id: str = "T0TEST",
    bot_user_id: str = "UBOT",
    users: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Run a fake until SIGTERM/SIGINT (or cancellation), writing its url to ``port_file``.

    The file is written atomically (write then rename), so a reader never sees half a url.
    """
    fake = FakeSlackApi(team_id=team_id, bot_user_id=bot_user_id, users=users)
    await fake.start(port=port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)
    try:
        target = Path(port_file)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(fake.url + "\n")
        partial.replace(target)
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    """Command line entry: ``python -m tests.slack_fake --port-file PATH [--users JSON]``."""
    parser = argparse.ArgumentParser(description="Serve a fake Slack Web API on 127.0.0.1.")
    parser.add_argument("--port-file", required=True, help="where to write the base url")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    parser.add_argument("--team-id", default="T0TEST")
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument(
        "--users", default="{}", help='JSON {user_id: fields}, e.g. \'{"U1": {"tz": "UTC"}}\''
    )
    args = parser.parse_args(argv)
    users = json.loads(args.users)
    asyncio.run(
        serve_forever(
            args.port_file,
            port=args.port,
            team_id=args.team_id,
            bot_user_id=args.bot_user_id,
            users=users,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
