"""Slack Block Kit for the core's messages: chat payloads and the App Home.

Everything here is pure: a :class:`~bot.values.Message` goes in, ``slack_sdk`` models come
out, and nothing touches the network. Member text is made inert as
:mod:`adapters.slack.text` says, and Slack's size limits hold by construction: 3,000
characters a section, 150 a header, 75 a button label, 50 blocks a message, 100 a Home tab,
and so on. Long text is split across sections and, when one message can't carry it, across a
few messages; whatever still doesn't fit is cut, and a closing line says so and what to type
to see the rest. Buttons carry their command as :mod:`adapters.slack.buttons` encodes it;
forms are :mod:`adapters.slack.modals`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from adapters.slack.buttons import ACTION_PREFIX, encode_button
from adapters.slack.text import escape, inline, mrkdwn, plain, shorten, split_text, units
from bot.values import Button, Field, Message

__all__ = ["SlackPayload", "escape", "home_view", "message_payloads"]

log = logging.getLogger(__name__)

# Slack's limits, from the Block Kit reference.
_SECTION_TEXT = 3000
_FIELD_TEXT = 2000
_FIELDS_PER_SECTION = 10
_HEADER_TEXT = 150
_BUTTON_TEXT = 75
_BUTTONS_PER_BLOCK = 25
_MESSAGE_BLOCKS = 50
_VIEW_BLOCKS = 100

# Not in the reference: chat.postMessage answers ``msg_blocks_too_long`` once the text of all
# blocks together passes about 12,000 to 13,000 characters, so one payload carries less.
_PAYLOAD_TEXT = 10_000
_MAX_PAYLOADS = 5
_MAX_BUTTONS = 4 * _BUTTONS_PER_BLOCK
_FIELD_LABEL = 200
_FALLBACK_TEXT = 300

_WARNING = ":warning: "

_SHORTENED_MESSAGE = (
    "_Shortened: this was more than Slack shows at once._ To see the rest, ask for less at a "
    "time: `/tiara meetings` lists your meetings and requests, `/tiara show M3` shows one item "
    "in full, and `/tiara help` lists every command."
)
_SHORTENED_HOME = (
    "_Shortened: there is more than the Home tab can show._ `/tiara meetings` lists all your "
    "meetings and requests, and `/tiara help` lists every command."
)
_EMPTY_HOME = "Nothing here yet. Type `/tiara help` to see what I can do."


@dataclass(frozen=True, slots=True)
class SlackPayload:
    """One chat message: ``text`` is the plain notification fallback, ``blocks`` what is shown."""

    text: str
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class _Part:
    """A block and the characters of text it carries (toward the per-message text budget)."""

    block: Block
    size: int


# -- messages ------------------------------------------------------------------------------


def _field_text(field: Field) -> tuple[str, bool]:
    """A field as mrkdwn (bold label over value) and whether its value had to be shortened."""
    label = inline(field.label, _FIELD_LABEL)
    value = escape(field.value.strip())
    head = f"*{label}*\n" if label else ""
    room = _FIELD_TEXT - units(head)
    shortened = units(value) > room
    return head + shorten(value, room), shortened


def _content(message: Message) -> tuple[list[_Part], bool]:
    """The title, fields and text of a message as blocks, and whether anything was cut short."""
    parts: list[_Part] = []
    shortened = False
    title = plain(message.title or "", _HEADER_TEXT)
    if title:
        parts.append(_Part(HeaderBlock(text=PlainTextObject(text=title)), units(title)))
    fields: list[str] = []
    for field in message.fields:
        text, cut = _field_text(field)
        shortened |= cut
        if text.strip():
            fields.append(text)
    for start in range(0, len(fields), _FIELDS_PER_SECTION):
        group = fields[start : start + _FIELDS_PER_SECTION]
        section = SectionBlock(fields=[mrkdwn(text) for text in group])
        parts.append(_Part(section, sum(units(text) for text in group)))
    prefix = _WARNING if message.error else ""
    chunks = split_text(escape(message.text), _SECTION_TEXT - len(prefix))
    if prefix:
        chunks = [prefix + chunks[0], *chunks[1:]] if chunks else [prefix.strip()]
    for chunk in chunks:
        parts.append(_Part(SectionBlock(text=mrkdwn(chunk)), units(chunk)))
    return parts, shortened


def _actions(buttons: Sequence[Button], id_prefix: str) -> list[_Part]:
    """Buttons as actions blocks of at most 25; the n-th button's id is ``id_prefix`` + n."""
    if len(buttons) > _MAX_BUTTONS:
        log.warning("only the first %d of %d buttons are shown", _MAX_BUTTONS, len(buttons))
    elements: list[tuple[ButtonElement, int]] = []
    for index, button in enumerate(buttons[:_MAX_BUTTONS]):
        try:
            value = encode_button(button)
        except ValueError as err:
            log.warning("button %r left out: %s", button.label, err)
            continue
        label = plain(button.label, _BUTTON_TEXT) or plain(" ".join(button.command), _BUTTON_TEXT)
        element = ButtonElement(
            text=PlainTextObject(text=label),
            action_id=f"{id_prefix}{index}",
            value=value,
            style=button.style,
        )
        elements.append((element, units(label) + units(value)))
    blocks: list[_Part] = []
    for start in range(0, len(elements), _BUTTONS_PER_BLOCK):
        group = elements[start : start + _BUTTONS_PER_BLOCK]
        block = ActionsBlock(elements=[element for element, _ in group])
        blocks.append(_Part(block, sum(size for _, size in group)))
    return blocks


def _note(text: str) -> _Part:
    return _Part(ContextBlock(elements=[mrkdwn(text)]), units(text))


def _fits(page: Sequence[_Part], extra: Sequence[_Part]) -> bool:
    blocks = len(page) + len(extra)
    size = sum(part.size for part in page) + sum(part.size for part in extra)
    return blocks <= _MESSAGE_BLOCKS and size <= _PAYLOAD_TEXT


def _paginate(
    content: Sequence[_Part], actions: Sequence[_Part], shortened: bool
) -> list[list[_Part]]:
    """Spread a message's blocks over payloads, actions on the last; at most five payloads.

    When even five can't hold everything, the content is cut where the fifth fills up and the
    "shortened" note closes it, before the buttons.
    """
    note = [_note(_SHORTENED_MESSAGE)] if shortened else []
    pages: list[list[_Part]] = [[]]
    for part in content:
        if not _fits(pages[-1], [part]):
            pages.append([])
        pages[-1].append(part)
    tail = [*note, *actions]
    if pages[-1] and not _fits(pages[-1], tail):
        pages.append([])
    pages[-1].extend(tail)
    if len(pages) <= _MAX_PAYLOADS:
        return pages

    tail = [_note(_SHORTENED_MESSAGE), *actions]
    pages = [[]]
    for part in content:
        if len(pages) < _MAX_PAYLOADS and pages[-1] and not _fits(pages[-1], [part]):
            pages.append([])
        if len(pages) == _MAX_PAYLOADS and not _fits(pages[-1], [part, *tail]):
            break
        pages[-1].append(part)
    pages[-1].extend(tail)
    return pages


def _fallback(message: Message) -> str:
    """The notification text: the title, else the first line of text, a field or a button."""
    candidates = [
        message.title or "",
        next((line for line in message.text.splitlines() if line.strip()), ""),
        *(f"{field.label}: {field.value}" for field in message.fields[:1]),
        *(button.label for button in message.buttons[:1]),
    ]
    first = next((text for text in candidates if text.strip()), "Tiara")
    return inline(first, _FALLBACK_TEXT)


def message_payloads(message: Message) -> list[SlackPayload]:
    """A message as one or more ``chat.postMessage`` payloads (usually one).

    The title becomes a header, fields go ten to a section, the text is split into sections
    of at most 3,000 characters and the buttons into actions blocks of 25, on the last payload.
    A message needing more than 50 blocks, or more text than one message safely carries, is
    spread over up to five payloads; beyond that it is cut short, with a closing line saying
    how to ask for the rest. An error message's text starts with a warning sign.
    """
    content, shortened = _content(message)
    actions = _actions(message.buttons, ACTION_PREFIX)
    pages = _paginate(content, actions, shortened)
    text = _fallback(message)
    total = len(pages)
    return [
        SlackPayload(
            text=text if number == 1 else f"{text} (part {number} of {total})",
            blocks=[part.block for part in page],
        )
        for number, page in enumerate(pages, 1)
    ]


# -- App Home ------------------------------------------------------------------------------


def home_view(sections: Sequence[Message], *, header: str = "Your Tiara dashboard") -> View:
    """The App Home tab: a header, then each message with its buttons, divided by lines.

    A Home tab holds at most 100 blocks: when the sections need more, the view ends with the
    sections that fit (and as much of the next as fits, without its buttons) and a line saying
    what to type to see everything. Button ids are ``tiara:<section>.<button>``.
    """
    head: list[Block] = []
    title = plain(header, _HEADER_TEXT)
    if title:
        head.append(HeaderBlock(text=PlainTextObject(text=title)))
    if not sections:
        return View(type="home", blocks=[*head, ContextBlock(elements=[mrkdwn(_EMPTY_HOME)])])
    shown: list[tuple[list[Block], list[Block]]] = []  # the content and buttons of each section
    shortened = False
    for number, message in enumerate(sections):
        parts, cut = _content(message)
        shortened |= cut
        buttons = _actions(message.buttons, f"{ACTION_PREFIX}{number}.")
        shown.append(([part.block for part in parts], [part.block for part in buttons]))
    pointer: list[Block] = [ContextBlock(elements=[mrkdwn(_SHORTENED_HOME)])]

    body = _home_body(shown, room=_VIEW_BLOCKS - len(head) - (len(pointer) if shortened else 0))
    if body is not None:
        return View(type="home", blocks=[*head, *body, *(pointer if shortened else [])])
    body = _home_body(shown, room=_VIEW_BLOCKS - len(head) - len(pointer), partial=True)
    return View(type="home", blocks=[*head, *(body or []), *pointer])


def _home_body(
    sections: Sequence[tuple[list[Block], list[Block]]], *, room: int, partial: bool = False
) -> list[Block] | None:
    """Sections divided by lines within ``room`` blocks; None if they don't all fit.

    With ``partial``, as many whole sections as fit instead, then as much of the next one's
    content as fits (without its buttons, which would act on what isn't shown).
    """
    body: list[Block] = []
    for content, buttons in sections:
        divider: list[Block] = [DividerBlock()] if body else []
        whole = [*divider, *content, *buttons]
        if len(body) + len(whole) <= room:
            body += whole
            continue
        if not partial:
            return None
        some = [*divider, *content][: room - len(body)]
        if any(not isinstance(block, DividerBlock) for block in some):
            body += some
        break
    return body
