"""Tiara over Socket Mode, offline: bolt's own Socket Mode handler against the fake.

The fake answers ``apps.connections.open`` (called with the app-level token) with a
websocket on 127.0.0.1, greets with ``hello`` and delivers the envelopes a test pushes, the
way Slack does; the handler acknowledges each one, and the bot's answers arrive at the
fake's response_url and Web API as they would on Slack.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.bootstrap import build_app
from adapters.slack.app import SlackAdapter
from adapters.slack.runner import slack_setup
from bot.clock import FixedClock
from bot.config import Settings
from storage.store import Store
from tests.conftest import START
from tests.slack_fake import FakeSlackApi
from tests.slack_payloads import event_callback, slash_command
from tests.test_slack_app import texts

TEAM = "T0TEST"
BOT_TOKEN = "xoxb-socket-bot-token"
APP_TOKEN = "xapp-1-A0TIARA-socket-app-token"
WITHIN = 30.0  # seconds: a bound for a hang only; each step normally takes milliseconds


@dataclass
class Connected:
    """The bot connected over Socket Mode to the fake."""

    fake: FakeSlackApi
    adapter: SlackAdapter
    handler: AsyncSocketModeHandler

    async def command(self, text: str, *, user: str = "U1") -> str:
        """Push ``/tiara <text>`` as Slack does over the socket; return the envelope id."""
        return await self.fake.push(
            "slash_commands",
            slash_command(
                text,
                team=TEAM,
                user=user,
                response_url=self.fake.response_url(f"{user}-{text[:20]}"),
                trigger_id=f"trigger-{uuid.uuid4().hex[:12]}",
            ),
        )

    async def event(self, event: dict[str, Any], *, event_id: str) -> str:
        return await self.fake.push(
            "events_api", event_callback(event, team=TEAM, event_id=event_id)
        )


@pytest.fixture
async def connected() -> AsyncIterator[Connected]:
    store = Store("sqlite+aiosqlite://")
    users = {"U1": {"tz": "America/Chicago", "real_name": "Ann Lee"}}
    async with FakeSlackApi(team_id=TEAM, app_id="A0TIARA", users=users) as fake:
        fake.enable_socket_mode()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            slack_api_url=fake.url,
        )
        setup = slack_setup(settings, store)
        app = await build_app(
            settings, clock=FixedClock(START), store=store, notifier=setup.notifier
        )
        adapter = setup.adapter(app.bot, http=False)
        handler = AsyncSocketModeHandler(adapter.app, APP_TOKEN)
        try:
            # slack_sdk retries a failed connection for ever; a broken fake must not hang us.
            await asyncio.wait_for(handler.connect_async(), WITHIN)  # type: ignore[no-untyped-call]
            yield Connected(fake, adapter, handler)
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await adapter.drain()
            await app.close()


async def test_the_connection_is_opened_with_the_app_token(connected: Connected) -> None:
    [opened] = connected.fake.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    await connected.fake.wait_for_socket(within=WITHIN)
    assert connected.fake.open_sockets == 1


async def test_a_command_is_acknowledged_and_answered_at_its_response_url(
    connected: Connected,
) -> None:
    envelope = await connected.command("help")
    ack = await connected.fake.wait_for_ack(envelope, within=WITHIN)
    assert ack.params == {"envelope_id": envelope}  # an empty ack: the answer comes after
    [answer] = await connected.fake.wait_for("response_url", within=WITHIN)
    assert answer.params["response_type"] == "ephemeral"
    assert "/tiara log" in texts(answer.params["blocks"])


async def test_opening_the_home_tab_publishes_the_dashboard(connected: Connected) -> None:
    envelope = await connected.event(
        {"type": "app_home_opened", "user": "U1", "tab": "home", "channel": "DU1"},
        event_id="Ev-home-socket",
    )
    await connected.fake.wait_for_ack(envelope, within=WITHIN)
    [published] = await connected.fake.wait_for("views.publish", within=WITHIN)
    assert published.token == BOT_TOKEN
    assert published.params["user_id"] == "U1"
    assert "Log a meeting" in texts(published.params["view"]["blocks"])


async def test_a_command_delivered_twice_runs_once(
    connected: Connected, caplog: pytest.LogCaptureFixture
) -> None:
    # No signature over a socket: the trigger_id Slack gave the command tells a second
    # delivery of it from a new command.
    caplog.set_level(logging.INFO, logger="adapters.slack.app")
    payload = slash_command(
        "help",
        team=TEAM,
        user="U1",
        response_url=connected.fake.response_url("twice"),
        trigger_id="trigger-twice",
    )
    for envelope in [await connected.fake.push("slash_commands", payload) for _ in range(2)]:
        await connected.fake.wait_for_ack(envelope, within=WITHIN)
    # Both were acknowledged, and the second was recognised before its acknowledgement.
    assert caplog.text.count("skipped a Slack request delivered before") == 1
    await connected.command("help")  # a new command is answered, as usual
    answers = await connected.fake.wait_for("response_url", count=2, within=WITHIN)
    names = [answer.params["response_url_name"] for answer in answers]
    assert names.count("twice") == 1


async def test_after_slack_asks_for_a_reconnect_commands_still_arrive(
    connected: Connected,
) -> None:
    await connected.fake.disconnect_sockets("refresh_requested")
    await connected.fake.wait_for_socket(count=2, within=WITHIN)
    assert len(connected.fake.calls_to("apps.connections.open")) == 2

    envelope = await connected.command("help")
    await connected.fake.wait_for_ack(envelope, within=WITHIN)
    await connected.fake.wait_for("response_url", within=WITHIN)


# -- `tiara run` as its own process ------------------------------------------------------


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any Tiara, Slack or Discord settings, plus ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
    }
    env.update(TIARA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}", **settings)
    return env


TIARA = Path(sys.executable).with_name("tiara")


async def test_tiara_run_connects_over_socket_mode_answers_and_stops(tmp_path: Path) -> None:
    async with FakeSlackApi(team_id=TEAM, app_id="A0TIARA") as fake:
        fake.enable_socket_mode()
        process = await asyncio.create_subprocess_exec(
            str(TIARA),
            "run",
            cwd=tmp_path,  # no .env here
            env=_environment(
                tmp_path,
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_APP_TOKEN=APP_TOKEN,
                TIARA_SLACK_API_URL=fake.url,
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert "connected over Socket Mode" in line.decode()
            envelope = await fake.push(
                "slash_commands",
                {
                    "team_id": TEAM,
                    "channel_id": "C0GENERAL",
                    "user_id": "U1",
                    "command": "/tiara",
                    "text": "help",
                    "api_app_id": "A0TIARA",
                    "response_url": fake.response_url("socket-e2e"),
                    "trigger_id": "trigger-1",
                },
            )
            await fake.wait_for_ack(envelope, within=WITHIN)
            [answer] = await fake.wait_for("response_url", within=WITHIN)
            assert "/tiara log" in texts(answer.params["blocks"])

            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, stderr.decode()[-2000:]
            await fake.wait_for_sockets_closed(within=WITHIN)
            assert APP_TOKEN not in stderr.decode() and BOT_TOKEN not in stderr.decode()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def test_socket_mode_without_an_app_token_says_what_to_set(tmp_path: Path) -> None:
    finished = subprocess.run(
        [str(TIARA), "run"],
        cwd=tmp_path,  # no .env here
        env=_environment(tmp_path, SLACK_BOT_TOKEN="xoxb-no-app-token"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2, finished.stderr
    assert "SLACK_APP_TOKEN" in finished.stderr
    assert "xoxb-no-app-token" not in finished.stderr + finished.stdout
