"""What a signed Slack request must look like before a listener reads it, and what makes one
delivery of it one of a kind (so a replay or a redelivery runs once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = ["REQUEST_KEYS", "delivery_key", "payload_problem"]

# Commands and clicks a signed replay (or a redelivery) must not run twice.
_INTERACTIONS = frozenset({"block_actions", "view_submission"})
_DELIVERY_KEY = 64  # processed_events.event_id holds 64 characters
REQUEST_KEYS = ("req:", "trg:")
"""How the key of a command, click or submission starts (an event's is its ``event_id``)."""


def delivery_key(req: AsyncBoltRequest) -> str | None:
    """What makes this delivery one of a kind, for ``processed_events``.

    An event: its ``event_id`` (a redelivery keeps it). A command or a click: the request's
    signature, an HMAC over its timestamp and body, which a replay carries unchanged and
    nothing else can (a forged copy would need the signing secret); the first 60 of its 64
    hex digits keep the key within the column. Over Socket Mode there is no signature: the
    ``trigger_id`` Slack gives each command, click and submission instead. Anything else:
    None (not deduplicated)."""
    body = req.body
    kind = body.get("type")
    if kind == "event_callback":
        event_id = body.get("event_id")
        return str(event_id)[:_DELIVERY_KEY] if event_id else None
    if body.get("command") is None and kind not in _INTERACTIONS:
        return None
    signatures = req.headers.get("x-slack-signature") or [""]
    signature = signatures[0]
    if signature.startswith("v0=") and len(signature) > 3:
        return "req:" + signature[3:][: _DELIVERY_KEY - 4]
    trigger = body.get("trigger_id")
    if req.mode == "socket_mode" and isinstance(trigger, str) and trigger:
        return "trg:" + trigger[: _DELIVERY_KEY - 4]
    return None


def _is_object(value: object) -> bool:
    return isinstance(value, dict)


def _user_id_in(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str)


def payload_problem(body: Mapping[str, Any]) -> str | None:
    """What keeps a signed payload from being handled, in a few words of ours (never its
    content); None when it has the shape the listeners (and bolt's matching) read.

    Only what Tiara listens to is checked: a slash command, a click (``block_actions``), a
    form submitted (``view_submission``) and an event. Anything else goes on to bolt, which
    answers what it has no listener for.
    """
    kind = body.get("type")
    if body.get("command") is not None and kind is None:
        for key in ("command", "user_id"):
            if not isinstance(body.get(key), str):
                return f"a slash command without {key}"
        for key in ("text", "trigger_id", "response_url", "channel_id", "team_id"):
            if body.get(key) is not None and not isinstance(body[key], str):
                return f"a slash command whose {key} isn't text"
        return None
    if kind == "block_actions":
        if not _user_id_in(body.get("user")):
            return "a click without its user"
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(map(_is_object, actions)):
            return "a click without its actions"
        for key in ("container", "view", "channel", "team"):
            if body.get(key) is not None and not _is_object(body[key]):
                return f"a click whose {key} isn't an object"
        return None
    if kind == "view_submission":
        if not _user_id_in(body.get("user")):
            return "a form without its user"
        view = body.get("view")
        if not isinstance(view, dict):
            return "a form without its view"
        if not isinstance(view.get("callback_id"), str) or not isinstance(view.get("type"), str):
            return "a form without its view type and callback id"
        state = view.get("state")
        if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
            return "a form without state.values as an object"
        if view.get("blocks") is not None and not isinstance(view["blocks"], list):
            return "a form whose blocks aren't a list"
        if view.get("private_metadata") is not None and not isinstance(
            view["private_metadata"], str
        ):
            return "a form whose private_metadata isn't text"
        if body.get("team") is not None and not _is_object(body["team"]):
            return "a form whose team isn't an object"
        return None
    if kind == "event_callback":
        if not isinstance(body.get("event"), dict):
            return "an event without its event"
        if body.get("event_id") is not None and not isinstance(body["event_id"], str):
            return "an event whose event_id isn't text"
        return None
    if kind is not None and not isinstance(kind, str):
        return "a type that isn't text"
    return None
