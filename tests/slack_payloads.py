"""What Slack sends the app: slash commands, modal submissions and events, as payloads.

Shared by the tests that post them over HTTP, push them over Socket Mode, or send them
to a running ``tiara run``.
"""

from __future__ import annotations

from typing import Any

APP_ID = "A0TIARA"


def slash_command(
    text: str, *, team: str, user: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    """The fields of ``/tiara <text>`` typed by ``user`` in #general."""
    return {
        "token": "legacy",
        "team_id": team,
        "team_domain": "cohort",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/tiara",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def view_submission(
    view: dict[str, Any], values: dict[str, str], *, team: str, user: str, trigger_id: str
) -> dict[str, Any]:
    """Submitting the modal ``view`` (as ``views.open`` sent it) with ``values`` typed in."""
    state = {
        block["block_id"]: {
            "value": {"type": "plain_text_input", "value": values.get(block["block_id"])}
        }
        for block in view["blocks"]
        if block.get("type") == "input"
    }
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "cohort"},
        "user": {"id": user, "team_id": team},
        "api_app_id": APP_ID,
        "token": "legacy",
        "trigger_id": trigger_id,
        "view": {**view, "id": "VMODAL", "team_id": team, "state": {"values": state}},
    }


def event_callback(event: dict[str, Any], *, team: str, event_id: str) -> dict[str, Any]:
    """An Events API delivery of ``event``."""
    return {
        "token": "legacy",
        "team_id": team,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": event,
    }
