"""Tiara's Slack app manifest, built from the command registry.

A Slack app is configured by a manifest (https://api.slack.com/reference/manifests): its name
and descriptions, the ``/tiara`` slash command, the bot's OAuth scopes, the events it receives
and how Slack reaches it. Building the manifest from the registry keeps the slash command's usage
hint in step with the commands Tiara really has; ``deploy/slack-manifest.yaml`` holds the
socket-mode manifest, and a test checks it is current.

Two ways of connecting are supported:

* ``socket``: Tiara opens a WebSocket to Slack (an app-level token); no public URL is needed and
  the manifest carries none.
* ``http``: Slack sends slash commands, interactions and events to ``{url}/slack/events`` and
  OAuth installs come back to ``{url}/slack/oauth_redirect`` (Bolt's default paths).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal
from urllib.parse import urlsplit

import yaml

from bot.registry import Command, Registry

__all__ = [
    "BOT_EVENTS",
    "BOT_SCOPES",
    "SLASH_COMMAND",
    "build_manifest",
    "long_description",
    "manifest_yaml",
    "usage_hint",
]

SLASH_COMMAND = "/tiara"

# Every scope widens what a leaked token could do and makes each workspace re-approve the app,
# so the list holds only what the Slack adapter calls for; tests pin it.
BOT_SCOPES: tuple[str, ...] = (
    # Slack delivers `/tiara` only to an app holding this scope.
    "commands",
    # chat.postMessage as Tiara: replies, practice plans, the round announcement, and nudges in
    # DMs (posted with the member's user id as the channel, so no im:write is needed).
    "chat:write",
    # The practice announcement goes to a public channel Tiara may never have been invited to.
    "chat:write.public",
    # conversations.open with several members: the group DM a practice pair or trio plans in.
    "mpim:write",
    # users.info for a member's timezone and whether they were deactivated; user_change needs it.
    "users:read",
    # conversations.list over public channels, to find a practice channel configured by name.
    "channels:read",
    # files.getUploadURLExternal and files.completeUploadExternal (files_upload_v2): exports
    # and charts go into the member's DM with Tiara, as an ephemeral reply can't carry files.
    "files:write",
)

BOT_EVENTS: tuple[str, ...] = (
    # A member opened Tiara's Home or Messages tab: show their home view, greet a newcomer.
    "app_home_opened",
    # A member's profile changed: a deactivated member gets no more reminders or partners.
    "user_change",
)

# Limits from Slack's manifest reference.
NAME_MAX = 35
DESCRIPTION_MAX = 140
LONG_DESCRIPTION_MIN = 175
LONG_DESCRIPTION_MAX = 4000
COMMAND_DESCRIPTION_MAX = 2000
USAGE_HINT_MAX = 1000
_URL_MAX = 2000  # leaves room for the paths below under Slack's shortest URL limit (2,500)

_EVENTS_PATH = "/slack/events"
_OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_ELLIPSIS = "…"

_BACKGROUND = "#4A3B8F"
_DESCRIPTION = (
    "A coach for informational interviews: TIARA questions, a networking tracker, "
    "timely follow-ups and practice partners."
)
_COMMAND_DESCRIPTION = "Your informational-interview coach. Try /tiara help"
_INTRO = (
    "Tiara coaches the members of a cohort through informational interviews, the "
    "conversations that open doors into a new field. It suggests questions in the TIARA "
    "framework (Trends, Insights, Advice, Resources, Assignments), keeps each member's own "
    "tracker of requests, meetings and contacts, and reminds them at the right moment to "
    "prepare, say thank you and follow up. Everything starts with the /tiara command; "
    "/tiara help lists it all and explains any command."
)
_GROUP_BLURBS = {
    "You": "Your timezone, reminder cadence, quiet hours and weekly plan, help, and your data "
    "to download or erase.",
    "Prepare": "Questions worth asking and a checklist to get ready for a meeting.",
    "Tracker": "The requests you sent and their answers, your meetings, thank-you notes "
    "and contacts.",
    "Reminders": "Nudges to prepare, log, thank and follow up, which you can snooze or mark done.",
    "Practice": "Rounds that pair classmates to rehearse interviews: announced in a channel, "
    "planned in a group DM.",
    "Coach": "For the cohort's coaches (workspace admins and owners, and anyone configured): "
    "progress counts and a chart, follow-up rules, holidays, the practice cadence and a weekly "
    "digest.",
}
_OUTRO = (
    "A practice announcement shows only names and a deadline, and coaches see counts, never "
    "contacts or notes; everything else stays between you and Tiara. Exports and charts "
    "arrive as files in your DM with Tiara."
)


def build_manifest(
    registry: Registry,
    *,
    mode: Literal["socket", "http"] = "socket",
    url: str | None = None,
    name: str = "Tiara",
) -> dict[str, object]:
    """Return Tiara's Slack app manifest, ready for ``manifest_yaml`` or ``json.dumps``.

    ``mode="http"`` needs ``url``, the public base address Slack calls (``https://``; plain
    ``http://`` only for localhost, for local testing). Socket mode takes no URL.
    ``name`` is the app's and the bot user's name, e.g. "Tiara (staging)" for a second app.
    Raises ``ValueError`` on a missing or unusable URL or name.
    """
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"A Slack app name has 1 to {NAME_MAX} characters; got {name!r}.")
    if mode == "http":
        base: str | None = _base_url(url)
    elif mode == "socket":
        if url is not None:
            raise ValueError("Socket mode uses no URL; pass mode='http' to have Slack call one.")
        base = None
    else:
        raise ValueError(f"mode is 'socket' or 'http', not {mode!r}.")

    slash_command: dict[str, object] = {"command": SLASH_COMMAND}
    if base is not None:
        slash_command["url"] = base + _EVENTS_PATH
    slash_command["description"] = _COMMAND_DESCRIPTION
    slash_command["usage_hint"] = usage_hint(registry)
    slash_command["should_escape"] = False

    oauth_config: dict[str, object] = {}
    if base is not None:
        oauth_config["redirect_urls"] = [base + _OAUTH_REDIRECT_PATH]
    oauth_config["scopes"] = {"bot": list(BOT_SCOPES)}

    event_subscriptions: dict[str, object] = {}
    interactivity: dict[str, object] = {"is_enabled": True}
    if base is not None:
        event_subscriptions["request_url"] = base + _EVENTS_PATH
        interactivity["request_url"] = base + _EVENTS_PATH
    event_subscriptions["bot_events"] = list(BOT_EVENTS)

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": _DESCRIPTION,
            "background_color": _BACKGROUND,
            "long_description": long_description(registry),
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                # Writable, so members can run /tiara in their DM with Tiara.
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [slash_command],
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": event_subscriptions,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": mode == "socket",
            "token_rotation_enabled": False,
        },
    }


def usage_hint(registry: Registry, limit: int = USAGE_HINT_MAX) -> str:
    """The slash command's hint: every command, subcommands folded into their family.

    For example ``help | settings | practice join/leave/pause | log``. Past ``limit`` characters
    the last entries give way to "…".
    """
    families: dict[str, list[str]] = {}
    for command in registry:
        families.setdefault(command.path[0], []).append(" ".join(command.path[1:]))
    entries: list[str] = []
    for head, tails in families.items():
        if "" in tails:
            entries.append(head)
        subcommands = [tail for tail in tails if tail]
        if subcommands:
            entries.append(f"{head} {'/'.join(subcommands)}")
    return _fit(entries, " | ", limit)


def long_description(registry: Registry) -> str:
    """The App Directory text: what Tiara is, then one line per command group."""
    groups: dict[str, list[Command]] = {}
    for command in registry:
        groups.setdefault(command.group, []).append(command)
    lines = [_group_line(group, commands) for group, commands in groups.items()]
    text = "\n\n".join([_INTRO, "\n".join(lines), _OUTRO])
    if len(text) > LONG_DESCRIPTION_MAX:
        text = text[: LONG_DESCRIPTION_MAX - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return text


def manifest_yaml(manifest: dict[str, object]) -> str:
    """``manifest`` as YAML in its own key order, under a do-not-edit comment."""
    body = yaml.dump(
        manifest,
        Dumper=_ManifestDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return _HEADER + str(body)


_HEADER = (
    "# Generated by `tiara slack manifest` from the command registry. "
    "Do not edit by hand: regenerate it.\n"
)


class _ManifestDumper(yaml.SafeDumper):
    """A safe dumper that writes multi-line strings as literal blocks, so they read as text."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _represent_str)


def _group_line(group: str, commands: Sequence[Command]) -> str:
    blurb = _GROUP_BLURBS.get(group) or commands[0].summary
    names = ", ".join(command.name for command in commands)
    return f"• {group}: {blurb} Commands: {names}."


def _fit(entries: Iterable[str], separator: str, limit: int) -> str:
    """Join ``entries``; if that exceeds ``limit``, keep the first ones that fit and add "…"."""
    items = list(entries)
    text = separator.join(items)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for item in items:
        if len(separator.join([*kept, item, _ELLIPSIS])) > limit:
            break
        kept.append(item)
    return separator.join([*kept, _ELLIPSIS])


def _base_url(url: str | None) -> str:
    """Check the public base URL for http mode and return it without a trailing slash."""
    if not url or not url.strip():
        raise ValueError(
            "HTTP mode needs the public base URL Slack should call, "
            "e.g. https://tiara.example.org (or use socket mode, which needs none)."
        )
    url = url.strip()
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise ValueError(
            f"Slack calls only https:// URLs; got {url!r}. "
            "Plain http:// is accepted for localhost and 127.0.0.1, for local testing."
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"Give the base URL alone, without credentials, ?query or #fragment; got {url!r}."
        )
    if len(url) > _URL_MAX:
        raise ValueError(f"The base URL is over {_URL_MAX} characters.")
    return url.rstrip("/")
