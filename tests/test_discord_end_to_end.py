"""End to end on Discord: `tiara run discord` as its own process, against the local fake.

The fake (REST and gateway) runs in the test process; the bot is pointed at it with
TIARA_DISCORD_API_URL and TIARA_DISCORD_GATEWAY_URL. It IDENTIFYs with only the intents it
needs, answers `/tiara log` with a form (modal), saves the submission, lists the meeting,
and once its clock (a file it reads) moves on, its scheduler sends the reminders as DMs
whose buttons work from the DM. SIGTERM stops it cleanly, and its DEBUG logs hold neither
the token nor a member's notes. The same process serves Slack and Discord side by side,
and a refused token is explained without printing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import discord
import pytest
from slack_sdk.signature import SignatureVerifier

from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import Call, FakeDiscord
from tests.discord_rig import SAFETY, button_id, buttons, text_of
from tests.slack_fake import FakeSlackApi
from tests.slack_payloads import slash_command as slack_command
from tests.test_slack_app import texts

TOKEN = "MTAwMA.e2e-discord-bot-token.never-logged"
NOTE = "Private: she is leaving Acme in March"
ALICE = 4242
GUILD = payloads.GUILD_ID
MODAL = 9
MESSAGE = 4
DEFERRED = 5
EPHEMERAL = 64
# Seconds to wait for the bot: it normally takes well under one, but a loaded machine may
# be far slower, and no result depends on it; this only bounds a test that hangs.
WITHIN = SAFETY
# The meeting: an hour after the clock file's START (Wednesday 15:00 UTC; the member has
# no timezone yet, so their reminders follow UTC).
MEETING = START + timedelta(hours=1)

SLACK_SECRET = "e2e-signing-secret"
SLACK_TOKEN = "xoxb-e2e-token-never-logged"
SLACK_TEAM = "T0TEST"


class Bot:
    """`tiara run ...` as a subprocess, its output read as it comes (the pipes never fill)."""

    def __init__(
        self, process: asyncio.subprocess.Process, clock_file: Path, health_port: int
    ) -> None:
        self.process = process
        self.clock_file = clock_file
        self.health_port = health_port
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = asyncio.Event()
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.ensure_future(self._read(process.stdout, self.stdout)),
            asyncio.ensure_future(self._read(process.stderr, self.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode("utf-8", "replace"))
            self._changed.set()
        self._changed.set()

    @property
    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    async def wait_printed(self, pattern: str, within: float = WITHIN) -> re.Match[str]:
        """The first stdout line matching ``pattern``; fails (with the logs) if none comes."""
        deadline = time.monotonic() + within
        while True:
            for line in self.stdout:
                found = re.search(pattern, line)
                if found is not None:
                    return found
            left = deadline - time.monotonic()
            if left <= 0 or (self.process.returncode is not None and self._finished()):
                pytest.fail(f"the bot never printed {pattern!r}; it said:\n{self.tail()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    def _finished(self) -> bool:
        return all(reader.done() for reader in self._readers)

    async def finish(self, within: float = WITHIN) -> int:
        """Wait for the process to exit and its output to be read; its exit code."""
        await asyncio.wait_for(self.process.wait(), within)
        await asyncio.wait_for(asyncio.gather(*self._readers), within)
        assert self.process.returncode is not None
        return self.process.returncode

    async def stop(self) -> int:
        """SIGTERM, then the exit code. How long the stop may take is the deploy tests'
        business (they check every platform's grace); timing it here would only measure
        how busy the machine is."""
        self.process.send_signal(signal.SIGTERM)
        return await self.finish()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def ticks(self) -> int:
        """How many ticks the bot has finished (its /metrics), -1 before it serves them."""
        url = f"http://127.0.0.1:{self.health_port}/metrics"
        try:
            async with aiohttp.ClientSession() as http, http.get(url) as response:
                metrics = await response.text()
        except aiohttp.ClientConnectionError:
            return -1
        found = re.search(r'^tiara_ticks_total\{outcome="ok"\} ([0-9.]+)$', metrics, re.M)
        return int(float(found.group(1))) if found else 0

    async def wait_ticks(self, more: int) -> None:
        """Wait until the bot has finished ``more`` ticks beyond those finished now."""
        target = await self.ticks() + more
        async with asyncio.timeout(WITHIN):
            while True:
                if await self.ticks() >= target:
                    return
                await asyncio.sleep(0.05)  # how often to look, not how long a tick takes

    def tail(self, size: int = 4000) -> str:
        return self.output[-size:]

    def set_clock(self, moment: datetime) -> None:
        temporary = self.clock_file.with_suffix(".tmp")
        temporary.write_text(moment.isoformat())
        os.replace(temporary, self.clock_file)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(tmp_path: Path, **extra: str) -> tuple[dict[str, str], Path]:
    """The inherited environment without any Tiara, Slack or Discord settings, plus ours."""
    clock_file = tmp_path / "now.txt"
    clock_file.write_text(START.isoformat())
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIARA_", "SLACK_", "DISCORD_"))
    }
    env["TIARA_HEALTH_PORT"] = str(_free_port())  # never a port in use (8080 by default)
    env.update(
        TIARA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'tiara.db'}",
        TIARA_CLOCK_FILE=str(clock_file),
        TIARA_TICK_SECONDS="0.2",
        TIARA_LOG_LEVEL="DEBUG",
        **extra,
    )
    return env, clock_file


def _discord_env(fake: FakeDiscord, token: str = TOKEN) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": token,
        "TIARA_DISCORD_API_URL": fake.api_url,
        "TIARA_DISCORD_GATEWAY_URL": fake.gateway_url,
    }


async def _start(tmp_path: Path, env: Mapping[str, str], *args: str) -> Bot:
    """`tiara <args>` in ``tmp_path`` (no .env there), with ``env``."""
    full, clock_file = _environment(tmp_path, **env)
    tiara = Path(sys.executable).with_name("tiara")
    process = await asyncio.create_subprocess_exec(
        str(tiara),
        *args,
        cwd=tmp_path,
        env=full,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Bot(process, clock_file, int(full["TIARA_HEALTH_PORT"]))


@contextlib.asynccontextmanager
async def running(tmp_path: Path, env: Mapping[str, str], *args: str) -> AsyncIterator[Bot]:
    bot = await _start(tmp_path, env, *args)
    try:
        yield bot
    finally:
        await bot.kill()


# ------------------------------------------------------------------- Discord side


async def _answer(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """Dispatch an interaction; the body of its answer (a deferred one's follow-up)."""
    await fake.interaction(payload, within=WITHIN)
    path = re.compile(rf"/interactions/{payload['id']}/[^/]+/callback")
    first = dict((await fake.wait_for("POST", path, within=WITHIN))[0].json)
    if first["type"] != DEFERRED:
        return first
    # Slower than Discord's 3 seconds allow: "thinking…", then the answer as a follow-up.
    followup = re.compile(rf"/webhooks/[0-9]+/{re.escape(payload['token'])}")
    [sent] = await fake.wait_for("POST", followup, within=WITHIN)
    return {"type": MESSAGE, "data": dict(sent.json)}


async def _command(fake: FakeDiscord, *path: str, **options: object) -> dict[str, Any]:
    return await _answer(fake, payloads.slash_command(path=path, options=options, user_id=ALICE))


async def _click(fake: FakeDiscord, message: dict[str, Any] | Call, label: str) -> dict[str, Any]:
    """Click the button ``label`` on a DM the bot sent: from the DM, so no server."""
    custom_id = button_id(message, label)
    return await _answer(
        fake, payloads.button_click(custom_id=custom_id, user_id=ALICE, guild_id=None)
    )


async def _wait_for_dm(
    bot: Bot, fake: FakeDiscord, count: int, within: float = WITHIN
) -> list[dict[str, Any]]:
    """The DMs to Alice once there are at least ``count``; fails with the logs otherwise."""
    path = f"/channels/{fake.dm_channel_id(ALICE)}/messages"
    try:
        await fake.wait_for("POST", path, count=count, within=within)
    except TimeoutError:
        pytest.fail(f"no DM #{count}; the bot logged:\n{bot.tail()}")
    return fake.messages_in(fake.dm_channel_id(ALICE))


def _check_buttons(message: dict[str, Any]) -> None:
    for label, custom_id in buttons(message).items():
        assert custom_id.startswith("tiara:"), (label, custom_id)
        assert len(custom_id) <= 100, (label, custom_id)


async def test_log_in_a_modal_list_it_and_get_the_reminders_by_dm(tmp_path: Path) -> None:
    async with (
        FakeDiscord() as fake,
        running(tmp_path, _discord_env(fake), "run", "discord") as bot,
    ):
        await bot.wait_printed(r"Tiara on Discord is connected as ")
        assert fake.identifies, "connected without IDENTIFY"
        assert fake.saw_token(TOKEN)
        # Only servers and members joining/leaving: no message content, no presences.
        asked = fake.identifies[0]["intents"]
        assert asked == discord.Intents(guilds=True, members=True).value
        assert not asked & discord.Intents(message_content=True, presences=True).value

        # /tiara log with nothing typed: the form opens as the first answer.
        modal = await _command(fake, "log")
        assert modal["type"] == MODAL, modal
        custom_id = modal["data"]["custom_id"]
        assert custom_id.startswith("tiara:") and len(custom_id) <= 100

        # Its submission is saved; the answer is for the member only.
        values = {"contact": "Dana Lee", "when": "today 4pm", "notes": NOTE}
        saved = await _answer(
            fake,
            payloads.modal_submit(
                custom_id=custom_id, values=values, user_id=ALICE, guild_id=GUILD
            ),
        )
        assert saved["type"] == MESSAGE and saved["data"]["flags"] & EPHEMERAL, saved
        assert "Dana Lee" in text_of(saved)
        assert "Your reminders follow UTC" in text_of(saved)  # a reminder is planned
        _check_buttons(saved)

        listing = await _command(fake, "meetings")
        assert listing["data"]["flags"] & EPHEMERAL
        assert "Dana Lee" in text_of(listing)

        # Two hours after the meeting: "how did it go?" by DM.
        bot.set_clock(MEETING + timedelta(hours=2))
        [asked_how] = await _wait_for_dm(bot, fake, 1)
        assert "Dana Lee" in text_of(asked_how)
        assert asked_how["allowed_mentions"]["parse"] == []
        _check_buttons(asked_how)

        # The next day, before the 24 hours are up: the thank-you reminder.
        bot.set_clock(MEETING + timedelta(hours=22))
        dms = await _wait_for_dm(bot, fake, 2)
        thanks = dms[1]
        shown = text_of(thanks)
        assert "Dana Lee" in shown and "thank" in shown.casefold(), shown
        assert "leaving Acme" in shown  # the notes went through the bot (not its logs)
        _check_buttons(thanks)
        assert "Done" in buttons(thanks)

        # "Done", clicked in the DM (no server in the interaction): the button carries it.
        done = await _click(fake, thanks, "Done")
        assert done["type"] == MESSAGE, done
        assert not done["data"]["embeds"][0]["title"].startswith("⚠"), text_of(done)
        assert "thank-you to Dana Lee is recorded" in text_of(done)
        # No other reminder follows for it: not in the tick under way, nor in two more.
        await bot.wait_ticks(3)
        assert len(fake.messages_in(fake.dm_channel_id(ALICE))) == 2

        # SIGTERM stops it cleanly, and nothing it logged holds the token or the notes.
        assert await bot.stop() == 0, bot.tail()
        logged = bot.output
        assert "DEBUG" in logged  # it did log at the level asked for ...
        for secret in (TOKEN, NOTE, "leaving Acme"):
            assert secret not in logged  # ... but never a token or a member's words


async def test_health_and_metrics_served_beside_discord_with_json_logs(tmp_path: Path) -> None:
    port = _free_port()
    json_logs = {"TIARA_HEALTH_PORT": str(port), "TIARA_LOG_FORMAT": "json"}
    async with (
        FakeDiscord() as fake,
        running(tmp_path, {**_discord_env(fake), **json_logs}, "run", "discord") as bot,
        aiohttp.ClientSession() as http,
    ):
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WITHIN
        while True:  # until the process listens and has ticked
            try:
                async with http.get(f"{base}/metrics") as response:
                    metrics = await response.text()
                if 'tiara_ticks_total{outcome="ok"}' in metrics:
                    break
            except aiohttp.ClientConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no metrics on port {port}; the bot logged:\n{bot.tail()}")
            await asyncio.sleep(0.1)
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["database"] == "ok"
        await _command(fake, "meetings")
        async with http.get(f"{base}/metrics") as response:
            assert (
                'tiara_commands_total{command="meetings",outcome="ok"} 1.0' in await response.text()
            )
        assert await bot.stop() == 0, bot.tail()
    lines = [line for line in bot.output.splitlines() if line.strip()]
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert logged and all(entry["level"] and entry["logger"] for entry in logged)
    # Besides the log, only the two lines printed for people: connected, and stopping.
    assert [line for line in lines if not line.startswith("{")] == [
        "Tiara on Discord is connected as Tiara.",
        "Tiara is stopping.",
    ]


# ------------------------------------------------------------------- both at once


class SlackSide:
    def __init__(self, fake: FakeSlackApi, url: str) -> None:
        self.fake = fake
        self.url = url
        self.commands = 0

    async def command(self, text: str) -> str:
        """Type ``/tiara <text>`` on Slack; what the answer (sent to response_url) says."""
        self.commands += 1
        fields = slack_command(
            text,
            team=SLACK_TEAM,
            user="U1",
            response_url=self.fake.response_url(f"cmd-{self.commands}"),
            trigger_id=f"trigger-{self.commands}",
        )
        body = urlencode(fields)
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(
            timestamp=timestamp, body=body
        )
        assert signature is not None
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body.encode(), headers=headers) as response,
        ):
            assert response.status == 200, await response.text()
        answers = await self.fake.wait_for("response_url", count=self.commands, within=WITHIN)
        return texts(answers[-1].params["blocks"])


async def test_one_process_serves_slack_and_discord_each_on_its_own(tmp_path: Path) -> None:
    users = {"U1": {"tz": "America/Chicago", "real_name": "Ann Lee"}}
    async with (
        FakeSlackApi(team_id=SLACK_TEAM, users=users) as slack_fake,
        FakeDiscord() as discord_fake,
    ):
        env = {
            **_discord_env(discord_fake),
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "TIARA_SLACK_API_URL": slack_fake.url,
        }
        args = ("run", "slack", "discord", "--http", "--host", "127.0.0.1", "--port", "0")
        async with running(tmp_path, env, *args) as bot:
            found = await bot.wait_printed(r"(http://\S+/slack/events)")
            await bot.wait_printed(r"Tiara on Discord is connected as ")
            slack = SlackSide(slack_fake, found.group(1))

            on_slack = await slack.command('log contact="Sam Ortiz" when="yesterday 3pm"')
            assert "Sam Ortiz" in on_slack
            on_discord = await _command(
                discord_fake, "log", contact="Priya Raman", when="yesterday 3pm"
            )
            assert on_discord["type"] == MESSAGE, on_discord
            assert "Priya Raman" in text_of(on_discord)
            # Each answer went out on its own platform only.
            assert "Priya Raman" not in texts([c.params for c in slack_fake.calls])
            assert all("Sam Ortiz" not in str(c.json) for c in discord_fake.calls)

            slack_meetings = await slack.command("meetings")
            assert "Sam Ortiz" in slack_meetings and "Priya Raman" not in slack_meetings
            discord_meetings = text_of(await _command(discord_fake, "meetings"))
            assert "Priya Raman" in discord_meetings and "Sam Ortiz" not in discord_meetings

            assert await bot.stop() == 0, bot.tail()
            for secret in (TOKEN, SLACK_TOKEN, SLACK_SECRET):
                assert secret not in bot.output


# ------------------------------------------------------------------- configuration


async def test_a_refused_token_is_explained_without_printing_it(tmp_path: Path) -> None:
    wrong = "MTAwMA.the-wrong-token.must-not-be-printed"
    async with (
        FakeDiscord(token="the-right-one") as fake,
        running(tmp_path, _discord_env(fake, wrong), "run", "discord") as bot,
    ):
        code = await bot.finish(WITHIN)
        assert code == 2, bot.tail()
        assert "DISCORD_TOKEN" in bot.output
        assert wrong not in bot.output
        assert "Traceback" not in bot.output
        assert not fake.identifies  # refused at login, before the gateway
