"""Tiara on Slack: a bolt ``AsyncApp`` that turns ``/tiara``, button clicks, modal
submissions and events into core invocations, and renders the answers.

Every listener acknowledges first (Slack wants an answer within 3 seconds) and works
after, except where Slack's answer *is* the work: a modal opens from the ``trigger_id``
at once, and a form's submission is checked before it is acknowledged, so a mistake
keeps the modal open with everything the member typed.

Workspace admins and owners (``users.info``: ``is_admin``, ``is_owner``,
``is_primary_owner``) reach the core with ``platform_admin``, which makes them coaches. The
flag comes with the profile read about once a day, but a ``coach`` command re-reads it when
older than five minutes, so a demoted admin soon loses coach rights; a failed read counts as
not an admin.

An ephemeral reply can't carry files: an answer's attachments are uploaded into the member's
DM with Tiara, and the reply says so (or what to do when the upload failed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.models.views import View
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.background import Background
from adapters.slack.blocks import (
    ACTION_PREFIX,
    FORM_CALLBACK,
    decode_button,
    form_modal,
    form_values,
    home_view,
    message_payloads,
)
from adapters.slack.notifier import (
    WEB_API_FAILURES,
    SlackNotifier,
    error_code,
    library_logger,
)
from bot.core import Bot
from bot.notify import DeliveryError
from bot.values import ChannelRef, Form, Invocation, Message, UserError, UserRef

__all__ = [
    "PLATFORM",
    "SLASH_COMMAND",
    "InstalledTokens",
    "SingleToken",
    "SlackAdapter",
    "payload_problem",
]

log = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/tiara"
PROFILE_EVERY = timedelta(days=1)
ADMIN_EVERY = timedelta(minutes=5)  # how old an admin flag a coach command may rely on
_HOME_DEBOUNCE = 1.0  # seconds: several changes in a row publish the Home tab once
_ERROR_TEXT = 300  # Slack shows a form error under the field; keep it readable

Respond = Callable[..., Awaitable[Any]]
_OUR_ACTIONS = re.compile("^" + re.escape(ACTION_PREFIX))  # every button Tiara draws
# Commands and clicks a signed replay (or a redelivery) must not run twice.
_INTERACTIONS = frozenset({"block_actions", "view_submission"})
_DELIVERY_KEY = 64  # processed_events.event_id holds 64 characters
_REQUEST_KEYS = ("req:", "trg:")


@dataclass(frozen=True)
class SingleToken:
    """One workspace, one bot token (``SLACK_BOT_TOKEN``)."""

    token: str

    async def bot_token(self, workspace: str) -> str | None:
        return self.token


@dataclass
class InstalledTokens:
    """Many workspaces installed through OAuth: each team's token from the install store."""

    store: AsyncInstallationStore
    _cache: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    ttl: float = 300.0

    async def bot_token(self, workspace: str) -> str | None:
        cached = self._cache.get(workspace)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=workspace)
        token = bot.bot_token if bot is not None else None
        if token is not None:  # "not installed" is not remembered: an install may come next
            self._cache[workspace] = (time.monotonic() + self.ttl, token)
        return token


def _metadata(invocation: Invocation, response_url: str | None) -> str:
    """What a submitted modal needs to rebuild its invocation (Slack gives it back)."""
    data: dict[str, object] = {"c": list(invocation.command), "a": dict(invocation.args)}
    if invocation.channel is not None:
        data["ch"] = invocation.channel.channel
    if response_url:
        data["r"] = response_url
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > 3000:  # Slack's limit on private_metadata; the reply then goes by DM
        data.pop("r", None)
        text = json.dumps(data, separators=(",", ":"))
    return text


def _result_modal(message: Message) -> View:
    """A modal showing a command's answer (a click on the Home tab has no chat to answer in)."""
    blocks = message_payloads(message)[0].blocks[:100]
    return View(type="modal", title="Tiara", close="Close", blocks=blocks)


class SlackAdapter:
    """Wires one bolt app to the core. ``app`` is ready for Socket Mode or HTTP."""

    def __init__(
        self,
        bot: Bot,
        *,
        app: AsyncApp,
        notifier: SlackNotifier,
        profile_every: timedelta = PROFILE_EVERY,
        admin_every: timedelta = ADMIN_EVERY,
        home_debounce: float = _HOME_DEBOUNCE,
        monotonic: Callable[[], float] = time.monotonic,
        http_session: ClientSession | None = None,
    ) -> None:
        self.bot = bot
        self.http_session = http_session
        self.app = app
        self.notifier = notifier
        self.profile_every = profile_every
        self.admin_every = admin_every
        self.home_debounce = home_debounce
        self.monotonic = monotonic
        self._profiles_read: dict[UserRef, float] = {}  # monotonic time of the last read
        self._profile_reads: dict[UserRef, asyncio.Task[None]] = {}  # the latest read
        # Bot.profile_stamp as the latest read began: it changes when the member erases
        # their data, and what was read before no longer counts.
        self._read_stamps: dict[UserRef, int] = {}
        self._admins: dict[UserRef, bool] = {}  # what the last read said, failed reads False
        self._admin_read: dict[UserRef, float] = {}  # monotonic time of the last good read
        self._home_seen: set[UserRef] = set()
        self._home_pending: dict[UserRef, asyncio.Task[None]] = {}
        self._background = Background("Slack")
        app.use(self._once)
        app.command(SLASH_COMMAND)(self._on_command)
        app.action({"type": "block_actions", "action_id": _OUR_ACTIONS})(self._on_button)
        app.view(FORM_CALLBACK)(self._on_submit)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("user_change")(self._on_user_change)
        app.error(self._on_error)

    # -- translate in --------------------------------------------------------------------

    @staticmethod
    def _user(context: Mapping[str, Any], user_id: str) -> UserRef:
        return UserRef(PLATFORM, str(context.get("team_id") or ""), user_id)

    @staticmethod
    def _channel(context: Mapping[str, Any], channel_id: str | None) -> ChannelRef | None:
        if not channel_id:
            return None
        return ChannelRef(PLATFORM, str(context.get("team_id") or ""), channel_id)

    async def _once(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Handle each event, command and click once, in whichever process gets it: Slack
        redelivers an event when an answer was slow or lost, and a signed request copied
        off the wire could be sent again within the signature window. A repeat is
        acknowledged with nothing in it, so Slack shows nothing twice."""
        key = _delivery_key(req)
        if key is not None and not await self.bot.first_delivery(PLATFORM, key):
            repeated = "request" if key.startswith(_REQUEST_KEYS) else "event"
            log.info("skipped a Slack %s delivered before", repeated)
            return BoltResponse(status=200, body="")
        await next()
        return resp

    async def _on_command(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
        respond: Respond,
    ) -> None:
        await ack()
        user = self._user(context, str(body.get("user_id", "")))
        channel = self._channel(context, body.get("channel_id"))
        try:
            invocation = self.bot.parse(str(body.get("text") or ""), user, channel)
        except UserError as err:
            await self._respond(respond, Message(text=err.message, error=True), user)
            return
        form = self.bot.form_for(invocation)
        if form is not None:
            # The trigger lasts 3 seconds: open the modal before anything else.
            await self._open_form(
                client,
                body,
                invocation,
                form,
                respond=respond,
                response_url=body.get("response_url"),
            )
            self._background.start(self._refresh_profile(client, user))
            return
        answer = await self._run(client, invocation)
        answer = await self._send_files(user, invocation.command, answer)
        await self._respond(respond, answer, user)
        self._changed(client, user, answer)

    async def _on_button(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
        respond: Respond,
    ) -> None:
        await ack()
        user = self._user(context, str((body.get("user") or {}).get("id", "")))
        try:
            button = decode_button(str(action.get("value", "")))
            command = self.bot.registry.get(button.command)
        except (ValueError, UserError):
            log.warning("ignored a button this version doesn't know")
            return
        channel = self._channel(context, (body.get("channel") or {}).get("id"))
        invocation = replace(button.invocation(user, channel), command=command.path)
        form = self.bot.form_for_click(button)
        if form is not None:
            await self._open_form(
                client,
                body,
                invocation,
                form,
                respond=respond,
                response_url=body.get("response_url"),
                defaults=button.args,
            )
            return
        answer = await self._run(client, invocation)
        answer = await self._send_files(user, invocation.command, answer)
        view = body.get("view") or {}
        if (body.get("container") or {}).get("type") == "view" or view:
            # A click on the Home tab or in a modal: there is no chat to answer in.
            await self._show_in_modal(client, body, user, answer)
        else:
            await self._respond(respond, answer, user)
        self._changed(client, user, answer)

    async def _on_submit(
        self,
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        user = self._user(context, str((body.get("user") or {}).get("id", "")))
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            command = tuple(str(word) for word in meta["c"])
            given = dict(meta.get("a") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            await ack()
            log.warning("a form came back without its metadata")
            return
        values = form_values((view.get("state") or {}).get("values") or {})
        channel = meta.get("ch")
        invocation = Invocation(
            command,
            {**given, **values},
            user,
            self._channel(context, channel if isinstance(channel, str) else None),
        )
        answer = await self._run(client, invocation)
        if answer.error:
            # Keep the modal open, with what they typed, and say what to change.
            fields = [
                b["block_id"]
                for b in view.get("blocks") or []
                if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
            ]
            if fields:
                target = answer.error_option if answer.error_option in fields else fields[0]
                await ack(response_action="errors", errors={target: answer.text[:_ERROR_TEXT]})
                return
        await ack()
        answer = await self._send_files(user, invocation.command, answer)
        await self._deliver_answer(client, user, answer, meta.get("r"))
        self._changed(client, user, answer)

    async def _on_home_opened(
        self, event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        user = self._user(context, str(event.get("user", "")))
        dm = event.get("channel")
        if isinstance(dm, str) and dm.startswith("D"):
            # The app's DM with this member (either tab): files can go there straight away.
            self.notifier.dm_channels.setdefault((user.workspace, user.user), dm)
        if event.get("tab") != "home":
            return
        self._home_seen.add(user)
        await self._refresh_profile(client, user)
        await self.publish_home(client, user)

    async def _on_user_change(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        profile = event.get("user")
        if not isinstance(profile, dict) or not profile.get("id") or profile.get("is_bot"):
            return
        user = self._user(context, str(profile["id"]))
        await self.bot.update_profile(
            user,
            timezone=profile.get("tz"),
            display_name=_display_name(profile),
            active=not profile.get("deleted", False),
            known_only=True,
        )
        now = self.monotonic()
        self._profiles_read[user] = now
        if any(key in profile for key in _ADMIN_FIELDS):
            self._admins[user] = _is_admin(profile)
            self._admin_read[user] = now

    async def _on_error(self, error: Exception) -> None:
        if isinstance(error, BoltUnhandledRequestError):
            # bolt's own line for this quotes parts of the payload (a suggestion's typed
            # value among them); its 404 answer stands.
            log.info("no listener for a Slack request of this kind; answered 404")
            return
        # Never the error's text: a Web API error can quote what was sent.
        log.error("a Slack listener failed with %s", type(error).__name__)

    # -- translate out -------------------------------------------------------------------

    async def _send_files(
        self, user: UserRef, command: tuple[str, ...], answer: Message
    ) -> Message:
        """Upload an answer's attachments into the member's DM with Tiara; return the
        answer without them, with a line saying where they went (or what went wrong)."""
        if not answer.attachments:
            return answer
        names = ", ".join(attachment.filename for attachment in answer.attachments)
        try:
            await self.notifier.send_files(
                user,
                answer.attachments,
                comment=f"Your files from `/tiara {' '.join(command)}`: {names}",
            )
        except DeliveryError as err:
            log.warning("uploading %d file(s) failed with %s", len(answer.attachments), err.reason)
            line = _upload_trouble(err, len(answer.attachments))
        else:
            line = (
                f"I've put the {_files(len(answer.attachments))} ({names}) in your DM with Tiara."
            )
        text = f"{answer.text}\n\n{line}" if answer.text.strip() else line
        return replace(answer, text=text, attachments=())

    async def _respond(self, respond: Respond, message: Message, user: UserRef) -> None:
        """Answer a slash command or a click: private answers only the member sees; by DM
        when the request came without a response_url to answer at."""
        url = getattr(respond, "response_url", None)
        if not isinstance(url, str) or not url:
            log.warning("a Slack request came without a response_url; answering by DM")
            await self.notifier.send_dm(user, message)
            return
        send = self._webhook(url).send
        for payload in message_payloads(message):
            await send(
                text=payload.text,
                blocks=payload.blocks,
                response_type="ephemeral" if message.private else "in_channel",
                replace_original=False,
            )

    def _webhook(self, response_url: str) -> AsyncWebhookClient:
        """A response_url's client, over the shared connections when there are some."""
        return AsyncWebhookClient(
            response_url, session=self.http_session, logger=library_logger("slack_sdk")
        )

    async def _deliver_answer(
        self, client: AsyncWebClient, user: UserRef, message: Message, response_url: object
    ) -> None:
        """A submitted form's answer: where the command was typed, else in a DM."""
        if isinstance(response_url, str) and response_url:
            webhook = self._webhook(response_url)
            try:
                for payload in message_payloads(message):
                    await webhook.send(
                        text=payload.text,
                        blocks=payload.blocks,
                        response_type="ephemeral",
                        replace_original=False,
                    )
                return
            except Exception as err:  # an expired response_url: fall back to a DM
                log.info("answering through response_url failed with %s", type(err).__name__)
        await self.notifier.send_dm(user, message)

    async def _open_form(
        self,
        client: AsyncWebClient,
        body: Mapping[str, Any],
        invocation: Invocation,
        form: Form,
        *,
        respond: Respond,
        response_url: object,
        defaults: Mapping[str, object] | None = None,
    ) -> None:
        view = form_modal(
            form,
            defaults=defaults or {},
            private_metadata=_metadata(
                invocation, response_url if isinstance(response_url, str) else None
            ),
        )
        try:
            await _open_view(client, body, view)
        except Exception as err:  # any failure: the member still gets a way forward
            log.warning("opening a form failed with %s", error_code(err))
            usage = self.bot.registry.get(invocation.command).usage
            await self._respond(
                respond,
                Message(
                    text=(
                        "I couldn't open the form in time. Type the values inline instead: "
                        f"`/tiara {usage}`"
                    ),
                    error=True,
                ),
                invocation.user,
            )

    async def _show_in_modal(
        self, client: AsyncWebClient, body: Mapping[str, Any], user: UserRef, message: Message
    ) -> None:
        try:
            await _open_view(client, body, _result_modal(message))
        except Exception as err:  # any failure: the answer goes by DM instead
            log.info("showing an answer in a modal failed with %s", error_code(err))
            await self.notifier.send_dm(user, message)

    # -- Home tab and profiles -----------------------------------------------------------

    async def publish_home(self, client: AsyncWebClient, user: UserRef) -> None:
        """Draw the member's dashboard on their Home tab."""
        sections = await self.bot.dashboard(user)
        try:
            await client.views_publish(user_id=user.user, view=home_view(sections))
        except WEB_API_FAILURES as err:
            log.warning("publishing the Home tab failed with %s", error_code(err))

    def _changed(self, client: AsyncWebClient, user: UserRef, answer: Message) -> None:
        """After a change, redraw the Home tab of a member who has looked at it."""
        if answer.error or user not in self._home_seen:
            return
        pending = self._home_pending.get(user)
        if pending is not None and not pending.done():
            return  # a redraw is already on its way and will show this change too

        async def later() -> None:
            await asyncio.sleep(self.home_debounce)
            self._home_pending.pop(user, None)
            await self.publish_home(client, user)

        self._home_pending[user] = self._background.start(later())

    async def _run(self, client: AsyncWebClient, invocation: Invocation) -> Message:
        """Dispatch ``invocation`` once the member's profile is read ("tomorrow 3pm" needs
        their timezone; a coach command, a fresh admin flag)."""
        answer = await self.bot.dispatch(await self._as_read(client, invocation))
        if self.bot.profile_wanted(invocation.user):
            # Their row was made afresh (erased through another process, say): read now,
            # not after a day; their reminders are re-timed if the zone differs.
            self._background.start(self._refresh_profile(client, invocation.user))
        return answer

    async def _as_read(self, client: AsyncWebClient, invocation: Invocation) -> Invocation:
        """``invocation`` once the member's profile is read, with their admin flag: fresh
        (at most ``admin_every`` old) for a coach command, else as last read."""
        user = invocation.user
        try:
            coach = self.bot.registry.get(invocation.command).coach_only
        except UserError:
            coach = False  # not a command: the core answers it
        await self._refresh_profile(client, user, admin=coach)
        return replace(invocation, platform_admin=self._admins.get(user, False))

    async def _refresh_profile(
        self, client: AsyncWebClient, user: UserRef, *, admin: bool = False
    ) -> None:
        """Read the member's timezone and name from Slack, at most once a day (with
        ``admin``, also when their admin flag is older than ``admin_every``), and again as
        soon as they have erased their data: whoever comes back starts fresh, and must not
        be left on UTC until the day is out. When a read is already under way (started as a
        modal opened), wait for it, so the submission is read in the member's own
        timezone."""
        stamp = self.bot.profile_stamp(user)
        same = self._read_stamps.get(user) == stamp  # no erasure since the latest read
        reading = self._profile_reads.get(user)
        if reading is None or reading.done() or not same:
            now = self.monotonic()
            last = self._profiles_read.get(user)
            checked = self._admin_read.get(user)
            profile_fresh = (
                same and last is not None and now - last < self.profile_every.total_seconds()
            )
            admin_fresh = checked is not None and now - checked < self.admin_every.total_seconds()
            if profile_fresh and (admin_fresh or not admin):
                return
            self._profiles_read[user] = now
            self._read_stamps[user] = stamp
            reading = self._background.start(self._read_profile(client, user, stamp))
            self._profile_reads[user] = reading
        await asyncio.shield(reading)

    async def _read_profile(self, client: AsyncWebClient, user: UserRef, stamp: int) -> None:
        """Read the profile and record it, unless an erasure overtook the read (``stamp``
        is :meth:`Bot.profile_stamp` as it began)."""
        started = self.monotonic()
        try:
            answer = await client.users_info(user=user.user)
        except Exception as err:
            log.info("reading a profile failed with %s", error_code(err))
            self._admins[user] = False
            return
        profile = answer.get("user") or {}
        self._admins[user] = _is_admin(profile)
        self._admin_read[user] = started
        await self.bot.update_profile(
            user,
            timezone=profile.get("tz"),
            display_name=_display_name(profile),
            active=not profile.get("deleted", False),
            stamp=stamp,
        )

    async def drain(self) -> None:
        """Wait for background work (Home redraws, profile reads) to finish."""
        await self._background.drain()


def _delivery_key(req: AsyncBoltRequest) -> str | None:
    """What makes this delivery one of a kind, for ``processed_events``.

    An event: its ``event_id`` (a redelivery keeps it). A command or a click: the request's
    signature, an HMAC over its timestamp and body, which a replay carries unchanged and
    nothing else can (a forged copy would need the signing secret); the first 60 of its 64
    hex digits keep the key within the column. Over Socket Mode there is no signature: the
    ``trigger_id`` Slack gives each command, click and submission instead. Anything else:
    None (not deduplicated)."""
    body = req.body
    kind = body.get("type")
    if kind == "event_callback":
        event_id = body.get("event_id")
        return str(event_id)[:_DELIVERY_KEY] if event_id else None
    if body.get("command") is None and kind not in _INTERACTIONS:
        return None
    signatures = req.headers.get("x-slack-signature") or [""]
    signature = signatures[0]
    if signature.startswith("v0=") and len(signature) > 3:
        return "req:" + signature[3:][: _DELIVERY_KEY - 4]
    trigger = body.get("trigger_id")
    if req.mode == "socket_mode" and isinstance(trigger, str) and trigger:
        return "trg:" + trigger[: _DELIVERY_KEY - 4]
    return None


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


def _user_id_in(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str)


def payload_problem(body: Mapping[str, Any]) -> str | None:
    """What keeps a signed payload from being handled, in a few words of ours (never its
    content); None when it has the shape the listeners (and bolt's matching) read.

    Only what Tiara listens to is checked: a slash command, a click (``block_actions``), a
    form submitted (``view_submission``) and an event. Anything else goes on to bolt, which
    answers what it has no listener for.
    """
    kind = body.get("type")
    if body.get("command") is not None and kind is None:
        for key in ("command", "user_id"):
            if not isinstance(body.get(key), str):
                return f"a slash command without {key}"
        for key in ("text", "trigger_id", "response_url", "channel_id", "team_id"):
            if body.get(key) is not None and not isinstance(body[key], str):
                return f"a slash command whose {key} isn't text"
        return None
    if kind == "block_actions":
        if not _user_id_in(body.get("user")):
            return "a click without its user"
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(map(_is_object, actions)):
            return "a click without its actions"
        for key in ("container", "view", "channel", "team"):
            if body.get(key) is not None and not _is_object(body[key]):
                return f"a click whose {key} isn't an object"
        return None
    if kind == "view_submission":
        if not _user_id_in(body.get("user")):
            return "a form without its user"
        view = body.get("view")
        if not isinstance(view, dict):
            return "a form without its view"
        if not isinstance(view.get("callback_id"), str) or not isinstance(view.get("type"), str):
            return "a form without its view type and callback id"
        state = view.get("state")
        if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
            return "a form without state.values as an object"
        if view.get("blocks") is not None and not isinstance(view["blocks"], list):
            return "a form whose blocks aren't a list"
        if view.get("private_metadata") is not None and not isinstance(
            view["private_metadata"], str
        ):
            return "a form whose private_metadata isn't text"
        if body.get("team") is not None and not _is_object(body["team"]):
            return "a form whose team isn't an object"
        return None
    if kind == "event_callback":
        if not isinstance(body.get("event"), dict):
            return "an event without its event"
        if body.get("event_id") is not None and not isinstance(body["event_id"], str):
            return "an event whose event_id isn't text"
        return None
    if kind is not None and not isinstance(kind, str):
        return "a type that isn't text"
    return None


async def _open_view(client: AsyncWebClient, body: Mapping[str, Any], view: View) -> None:
    """Open ``view`` from the interaction in ``body``: on top of a modal already open (Slack
    stacks up to three), else as a new modal."""
    if (body.get("view") or {}).get("type") == "modal":
        await client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


def _display_name(profile: Mapping[str, Any]) -> str | None:
    details = profile.get("profile") or {}
    for name in (
        details.get("display_name"),
        details.get("real_name"),
        profile.get("real_name"),
        profile.get("name"),
    ):
        if isinstance(name, str) and name.strip():
            return name
    return None


_ADMIN_FIELDS = ("is_admin", "is_owner", "is_primary_owner")


def _is_admin(profile: Mapping[str, Any]) -> bool:
    """Whether Slack says this member runs the workspace (an admin or an owner)."""
    return any(profile.get(key) is True for key in _ADMIN_FIELDS)


def _files(count: int) -> str:
    return "file" if count == 1 else f"{count} files"


def _upload_trouble(err: DeliveryError, count: int) -> str:
    """What to tell a member whose files could not be put in their DM, and what to do."""
    what = f"I couldn't put the {_files(count)} in your DM with Tiara"
    if err.reason in ("missing_scope", "not_allowed_token_type", "no_permission"):
        return (
            f"{what}: Tiara isn't allowed to upload files in this workspace yet. Ask a "
            "workspace admin to reinstall Tiara (it now asks for the files:write permission), "
            "then run the command again."
        )
    if err.permanent:
        return (
            f"{what}: Slack won't let Tiara message you there. Open Tiara under Apps, check "
            "that its Messages tab is allowed, then run the command again."
        )
    return f"{what}: Slack didn't take them just now. Run the command again in a minute."
