"""Tiara on Discord: a ``discord.Client`` whose ``/tiara`` commands, buttons and forms
become core events (:mod:`bot.events`), each handled once, with the answer rendered back.

Discord wants a first answer to every interaction within 3 seconds. A command's answer is
sent directly when the core has it in time; otherwise the interaction is deferred ("Tiara
is thinking…") and the answer follows. A form (modal) must be the first answer, so it is
opened before anything else; when Discord won't open it, the member is told how to type
the values instead. Buttons and forms carry their command in their ``custom_id`` (see
:mod:`adapters.discord.ids`), and are dispatched by a registered dynamic item and an
interaction listener rather than by views kept in memory, so a button on last week's nudge
works after any number of restarts. A click or form acts only in the server it was made
in (or, from a DM, in a server where the member is one of ours); one naming another
server is refused.

Members with Manage Server or Administrator, or the coach role (``TIARA_DISCORD_COACH_ROLE``,
an id or a name), reach the core with ``platform_admin``, which makes them coaches. Answers'
files (exports, charts) are attached to the reply (see :mod:`adapters.discord.files`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp
import discord
from discord import app_commands

from adapters.background import Background
from adapters.discord.commands import OnCommand, build_group
from adapters.discord.files import UPLOAD_LIMIT, send_with_files
from adapters.discord.ids import BUTTON_ID, FORM_ID, ComponentIds, Target
from adapters.discord.notifier import delivery_error
from adapters.discord.render import ALLOWED_MENTIONS, build_view, form_modal, modal_values, render
from bot.core import INTERNAL_ERROR, Bot
from bot.events import Answer, Clicked, Event, Invoked, OpenForm, Submitted
from bot.notify import DeliveryError, Notifier
from bot.registry import Command, Kind
from bot.values import Button, ChannelRef, Invocation, Message, UserRef

__all__ = ["PLATFORM", "DiscordAdapter", "TiaraButton", "TiaraClient", "intents"]

log = logging.getLogger(__name__)

PLATFORM = "discord"
ANSWER_WITHIN = 2.0  # seconds: a slower answer is deferred first (Discord allows 3)
# How long what a member's server said about them (Manage Server, the coach role) is trusted
# for their clicks in a DM, where Discord says nothing about their server.
ADMIN_REMEMBERED = 3600.0  # seconds
_EXPIRED = (
    "This button has expired or isn't yours. Type the command instead: `/tiara help` lists "
    "them all."
)
_ELSEWHERE = (
    "This {what} belongs to another Discord server, so it does nothing here. Use `/tiara` "
    "in that server instead."
)
# What answering an interaction can fail with besides Discord's own errors: the network,
# and a body that isn't what it says (a proxy's page: not UTF-8, broken JSON, or text where
# discord.py expects JSON, which it then indexes).
_ANSWER_ERRORS = (
    discord.DiscordException,
    aiohttp.ClientError,
    TimeoutError,
    ValueError,
    TypeError,
)


def intents() -> discord.Intents:
    """Only what Tiara uses: servers and their channels (for announcements and threads), and
    members leaving (the Server Members intent, privileged). No message content, no
    presences."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.members = True
    return chosen


class TiaraClient(discord.Client):
    """A ``discord.Client`` with the ``/tiara`` tree and Tiara's dynamic buttons."""

    def __init__(self, **options: Any) -> None:
        # Tiara has no voice: no warning at every start about voice libraries it doesn't need.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        options.setdefault("intents", intents())
        options.setdefault("chunk_guilds_at_startup", False)
        options.setdefault("member_cache_flags", discord.MemberCacheFlags.none())
        options.setdefault("allowed_mentions", ALLOWED_MENTIONS)
        super().__init__(**options)
        self.tree: app_commands.CommandTree[TiaraClient] = app_commands.CommandTree(self)
        self.tiara: DiscordAdapter | None = None
        self.ready = asyncio.Event()

    async def setup_hook(self) -> None:
        # Buttons are dispatched by their custom_id's shape, whoever drew them and when.
        self.add_dynamic_items(TiaraButton)

    async def on_ready(self) -> None:
        self.ready.set()


class TiaraButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_ID):
    """Any Tiara button, old or new: its custom_id says what it does."""

    def __init__(self, custom_id: str, kind: str = "", rest: str = "") -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id))
        self.kind = kind
        self.rest = rest

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TiaraButton:
        return cls(match.string, match["kind"], match["rest"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter = getattr(interaction.client, "tiara", None)
        if adapter is not None:
            await adapter.on_button(interaction, self.kind, self.rest)


class DiscordAdapter:
    """Wires a :class:`TiaraClient` to the core."""

    def __init__(
        self,
        bot: Bot,
        *,
        client: TiaraClient,
        ids: ComponentIds,
        notifier: Notifier | None = None,
        answer_within: float | None = ANSWER_WITHIN,
        coach_role: str | None = None,
    ) -> None:
        self.bot = bot
        self.client = client
        self.ids = ids
        self.notifier = notifier  # sends an answer's files for keeps to the member's DM
        # Seconds the core has to answer before the interaction is deferred: 0 defers every
        # answer at once, None none (tests, whose results must not depend on speed).
        self.answer_within = answer_within
        self.coach_role = coach_role  # TIARA_DISCORD_COACH_ROLE: an id or a name
        self._ambiguous_role_warned: set[int] = set()  # servers told about a shared name
        self._names: dict[UserRef, str] = {}  # display names already recorded
        self._admins: dict[UserRef, tuple[bool, float]] = {}  # seen in their server, and when
        self._background = Background("Discord")
        client.tiara = self
        on_command: OnCommand = self.on_command
        # The registry says which commands Discord offers, and which a button may name.
        self._commands = frozenset(command.path for command in bot.registry)
        client.tree.add_command(build_group(bot.registry, on_command, self._suggest))
        client.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        client.event(self.on_interaction)
        client.event(self.on_raw_member_remove)

    # -- translate in --------------------------------------------------------------------

    @staticmethod
    def _user(interaction: discord.Interaction[Any], workspace: str | None = None) -> UserRef:
        return UserRef(
            PLATFORM, workspace or str(interaction.guild_id or ""), str(interaction.user.id)
        )

    @staticmethod
    def _channel(interaction: discord.Interaction[Any], user: UserRef) -> ChannelRef | None:
        if interaction.channel_id is None or interaction.guild_id is None:
            return None
        return ChannelRef(PLATFORM, user.workspace, str(interaction.channel_id))

    def _platform_admin(self, interaction: discord.Interaction[Any], user: UserRef) -> bool:
        """Whether the member runs their server: Manage Server or Administrator, or the coach
        role (``TIARA_DISCORD_COACH_ROLE``).

        In the server Discord says so with every interaction. In a DM it says nothing: what
        their server said in the last hour counts (or the client's cache, if it holds them),
        else they are not.
        """
        member: discord.Member | None
        if (
            isinstance(interaction.user, discord.Member)
            and str(interaction.user.guild.id) == user.workspace
        ):
            member, permissions = interaction.user, interaction.permissions
        else:
            member = self._cached_member(user)
            if member is None:
                admin, when = self._admins.get(user, (False, 0.0))
                return admin and time.monotonic() - when < ADMIN_REMEMBERED
            permissions = member.guild_permissions
        admin = (
            permissions.administrator or permissions.manage_guild or self._has_coach_role(member)
        )
        self._admins[user] = (admin, time.monotonic())
        return admin

    def _cached_member(self, user: UserRef) -> discord.Member | None:
        if not user.workspace.isdigit() or not user.user.isdigit():
            return None
        guild = self.client.get_guild(int(user.workspace))
        return guild.get_member(int(user.user)) if guild is not None else None

    def _has_coach_role(self, member: discord.Member) -> bool:
        """Whether ``member`` holds the coach role: by id always, by name when the server's
        roles are known (they come with the server, over the gateway) and exactly one has
        that name. Anyone who may manage roles can make another role of that name; then
        the name means no one (and the log says to configure the id)."""
        wanted = (self.coach_role or "").strip().removeprefix("@")
        if not wanted:
            return False
        # Member._roles: the ids Discord sent, even for roles the cache doesn't know.
        if wanted.isdigit():  # an id: never a name (anyone could make a role "1234")
            return int(wanted) in member._roles
        folded = wanted.casefold()
        named = [
            r for r in member.guild.roles if not r.is_default() and r.name.casefold() == folded
        ]
        if len(named) > 1:
            if member.guild.id not in self._ambiguous_role_warned:
                self._ambiguous_role_warned.add(member.guild.id)
                log.warning(
                    "%d roles in a server are named like TIARA_DISCORD_COACH_ROLE, so none "
                    "counts as the coach role: set it to the role's id instead",
                    len(named),
                )
            return False
        return bool(named) and named[0].id in member._roles

    async def on_command(
        self, interaction: discord.Interaction[Any], command: Command, args: dict[str, object]
    ) -> None:
        """``/tiara <command>`` with the options the member typed (none: its form)."""
        await self._handle(interaction, self._user(interaction), Invoked(command.path, args))

    async def on_button(self, interaction: discord.Interaction[Any], kind: str, rest: str) -> None:
        """A click on any Tiara button (its custom_id's ``kind`` and ``rest``)."""
        target = await self._target(interaction, kind, rest, "button")
        if target is not None:
            user = self._user(interaction, target.workspace)
            await self._handle(interaction, user, Clicked(target.button()))

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """A submitted form (modal); everything else has its own handler."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
        if match is None:
            return
        target = await self._target(interaction, match["kind"], match["rest"], "form")
        if target is not None:
            user = self._user(interaction, target.workspace)
            values = modal_values(data.get("components") or [])
            event = Submitted(target.command, {**target.args, **values})
            await self._handle(interaction, user, event, fix=event)

    async def _target(
        self, interaction: discord.Interaction[Any], kind: str, rest: str, what: str
    ) -> Target | None:
        """What a button or form's custom_id stands for, when it may act here; else the member
        is told why not (expired, someone else's, another server's) and it is None."""
        target = await self.ids.read(kind, rest, str(interaction.user.id))
        if target is not None and target.command not in self._commands:
            # Named by a forged id or an older version: nothing of it is trusted, not even
            # which server it claims to come from.
            log.warning("ignored a %s this version doesn't know", what)
            target = None
        if target is None:
            await self._expired(interaction)
            return None
        guild = str(interaction.guild_id) if interaction.guild_id is not None else None
        if await self.ids.may_act(target, user_id=str(interaction.user.id), guild_id=guild):
            return target
        where = "in a server" if guild is not None else "in a DM"
        log.warning("refused a %s that names another server, used %s", what, where)
        await self._reply(
            interaction,
            self._user(interaction),
            Message(text=_ELSEWHERE.format(what=what), error=True),
        )
        return None

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left the server (or was removed): no more nudges until they're back."""
        user = UserRef(PLATFORM, str(payload.guild_id), str(payload.user.id))
        await self.bot.profiles.update(user, active=False, known_only=True)

    async def _suggest(
        self, interaction: discord.Interaction[Any], kind: Kind, typed: str
    ) -> list[str]:
        return await self.bot.suggest(self._user(interaction), kind, typed)

    async def _on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        # Never the error's text: it can quote what the member typed.
        log.error(
            "a /tiara command failed with %s", type(getattr(error, "original", error)).__name__
        )
        if not interaction.response.is_done():
            await self._reply(
                interaction, self._user(interaction), Message(text=INTERNAL_ERROR, error=True)
            )

    # -- translate out -------------------------------------------------------------------

    async def _handle(
        self,
        interaction: discord.Interaction[Any],
        user: UserRef,
        event: Event,
        *,
        fix: Submitted | None = None,
    ) -> None:
        """The one way through: ``event`` to the core, and its answer back to Discord (a form
        opened, or a message sent; deferred first when the command takes longer than
        Discord waits). With ``fix`` (a submitted form), a mistake is answered with a button
        that opens the form again with everything the member typed."""
        running = asyncio.Event()  # a command runs: only then can the answer be slow

        async def prepare(invocation: Invocation) -> Invocation:
            running.set()
            return invocation

        async def answer() -> Answer:
            found = await self.bot.handle(
                event,
                user,
                channel=self._channel(interaction, user),
                platform_admin=self._platform_admin(interaction, user),
                prepare=prepare,
            )
            # Files for keeps go to the DM within the time the answer has, not after it.
            return found if isinstance(found, OpenForm) else await self._files_to_dm(user, found)

        task = asyncio.ensure_future(answer())
        deferred = await self._defer_when_slow(interaction, task, running)
        found = await task
        if isinstance(found, OpenForm):
            await self._open_form(interaction, user, found)
        else:
            if fix is not None and found.error:
                # Discord can't keep a modal open with an error: offer it again, as typed.
                again = Button("Fix it", fix.command, fix.values, "primary", opens_form=True)
                found = replace(found, buttons=(again,))
            await self._reply(interaction, user, found, deferred=deferred)
        self._remember_name(interaction, user)

    async def _defer_when_slow(
        self,
        interaction: discord.Interaction[Any],
        task: asyncio.Future[Answer],
        running: asyncio.Event,
    ) -> bool:
        """Defer the interaction ("Tiara is thinking…") when the command ``task`` runs
        hasn't answered within ``answer_within``; whether it was deferred. A form opens
        without running anything, so it never waits for this (it must be the first answer)."""
        if self.answer_within is None:
            return False
        runs = asyncio.ensure_future(running.wait())
        either: set[asyncio.Future[Any]] = {task, runs}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            runs.cancel()
        if self.answer_within > 0 and not task.done():
            await asyncio.wait({task}, timeout=self.answer_within)
        if task.done():
            return False
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            return True
        except _ANSWER_ERRORS as err:  # then the answer itself is the first response
            log.warning("deferring an answer failed with %s", delivery_error(err).reason)
            return False

    async def _open_form(
        self, interaction: discord.Interaction[Any], user: UserRef, answer: OpenForm
    ) -> None:
        """Open the form as the first answer, filled with its defaults; the values it was
        opened with that it doesn't ask for travel in its custom_id."""
        command = answer.invocation.command
        asked = {f.name for f in answer.form.fields}
        carried = {k: v for k, v in answer.invocation.args.items() if k not in asked}
        target = Target(user.workspace, command, carried)  # type: ignore[arg-type]
        custom_id = await self.ids.form_id(user, target)
        modal = form_modal(answer.form, custom_id=custom_id, defaults=dict(answer.defaults))
        try:
            await interaction.response.send_modal(modal)
        except _ANSWER_ERRORS as err:
            log.warning("opening a form failed with %s", delivery_error(err).reason)
            if not interaction.response.is_done():
                # Discord's options, not the typed text of answer.fallback.
                typed = " ".join(f"{f.name}:" for f in answer.form.fields)
                fallback = (
                    "I couldn't open the form. Type the values instead: "
                    f"`/tiara {' '.join(command)} {typed}`"
                )
                await self._reply(interaction, user, Message(text=fallback, error=True))
        finally:
            modal.stop()  # submissions are handled by custom_id (on_interaction), not in memory

    async def _expired(self, interaction: discord.Interaction[Any]) -> None:
        await self._reply(interaction, self._user(interaction), Message(text=_EXPIRED, error=True))

    async def _files_to_dm(self, user: UserRef, answer: Message) -> Message:
        """Files for keeps (an export) go to the member's DM, where they stay; the reply
        says so. When the DM fails (DMs from server members off), they come with the
        reply instead, with a word to save them now."""
        notifier = self.notifier
        if not (answer.attachments and answer.files_to_dm) or notifier is None:
            return answer
        try:
            await notifier.send_dm(
                user, Message(title=answer.title, text="", attachments=answer.attachments)
            )
        except DeliveryError as err:
            log.info("files for a DM went with the reply instead (%s)", err.reason)
            line = (
                "I couldn't send these to your DMs (Discord may be blocking DMs from server "
                "members), so here they are: save them now, as this message won't stay."
            )
            return replace(answer, text=f"{answer.text}\n\n{line}".strip())
        line = "I've sent the files to your DMs with Tiara, where they'll stay."
        return replace(answer, text=f"{answer.text}\n\n{line}".strip(), attachments=())

    async def _reply(
        self,
        interaction: discord.Interaction[Any],
        user: UserRef,
        message: Message,
        *,
        deferred: bool = False,
    ) -> None:
        """Answer an interaction: private answers only the member sees (ephemeral), files
        attached (as many as Discord takes; the text names any left out)."""
        ephemeral = message.private or message.error
        limit = getattr(interaction, "filesize_limit", None) or UPLOAD_LIMIT
        for number, part in enumerate(render(message, upload_limit=limit)):
            pairs = [(b, await self.ids.button_id(user, b)) for b in part.buttons]
            view = build_view(pairs) if pairs else None
            kwargs: dict[str, Any] = {
                "content": part.content,
                "embeds": list(part.embeds),
                "ephemeral": ephemeral,
                "allowed_mentions": ALLOWED_MENTIONS,
            }
            if view is not None:
                kwargs["view"] = view
            try:
                if number == 0 and not deferred and not interaction.response.is_done():
                    await send_with_files(interaction.response.send_message, kwargs, part.files)
                else:
                    await send_with_files(interaction.followup.send, kwargs, part.files)
            except _ANSWER_ERRORS as err:
                # The rest can't follow an answer that didn't arrive.
                log.error("answering an interaction failed with %s", delivery_error(err).reason)
                return
            finally:
                if view is not None:
                    view.stop()  # clicks are dispatched by custom_id (TiaraButton)

    def _remember_name(self, interaction: discord.Interaction[Any], user: UserRef) -> None:
        """Record the member's display name (used in practice messages) when it changed."""
        name = interaction.user.display_name
        if self._names.get(user) == name:
            return
        self._names[user] = name
        self._background.start(self.bot.profiles.update(user, display_name=name))

    async def drain(self) -> None:
        """Wait for background work (profile updates) to finish."""
        await self._background.drain()
