"""Slack modals: a command's form, what its submission says, and an answer shown in a modal.

A form's modal carries in its ``private_metadata`` what its submission needs (the command,
the values it was opened with, where it was opened and where to answer): Slack gives it back
with the answers, and :func:`read_metadata` reads it as untrusted text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from slack_sdk.models.blocks import Block, InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from adapters.slack.blocks import message_payloads
from adapters.slack.text import fit, plain
from bot.values import Form, Invocation, Message

__all__ = [
    "FORM_CALLBACK",
    "FormOrigin",
    "form_metadata",
    "form_modal",
    "form_values",
    "read_metadata",
    "result_modal",
]

FORM_CALLBACK: Final = "tiara_form"
"""The ``callback_id`` of every modal opened by :func:`form_modal`."""

# Slack's limits, from the Block Kit reference.
_VIEW_BLOCKS = 100
_MODAL_TEXT = 24  # a modal's title, submit and close labels
_INPUT_LENGTH = 3000
_PLACEHOLDER = 150
_INPUT_LABEL = 2000
_PRIVATE_METADATA = 3000
_BLOCK_ID = 255

_NO_DEFAULTS: Mapping[str, object] = MappingProxyType({})


def form_modal(
    form: Form,
    *,
    defaults: Mapping[str, object] = _NO_DEFAULTS,
    private_metadata: str = "",
) -> View:
    """A modal asking for a form's fields, with ``defaults`` filled in.

    Each field is an input block whose ``block_id`` is the field's name and whose plain-text
    input has the ``action_id`` "value", which is what :func:`form_values` reads back. The title
    is shortened to Slack's 24 characters; a default longer than the field allows is cut to
    fit. ``private_metadata`` is passed through and must be at most 3,000 characters.
    """
    if len(private_metadata) > _PRIVATE_METADATA:
        raise ValueError(f"private_metadata is at most {_PRIVATE_METADATA} characters")
    names = [field.name for field in form.fields]
    if len(set(names)) != len(names):
        raise ValueError("two fields of a form share a name")
    blocks: list[Block] = []
    for field in form.fields:
        if not 1 <= len(field.name) <= _BLOCK_ID:
            raise ValueError(f"a field name is 1 to {_BLOCK_ID} characters")
        max_length = max(1, min(field.max_length, _INPUT_LENGTH))
        default = defaults.get(field.name)
        initial = "" if default is None else str(default)
        initial = initial[: fit(initial, max_length)]
        placeholder = plain(field.placeholder, _PLACEHOLDER)
        element = PlainTextInputElement(
            action_id="value",
            placeholder=PlainTextObject(text=placeholder) if placeholder else None,
            initial_value=initial or None,
            multiline=field.multiline,
            max_length=max_length,
        )
        label = plain(field.label, _INPUT_LABEL) or plain(field.name, _INPUT_LABEL)
        blocks.append(
            InputBlock(
                block_id=field.name,
                label=PlainTextObject(text=label),
                element=element,
                optional=not field.required,
            )
        )
    return View(
        type="modal",
        callback_id=FORM_CALLBACK,
        title=PlainTextObject(text=plain(form.title, _MODAL_TEXT) or "Tiara"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
        private_metadata=private_metadata or None,
    )


def form_values(state_values: Mapping[str, Mapping[str, Mapping[str, object]]]) -> dict[str, str]:
    """The text typed into a submitted modal, by field name, blank fields left out.

    ``state_values`` is ``view.state.values`` of a ``view_submission``:
    ``{block_id: {action_id: {"type": "plain_text_input", "value": ...}}}``. Values are stripped
    of surrounding whitespace; anything not shaped like a plain-text input is ignored.
    """
    values: dict[str, str] = {}
    if not isinstance(state_values, Mapping):
        return values  # not the shape Slack sends: nothing typed can be read from it
    for name, actions in state_values.items():
        if not isinstance(name, str) or not isinstance(actions, Mapping):
            continue
        state = actions.get("value")
        if not isinstance(state, Mapping):
            continue
        text = state.get("value")
        if isinstance(text, str) and text.strip():
            values[name] = text.strip()
    return values


def result_modal(message: Message) -> View:
    """A modal showing a command's answer (a click on the Home tab has no chat to answer in)."""
    blocks = message_payloads(message)[0].blocks[:_VIEW_BLOCKS]
    return View(type="modal", title="Tiara", close="Close", blocks=blocks)


@dataclass(frozen=True, slots=True)
class FormOrigin:
    """What a submitted modal's metadata says: the command its answers are for, the values
    it was opened with, the channel it was opened in and the response_url to answer at."""

    command: tuple[str, ...]
    args: Mapping[str, object]
    channel: str | None = None
    response_url: str | None = None


def form_metadata(invocation: Invocation, response_url: str | None) -> str:
    """What a submitted modal needs to rebuild its invocation (Slack gives it back)."""
    data: dict[str, object] = {"c": list(invocation.command), "a": dict(invocation.args)}
    if invocation.channel is not None:
        data["ch"] = invocation.channel.channel
    if response_url:
        data["r"] = response_url
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > _PRIVATE_METADATA:  # the reply then goes by DM
        data.pop("r", None)
        text = json.dumps(data, separators=(",", ":"))
    return text


def read_metadata(text: str | None) -> FormOrigin:
    """The :class:`FormOrigin` in a modal's ``private_metadata``; ``ValueError`` when it
    isn't what :func:`form_metadata` writes."""
    try:
        data = json.loads(text or "{}")
        command = tuple(str(word) for word in data["c"])
        args = dict(data.get("a") or {})
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError("a form's metadata isn't Tiara's") from err
    channel = data.get("ch")
    response_url = data.get("r")
    return FormOrigin(
        command,
        args,
        channel if isinstance(channel, str) and channel else None,
        response_url if isinstance(response_url, str) and response_url else None,
    )
