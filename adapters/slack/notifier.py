"""Sending on Slack: DMs, group DMs and channel posts, paced to stay inside Slack's limits.

Slack allows about one message per second in a channel and a few hundred a minute per
workspace; past that it answers 429 with ``Retry-After``. The ``Pacer`` spaces sends out
before Slack has to say so, and the retry handler honours ``Retry-After`` when it does,
slowing the whole workspace down, so a 1,000-member nudge wave is a steady stream rather
than a burst followed by a storm of 429s.

A message's attachments (an export, a chart) are uploaded with ``files_upload_v2`` into the
same conversation, right after its text, under the same pacing and retries.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import ClientError, ClientSession
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import escape, message_payloads
from bot.notify import DeliveryError
from bot.values import Attachment, ChannelRef, Message, UserRef

__all__ = [
    "PERMANENT_ERRORS",
    "WEB_API_FAILURES",
    "PacedRateLimitRetry",
    "Pacer",
    "SlackNotifier",
    "TokenSource",
    "delivery_error",
    "error_code",
    "library_logger",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Errors after which sending the same message again can't succeed: the person or channel
# is gone, or won't take messages from the app. Token trouble is not among them: it is
# the installation's problem, not the member's, and is retried with backoff.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "messages_tab_disabled",
        "not_in_channel",
        "restricted_action",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "users_not_found",
    }
)

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def library_logger(library: str) -> logging.Logger:
    """The logger Tiara gives ``library`` (``"slack_sdk"`` clients, ``"slack_bolt"``), held
    at WARNING whatever the root level: below that both log request and response bodies,
    members' notes included. slack_sdk decides whether to build those lines from this
    logger's own level, and bolt copies its level to every logger it makes (without one it
    copies the root's, which a DEBUG run sets to DEBUG)."""
    logger = logging.getLogger(f"{library}.tiara")
    logger.setLevel(logging.WARNING)
    return logger


# What a Web API call can fail with. slack_sdk reads a 200 answer that isn't JSON (a proxy's
# "ok" in text/plain) with ``.get`` on a str, so that arrives as an AttributeError.
WEB_API_FAILURES: tuple[type[Exception], ...] = (
    SlackApiError,
    SlackRequestError,
    ClientError,
    TimeoutError,
    AttributeError,
)

_ERROR_CODE = re.compile(r"[a-z0-9_.-]{1,64}")


def error_code(err: BaseException) -> str:
    """A short code for a failed Web API call, fit for a log line, whatever shape the answer
    had: Slack's ``error`` (``channel_not_found``), else ``http_<status>`` when Slack or a
    proxy in front of it answered with something that isn't Slack's JSON (a 503 in
    text/plain, an HTML page, garbage), else the exception's type. Never the answer's text."""
    if isinstance(err, SlackApiError):
        response = err.response
        # A SlackResponse's data is a dict for JSON, a str for text/plain; an answer that
        # claimed to be JSON and wasn't leaves aiohttp's ClientResponse here instead.
        data = getattr(response, "data", None)
        if isinstance(data, dict):
            code = data.get("error")
            if isinstance(code, str) and _ERROR_CODE.fullmatch(code):
                return code
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            status = getattr(response, "status", None)
        return f"http_{status}" if isinstance(status, int) else "unreadable_answer"
    if isinstance(err, SlackRequestError):
        # The POST of a file's bytes to its upload url was refused (its message quotes the
        # answer and the file name, so only this code is kept).
        return "upload_failed"
    if isinstance(err, AttributeError):
        return "unreadable_answer"  # see WEB_API_FAILURES
    return type(err).__name__


def delivery_error(err: Exception) -> DeliveryError:
    """Translate a Slack or network failure into the core's ``DeliveryError``: permanent only
    for Slack's own codes in ``PERMANENT_ERRORS``; an answer that isn't Slack's JSON (a 5xx
    from a proxy) is transient."""
    code = error_code(err)
    return DeliveryError(code, permanent=code in PERMANENT_ERRORS)


class Pacer:
    """Spaces out sends: one per channel every ``per_channel`` seconds, and at most ``rate``
    per second in each workspace. ``hold`` pauses a workspace after a 429.

    Time is cut into slots of ``1 / rate`` seconds per workspace; each send takes the first
    free slot at or after the moment its channel may speak again, so a busy channel never
    holds up the others and no second carries more than ``rate`` sends. A slot is taken
    before waiting, so concurrent senders queue up without a lock (asyncio runs one
    coroutine at a time).
    """

    def __init__(
        self,
        *,
        rate: float,
        per_channel: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.per_channel = per_channel
        self.monotonic = monotonic
        self.sleep = sleep
        self._taken: dict[str, set[int]] = {}  # slot numbers in use, per workspace
        self._free_from: dict[str, int] = {}  # every slot before this one is taken or past
        self._channel_next: dict[tuple[str, str], float] = {}

    async def wait(self, workspace: str, channel: str) -> None:
        """Wait for the next slot to send in ``channel`` of ``workspace``."""
        now = self.monotonic()
        key = (workspace, channel)
        slot = self._take(workspace, max(now, self._channel_next.get(key, now)), now)
        self._channel_next[key] = slot + self.per_channel
        if len(self._channel_next) > 10_000:
            self._channel_next = {k: t for k, t in self._channel_next.items() if t > now}
        if slot > now:
            await self.sleep(slot - now)

    def hold(self, workspace: str, seconds: float) -> None:
        """Send nothing more in ``workspace`` for ``seconds`` (Slack said Retry-After)."""
        until = math.ceil((self.monotonic() + seconds) / self.interval)
        self._free_from[workspace] = max(self._free_from.get(workspace, 0), until)

    def _take(self, workspace: str, earliest: float, now: float) -> float:
        taken = self._taken.setdefault(workspace, set())
        floor = self._free_from.get(workspace, 0)
        current = math.floor(now / self.interval)
        if floor < current:  # slots in the past are of no use to anyone
            taken.difference_update([n for n in taken if n < current])
            floor = current
        number = max(math.ceil(earliest / self.interval - 1e-9), floor)
        while number in taken:
            number += 1
        taken.add(number)
        if number == floor:
            while floor in taken:
                taken.discard(floor)
                floor += 1
        self._free_from[workspace] = floor
        return number * self.interval


class PacedRateLimitRetry(AsyncRetryHandler):
    """Retries a request Slack rate-limited, after its ``Retry-After``, and holds the
    workspace's pacer for as long so the other sends wait too."""

    def __init__(
        self,
        *,
        pacer: Pacer | None = None,
        workspace: str = "",
        sleep: Sleep = asyncio.sleep,
        max_retry_count: int = 3,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.pacer = pacer
        self.workspace = workspace
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = _retry_after(response)
        if self.pacer is not None:
            self.pacer.hold(self.workspace, wait)
        log.warning("Slack rate-limited a request; retrying in %.0f s", wait)
        await self.sleep(wait)
        state.increment_current_attempt()


def _retry_after(response: HttpResponse | None) -> float:
    if response is not None:
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return max(0.0, float(values[0]))
                except ValueError:
                    break
    return 1.0


class TokenSource(Protocol):
    """Finds the bot token for a workspace (one configured token, or an OAuth install)."""

    async def bot_token(self, workspace: str) -> str | None: ...


@dataclass
class SlackNotifier:
    """The core's ``Notifier`` on Slack.

    DMs are posted with the member's user id as the channel, which Slack delivers to the
    member's conversation with the app (no ``conversations.open`` needed); the DM
    channel id Slack answers with is remembered per member. Practice groups get a group
    DM (``conversations.open`` with their ids). Channel names are looked up once.

    Files can only be shared in a conversation (a ``D…`` id, never a user id), so a
    message's attachments follow its text, once that post has told us the DM's id;
    :meth:`send_files` posts its comment first for the same reason when the id is not yet
    known. Opening the DM with ``conversations.open`` instead would need ``im:write``.
    """

    tokens: TokenSource
    pacer: Pacer
    base_url: str = AsyncWebClient.BASE_URL
    sleep: Sleep = asyncio.sleep
    dm_channels: dict[tuple[str, str], str] = field(default_factory=dict)
    # One connection pool for every call (SlackSetup.open_http); None: a new connection
    # per call, as slack_sdk does by default.
    session: ClientSession | None = None
    _clients: dict[str, AsyncWebClient] = field(default_factory=dict)
    _groups: dict[tuple[str, frozenset[str]], str] = field(default_factory=dict)
    _channels_by_name: dict[tuple[str, str], str] = field(default_factory=dict)

    def client_for(self, workspace: str, token: str) -> AsyncWebClient:
        """A Web API client for ``workspace`` with pacing-aware 429 retries."""
        client = self._clients.get(token)
        if client is None:
            client = AsyncWebClient(
                token=token,
                base_url=self.base_url,
                session=self.session,
                logger=library_logger("slack_sdk"),
                retry_handlers=[
                    PacedRateLimitRetry(pacer=self.pacer, workspace=workspace, sleep=self.sleep)
                ],
            )
            self._clients[token] = client
        return client

    def use_session(self, session: ClientSession | None) -> None:
        """Send every call, from clients made before and after, through ``session``."""
        self.session = session
        for client in self._clients.values():
            client.session = session

    async def _client(self, workspace: str) -> AsyncWebClient:
        token = await self.tokens.bot_token(workspace)
        if token is None:
            raise DeliveryError("not_installed")
        return self.client_for(workspace, token)

    async def send_dm(self, user: UserRef, message: Message) -> None:
        client = await self._client(user.workspace)
        key = (user.workspace, user.user)
        channel = self.dm_channels.get(key, user.user)
        answer = await self._post(client, user.workspace, channel, message, pace_key=user.user)
        opened = answer.get("channel") if answer is not None else None
        if isinstance(opened, str) and opened:
            self.dm_channels[key] = opened
        if message.attachments:
            await self._upload(
                client,
                user.workspace,
                self._dm_channel(user),
                message.attachments,
                pace_key=user.user,
            )

    async def send_files(
        self, user: UserRef, attachments: Sequence[Attachment], *, comment: str
    ) -> None:
        """Upload ``attachments`` into the member's DM with Tiara, under ``comment`` (a
        short line of plain text saying what they are). Raises ``DeliveryError`` like the
        other sends."""
        if not attachments:
            return
        client = await self._client(user.workspace)
        channel = self.dm_channels.get((user.workspace, user.user))
        initial: str | None = comment
        if channel is None:
            # The DM's id is not known yet: posting the comment tells us (see the class).
            await self.send_dm(user, Message(text=comment))
            channel = self._dm_channel(user)
            initial = None
        await self._upload(
            client, user.workspace, channel, attachments, comment=initial, pace_key=user.user
        )

    def _dm_channel(self, user: UserRef) -> str:
        channel = self.dm_channels.get((user.workspace, user.user))
        if channel is None:  # Slack always names the DM it posted in; this is a guard
            raise DeliveryError("dm_channel_unknown")
        return channel

    async def send_group(self, users: Sequence[UserRef], message: Message) -> None:
        if not users:
            return
        workspace = users[0].workspace
        client = await self._client(workspace)
        ids = frozenset(u.user for u in users)
        channel = self._groups.get((workspace, ids))
        if channel is None:
            try:
                await self.pacer.wait(workspace, "conversations.open")
                opened = await client.conversations_open(users=",".join(sorted(ids)))
            except WEB_API_FAILURES as err:
                raise delivery_error(err) from None
            channel = str(opened["channel"]["id"])
            self._groups[(workspace, ids)] = channel
        await self._post(client, workspace, channel, message)
        await self._upload(client, workspace, channel, message.attachments)

    async def post_channel(self, channel: ChannelRef, message: Message) -> None:
        client = await self._client(channel.workspace)
        target = await self._channel_id(client, channel)
        await self._post(client, channel.workspace, target, message)
        await self._upload(client, channel.workspace, target, message.attachments)

    async def _channel_id(self, client: AsyncWebClient, channel: ChannelRef) -> str:
        """A channel id for ``channel``, which may be an id or a name like "#practice"."""
        if _CHANNEL_ID.match(channel.channel):
            return channel.channel
        name = channel.channel.lstrip("#").casefold()
        key = (channel.workspace, name)
        if key not in self._channels_by_name:
            try:
                async for page in await client.conversations_list(
                    exclude_archived=True, types="public_channel", limit=1000
                ):
                    for found in page.get("channels", []):
                        self._channels_by_name[(channel.workspace, found["name"])] = found["id"]
            except WEB_API_FAILURES as err:
                raise delivery_error(err) from None
        if key not in self._channels_by_name:
            raise DeliveryError("channel_not_found", permanent=True)
        return self._channels_by_name[key]

    async def _post(
        self,
        client: AsyncWebClient,
        workspace: str,
        channel: str,
        message: Message,
        *,
        pace_key: str | None = None,
    ) -> dict[str, Any] | None:
        """Post ``message`` (one or more payloads); the first answer is returned."""
        answer: dict[str, Any] | None = None
        for payload in message_payloads(message):
            await self.pacer.wait(workspace, pace_key or channel)
            try:
                response = await client.chat_postMessage(
                    channel=channel,
                    text=payload.text,
                    blocks=payload.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except WEB_API_FAILURES as err:
                raise delivery_error(err) from None
            if answer is None and isinstance(response.data, dict):
                answer = response.data
        return answer

    async def _upload(
        self,
        client: AsyncWebClient,
        workspace: str,
        channel: str,
        attachments: Sequence[Attachment],
        *,
        comment: str | None = None,
        pace_key: str | None = None,
    ) -> None:
        """Share ``attachments`` in ``channel`` (a conversation id), in one message.

        ``files_upload_v2`` asks for an upload url per file, POSTs the bytes there and
        completes the upload into the channel; the client's retry handler covers a 429 at
        any of those steps. The bytes are never logged.
        """
        if not attachments:
            return
        uploads: list[dict[str, Any]] = []
        for attachment in attachments:
            upload: dict[str, Any] = {
                "file": attachment.data,
                "filename": attachment.filename,
                "title": attachment.title or attachment.filename,
            }
            if attachment.mime.startswith("image/") and attachment.title:
                upload["alt_txt"] = attachment.title  # what a screen reader says
            uploads.append(upload)
        await self.pacer.wait(workspace, pace_key or channel)
        try:
            await client.files_upload_v2(
                channel=channel,
                file_uploads=uploads,
                initial_comment=escape(comment) if comment else None,
            )
        except WEB_API_FAILURES as err:
            raise delivery_error(err) from None
