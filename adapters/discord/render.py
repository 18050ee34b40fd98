"""Discord messages, buttons and modals for the core's values: pure functions, no network.

Two rules hold throughout.

* Member text is inert. :func:`inert` keeps every mention token (``@everyone``, ``<@123>``,
  ``<#789>``, ``</cmd:1>``, ``<t:…>``) as typed but unparseable, breaks masked links and wraps
  bare URLs in ``<…>`` so Discord shows no link preview. :data:`ALLOWED_MENTIONS` is the second
  lock: nothing Tiara sends may ping anyone.
* Discord's limits hold by construction: 2,000 characters of content, an embed title of 256, a
  description of 4,096, 25 fields of 256 and 1,024, 6,000 characters an embed message, 25
  buttons of 80 characters, and a modal's 45-character title and labels. Lengths are counted in
  code points, as Discord's API does (and as ``len`` does). Long text is split over at most five
  messages; what still doesn't fit is cut and a closing line says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

import discord

from adapters.discord.files import UPLOAD_LIMIT, not_attached, plan_files
from bot.values import Attachment, Button, Form, Message

__all__ = [
    "ALLOWED_MENTIONS",
    "Outgoing",
    "build_view",
    "form_modal",
    "inert",
    "modal_values",
    "render",
]

log = logging.getLogger(__name__)

ALLOWED_MENTIONS: Final = discord.AllowedMentions.none()
"""Pass with every send and edit: nothing Tiara sends ever pings a member, role or everyone."""

# Discord's limits (API reference: messages, embeds, components, modals).
_CONTENT = 2000
_TITLE = 256
_DESCRIPTION = 4096
_FIELDS = 25
_FIELD_NAME = 256
_FIELD_VALUE = 1024
_EMBED_TOTAL = 6000
_BUTTONS = 25
_PER_ROW = 5
_BUTTON_LABEL = 80
_CUSTOM_ID = 100
_MODAL_TEXT = 45  # a modal's title and each input's label
_PLACEHOLDER = 100
_INPUT_LENGTH = 4000
_MAX_MESSAGES = 5

_COLOUR = discord.Colour.blurple()
_ERROR_COLOUR = discord.Colour.brand_red()
_WARNING = "⚠️ "
_ELLIPSIS = "…"
_WORD_JOINER = "\u2060"
_BLANK = "\u200b"  # Discord refuses empty field names and values, and empty messages
_INLINE_VALUE = 40  # fields sit side by side only when every value is this short

_SHORTENED = (
    "*Shortened: this was more than Discord shows at once.* To see the rest, ask for less at a "
    "time: `/tiara meetings` lists your meetings and requests, `/tiara show id:M3` shows one "
    "item in full, and `/tiara help` lists every command."
)
_SHORTENED_FOOTER = (  # footers show no Markdown
    "Shortened: this was more than Discord shows at once. Ask for less at a time, e.g. "
    "/tiara show id:M3 for one item in full."
)
_EMBED_ROOM = _EMBED_TOTAL - len(_SHORTENED_FOOTER)  # every embed keeps room for the footer

_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# <@user>, <@!user>, <@&role>, <#channel>, </command:id>, <t:timestamp>, <id:guild-navigation>
_MENTION = re.compile(r"<(?=[@#/]|t:|id:)", re.IGNORECASE)
_MASKED_LINK = re.compile(r"\](?=\()")
_URL = re.compile(r"(<?)(https?://[^\s<>]+)(>?)", re.IGNORECASE)
_URL_TRAILING = ".,:;\"']"  # left out of a bare link's end, as is an unmatched ")"

_CODE_SPAN = re.compile(r"`([^`]+)`")
_PLAIN_USAGE = re.compile(r"/tiara\b[^\n`]*")
_ARGUMENT = re.compile(r"(?<![^\s\[])([A-Za-z][A-Za-z0-9_-]*)=(?:\"([^\"]*)\"|“([^”]*)”)?")

_STYLES: Final = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}
_NO_DEFAULTS: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True)
class Outgoing:
    """One Discord message to send: content and/or embeds, plus the core buttons and the
    files it carries."""

    content: str | None
    embeds: tuple[discord.Embed, ...]
    buttons: tuple[Button, ...]  # at most 25; the adapter turns them into a View (build_view)
    files: tuple[Attachment, ...] = ()  # at most 10; the adapter uploads them (to_files)


# -- text ----------------------------------------------------------------------------------


def _no_preview(match: re.Match[str]) -> str:
    opened, url, closed = match.groups()
    if opened and closed:
        return match.group(0)
    end = len(url)
    while end and (
        url[end - 1] in _URL_TRAILING
        or (url[end - 1] == ")" and url.count("(", 0, end) < url.count(")", 0, end))
    ):
        end -= 1
    if end <= url.index("://") + 3:
        return match.group(0)
    return f"{opened}<{url[:end]}>{url[end:]}{closed}"


def inert(text: str) -> str:
    """Member text shown as typed but unable to ping, mention, mask a link or unfurl a preview.

    A word joiner (U+2060, invisible) goes after the ``@`` of ``@everyone``/``@here`` (any case)
    and after the ``<`` of user, role, channel and command mentions, timestamps and guild links,
    and between the ``]`` and ``(`` of a masked link. Bare http(s) URLs are wrapped in ``<…>``.
    Other Markdown is left alone; the result is inert inside a code span or outside one, and
    ``inert(inert(x)) == inert(x)``.
    """
    text = _EVERYONE.sub("@" + _WORD_JOINER, text)
    text = _MENTION.sub("<" + _WORD_JOINER, text)
    text = _MASKED_LINK.sub("]" + _WORD_JOINER, text)
    return _URL.sub(_no_preview, text)


def _slash_argument(match: re.Match[str]) -> str:
    quoted = match.group(2) if match.group(2) is not None else match.group(3)
    return f"{match.group(1)}:{quoted or ''}"


def _slash_syntax(text: str) -> str:
    """Usage written ``/tiara log key=value key="a b"`` (in a code span or to the end of its
    line) shown in Discord's ``key:value`` syntax."""

    def usage(match: re.Match[str]) -> str:
        return _ARGUMENT.sub(_slash_argument, match.group(0))

    def span(code: str) -> str:
        if code.lstrip().startswith("/tiara"):
            code = _ARGUMENT.sub(_slash_argument, code)
        return f"`{code}`"

    pieces = _CODE_SPAN.split(text)  # plain text and a code span's inside, alternately
    return "".join(
        span(piece) if index % 2 else _PLAIN_USAGE.sub(usage, piece)
        for index, piece in enumerate(pieces)
    )


def _shown(text: str) -> str:
    """Core text as Discord shows it: slash-command syntax in usage spans, member text inert."""
    return inert(_slash_syntax(text))


def _shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending in "…" when something had to go."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + _ELLIPSIS


def _line(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs as single spaces), within ``limit``."""
    return _shorten(" ".join(text.split()), limit)


def _take(text: str, limit: int) -> tuple[str, str]:
    """The first chunk of ``text`` within ``limit``, and the rest.

    The break falls between paragraphs if one ends in the second half of the chunk, else
    between lines, else between words, and only mid-word when a word is longer than the chunk.
    """
    text = text.strip()
    if len(text) <= limit:
        return text, ""
    window = text[: limit + 1]
    for separator in ("\n\n", "\n", " "):
        cut = window.rfind(separator)
        if cut >= limit // 2:
            break
    else:
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
    return text[:cut].rstrip(), text[cut:].strip()


# -- messages ------------------------------------------------------------------------------


def _content_pages(text: str) -> list[str]:
    """Plain text as at most five contents; a cut one ends with a line saying so."""
    pages: list[str] = []
    rest = text.strip()
    while rest:
        if len(pages) == _MAX_MESSAGES - 1 and len(rest) > _CONTENT:
            head, _ = _take(rest, _CONTENT - len(_SHORTENED) - 2)
            pages.append(f"{head}\n\n{_SHORTENED}" if head else _SHORTENED)
            break
        page, rest = _take(rest, _CONTENT)
        pages.append(page)
    return pages


def _embed_pages(message: Message) -> list[discord.Embed]:
    """A titled or fielded message as at most five embeds, one a message.

    The first carries the title; the text follows as descriptions, then the fields, 25 an embed.
    A cut embed (or a field value that had to be shortened) ends with a footer saying so.
    """
    colour = _ERROR_COLOUR if message.error else _COLOUR
    title = _line(_shown(message.title or ""), _TITLE - len(_WARNING))
    text = _shown(message.text)
    if message.error:
        title, text = (_WARNING + title, text) if title else ("", _WARNING + text.strip())
    shortened = False
    fields: list[tuple[str, str]] = []
    for field in message.fields:
        value = _shown(field.value).strip()
        shortened |= len(value) > _FIELD_VALUE
        name = _line(_shown(field.label), _FIELD_NAME)
        fields.append((name or _BLANK, _shorten(value, _FIELD_VALUE) or _BLANK))
    inline = all(len(value) <= _INLINE_VALUE and "\n" not in value for _, value in fields)

    embeds: list[discord.Embed] = []
    rest = text.strip()
    waiting = fields[::-1]  # popped from the end
    while rest or waiting or not embeds:
        if len(embeds) == _MAX_MESSAGES:
            shortened = True
            break
        embed = discord.Embed(colour=colour, title=None if embeds else title or None)
        room = _EMBED_ROOM - len(embed)
        if rest:
            description, rest = _take(rest, min(_DESCRIPTION, room))
            embed.description = description
            room -= len(description)
        while not rest and waiting and len(embed.fields) < _FIELDS:
            name, value = waiting[-1]
            if len(name) + len(value) > room:
                break
            embed.add_field(name=name, value=value, inline=inline)
            room -= len(name) + len(value)
            waiting.pop()
        embeds.append(embed)
    if shortened:
        embeds[-1].set_footer(text=_SHORTENED_FOOTER)
    return embeds


def render(message: Message, *, upload_limit: int = UPLOAD_LIMIT) -> list[Outgoing]:
    """A core message as one to five Discord messages (usually one), buttons on the last.

    A message with a title or fields is an embed (red for an error, whose title or text starts
    with a warning sign); any other is plain content (an error starting with the warning sign).
    Usage in `/tiara …` code spans is shown in Discord's ``key:value`` syntax and all text goes
    through :func:`inert`. Text too long for one message is split at paragraph, line or word
    breaks over up to five; beyond that it is cut and a closing line says how to ask for less.
    More than 25 buttons spill onto further messages while there are fewer than five.

    Attachments go on the first message, 10 a message (see :func:`plan_files`); more follow
    as messages of their own. Files over ``upload_limit`` or beyond five messages' worth are
    left out, and the text ends with a line naming them.
    """
    plan = plan_files(message.attachments, upload_limit)
    if plan.left_out:
        note = not_attached(plan, upload_limit)
        message = replace(message, text=f"{message.text.rstrip()}\n\n{note}".strip())
    pages: list[tuple[str | None, tuple[discord.Embed, ...]]]
    if (message.title or "").strip() or message.fields:
        pages = [(None, (embed,)) for embed in _embed_pages(message)]
    else:
        text = _shown(message.text)
        if message.error:
            text = _WARNING + text.strip()
        pages = [(content, ()) for content in _content_pages(text)]
    if not pages:
        pages = [(None, ())] if message.buttons or plan.batches else [(_BLANK, ())]

    groups = [message.buttons[i : i + _BUTTONS] for i in range(0, len(message.buttons), _BUTTONS)]
    room = _MAX_MESSAGES - len(pages) + 1
    if len(groups) > room:
        shown = sum(len(group) for group in groups[:room])
        log.warning("only %d of %d buttons fit in a message", shown, len(message.buttons))
        groups = groups[:room]
    pages += [(None, ())] * max(0, len(groups) - 1)
    first = len(pages) - max(1, len(groups))
    parts = [
        Outgoing(
            content=content,
            embeds=embeds,
            buttons=groups[n - first] if 0 <= n - first < len(groups) else (),
            files=plan.batches[0] if n == 0 and plan.batches else (),
        )
        for n, (content, embeds) in enumerate(pages)
    ]
    return parts + [Outgoing(None, (), (), batch) for batch in plan.batches[1:]]


# -- buttons -------------------------------------------------------------------------------


def build_view(buttons: Sequence[tuple[Button, str]]) -> discord.ui.View:
    """A persistent view (no timeout) of up to 25 buttons, five a row, with the given custom ids.

    Labels are inert, on one line and at most 80 characters; primary and danger buttons keep
    their style and the rest are grey. Raises ``ValueError`` for a custom id that is empty or
    longer than 100 characters; buttons beyond the 25th are dropped with a warning.
    """
    for _, custom_id in buttons:
        if not 1 <= len(custom_id) <= _CUSTOM_ID:
            raise ValueError(f"a custom_id is 1 to {_CUSTOM_ID} characters, not {len(custom_id)}")
    if len(buttons) > _BUTTONS:
        log.warning("only the first %d of %d buttons are shown", _BUTTONS, len(buttons))
    view = discord.ui.View(timeout=None)
    for index, (button, custom_id) in enumerate(buttons[:_BUTTONS]):
        label = _line(inert(button.label), _BUTTON_LABEL)
        item: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=label or _line(" ".join(button.command), _BUTTON_LABEL) or _ELLIPSIS,
            style=_STYLES.get(button.style or "", discord.ButtonStyle.secondary),
            custom_id=custom_id,
            row=index // _PER_ROW,
        )
        view.add_item(item)
    return view


# -- modals --------------------------------------------------------------------------------


def form_modal(
    form: Form, *, custom_id: str, defaults: Mapping[str, object] = _NO_DEFAULTS
) -> discord.ui.Modal:
    """A modal asking for a form's fields, each a labelled text input, ``defaults`` filled in.

    Each input's custom id is the field's name (what :func:`modal_values` returns as keys).
    Title and labels are shortened to 45 characters and placeholders to 100; an input allows at
    most ``min(max_length, 4000)`` characters and a longer default is cut to fit. Raises
    ``ValueError`` for a custom id or field name that is empty, over 100 characters or repeated.
    """
    names = [field.name for field in form.fields]
    if len(set(names)) != len(names):
        raise ValueError("two fields of a form share a name")
    for name in (custom_id, *names):
        if not 1 <= len(name) <= _CUSTOM_ID:
            raise ValueError(f"a custom_id is 1 to {_CUSTOM_ID} characters: {name[:120]!r}")
    modal = discord.ui.Modal(
        title=_line(form.title, _MODAL_TEXT) or "Tiara", custom_id=custom_id, timeout=None
    )
    for field in form.fields:
        max_length = max(1, min(field.max_length, _INPUT_LENGTH))
        default = defaults.get(field.name)
        text_input: discord.ui.TextInput[discord.ui.Modal] = discord.ui.TextInput(
            custom_id=field.name,
            style=discord.TextStyle.long if field.multiline else discord.TextStyle.short,
            placeholder=_line(field.placeholder, _PLACEHOLDER) or None,
            default=None if default is None else str(default)[:max_length] or None,
            required=field.required,
            max_length=max_length,
        )
        label = _line(field.label, _MODAL_TEXT) or _line(field.name, _MODAL_TEXT) or "Answer"
        modal.add_item(discord.ui.Label(text=label, component=text_input))
    return modal


def _text_inputs(component: object) -> list[Mapping[str, Any]]:
    """The text inputs in one top-level component of a submitted modal (row, label or bare)."""
    if not isinstance(component, Mapping):
        return []
    kind = component.get("type")
    if kind == 1:
        children = component.get("components")
        inner: list[object] = list(children) if isinstance(children, list | tuple) else []
    elif kind == 18:
        inner = [component.get("component")]
    else:
        inner = [component]
    return [c for c in inner if isinstance(c, Mapping) and c.get("type") == 4]


def modal_values(components: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What was typed into a submitted modal, by input custom id (a field's name).

    ``components`` is ``interaction.data["components"]`` of a MODAL_SUBMIT: action rows
    (``{"type": 1, "components": [{"type": 4, ...}]}``) or labels
    (``{"type": 18, "component": {"type": 4, ...}}``). Values are returned as typed (a blank
    input as ""); anything that isn't a text input with a string custom id is ignored, and odd
    shapes never raise.
    """
    values: dict[str, str] = {}
    if isinstance(components, str | bytes) or not isinstance(components, Sequence):
        return values
    for component in components:
        for text_input in _text_inputs(component):
            custom_id, value = text_input.get("custom_id"), text_input.get("value")
            if isinstance(custom_id, str) and custom_id and isinstance(value, str | None):
                values[custom_id] = value or ""
    return values
