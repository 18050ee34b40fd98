"""Values that cross the seam between the core and the platform adapters."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "Attachment",
    "Button",
    "ChannelRef",
    "Field",
    "Form",
    "FormField",
    "Invocation",
    "Message",
    "UserError",
    "UserRef",
]


@dataclass(frozen=True, slots=True)
class UserRef:
    """Identifies one member: the platform, the workspace (team or guild) and the user id."""

    platform: str
    workspace: str
    user: str

    def named_in(self, ids: Collection[str]) -> bool:
        """Whether ``ids`` names this user, as TIARA_COACHES does: by user id, or by
        ``workspace:user`` for one workspace only."""
        return self.user in ids or f"{self.workspace}:{self.user}" in ids


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """Identifies a channel, DM or thread in a workspace."""

    platform: str
    workspace: str
    channel: str


def _frozen(args: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(args))


@dataclass(frozen=True, slots=True)
class Invocation:
    """A request to run one command: typed text, a submitted form or a clicked button."""

    command: tuple[str, ...]
    args: Mapping[str, object]
    user: UserRef
    channel: ChannelRef | None = None
    # The platform says this user runs the workspace: a Slack admin or owner, a Discord
    # member with Manage Server or the configured coach role. Adapters set it; it makes
    # them a coach (so do TIARA_COACHES).
    platform_admin: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _frozen(self.args))

    def with_args(self, extra: Mapping[str, object]) -> Invocation:
        """Return a copy with ``extra`` merged over the current arguments."""
        return Invocation(
            self.command, {**self.args, **extra}, self.user, self.channel, self.platform_admin
        )


@dataclass(frozen=True, slots=True)
class Button:
    """A pre-filled command: clicking it dispatches ``command`` with ``args``.

    With ``opens_form`` the click opens the command's form instead, with ``args`` as the
    initial values (a modal on Slack and Discord, prompts on the console).
    """

    label: str
    command: tuple[str, ...]
    args: Mapping[str, object] = field(default_factory=dict)
    style: Literal["primary", "danger"] | None = None
    opens_form: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", _frozen(self.args))

    def invocation(
        self, user: UserRef, channel: ChannelRef | None = None, *, platform_admin: bool = False
    ) -> Invocation:
        """The invocation a click by ``user`` dispatches."""
        return Invocation(self.command, self.args, user, channel, platform_admin)


@dataclass(frozen=True, slots=True)
class Field:
    """A labelled value shown beside a message's text (a Slack field, a Discord embed field)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that goes with a message: an export, a chart.

    Adapters deliver it the way their platform can: Discord attaches it to the reply or
    DM; Slack uploads it to the member's DM with Tiara (an ephemeral reply can't carry
    files) and says so in the reply; the console writes it to a folder and prints the path.
    """

    filename: str
    data: bytes
    mime: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """A reply or notification in platform-neutral form.

    ``text`` is plain text: the core never embeds markup, so adapters can render every
    character inert (no mentions, no links) without telling the bot's words from the
    member's. Paragraphs are separated by blank lines; list items start with "• ".
    """

    text: str
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    private: bool = True
    error: bool = False
    error_option: str | None = None  # the option an error is about (a form's field)
    attachments: tuple[Attachment, ...] = ()
    # The attachments are for keeps (an export): adapters deliver them in the member's DM
    # with Tiara, where they stay, rather than only on a reply that may vanish.
    files_to_dm: bool = False


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a form (a modal on Slack and Discord, a prompt on the console)."""

    name: str
    label: str
    required: bool = False
    multiline: bool = False
    max_length: int = 200
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class Form:
    """A form declared on a command; adapters open it when the command arrives without values."""

    title: str
    fields: tuple[FormField, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.fields) <= 5:
            raise ValueError("a form holds between 1 and 5 fields (Discord's modal limit)")
        if len(self.title) > 45:
            raise ValueError("a form title is at most 45 characters (Discord's modal limit)")


class UserError(Exception):
    """A mistake the member can fix; ``message`` says what to type instead.

    ``option`` names the option the mistake is in, when known, so a form can show the
    message under that field.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option
