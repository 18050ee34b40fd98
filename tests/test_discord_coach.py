"""Coaches on Discord, through Tiara's own commands: Manage Server or the coach role opens
``/tiara coach …`` (a chart arrives as a PNG), everyone else is told it's for coaches; every
member can export their data as files and erase it after confirming; a coach's weekly
digest arrives by DM with its chart. Last, the real process: ``TIARA_DISCORD_COACH_ROLE``
from the environment makes a role's members coaches."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from storage.store import Store
from tests import discord_payloads as payloads
from tests.conftest import START
from tests.discord_fake import Call, FakeDiscord
from tests.discord_rig import (
    ALICE,
    BOB,
    DEFERRED,
    EPHEMERAL,
    GUILD,
    MESSAGE,
    SAFETY,
    Rig,
    button_id,
    buttons,
    fake,
    files_of,
    is_error,
    start_rig,
    text_of,
)

__all__ = ["fake"]

PNG = b"\x89PNG\r\n\x1a\n"
COACH_ROLE_ID = 6_161
MANAGE_SERVER = payloads.EVERYONE_PERMISSIONS | payloads.MANAGE_GUILD
WITHIN = SAFETY  # the first chart loads matplotlib, which can take a while on a cold machine


@pytest.fixture
async def rig(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    fake.add_role(GUILD, payloads.role(COACH_ROLE_ID, "Cohort coaches"))
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake, coach_role="Cohort coaches")
    yield running
    await running.close()


async def answered(fake: FakeDiscord, payload: dict[str, Any]) -> Call:
    """The answer to an interaction as sent with its files: the first response, or after
    "thinking…" (a chart can take longer than Discord waits) the first follow-up."""
    await fake.interaction(payload, within=WITHIN)
    path = re.compile(rf"/interactions/{payload['id']}/[^/]+/callback")
    first = (await fake.wait_for("POST", path, within=WITHIN))[0]
    if first.json["type"] != DEFERRED:
        return first
    followup = re.compile(rf"/webhooks/[0-9]+/{re.escape(payload['token'])}")
    sent = (await fake.wait_for("POST", followup, within=WITHIN))[0]
    return replace(sent, json={"type": MESSAGE, "data": sent.json})


async def coach(rig: Rig, *path: str, user: int = ALICE, **how: Any) -> Call:
    options = how.pop("options", {})
    return await answered(
        rig.fake, payloads.slash_command(path=path, options=options, user_id=user, **how)
    )


def _png(call: Call) -> bytes:
    [(name, data)] = files_of(call).items()
    assert name.endswith(".png"), name
    return data


async def test_a_member_is_told_coach_commands_are_for_coaches(rig: Rig) -> None:
    refused = await coach(rig, "coach", "stats")
    assert is_error(refused) and refused.json["data"]["flags"] & EPHEMERAL
    assert "Only coaches" in text_of(refused)
    assert not refused.files


async def test_manage_server_gets_the_cohorts_progress_with_a_chart(rig: Rig) -> None:
    await rig.command("log", contact="Dana Lee", when="yesterday 3pm", user=BOB)
    stats = await coach(rig, "coach", "stats", permissions=MANAGE_SERVER)
    assert not is_error(stats), text_of(stats)
    assert stats.json["data"]["flags"] & EPHEMERAL
    assert stats.json["data"]["embeds"][0]["title"] == "Cohort progress"
    assert _png(stats).startswith(PNG)
    assert "Dana Lee" not in text_of(stats)  # counts only, never a student's contacts


async def test_the_coach_role_is_enough(rig: Rig) -> None:
    stats = await coach(rig, "coach", "stats", user=BOB, roles=[COACH_ROLE_ID])
    assert not is_error(stats), text_of(stats)
    assert _png(stats).startswith(PNG)


async def test_weeks_is_offered_as_choices(rig: Rig) -> None:
    group = rig.client.tree.get_command("tiara")
    assert group is not None
    shape = group.to_dict(rig.client.tree)
    [coach_group] = [o for o in shape["options"] if o["name"] == "coach"]
    [stats] = [o for o in coach_group["options"] if o["name"] == "stats"]
    [weeks] = stats["options"]
    assert [c["value"] for c in weeks["choices"]][:4] == ["1", "2", "3", "4"]
    answer = await coach(rig, "coach", "stats", permissions=MANAGE_SERVER, options={"weeks": "8"})
    assert not is_error(answer) and "8 weeks" in text_of(answer)


async def test_export_brings_a_spreadsheet_and_a_calendar_to_the_dm(rig: Rig) -> None:
    await rig.command("log", contact="Dana Lee", when="yesterday 3pm")
    await rig.command("log", contact="Sam Ortiz", when="tomorrow 3pm")
    exported = await coach(rig, "export")
    assert exported.json["data"]["flags"] & EPHEMERAL
    assert files_of(exported) == {}  # the files are for keeps: they go to the DM
    assert "sent the files to your DMs" in text_of(exported)
    files = {f["filename"]: f["data"] for f in rig.fake.files_in(rig.fake.dm_channel_id(ALICE))}
    [table] = [data for name, data in files.items() if name.endswith(".csv")]
    [calendar] = [data for name, data in files.items() if name.endswith(".ics")]
    assert b"Dana Lee" in table and b"Sam Ortiz" in table
    assert calendar.startswith(b"BEGIN:VCALENDAR") and b"Sam Ortiz" in calendar
    # Nobody else's data, and nobody else gets the files.
    await coach(rig, "export", user=BOB)
    theirs = rig.fake.files_in(rig.fake.dm_channel_id(BOB))
    assert theirs and all(b"Dana Lee" not in f["data"] for f in theirs)


async def test_export_with_dms_closed_comes_with_the_reply(rig: Rig) -> None:
    await rig.command("log", contact="Dana Lee", when="yesterday 3pm")
    rig.fake.refuse_dms(ALICE)
    exported = await coach(rig, "export")
    assert exported.json["data"]["flags"] & EPHEMERAL
    assert "save them now" in text_of(exported)
    [table] = [data for name, data in files_of(exported).items() if name.endswith(".csv")]
    assert b"Dana Lee" in table


async def test_forget_me_asks_first_then_erases(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="yesterday 3pm")
    asked = await rig.command("forget-me")
    assert asked["data"]["flags"] & EPHEMERAL
    assert "Priya Raman" in text_of(await rig.command("meetings"))  # nothing erased yet
    assert {"Erase everything", "Export my data first"} <= set(buttons(asked))
    await rig.answer(
        payloads.button_click(
            custom_id=button_id(asked, "Export my data first"), user_id=ALICE, guild_id=GUILD
        )
    )
    copies = rig.fake.files_in(rig.fake.dm_channel_id(ALICE))
    assert any(b"Priya Raman" in f["data"] for f in copies)
    erased = await rig.click(asked, "Erase everything")
    assert "gone" in text_of(erased)
    assert "Priya Raman" not in text_of(await rig.command("meetings"))


async def test_the_weekly_digest_arrives_by_dm_with_its_chart(rig: Rig) -> None:
    turned_on = await coach(
        rig, "coach", "digest", permissions=MANAGE_SERVER, options={"digest": True}
    )
    assert not is_error(turned_on), text_of(turned_on)
    rig.clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC))  # Monday, after 9:00
    await rig.bot.tick()
    dm = rig.fake.dm_channel_id(ALICE)
    [message] = [m for m in rig.fake.messages_in(dm) if m.get("embeds")]
    assert "cohort progress" in message["embeds"][0]["title"].casefold()
    [chart] = rig.fake.files_in(dm)
    assert chart["filename"].endswith(".png") and chart["data"].startswith(PNG)


# ------------------------------------------------------------- the real process


async def test_the_coach_role_from_the_environment_in_the_real_process(tmp_path: Path) -> None:
    from tests.test_discord_end_to_end import _discord_env, running

    async with (
        FakeDiscord(roles={GUILD: [payloads.role(COACH_ROLE_ID, "Cohort coaches")]}) as fake,
        running(
            tmp_path,
            {**_discord_env(fake), "TIARA_DISCORD_COACH_ROLE": "Cohort coaches"},
            "run",
            "discord",
        ) as bot,
    ):
        await bot.wait_printed(r"Tiara on Discord is connected as ")
        student = payloads.slash_command(path=("coach", "stats"), user_id=BOB)
        refused = await answered(fake, student)
        assert "Only coaches" in text_of(refused)
        with_role = payloads.slash_command(
            path=("coach", "stats"), user_id=ALICE, roles=[COACH_ROLE_ID]
        )
        stats = await answered(fake, with_role)
        assert not is_error(stats), f"{text_of(stats)}\n{bot.tail()}"
        assert _png(stats).startswith(PNG)
