"""Every ``/tiara`` subcommand and every button works on Discord; the command group stays
within Discord's limits; ``tiara discord sync`` publishes it (and starting never does)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from adapters.bootstrap import build_registry
from adapters.cli import cli
from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import Call, FakeDiscord
from tests.discord_rig import (
    ALICE,
    BOB,
    DEFERRED,
    MESSAGE,
    MODAL,
    Rig,
    buttons,
    fake,
    is_error,
    rig,
    text_of,
)

registry = build_registry()

__all__ = ["fake", "rig"]

# A cohort member's week, one step per subcommand (a form's command first as a form).
STEPS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("help",), {}),
    (("help",), {"command": "log"}),
    (("settings",), {"timezone": "Europe/Berlin", "quiet": "22-7", "weekly_plan": True}),
    (("request",), {"contact": "Dana Lee", "org": "Acme", "via": "linkedin"}),
    (("reply",), {"contact": "Dana Lee", "outcome": "scheduled"}),
    (("log",), {}),
    (("log",), {"contact": "Dana Lee", "when": "yesterday 3pm", "venue": "video"}),
    (("prep",), {"target": "M1"}),
    (("prompts",), {"category": "trends", "for": "Dana Lee"}),
    (("meetings",), {}),
    (("show",), {"id": "M1"}),
    (("edit",), {"id": "M1", "notes": "Bring the portfolio"}),
    (("contact",), {"name": "Dana Lee", "email": "dana@example.org"}),
    (("followups",), {}),
    (("snooze",), {"id": "N1", "when": "in 7 days"}),
    (("done",), {"id": "N1"}),
    (("nudge", "stop"), {"kind": "keep_in_touch"}),
    (("thanks",), {"id": "M1"}),
    (("landed",), {"org": "Acme", "role": "Analyst"}),
    (("practice", "join"), {}),
    (("coach", "round"), {"when": "now"}),
    (("practice", "status"), {}),
    (("practice", "now"), {}),
    (("practice", "history"), {}),
    (("practice", "checkin"), {"answer": "not_yet"}),
    (("practice", "pause"), {"weeks": "2"}),
    (("practice", "leave"), {}),
    (("request",), {"contact": "Sam Ortiz"}),
    (("delete",), {"id": "R2"}),
    # A coach's week (Alice runs the server: Manage Server).
    (("coach", "stats"), {}),
    (("coach", "stats"), {"weeks": "8"}),
    (("coach", "policy"), {"policy": "3b7"}),
    (("coach", "holidays"), {"action": "add", "date": "2026-12-24"}),
    (("coach", "cadence"), {"day": "tuesday", "time": "9:30", "every": "2"}),
    (("coach", "channel"), {"channel": "#practice"}),
    (("coach", "digest"), {"digest": True}),
    (("coach", "audit"), {}),
    (("export",), {}),
    (("forget-me",), {}),
]
MAY_REFUSE = {("practice", "checkin")}  # no round has started yet: a polite "not yet"
MANAGE_SERVER = payloads.EVERYONE_PERMISSIONS | payloads.MANAGE_GUILD


async def test_every_subcommand_works_through_discord(rig: Rig) -> None:
    assert {path for path, _ in STEPS} == {c.path for c in registry}, "a command has no step"
    for path, options in STEPS:
        answer = await _answer(
            rig,
            payloads.slash_command(
                path=path, options=options, user_id=ALICE, permissions=MANAGE_SERVER
            ),
        )
        if path == ("log",) and not options:
            assert answer["type"] == MODAL
            continue
        assert answer["type"] == MESSAGE, path
        if path not in MAY_REFUSE:
            assert not is_error(answer), f"/tiara {' '.join(path)}: {text_of(answer)}"
    assert "Europe/Berlin" in text_of(await rig.command("settings"))


async def _answer(rig: Rig, payload: dict[str, Any]) -> dict[str, Any]:
    """The answer to an interaction: the first response, or the follow-up after a deferral
    (a chart can take longer than Discord waits), shaped as a response."""
    answer = await rig.send(payload)
    if answer["type"] != DEFERRED:
        return answer
    followup = (await rig.followups(payload))[0]
    return {"type": MESSAGE, "data": followup.json}


async def test_every_kind_of_button_dispatches(rig: Rig) -> None:
    """Click each kind of button Tiara draws, in answers and in reminder and practice DMs."""
    await rig.command("settings", weekly_plan=True)
    answers = [
        await rig.command("request", contact="Dana Lee", org="Acme"),
        await rig.command("log", contact="Sam Ortiz", when="now", referrals="Bo Li"),
        await rig.command("log", contact="Ann Wu", when="tomorrow 3pm"),
        await rig.command("prompts"),
        await rig.command("prompts", category="trends"),
        await rig.command("prompts", **{"for": "Dana Lee"}),
        await rig.command("meetings"),
        await rig.command("show", id="M1"),
        await rig.command("delete", id="R1"),
        await rig.command("practice", "join"),
        await rig.command("practice", "join", user=BOB),
    ]
    for moment in (
        START + timedelta(hours=3),
        datetime(2026, 11, 19, 9, tzinfo=UTC),  # the morning of Ann's meeting
        datetime(2026, 11, 23, 10, tzinfo=UTC),  # the first practice round
        datetime(2026, 11, 26, 10, tzinfo=UTC),  # its check-in
    ):
        rig.clock.set(moment)
        await rig.bot.tick()
    answers += [
        Call("POST", "", {}, m, {}, 200)
        for m in rig.fake.messages_in(rig.fake.dm_channel_id(ALICE))
    ]
    clicked: set[str] = set()
    for answer in answers:
        for label in buttons(answer):
            kind = _KIND.sub("", label).strip()
            if kind in clicked:
                continue
            clicked.add(kind)
            result = await rig.click(answer, label)
            assert result["type"] in (MESSAGE, MODAL), label
            assert "went wrong on my side" not in text_of(result), label
    assert clicked >= {
        "Done",
        "Snooze to tomorrow",
        "Snooze 1 week",
        "Stop these",
        "Mark thank-you sent",
        "They agreed to meet",
        "They declined",
        "Prepare",
        "Delete",
        "Keep it",
        "More questions",
        "More trends",
        "Yes, we met",
        "Not yet",
        "Can't this round",
    }, sorted(clicked)


_KIND = re.compile(r"\(?\b[NMR][0-9]+\b\)?")  # a button's item id: "Done (N3)" is a "Done"


def test_the_command_group_fits_discords_limits() -> None:
    import discord
    from discord import app_commands

    from adapters.discord.commands import build_group

    async def nothing(*_: object) -> None: ...

    async def none(*_: object) -> list[str]:
        return []

    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    tree.add_command(build_group(registry, nothing, none))
    shape = tree.get_command("tiara").to_dict(tree)  # type: ignore[union-attr]

    counted = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal counted
        counted += len(node["name"]) + len(node.get("description", ""))
        assert 1 <= len(node["name"]) <= 32 and node["name"] == node["name"].lower()
        assert 1 <= len(node.get("description", "x")) <= 100
        assert len(node.get("options", [])) <= 25
        assert len(node.get("choices", [])) <= 25
        for choice in node.get("choices", []):
            counted += len(choice["name"]) + len(str(choice["value"]))
        required = [o.get("required", False) for o in node.get("options", []) if o["type"] > 2]
        assert required == sorted(required, reverse=True), node["name"]  # required first
        for option in node.get("options", []):
            walk(option)

    walk(shape)
    assert counted <= 8000  # Discord's limit on one command's names, descriptions and choices


async def test_sync_publishes_to_one_server_or_everywhere(fake: FakeDiscord, tmp_path: Any) -> None:
    env = {
        "DISCORD_TOKEN": "sync-token.for-tests",
        "TIARA_DISCORD_API_URL": fake.api_url,
        "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
    }

    async def sync(*args: str) -> Any:
        # The command runs its own event loop; the fake keeps serving in this one.
        return await asyncio.to_thread(CliRunner().invoke, cli, ["discord", "sync", *args], env=env)

    result = await sync("--guild", "5000")
    assert result.exit_code == 0, result.output
    assert "server 5000" in result.output
    assert [c["name"] for c in fake.commands(5000)] == ["tiara"]
    assert fake.commands(None) == []
    result = await sync()
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in fake.commands(None)] == ["tiara"]
    assert "sync-token.for-tests" not in result.output


async def test_starting_never_publishes_commands(rig: Rig) -> None:
    await rig.command("help")
    assert not [c for c in rig.fake.calls if "/commands" in c.path]


@pytest.mark.parametrize("bad", ["", "not-a-token-the-fake-accepts"])
def test_sync_explains_a_missing_or_refused_token(bad: str, tmp_path: Any) -> None:
    async def main() -> Any:
        async with FakeDiscord(token="the-right-token") as refusing:
            env = {
                "DISCORD_TOKEN": bad,
                "TIARA_DISCORD_API_URL": refusing.api_url,
                "TIARA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
            }
            return await asyncio.to_thread(CliRunner().invoke, cli, ["discord", "sync"], env=env)

    result = asyncio.run(main())
    assert result.exit_code == 2
    assert "DISCORD_TOKEN" in result.output
    if bad:
        assert bad not in result.output
