"""Tiara on Slack: a bolt ``AsyncApp`` that translates ``/tiara``, button clicks, modal
submissions and events for the core, and renders its answers.

Each listener reads the same way: the payload becomes one event (:mod:`bot.events`), the core
handles it (:meth:`Bot.handle`), and the answer is rendered (:meth:`SlackAdapter._render`): a
form opens as a modal, a message goes where the member asked (see
:mod:`adapters.slack.replies`), and the Home tab is redrawn after a change.

Every listener acknowledges first (Slack wants an answer within 3 seconds) and works after,
except where Slack's answer *is* the work: a modal opens from the ``trigger_id`` at once (the
core answers a form without touching the database), and a form's submission is checked
before it is acknowledged, so a mistake keeps the modal open with everything the member typed.

Just before a command runs, the member's Slack profile is read (:mod:`adapters.slack.profiles`):
their timezone, and whether they run the workspace, which makes them a coach.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.background import Background
from adapters.slack.blocks import home_view
from adapters.slack.buttons import ACTION_PREFIX, decode_button
from adapters.slack.modals import FORM_CALLBACK, form_values, read_metadata
from adapters.slack.notifier import WEB_API_FAILURES, SlackNotifier, error_code
from adapters.slack.payloads import REQUEST_KEYS, delivery_key, payload_problem
from adapters.slack.profiles import ADMIN_EVERY, PROFILE_EVERY, ProfileReader
from adapters.slack.replies import Replies, Respond, Turn, form_errors
from bot.core import Bot
from bot.events import Answer, Clicked, OpenForm, Prepare, Submitted, Typed
from bot.values import ChannelRef, Invocation, Message, UserRef

__all__ = [
    "ADMIN_EVERY",
    "PLATFORM",
    "PROFILE_EVERY",
    "SLASH_COMMAND",
    "SlackAdapter",
    "payload_problem",
]

log = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/tiara"
_HOME_DEBOUNCE = 1.0  # seconds: several changes in a row publish the Home tab once

Ack = Callable[..., Awaitable[None]]
_OUR_ACTIONS = re.compile("^" + re.escape(ACTION_PREFIX))  # every button Tiara draws


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
        self.app = app
        self.notifier = notifier
        self.home_debounce = home_debounce
        self._background = Background("Slack")
        self.profiles = ProfileReader(
            bot,
            self._background,
            every=profile_every,
            admin_every=admin_every,
            monotonic=monotonic,
        )
        self.replies = Replies(notifier, http_session)
        self._home_seen: set[UserRef] = set()
        self._home_pending: dict[UserRef, asyncio.Task[None]] = {}
        app.use(self._once)
        app.command(SLASH_COMMAND)(self._on_command)
        app.action({"type": "block_actions", "action_id": _OUR_ACTIONS})(self._on_button)
        app.view(FORM_CALLBACK)(self._on_submit)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("user_change")(self._on_user_change)
        app.error(self._on_error)

    # How often profiles and admin flags are read, and the clock that says (see ProfileReader).

    @property
    def profile_every(self) -> timedelta:
        return self.profiles.every

    @profile_every.setter
    def profile_every(self, every: timedelta) -> None:
        self.profiles.every = every

    @property
    def admin_every(self) -> timedelta:
        return self.profiles.admin_every

    @admin_every.setter
    def admin_every(self, every: timedelta) -> None:
        self.profiles.admin_every = every

    @property
    def monotonic(self) -> Callable[[], float]:
        return self.profiles.monotonic

    @monotonic.setter
    def monotonic(self, monotonic: Callable[[], float]) -> None:
        self.profiles.monotonic = monotonic

    # -- translate in --------------------------------------------------------------------

    @staticmethod
    def _user(context: Mapping[str, Any], user_id: object) -> UserRef:
        return UserRef(PLATFORM, str(context.get("team_id") or ""), str(user_id or ""))

    @staticmethod
    def _channel(context: Mapping[str, Any], channel_id: object) -> ChannelRef | None:
        if not isinstance(channel_id, str) or not channel_id:
            return None
        return ChannelRef(PLATFORM, str(context.get("team_id") or ""), channel_id)

    async def _once(
        self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Handle each event, command and click once, in whichever process gets it: Slack
        redelivers an event when an answer was slow or lost, and a signed request copied
        off the wire could be sent again within the signature window. A repeat is
        acknowledged with nothing in it, so Slack shows nothing twice."""
        key = delivery_key(req)
        if key is not None and not await self.bot.first_delivery(PLATFORM, key):
            repeated = "request" if key.startswith(REQUEST_KEYS) else "event"
            log.info("skipped a Slack %s delivered before", repeated)
            return BoltResponse(status=200, body="")
        await next()
        return resp

    async def _on_command(
        self,
        ack: Ack,
        body: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
        respond: Respond,
    ) -> None:
        await ack()
        user = self._user(context, body.get("user_id"))
        turn = Turn(client, user, body, respond=respond, response_url=body.get("response_url"))
        answer = await self.bot.handle(
            Typed(str(body.get("text") or "")),
            user,
            channel=self._channel(context, body.get("channel_id")),
            prepare=self._prepare(turn),
        )
        await self._render(turn, answer)

    async def _on_button(
        self,
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
        respond: Respond,
    ) -> None:
        await ack()
        try:
            button = decode_button(str(action.get("value", "")))
        except ValueError:
            log.warning("ignored a button value this version can't read")
            return
        user = self._user(context, (body.get("user") or {}).get("id"))
        # A click on the Home tab or in a modal: there is no chat to answer in.
        in_view = (body.get("container") or {}).get("type") == "view" or bool(body.get("view"))
        turn = Turn(
            client,
            user,
            body,
            respond=respond,
            response_url=body.get("response_url"),
            in_view=in_view,
        )
        answer = await self.bot.handle(
            Clicked(button),
            user,
            channel=self._channel(context, (body.get("channel") or {}).get("id")),
            prepare=self._prepare(turn),
        )
        await self._render(turn, answer)

    async def _on_submit(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        try:
            origin = read_metadata(view.get("private_metadata"))
        except ValueError:
            await ack()
            log.warning("a form came back without its metadata")
            return
        user = self._user(context, (body.get("user") or {}).get("id"))
        turn = Turn(client, user, body, response_url=origin.response_url)
        answers = form_values((view.get("state") or {}).get("values") or {})
        answer = await self.bot.handle(
            Submitted(origin.command, {**origin.args, **answers}),
            user,
            channel=self._channel(context, origin.channel),
            prepare=self._prepare(turn),
        )
        errors = form_errors(view, answer)
        if errors is not None:
            # Keep the modal open, with what they typed, and say what to change.
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        await self._render(turn, answer)

    async def _on_home_opened(
        self, event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        user = self._user(context, event.get("user"))
        dm = event.get("channel")
        if isinstance(dm, str) and dm.startswith("D"):
            # The app's DM with this member (either tab): files can go there straight away.
            self.notifier.dm_channels.setdefault((user.workspace, user.user), dm)
        if event.get("tab") != "home":
            return
        self._home_seen.add(user)
        await self.profiles.refresh(client, user)
        await self.publish_home(client, user)

    async def _on_user_change(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        profile = event.get("user")
        if not isinstance(profile, dict) or not profile.get("id") or profile.get("is_bot"):
            return
        await self.profiles.changed(self._user(context, profile["id"]), profile)

    async def _on_error(self, error: Exception) -> None:
        if isinstance(error, BoltUnhandledRequestError):
            # bolt's own line for this quotes parts of the payload (a suggestion's typed
            # value among them); its 404 answer stands.
            log.info("no listener for a Slack request of this kind; answered 404")
            return
        # Never the error's text: a Web API error can quote what was sent.
        log.error("a Slack listener failed with %s", type(error).__name__)

    def _prepare(self, turn: Turn) -> Prepare:
        """The core's step before a command runs: the member's profile read (a timezone,
        a fresh admin flag for a coach command), and the command noted for the files'
        comment."""
        read = self.profiles.prepare(turn.client)

        async def prepare(invocation: Invocation) -> Invocation:
            turn.ran = invocation.command
            return await read(invocation)

        return prepare

    # -- render out ----------------------------------------------------------------------

    async def _render(self, turn: Turn, answer: Answer) -> None:
        """Show the core's answer: a form as a modal (or, when it can't open, how to type
        the command instead); a message, its files in the member's DM, where the turn's
        answer goes; then the Home tab redrawn when something changed."""
        if isinstance(answer, OpenForm):
            if await self.replies.open_form(turn, answer):
                # Read the profile while the member fills the form in: the submission is
                # then read in their own timezone.
                self.profiles.start_refresh(turn.client, turn.user)
                return
            turn, answer = replace(turn, in_view=False), answer.fallback
        message = await self.replies.with_files(turn, answer)
        await self.replies.deliver(turn, message)
        if self.bot.profiles.wanted(turn.user):
            # Their row was made afresh (erased through another process, say): read now,
            # not after a day; their reminders are re-timed if the zone differs.
            self.profiles.start_refresh(turn.client, turn.user)
        self._changed(turn.client, turn.user, message)

    # -- Home tab ------------------------------------------------------------------------

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

    async def drain(self) -> None:
        """Wait for background work (Home redraws, profile reads) to finish."""
        await self._background.drain()
