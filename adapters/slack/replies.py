"""Showing the core's answers on Slack: a form as a modal, a message where the member asked.

Where a message goes depends on what the member did: a slash command or a click in a chat is
answered privately at its ``response_url``; a click on the Home tab or in a modal has no chat
to answer in, so the answer opens in a modal; a submitted form is answered where the form was
opened (the ``response_url`` it carries), else in a DM. Whatever can't be delivered that way
goes by DM.

An ephemeral reply can't carry files: an answer's attachments are uploaded into the member's
DM with Tiara, and the reply says so (or what to do when the upload failed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import ClientSession
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import message_payloads
from adapters.slack.modals import form_metadata, form_modal, result_modal
from adapters.slack.notifier import SlackNotifier, error_code, library_logger
from bot.events import OpenForm
from bot.notify import DeliveryError
from bot.values import Message, UserRef

__all__ = ["Replies", "Respond", "Turn", "form_errors"]

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
_ERROR_TEXT = 300  # Slack shows a form error under the field; keep it readable


@dataclass
class Turn:
    """One interaction of a member's, and where its answer goes."""

    client: AsyncWebClient
    user: UserRef
    body: Mapping[str, Any]  # the request: its trigger_id, and the view it came from
    respond: Respond | None = None  # a command or a click: answers at its response_url
    response_url: str | None = None  # where a form opened here answers; a submission's
    in_view: bool = False  # a click on the Home tab or in a modal: no chat to answer in
    ran: tuple[str, ...] = ()  # the command that ran (for the files' comment)


def form_errors(view: Mapping[str, Any], answer: object) -> dict[str, str] | None:
    """What keeps a submitted modal open, ``{field: what to change}``, when the answer is an
    error and the modal has a field to show it under (the one the error is about, else the
    first); None when the modal may close."""
    if not isinstance(answer, Message) or not answer.error:
        return None
    fields = [
        str(block["block_id"])
        for block in view.get("blocks") or []
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")
    ]
    if not fields:
        return None
    option = answer.error_option
    target = option if option is not None and option in fields else fields[0]
    return {target: answer.text[:_ERROR_TEXT]}


class Replies:
    """Puts answers in front of the member: modals, private replies, DMs and files."""

    def __init__(self, notifier: SlackNotifier, http_session: ClientSession | None) -> None:
        self.notifier = notifier
        self.http_session = http_session

    async def open_form(self, turn: Turn, form: OpenForm) -> bool:
        """Open ``form`` as a modal from the turn's trigger (which lasts 3 seconds); False,
        logged, when it didn't open."""
        try:
            view = form_modal(
                form.form,
                defaults=form.defaults,
                private_metadata=form_metadata(form.invocation, turn.response_url),
            )
            await _open_view(turn.client, turn.body, view)
        except Exception as err:  # any failure: the member still gets a way forward
            log.warning("opening a form failed with %s", error_code(err))
            return False
        return True

    async def with_files(self, turn: Turn, answer: Message) -> Message:
        """Upload an answer's attachments into the member's DM with Tiara; return the
        answer without them, with a line saying where they went (or what went wrong)."""
        if not answer.attachments:
            return answer
        names = ", ".join(attachment.filename for attachment in answer.attachments)
        try:
            await self.notifier.send_files(
                turn.user,
                answer.attachments,
                comment=f"Your files from `/tiara {' '.join(turn.ran)}`: {names}",
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

    async def deliver(self, turn: Turn, message: Message) -> None:
        """Show ``message`` where the turn's answer goes (see the module)."""
        if turn.in_view:
            await self._in_modal(turn, message)
        elif turn.respond is not None:
            await self._respond(turn.respond, message, turn.user)
        else:
            await self._at_response_url(turn.user, message, turn.response_url)

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

    async def _at_response_url(
        self, user: UserRef, message: Message, response_url: str | None
    ) -> None:
        """A submitted form's answer: where the command was typed, else in a DM."""
        if response_url:
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

    async def _in_modal(self, turn: Turn, message: Message) -> None:
        try:
            await _open_view(turn.client, turn.body, result_modal(message))
        except Exception as err:  # any failure: the answer goes by DM instead
            log.info("showing an answer in a modal failed with %s", error_code(err))
            await self.notifier.send_dm(turn.user, message)


async def _open_view(client: AsyncWebClient, body: Mapping[str, Any], view: View) -> None:
    """Open ``view`` from the interaction in ``body``: on top of a modal already open (Slack
    stacks up to three), else as a new modal."""
    if (body.get("view") or {}).get("type") == "modal":
        await client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        await client.views_open(trigger_id=body["trigger_id"], view=view)


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
