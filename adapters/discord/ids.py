"""Discord ``custom_id``s for Tiara's buttons and forms, which must survive a restart.

A button is a pre-filled command; Discord gives its ``custom_id`` (at most 100 characters)
back when it is clicked, days later and perhaps to another process. So the id carries
everything: the server the button was drawn in (a click in a DM has no server), the
command words and the arguments, as compact JSON::

    tiara:b:{"w":"5000","c":["done"],"a":{"id":"N4"}}

When that doesn't fit (a contact's long name, a form's draft), the JSON is kept in the
core's :class:`~bot.inbox.Inbox` and the id carries its key: ``tiara:k:5000:<key>``.
A form (modal) uses ``tiara:f:`` and ``tiara:g:`` the same way. What comes back is
untrusted: it is checked as strictly as typed input, and a kept payload is only handed to
the member it was drawn for, and a click or form acts only in the server it was made in
(see :meth:`ComponentIds.may_act`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from bot.inbox import Inbox
from bot.values import Button, UserRef

__all__ = [
    "BUTTON_ID",
    "FORM_ID",
    "MAX_ID",
    "ComponentIds",
    "Target",
    "encode_inline",
]

MAX_ID = 100  # Discord's limit on a custom_id
PLATFORM = "discord"
BUTTON_ID = re.compile(r"tiara:(?P<kind>[bk]):(?P<rest>.{1,92})", re.DOTALL)
FORM_ID = re.compile(r"tiara:(?P<kind>[fg]):(?P<rest>.{1,92})", re.DOTALL)
_KEPT = re.compile(r"(?P<workspace>[0-9]{1,20}):(?P<key>[A-Za-z0-9_-]{22})")  # Inbox.keep's
_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_WORKSPACE = re.compile(r"[0-9]{1,20}")
_MAX_PAYLOAD = 20_000
BUTTON_LIFETIME = timedelta(days=180)  # a keep-in-touch nudge's buttons stay useful for months
DRAFT_LIFETIME = timedelta(days=7)  # a form's draft kept for "fix and send again"

ArgValue = str | int | float | bool | None


@dataclass(frozen=True)
class Target:
    """What a button or form stands for: a command with arguments, in one server."""

    workspace: str
    command: tuple[str, ...]
    args: Mapping[str, ArgValue] = field(default_factory=dict)
    opens_form: bool = False

    @classmethod
    def of(cls, workspace: str, button: Button) -> Target:
        return cls(workspace, button.command, dict(button.args), button.opens_form)  # type: ignore[arg-type]

    def button(self) -> Button:
        return Button(" ".join(self.command), self.command, self.args, opens_form=self.opens_form)

    def to_json(self) -> str:
        data: dict[str, object] = {"w": self.workspace, "c": list(self.command)}
        if self.args:
            data["a"] = dict(self.args)
        if self.opens_form:
            data["f"] = 1
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Target:
        """Parse and check a payload that came back from Discord; ``ValueError`` if odd."""
        if len(text) > _MAX_PAYLOAD:
            raise ValueError("payload too long")
        data = json.loads(text, parse_constant=_refuse)
        if not isinstance(data, dict) or not set(data) <= {"w", "c", "a", "f"}:
            raise ValueError("not a payload")
        workspace, words, args = data.get("w"), data.get("c"), data.get("a", {})
        if not isinstance(workspace, str) or not _WORKSPACE.fullmatch(workspace):
            raise ValueError("bad workspace")
        if (
            not isinstance(words, list)
            or not 1 <= len(words) <= 3
            or not all(isinstance(w, str) and _WORD.fullmatch(w) for w in words)
        ):
            raise ValueError("bad command")
        if not isinstance(args, dict) or len(args) > 16:
            raise ValueError("bad arguments")
        for name, value in args.items():
            if not _ARG.fullmatch(name) or not isinstance(value, ArgValue):
                raise ValueError("bad argument")
            if isinstance(value, str) and len(value) > 6000:
                raise ValueError("argument too long")
        return cls(workspace, tuple(words), args, bool(data.get("f")))


def _refuse(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def encode_inline(kind: Literal["b", "f"], target: Target) -> str | None:
    """The custom_id carrying ``target`` itself, or None when it would be too long."""
    custom_id = f"tiara:{kind}:{target.to_json()}"
    return custom_id if len(custom_id) <= MAX_ID else None


@dataclass
class ComponentIds:
    """Makes custom_ids for buttons and forms, and reads them back, keeping in the inbox
    what doesn't fit in 100 characters."""

    inbox: Inbox

    async def button_id(self, user: UserRef, button: Button) -> str:
        return await self._make("b", user, Target.of(user.workspace, button), BUTTON_LIFETIME)

    async def form_id(
        self, user: UserRef, target: Target, *, lifetime: timedelta = DRAFT_LIFETIME
    ) -> str:
        return await self._make("f", user, target, lifetime)

    async def _make(
        self, kind: Literal["b", "f"], user: UserRef, target: Target, lifetime: timedelta
    ) -> str:
        inline = encode_inline(kind, target)
        if inline is not None:
            return inline
        owner = UserRef(PLATFORM, user.workspace, user.user)
        key = await self.inbox.keep(target.to_json(), owner=owner, lifetime=lifetime)
        return f"tiara:{'k' if kind == 'b' else 'g'}:{user.workspace}:{key}"

    async def may_act(self, target: Target, *, user_id: str, guild_id: str | None) -> bool:
        """Whether a click or form naming ``target.workspace`` may act there.

        In a server, only in that server: an id naming another one was copied or forged. In
        a DM (nudges arrive there, and their buttons name the server), only in a server the
        member belongs to in our records (an active member there).
        """
        if guild_id is not None:
            return guild_id == target.workspace
        return await self.inbox.is_active_member(UserRef(PLATFORM, target.workspace, user_id))

    async def read(self, kind: str, rest: str, user_id: str) -> Target | None:
        """The target a custom_id's ``kind`` and ``rest`` stand for, clicked by ``user_id``;
        None when it is malformed, expired, or kept for someone else."""
        try:
            if kind in ("b", "f"):
                return Target.from_json(rest)
            kept = _KEPT.fullmatch(rest)
            if kept is None:
                return None
            # Kept for the member who clicks, or for anyone (a button drawn in a channel).
            reader = UserRef(PLATFORM, kept["workspace"], user_id)
            payload = await self.inbox.kept(kept["key"], reader=reader)
            return None if payload is None else Target.from_json(payload)
        except ValueError:
            return None
