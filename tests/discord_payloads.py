"""What Discord sends a bot: users, members, channels and interactions, as raw payloads.

Every builder returns plain dicts shaped as Discord sends them over the gateway (ids as
strings, timestamps in ISO 8601), so a real ``discord.Client`` can parse them. Shared by
``tests.discord_fake`` (which answers REST calls with them) and the tests that dispatch
interactions to a connected client with ``FakeDiscord.interaction``.

Slash commands are ``/tiara <path...>``: ``path=("practice", "join")`` becomes a
SUB_COMMAND_GROUP ``practice`` holding a SUB_COMMAND ``join``, and ``options`` become typed
options of the innermost subcommand (str → STRING, bool → BOOLEAN, int → INTEGER,
float → NUMBER; a dict is taken as the raw option, its ``name`` filled in).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = [
    "ADMINISTRATOR",
    "APPLICATION_ID",
    "BOT_PERMISSIONS",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "COMMAND_ID",
    "COMMAND_NAME",
    "EVERYONE_PERMISSIONS",
    "GUILD_ID",
    "MANAGE_GUILD",
    "TIMESTAMP",
    "autocomplete",
    "bot_message",
    "bot_user",
    "button_click",
    "dm_channel",
    "dm_channel_id",
    "interaction_token",
    "member",
    "member_remove",
    "modal_submit",
    "role",
    "slash_command",
    "slash_command_in_dm",
    "text_channel",
    "user",
]

APPLICATION_ID = 1000
BOT_USER_ID = 1000
GUILD_ID = 5000
CHANNEL_ID = 5100
COMMAND_NAME = "tiara"
COMMAND_ID = 1100
TIMESTAMP = "2026-01-05T09:00:00.000000+00:00"
# VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY, USE_APPLICATION_COMMANDS, threads, ...
EVERYONE_PERMISSIONS = 380175240257
# What the bot's managed role grants: the above plus MANAGE_THREADS, less the voice ones.
BOT_PERMISSIONS = 397284592704
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5  # "Manage Server"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
DM_CHANNEL_BASE = 7_000_000_000

# Interaction ids are snowflakes far above every other id the tests use.
_interaction_ids = itertools.count(1_300_000_000_000_000_000)
_message_ids = itertools.count(1_200_000_000_000_000_000)

# Option types (Discord's ApplicationCommandOptionType).
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
NUMBER = 10
# Interaction types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
# Interaction contexts.
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1


# ----------------------------------------------------------------------- people


def user(
    user_id: int,
    name: str = "student",
    global_name: str | None = None,
    *,
    bot: bool = False,
) -> dict[str, Any]:
    """A user object, as in ``member.user``, ``interaction.user`` or a message's author."""
    payload: dict[str, Any] = {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": global_name,
        "avatar": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
        "public_flags": 0,
    }
    if bot:
        payload["bot"] = True
    return payload


def bot_user(user_id: int = BOT_USER_ID, name: str = "Tiara") -> dict[str, Any]:
    """The bot's own user, as ``GET /users/@me`` and READY carry it."""
    return {
        **user(user_id, name, bot=True),
        "verified": True,
        "mfa_enabled": False,
        "flags": 0,
        "email": None,
        "locale": "en-US",
        "banner": None,
        "accent_color": None,
        "bio": "",
    }


def member(
    user_id: int,
    name: str = "student",
    global_name: str | None = None,
    *,
    roles: Sequence[int] = (),
    nick: str | None = None,
    permissions: int | None = EVERYONE_PERMISSIONS,
    joined_at: str = TIMESTAMP,
    bot: bool = False,
) -> dict[str, Any]:
    """A guild member with its ``user``; ``permissions`` is only present in interactions.

    Pass ``permissions=None`` for the shape of ``GET /guilds/{id}/members/{user}``.
    """
    payload: dict[str, Any] = {
        "user": user(user_id, name, global_name, bot=bot),
        "roles": [str(role) for role in roles],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def role(role_id: int, name: str, permissions: int = 0, **extra: Any) -> dict[str, Any]:
    """A guild role, as GUILD_CREATE and ``GET /guilds/{id}/roles`` carry it."""
    return {
        "id": str(role_id),
        "name": name,
        "description": None,
        "permissions": str(permissions),
        "position": 0,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
        **extra,
    }


def member_remove(guild_id: int, user_id: int, name: str = "student") -> dict[str, Any]:
    """The data of GUILD_MEMBER_REMOVE: ``user_id`` left (or was removed from) the guild."""
    return {"guild_id": str(guild_id), "user": user(user_id, name)}


# --------------------------------------------------------------------- channels


def text_channel(
    channel_id: int = CHANNEL_ID,
    name: str = "practice",
    *,
    guild_id: int = GUILD_ID,
    position: int = 0,
    parent_id: int | None = None,
    topic: str | None = None,
) -> dict[str, Any]:
    """A guild text channel (type 0), as in GUILD_CREATE and ``GET /guilds/{id}/channels``."""
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "parent_id": None if parent_id is None else str(parent_id),
        "topic": topic,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "permission_overwrites": [],
        "flags": 0,
        "icon_emoji": None,
        "theme_color": None,
    }


def dm_channel_id(user_id: int) -> int:
    """The id of the bot's DM channel with ``user_id`` (the fake's answer is stable)."""
    return DM_CHANNEL_BASE + user_id


def dm_channel(user_id: int, name: str = "student") -> dict[str, Any]:
    """The bot's DM channel with ``user_id`` (type 1), as ``POST /users/@me/channels`` answers."""
    return {
        "id": str(dm_channel_id(user_id)),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [user(user_id, name)],
    }


def bot_message(
    *,
    channel_id: int = CHANNEL_ID,
    content: str = "",
    components: Sequence[Mapping[str, Any]] = (),
    message_id: int | None = None,
    guild_id: int | None = None,
    author_id: int = BOT_USER_ID,
    flags: int = 0,
) -> dict[str, Any]:
    """A message the bot posted earlier, e.g. the one carrying a button that gets clicked."""
    payload: dict[str, Any] = {
        "id": str(message_id if message_id is not None else next(_message_ids)),
        "type": 0,
        "channel_id": str(channel_id),
        "author": user(author_id, "Tiara", bot=True),
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [dict(component) for component in components],
        "pinned": False,
        "flags": flags,
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    return payload


def _button_row(custom_id: str) -> dict[str, Any]:
    return {
        "type": 1,
        "id": 1,
        "components": [
            {"type": 2, "id": 2, "style": 1, "label": "Go", "custom_id": custom_id},
        ],
    }


# ------------------------------------------------------------------ interactions


def interaction_token(interaction_id: int) -> str:
    """The (made-up, stable) token Discord sends with interaction ``interaction_id``."""
    return f"aW50ZXJhY3Rpb246{interaction_id}:fake-interaction-token"


class _Sender(NamedTuple):
    """Who sends an interaction, and its id and token (None: the next id, its token)."""

    user_id: int
    name: str
    interaction_id: int | None
    token: str | None
    application_id: int


def _channel_id(user_id: int, guild_id: int | None, channel_id: int | None) -> int:
    """Where an interaction comes from: ``channel_id``, else the guild's channel or the DM."""
    if channel_id is not None:
        return channel_id
    return CHANNEL_ID if guild_id is not None else dm_channel_id(user_id)


def _envelope(
    kind: int,
    data: Mapping[str, Any],
    sender: _Sender,
    guild_id: int | None,
    channel_id: int | None,
    *,
    channel_name: str = "practice",
    message: Mapping[str, Any] | None = None,
    permissions: int = EVERYONE_PERMISSIONS,
    roles: Sequence[int] = (),
    locale: str = "en-US",
) -> dict[str, Any]:
    """The fields every interaction carries, for a guild channel or the bot's DM.

    In a guild, ``permissions`` are the member's (in that channel) and ``roles`` their role
    ids; a DM carries neither.
    """
    user_id, name = sender.user_id, sender.name
    iid = sender.interaction_id if sender.interaction_id is not None else next(_interaction_ids)
    payload: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(sender.application_id),
        "type": kind,
        "token": sender.token if sender.token is not None else interaction_token(iid),
        "version": 1,
        "locale": locale,
        "app_permissions": str(BOT_PERMISSIONS),
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "data": dict(data),
    }
    cid = _channel_id(user_id, guild_id, channel_id)
    if guild_id is not None:
        channel = text_channel(cid, channel_name, guild_id=guild_id)
        channel["permissions"] = str(permissions)
        payload.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "channel_id": str(cid),
                "channel": channel,
                "member": member(user_id, name, roles=roles, permissions=permissions),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": CONTEXT_GUILD,
            }
        )
    else:
        channel = {**dm_channel(user_id, name), "id": str(cid)}
        payload.update(
            {
                "channel_id": str(cid),
                "channel": channel,
                "user": user(user_id, name),
                "authorizing_integration_owners": {"0": "0"},
                "context": CONTEXT_BOT_DM,
            }
        )
    if message is not None:
        payload["message"] = dict(message)
    return payload


def _option(name: str, value: object) -> dict[str, Any]:
    """A typed option: the Discord type follows the Python type of ``value``."""
    if isinstance(value, Mapping):
        return {"name": name, **value}
    if isinstance(value, bool):
        kind = BOOLEAN
    elif isinstance(value, int):
        kind = INTEGER
    elif isinstance(value, float):
        kind = NUMBER
    elif isinstance(value, str):
        kind = STRING
    else:
        raise TypeError(f"option {name!r}: no Discord option type for {type(value).__name__}")
    return {"name": name, "type": kind, "value": value}


def _command_data(
    path: Sequence[str],
    options: Mapping[str, object] | None,
    *,
    command_id: int,
    command_guild_id: int | None = None,
    focused: str | None = None,
) -> dict[str, Any]:
    """``data`` of an application command: ``/tiara`` with ``path`` as nested subcommands."""
    if not path:
        raise ValueError("path names at least the subcommand, e.g. ('log',)")
    if len(path) > 2:
        raise ValueError("Discord nests at most a group and a subcommand under a command")
    leaf_options = [_option(name, value) for name, value in (options or {}).items()]
    if focused is not None:
        for option in leaf_options:
            if option["name"] == focused:
                break
        else:
            leaf_options.append({"name": focused, "type": STRING, "value": ""})
            option = leaf_options[-1]
        option["focused"] = True
    node: dict[str, Any] = {"name": path[-1], "type": SUB_COMMAND, "options": leaf_options}
    if len(path) == 2:
        node = {"name": path[0], "type": SUB_COMMAND_GROUP, "options": [node]}
    data: dict[str, Any] = {
        "id": str(command_id),
        "name": COMMAND_NAME,
        "type": 1,
        "options": [node],
    }
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return data


def slash_command(
    *,
    path: Sequence[str],
    options: Mapping[str, object] | None = None,
    user_id: int,
    name: str = "student",
    guild_id: int = GUILD_ID,
    channel_id: int = CHANNEL_ID,
    channel_name: str = "practice",
    interaction_id: int | None = None,
    token: str | None = None,
    application_id: int = APPLICATION_ID,
    command_id: int = COMMAND_ID,
    command_guild_id: int | None = None,
    permissions: int = EVERYONE_PERMISSIONS,
    roles: Sequence[int] = (),
    locale: str = "en-US",
) -> dict[str, Any]:
    """INTERACTION_CREATE for ``/tiara <path...>`` typed by ``user_id`` in a guild channel.

    ``permissions`` are the member's (``| MANAGE_GUILD`` for one who runs the server) and
    ``roles`` the ids of their roles.

    ``command_guild_id`` is set when the command was registered to that guild (not globally);
    Discord then names the guild in ``data.guild_id`` and discord.py looks it up there.
    """
    data = _command_data(path, options, command_id=command_id, command_guild_id=command_guild_id)
    sender = _Sender(user_id, name, interaction_id, token, application_id)
    return _envelope(
        APPLICATION_COMMAND,
        data,
        sender,
        guild_id,
        channel_id,
        channel_name=channel_name,
        permissions=permissions,
        roles=roles,
        locale=locale,
    )


def slash_command_in_dm(
    *,
    path: Sequence[str],
    options: Mapping[str, object] | None = None,
    user_id: int,
    name: str = "student",
    channel_id: int | None = None,
    interaction_id: int | None = None,
    token: str | None = None,
    application_id: int = APPLICATION_ID,
    command_id: int = COMMAND_ID,
    locale: str = "en-US",
) -> dict[str, Any]:
    """INTERACTION_CREATE for ``/tiara <path...>`` typed in the bot's DM (``user``, no guild)."""
    data = _command_data(path, options, command_id=command_id)
    sender = _Sender(user_id, name, interaction_id, token, application_id)
    return _envelope(APPLICATION_COMMAND, data, sender, None, channel_id, locale=locale)


def autocomplete(
    *,
    path: Sequence[str],
    options: Mapping[str, object] | None = None,
    focused: str,
    user_id: int,
    name: str = "student",
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    interaction_id: int | None = None,
    token: str | None = None,
    application_id: int = APPLICATION_ID,
    command_id: int = COMMAND_ID,
    command_guild_id: int | None = None,
) -> dict[str, Any]:
    """An autocomplete request (type 4) while typing option ``focused`` of ``/tiara <path>``.

    ``options`` holds what is typed so far; a ``focused`` option not in it is sent empty.
    ``guild_id=None`` is the same in the bot's DM.
    """
    data = _command_data(
        path, options, command_id=command_id, command_guild_id=command_guild_id, focused=focused
    )
    sender = _Sender(user_id, name, interaction_id, token, application_id)
    return _envelope(APPLICATION_COMMAND_AUTOCOMPLETE, data, sender, guild_id, channel_id)


def _component(
    data: dict[str, Any],
    sender: _Sender,
    guild_id: int | None,
    channel_id: int | None,
    message: Mapping[str, Any] | None,
    *,
    permissions: int = EVERYONE_PERMISSIONS,
    roles: Sequence[int] = (),
) -> dict[str, Any]:
    """A component interaction; without ``message``, on a bot message with one button."""
    if message is None:
        cid = _channel_id(sender.user_id, guild_id, channel_id)
        row = _button_row(str(data["custom_id"]))
        message = bot_message(channel_id=cid, components=[row], guild_id=guild_id)
    return _envelope(
        MESSAGE_COMPONENT,
        data,
        sender,
        guild_id,
        channel_id,
        message=message,
        permissions=permissions,
        roles=roles,
    )


def button_click(
    *,
    custom_id: str,
    user_id: int,
    name: str = "student",
    guild_id: int | None = None,
    channel_id: int | None = None,
    message: Mapping[str, Any] | None = None,
    interaction_id: int | None = None,
    token: str | None = None,
    application_id: int = APPLICATION_ID,
    permissions: int = EVERYONE_PERMISSIONS,
    roles: Sequence[int] = (),
) -> dict[str, Any]:
    """A click (type 3) on the button ``custom_id``; ``guild_id=None`` for one in a DM
    (where ``permissions`` and ``roles`` aren't sent).

    ``message`` is the message the button is on (as the fake stored it, or
    ``bot_message(...)``); by default a bot message with just that button.
    """
    data = {"custom_id": custom_id, "component_type": 2, "id": 2}
    sender = _Sender(user_id, name, interaction_id, token, application_id)
    return _component(
        data, sender, guild_id, channel_id, message, permissions=permissions, roles=roles
    )


def modal_submit(
    *,
    custom_id: str,
    values: Mapping[str, str | Sequence[str]],
    user_id: int,
    name: str = "student",
    guild_id: int | None = GUILD_ID,
    channel_id: int | None = None,
    message: Mapping[str, Any] | None = None,
    layout: str = "action_row",
    interaction_id: int | None = None,
    token: str | None = None,
    application_id: int = APPLICATION_ID,
    permissions: int = EVERYONE_PERMISSIONS,
    roles: Sequence[int] = (),
) -> dict[str, Any]:
    """Submitting the modal ``custom_id`` (type 5) with ``values`` by text input custom_id.

    ``layout="action_row"`` answers a modal built of action rows (each holding one text
    input); ``"label"`` one built of label components (type 18, with a ``component``). A
    list value is a string select's chosen values. ``message`` is set when the modal was
    opened from a button on that message.
    """
    if layout not in ("action_row", "label"):
        raise ValueError("layout is 'action_row' or 'label'")
    components: list[dict[str, Any]] = []
    component_id = 0
    for input_id, value in values.items():
        component_id += 2
        inner: dict[str, Any]
        if isinstance(value, str):
            inner = {"type": 4, "id": component_id, "custom_id": input_id, "value": value}
        else:
            inner = {"type": 3, "id": component_id, "custom_id": input_id, "values": list(value)}
        if layout == "label":
            components.append({"type": 18, "id": component_id - 1, "component": inner})
        else:
            components.append({"type": 1, "id": component_id - 1, "components": [inner]})
    data = {"custom_id": custom_id, "components": components}
    sender = _Sender(user_id, name, interaction_id, token, application_id)
    return _envelope(
        MODAL_SUBMIT,
        data,
        sender,
        guild_id,
        channel_id,
        message=message,
        permissions=permissions,
        roles=roles,
    )
