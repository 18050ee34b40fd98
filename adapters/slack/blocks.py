"""Slack Block Kit for the core's values: messages, button values, modals and the App Home.

Everything here is pure: a :class:`~bot.values.Message`, :class:`~bot.values.Form` or
:class:`~bot.values.Button` goes in, ``slack_sdk`` models come out, and nothing touches the
network. Two rules hold throughout.

* Member text is inert. Whatever a member could have typed goes through :func:`escape`, and
  every mrkdwn text object is sent ``verbatim``, so Slack neither turns URLs and channel names
  into links nor parses mentions. The `code` spans the bot writes keep their backticks.
* Slack's size limits hold by construction: 3,000 characters a section, 150 a header, 75 a button
  label, 50 blocks a message, 100 a modal or Home tab, and so on. Long text is split across
  sections and, when one message can't carry it, across a few messages; whatever still doesn't
  fit is cut, and a closing line says so and what to type to see the rest.

Lengths are counted in UTF-16 code units (an emoji outside the Basic Multilingual Plane counts
twice), which is never less than ``len()``: text within a limit by this count is within it
however Slack counts.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeAlias

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.values import Button, Field, Form, Message

__all__ = [
    "ACTION_PREFIX",
    "FORM_CALLBACK",
    "SlackPayload",
    "decode_button",
    "encode_button",
    "escape",
    "form_modal",
    "form_values",
    "home_view",
    "message_payloads",
]

log = logging.getLogger(__name__)

ACTION_PREFIX: Final = "tiara:"
"""Every button's ``action_id`` starts with this, so one listener can claim them all."""

FORM_CALLBACK: Final = "tiara_form"
"""The ``callback_id`` of every modal opened by :func:`form_modal`."""

# Slack's limits, from the Block Kit reference.
_SECTION_TEXT = 3000
_FIELD_TEXT = 2000
_FIELDS_PER_SECTION = 10
_HEADER_TEXT = 150
_BUTTON_TEXT = 75
_BUTTON_VALUE = 2000
_BUTTONS_PER_BLOCK = 25
_MESSAGE_BLOCKS = 50
_VIEW_BLOCKS = 100
_MODAL_TEXT = 24  # a modal's title, submit and close labels
_INPUT_LENGTH = 3000
_PLACEHOLDER = 150
_INPUT_LABEL = 2000
_PRIVATE_METADATA = 3000
_BLOCK_ID = 255

# Not in the reference: chat.postMessage answers ``msg_blocks_too_long`` once the text of all
# blocks together passes about 12,000 to 13,000 characters, so one payload carries less.
_PAYLOAD_TEXT = 10_000
_MAX_PAYLOADS = 5
_MAX_BUTTONS = 4 * _BUTTONS_PER_BLOCK
_FIELD_LABEL = 200
_FALLBACK_TEXT = 300

_ELLIPSIS = "…"
_WORD_JOINER = "\u2060"
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

# Button values: what a click may ask for. They come back from Slack as untrusted text.
_COMMAND_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_MAX_COMMAND_WORDS = 3
_MAX_ARGS = 16
_MAX_ARG_TEXT = 500
_MAX_ARG_INT = 2**53 - 1  # integers JavaScript and every JSON reader keep exactly
_VALUE_KEYS = frozenset({"c", "a", "f"})

_SPECIAL_MENTION = re.compile(r"@(?=here|channel|everyone)", re.IGNORECASE)

_NO_DEFAULTS: Mapping[str, object] = MappingProxyType({})

_ArgValue: TypeAlias = str | int | float | bool | None


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


# -- text ----------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Make member text inert in mrkdwn.

    Escapes Slack's three control characters (``&``, ``<``, ``>``), so ``<!channel>``,
    ``<@U123>`` and ``<https://evil|click>`` show as typed instead of mentioning or linking, and
    puts an invisible word joiner after the ``@`` of ``@here``, ``@channel`` and ``@everyone``
    (any case) so they never notify anyone.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL_MENTION.sub("@" + _WORD_JOINER, text)


def _units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _fit(text: str, limit: int) -> int:
    """The length of the longest prefix of ``text`` within ``limit`` units."""
    if len(text) * 2 <= limit:
        return len(text)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut_point(escaped: str, limit: int) -> int:
    """Like :func:`_fit`, but never inside an ``&amp;``, ``&lt;`` or ``&gt;`` of escaped text."""
    end = _fit(escaped, limit)
    amp = escaped.rfind("&", max(0, end - 4), end)
    if amp != -1 and escaped.find(";", amp, end) == -1:
        end = amp
    return end


def _shorten(escaped: str, limit: int) -> str:
    """Escaped text within ``limit`` units, ending in "…" when something had to go."""
    if _units(escaped) <= limit:
        return escaped
    return escaped[: _cut_point(escaped, limit - 1)].rstrip() + _ELLIPSIS


def _one_line(text: str) -> str:
    """Whitespace runs, newlines included, as single spaces (for headers, labels and titles)."""
    return " ".join(text.split())


def _plain(text: str, limit: int) -> str:
    """Member text for a one-line ``plain_text`` object: on one line, within ``limit``.

    Not escaped: Slack parses neither mentions nor links in ``plain_text``, and an escaped
    "&" could show as "&amp;" in a header or on a button.
    """
    return _shorten(_one_line(text), limit)


def _inline(text: str, limit: int) -> str:
    """Member text for one line of mrkdwn (a field's label, the notification text): escaped."""
    return _shorten(_one_line(escape(text)), limit)


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _hard_split(line: str, limit: int) -> list[str]:
    """A line too long for one section, in parts within ``limit``, broken after a space if one
    is near the end of a part, else wherever the limit falls (never inside an entity)."""
    parts: list[str] = []
    while _units(line) > limit:
        end = max(1, _cut_point(line, limit))
        space = line.rfind(" ", 0, end)
        if space > end // 2:
            end = space + 1
        parts.append(line[:end])
        line = line[end:]
    parts.append(line)
    return parts


def _split_text(escaped: str, limit: int) -> list[str]:
    """Escaped text as section texts within ``limit``.

    Breaks fall between paragraphs where possible, then between lines, then between words; only
    the whitespace at a break is dropped, so every other character appears exactly once, in
    order.
    """
    pieces: list[tuple[str, str]] = []  # (the separator before it, the piece)
    for paragraph in escaped.split("\n\n"):
        if not paragraph.strip():
            continue
        lines = [paragraph] if _units(paragraph) <= limit else paragraph.split("\n")
        for n, line in enumerate(lines):
            for k, part in enumerate(_hard_split(line, limit)):
                pieces.append(("" if k else "\n" if n else "\n\n", part))
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for separator, piece in pieces:
        size = _units(piece)
        if current and used + len(separator) + size <= limit:
            current += (separator, piece)
            used += len(separator) + size
        else:
            chunks.append("".join(current))
            current, used = [piece], size
    chunks.append("".join(current))
    return [chunk.strip() for chunk in chunks if chunk.strip()]


# -- messages ------------------------------------------------------------------------------


def _field_text(field: Field) -> tuple[str, bool]:
    """A field as mrkdwn (bold label over value) and whether its value had to be shortened."""
    label = _inline(field.label, _FIELD_LABEL)
    value = escape(field.value.strip())
    head = f"*{label}*\n" if label else ""
    room = _FIELD_TEXT - _units(head)
    shortened = _units(value) > room
    return head + _shorten(value, room), shortened


def _content(message: Message) -> tuple[list[_Part], bool]:
    """The title, fields and text of a message as blocks, and whether anything was cut short."""
    parts: list[_Part] = []
    shortened = False
    title = _plain(message.title or "", _HEADER_TEXT)
    if title:
        parts.append(_Part(HeaderBlock(text=PlainTextObject(text=title)), _units(title)))
    fields: list[str] = []
    for field in message.fields:
        text, cut = _field_text(field)
        shortened |= cut
        if text.strip():
            fields.append(text)
    for start in range(0, len(fields), _FIELDS_PER_SECTION):
        group = fields[start : start + _FIELDS_PER_SECTION]
        section = SectionBlock(fields=[_mrkdwn(text) for text in group])
        parts.append(_Part(section, sum(_units(text) for text in group)))
    prefix = _WARNING if message.error else ""
    chunks = _split_text(escape(message.text), _SECTION_TEXT - len(prefix))
    if prefix:
        chunks = [prefix + chunks[0], *chunks[1:]] if chunks else [prefix.strip()]
    for chunk in chunks:
        parts.append(_Part(SectionBlock(text=_mrkdwn(chunk)), _units(chunk)))
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
        label = _plain(button.label, _BUTTON_TEXT) or _plain(" ".join(button.command), _BUTTON_TEXT)
        element = ButtonElement(
            text=PlainTextObject(text=label),
            action_id=f"{id_prefix}{index}",
            value=value,
            style=button.style,
        )
        elements.append((element, _units(label) + _units(value)))
    blocks: list[_Part] = []
    for start in range(0, len(elements), _BUTTONS_PER_BLOCK):
        group = elements[start : start + _BUTTONS_PER_BLOCK]
        block = ActionsBlock(elements=[element for element, _ in group])
        blocks.append(_Part(block, sum(size for _, size in group)))
    return blocks


def _note(text: str) -> _Part:
    return _Part(ContextBlock(elements=[_mrkdwn(text)]), _units(text))


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
    return _inline(first, _FALLBACK_TEXT)


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


# -- button values -------------------------------------------------------------------------


def _checked_command(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= _MAX_COMMAND_WORDS:
        raise ValueError(f"a command is a list of 1 to {_MAX_COMMAND_WORDS} words")
    words: list[str] = []
    for word in value:
        if not isinstance(word, str) or not _COMMAND_WORD.fullmatch(word):
            raise ValueError("a command word is a short lowercase name")
        words.append(word)
    return tuple(words)


def _checked_arg(value: object) -> _ArgValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_ARG_INT:
            raise ValueError("an integer argument is out of range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a number argument must be finite")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_ARG_TEXT:
            raise ValueError(f"a text argument is at most {_MAX_ARG_TEXT} characters")
        return value
    raise ValueError(f"an argument can't be a {type(value).__name__}")


def _checked_args(value: object) -> dict[str, _ArgValue]:
    if not isinstance(value, Mapping):
        raise ValueError("arguments are a mapping of names to values")
    if len(value) > _MAX_ARGS:
        raise ValueError(f"a button carries at most {_MAX_ARGS} arguments")
    args: dict[str, _ArgValue] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _ARG_NAME.fullmatch(name):
            raise ValueError("an argument name is a short identifier")
        args[name] = _checked_arg(item)
    return args


def encode_button(button: Button) -> str:
    """A button's command, arguments and ``opens_form`` as compact JSON for its ``value``.

    The format is ``{"c": [words], "a": {args}, "f": true}``, the last two only when
    non-empty. Raises ``ValueError`` for what :func:`decode_button` would refuse (odd command
    words, unsupported argument types, or a value longer than Slack's 2,000 characters).
    """
    data: dict[str, object] = {"c": list(_checked_command(button.command))}
    args = _checked_args(button.args)
    if args:
        data["a"] = args
    if button.opens_form:
        data["f"] = True
    value = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if _units(value) > _BUTTON_VALUE:
        raise ValueError(f"a button value is at most {_BUTTON_VALUE} characters")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not a valid argument")


def decode_button(value: str) -> Button:
    """The button a clicked ``value`` encodes; ``ValueError`` for anything else.

    The value comes back from Slack, so it is checked as untrusted input: at most 2,000
    characters of JSON holding a command of 1 to 3 short lowercase words, at most 16 arguments
    with identifier names and text (at most 500 characters), integer, finite number, boolean or
    null values, and nothing more. The label and style aren't carried: the label is the command.
    """
    if not isinstance(value, str) or not value or _units(value) > _BUTTON_VALUE:
        raise ValueError(f"a button value is 1 to {_BUTTON_VALUE} characters")
    try:
        data: object = json.loads(
            value, object_pairs_hook=_unique_keys, parse_constant=_no_constants
        )
    except RecursionError as err:
        raise ValueError("a button value is nested too deeply") from err
    if not isinstance(data, dict) or "c" not in data or not data.keys() <= _VALUE_KEYS:
        raise ValueError('a button value is an object with "c" and optionally "a" and "f"')
    command = _checked_command(data["c"])
    args = _checked_args(data.get("a", {}))
    opens_form = data.get("f", False)
    if not isinstance(opens_form, bool):
        raise ValueError('"f" is true or false')
    return Button(" ".join(command), command, args, opens_form=opens_form)


# -- modals --------------------------------------------------------------------------------


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
        initial = initial[: _fit(initial, max_length)]
        placeholder = _plain(field.placeholder, _PLACEHOLDER)
        element = PlainTextInputElement(
            action_id="value",
            placeholder=PlainTextObject(text=placeholder) if placeholder else None,
            initial_value=initial or None,
            multiline=field.multiline,
            max_length=max_length,
        )
        label = _plain(field.label, _INPUT_LABEL) or _plain(field.name, _INPUT_LABEL)
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
        title=PlainTextObject(text=_plain(form.title, _MODAL_TEXT) or "Tiara"),
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


# -- App Home ------------------------------------------------------------------------------


def home_view(sections: Sequence[Message], *, header: str = "Your Tiara dashboard") -> View:
    """The App Home tab: a header, then each message with its buttons, divided by lines.

    A Home tab holds at most 100 blocks: when the sections need more, the view ends with the
    sections that fit (and as much of the next as fits, without its buttons) and a line saying
    what to type to see everything. Button ids are ``tiara:<section>.<button>``.
    """
    head: list[Block] = []
    title = _plain(header, _HEADER_TEXT)
    if title:
        head.append(HeaderBlock(text=PlainTextObject(text=title)))
    if not sections:
        return View(type="home", blocks=[*head, ContextBlock(elements=[_mrkdwn(_EMPTY_HOME)])])
    shown: list[tuple[list[Block], list[Block]]] = []  # the content and buttons of each section
    shortened = False
    for number, message in enumerate(sections):
        parts, cut = _content(message)
        shortened |= cut
        buttons = _actions(message.buttons, f"{ACTION_PREFIX}{number}.")
        shown.append(([part.block for part in parts], [part.block for part in buttons]))
    pointer: list[Block] = [ContextBlock(elements=[_mrkdwn(_SHORTENED_HOME)])]

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
