"""End to end: `tiara run --http` as its own process, against the local fake Web API.

The bot picks Slack because Slack credentials are set, serves signed HTTP requests at
/slack/events, opens the log form as a modal, saves its submission, lists the meeting,
and, once its clock (a file it reads) moves on, its scheduler sends the thank-you nudge
as a DM. Then SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.conftest import START
from tests.slack_fake import Call, FakeSlackApi
from tests.slack_payloads import slash_command, view_submission
from tests.test_slack_app import texts

SECRET = "e2e-signing-secret"
TOKEN = "xoxb-e2e-token-never-logged"
TEAM = "T0TEST"
NOTE = "Private: she is leaving Acme in March"
WITHIN = 30.0  # seconds to wait for the bot; it normally takes well under one


class RunningBot:
    def __init__(self, process: asyncio.subprocess.Process, url: str, clock_file: Path):
        self.process = process
        self.url = url
        self.clock_file = clock_file
        self.triggers = 0

    async def post(self, body: str, content_type: str) -> tuple[int, str]:
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=headers) as response,
        ):
            return response.status, await response.text()

    async def command(self, fake: FakeSlackApi, text: str) -> tuple[int, str]:
        self.triggers += 1
        fields = slash_command(
            text,
            team=TEAM,
            user="U1",
            response_url=fake.response_url(f"cmd-{self.triggers}"),
            trigger_id=f"trigger-{self.triggers}",
        )
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded")

    async def submit(self, opened: Call, values: dict[str, str]) -> tuple[int, str]:
        payload = view_submission(
            opened.params["view"], values, team=TEAM, user="U1", trigger_id="trigger-submit"
        )
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def set_clock(self, moment: Any) -> None:
        temporary = self.clock_file.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())
        os.replace(temporary, self.clock_file)


async def _wait_for_answers(fake: FakeSlackApi, count: int) -> list[Call]:
    return await fake.wait_for("response_url", count=count, within=WITHIN)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    users = {"U1": {"tz": "America/Chicago", "real_name": "Ann Lee"}}
    async with FakeSlackApi(team_id=TEAM, users=users) as api:
        yield api


@pytest.fixture
async def running(fake: FakeSlackApi, tmp_path: Path) -> AsyncIterator[RunningBot]:
    clock_file = tmp_path / "now.txt"
    clock_file.write_text(START.isoformat())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
    }
    env.update(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        TIARA_SLACK_API_URL=fake.url,
        TIARA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}",
        TIARA_CLOCK_FILE=str(clock_file),
        TIARA_TICK_SECONDS="0.2",
        TIARA_LOG_LEVEL="DEBUG",
    )
    tiara = Path(sys.executable).with_name("tiara")
    process = await asyncio.create_subprocess_exec(
        str(tiara),
        "run",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=WITHIN)
    except TimeoutError:
        process.kill()
        raise
    found = re.search(r"(http://\S+/slack/events)", line.decode())
    if found is None:
        process.kill()
        _, err = await process.communicate()
        pytest.fail(f"the bot did not start: {line.decode()!r} {err.decode()[-2000:]}")
    bot = RunningBot(process, found.group(1), clock_file)
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_log_in_a_modal_list_it_and_get_the_nudge(
    fake: FakeSlackApi, running: RunningBot
) -> None:
    # /tiara log with no values: acknowledged at once, and the modal opens.
    status, body = await running.command(fake, "log")
    assert status == 200 and body == ""
    [opened] = await fake.wait_for("views.open", within=WITHIN)
    assert opened.token == TOKEN

    # The submission closes the modal; the answer goes where the command was typed.
    status, body = await running.submit(
        opened,
        {"contact": "Dana Lee", "org": "Acme", "when": "yesterday 3pm", "notes": NOTE},
    )
    assert status == 200
    [saved] = await _wait_for_answers(fake, 1)
    assert "Dana Lee" in texts(saved.params["blocks"])

    # /tiara meetings shows it.
    await running.command(fake, "meetings")
    answers = await _wait_for_answers(fake, 2)
    assert "Dana Lee" in texts(answers[-1].params["blocks"])
    assert answers[-1].params["response_type"] == "ephemeral"

    # Time passes: the scheduler sends the thank-you reminder as a DM.
    running.set_clock(START + timedelta(hours=3))
    try:
        dms = await fake.wait_for("chat.postMessage", within=WITHIN)
    except TimeoutError:
        running.process.send_signal(signal.SIGTERM)
        _, stderr = await running.process.communicate()
        pytest.fail(f"no nudge DM; the bot logged:\n{stderr.decode()[-4000:]}")
    assert dms[0].params["channel"] == "U1"
    shown = texts(dms[0].params["blocks"])
    assert "Dana Lee" in shown and "thank" in shown.casefold()

    # The same server answers /healthz and /metrics (for a load balancer and Prometheus).
    # The clock just jumped 3 hours: healthy again once the tick under way has finished.
    base = running.url.removesuffix("/slack/events")
    async with aiohttp.ClientSession() as http:
        deadline = asyncio.get_running_loop().time() + WITHIN
        while True:
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
                if response.status == 200:
                    break
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"/healthz kept answering {health}")
            await asyncio.sleep(0.1)
        assert health["database"] == "ok" and health["scheduler"] == "ok"
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
    assert 'tiara_commands_total{command="log",outcome="ok"} 1.0' in metrics
    assert 'tiara_nudges_total{result="sent"}' in metrics

    # Every call went through a few kept-alive connections, not one connection per call
    # (slack_sdk's default, with a TLS handshake each against the real Slack).
    calls = [call for call in fake.calls if call.peer is not None]
    assert len(calls) >= 5
    assert len({call.peer for call in calls}) < len(calls) / 2, [c.peer for c in calls]

    # SIGTERM stops it cleanly, and nothing it logged holds the token or the notes.
    running.process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(running.process.communicate(), timeout=WITHIN)
    assert running.process.returncode == 0, stderr.decode()[-2000:]
    logged = stderr.decode()
    assert "DEBUG" in logged  # it did log at the level asked for ...
    for secret in (TOKEN, SECRET, NOTE, "leaving Acme"):
        assert secret not in logged  # ... but never a token or a member's words
