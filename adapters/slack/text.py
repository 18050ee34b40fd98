"""Member text as Slack shows it: inert, and within Slack's limits.

* Member text is inert. Whatever a member could have typed goes through :func:`escape`, and
  every mrkdwn text object is sent ``verbatim`` (:func:`mrkdwn`), so Slack neither turns URLs
  and channel names into links nor parses mentions. The `code` spans the bot writes keep their
  backticks.
* Lengths are counted in UTF-16 code units (:func:`units`: an emoji outside the Basic
  Multilingual Plane counts twice), which is never less than ``len()``: text within a limit by
  this count is within it however Slack counts. Text that is too long is cut (:func:`shorten`,
  ending in "…") or split (:func:`split_text`), never inside an escaped entity.
"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import MarkdownTextObject

__all__ = [
    "escape",
    "fit",
    "inline",
    "mrkdwn",
    "one_line",
    "plain",
    "shorten",
    "split_text",
    "units",
]

_ELLIPSIS = "…"
_WORD_JOINER = "\u2060"
_SPECIAL_MENTION = re.compile(r"@(?=here|channel|everyone)", re.IGNORECASE)


def escape(text: str) -> str:
    """Make member text inert in mrkdwn.

    Escapes Slack's three control characters (``&``, ``<``, ``>``), so ``<!channel>``,
    ``<@U123>`` and ``<https://evil|click>`` show as typed instead of mentioning or linking, and
    puts an invisible word joiner after the ``@`` of ``@here``, ``@channel`` and ``@everyone``
    (any case) so they never notify anyone.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL_MENTION.sub("@" + _WORD_JOINER, text)


def units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def fit(text: str, limit: int) -> int:
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
    """Like :func:`fit`, but never inside an ``&amp;``, ``&lt;`` or ``&gt;`` of escaped text."""
    end = fit(escaped, limit)
    amp = escaped.rfind("&", max(0, end - 4), end)
    if amp != -1 and escaped.find(";", amp, end) == -1:
        end = amp
    return end


def shorten(escaped: str, limit: int) -> str:
    """Escaped text within ``limit`` units, ending in "…" when something had to go."""
    if units(escaped) <= limit:
        return escaped
    return escaped[: _cut_point(escaped, limit - 1)].rstrip() + _ELLIPSIS


def one_line(text: str) -> str:
    """Whitespace runs, newlines included, as single spaces (for headers, labels and titles)."""
    return " ".join(text.split())


def plain(text: str, limit: int) -> str:
    """Member text for a one-line ``plain_text`` object: on one line, within ``limit``.

    Not escaped: Slack parses neither mentions nor links in ``plain_text``, and an escaped
    "&" could show as "&amp;" in a header or on a button.
    """
    return shorten(one_line(text), limit)


def inline(text: str, limit: int) -> str:
    """Member text for one line of mrkdwn (a field's label, the notification text): escaped."""
    return shorten(one_line(escape(text)), limit)


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object Slack shows as written (``verbatim``: no links, no mentions)."""
    return MarkdownTextObject(text=text, verbatim=True)


def _hard_split(line: str, limit: int) -> list[str]:
    """A line too long for one section, in parts within ``limit``, broken after a space if one
    is near the end of a part, else wherever the limit falls (never inside an entity)."""
    parts: list[str] = []
    while units(line) > limit:
        end = max(1, _cut_point(line, limit))
        space = line.rfind(" ", 0, end)
        if space > end // 2:
            end = space + 1
        parts.append(line[:end])
        line = line[end:]
    parts.append(line)
    return parts


def split_text(escaped: str, limit: int) -> list[str]:
    """Escaped text as section texts within ``limit``.

    Breaks fall between paragraphs where possible, then between lines, then between words; only
    the whitespace at a break is dropped, so every other character appears exactly once, in
    order.
    """
    pieces: list[tuple[str, str]] = []  # (the separator before it, the piece)
    for paragraph in escaped.split("\n\n"):
        if not paragraph.strip():
            continue
        lines = [paragraph] if units(paragraph) <= limit else paragraph.split("\n")
        for n, line in enumerate(lines):
            for k, part in enumerate(_hard_split(line, limit)):
                pieces.append(("" if k else "\n" if n else "\n\n", part))
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for separator, piece in pieces:
        size = units(piece)
        if current and used + len(separator) + size <= limit:
            current += (separator, piece)
            used += len(separator) + size
        else:
            chunks.append("".join(current))
            current, used = [piece], size
    chunks.append("".join(current))
    return [chunk.strip() for chunk in chunks if chunk.strip()]
