"""Practice rounds on Discord: each member's plan by DM naming the partners (or a private
thread in the practice channel), and the round announced in the practice channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from adapters.discord.notifier import DiscordNotifier
from storage.models import Workspace
from tests import discord_payloads as payloads
from tests.discord_fake import Call
from tests.discord_rig import ALICE, BOB, Rig, fake, rig, text_of

__all__ = ["fake", "rig"]

FIRST_ROUND = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the Monday after the rig's START
PRACTICE_CHANNEL = payloads.CHANNEL_ID  # the fake server's "practice" text channel


async def _pair(rig: Rig, *, channel: str | None = "practice") -> None:
    for user, name in ((ALICE, "Alice"), (BOB, "Bob")):
        await rig.send(
            payloads.slash_command(path=("practice", "join"), options={}, user_id=user, name=name)
        )
    async with rig.store.transaction() as session:
        await session.execute(update(Workspace).values(practice_channel=channel))
    rig.clock.set(FIRST_ROUND)
    await rig.bot.tick()


def _as_call(message: dict[str, Any]) -> Call:
    return Call("POST", "", {}, message, {}, 200)


async def test_each_member_gets_the_plan_by_dm_naming_the_partner(rig: Rig) -> None:
    await _pair(rig)
    for user, partner in ((ALICE, "Bob"), (BOB, "Alice")):
        plans = [
            m
            for m in rig.fake.messages_in(rig.fake.dm_channel_id(user))
            if "practice partners" in text_of(_as_call(m))
        ]
        assert len(plans) == 1, f"{user} got {len(plans)} plans"
        assert partner in text_of(_as_call(plans[0]))
    (announcement,) = rig.fake.messages_in(PRACTICE_CHANNEL)
    shown = text_of(_as_call(announcement))
    assert "Practice round 1" in shown and "Alice" in shown and "Bob" in shown
    assert announcement["allowed_mentions"]["parse"] == []


async def test_a_closed_dm_does_not_stop_the_partner_getting_the_plan(rig: Rig) -> None:
    rig.fake.refuse_dms(BOB)
    await _pair(rig)
    alice = [text_of(_as_call(m)) for m in rig.fake.messages_in(rig.fake.dm_channel_id(ALICE))]
    assert sum("practice partners" in t for t in alice) == 1


async def test_with_threads_each_group_gets_a_private_thread(rig: Rig) -> None:
    async def practice_channel(workspace: str) -> str | None:
        return "practice"

    notifier = rig.adapter.notifier
    assert isinstance(notifier, DiscordNotifier)
    notifier.group_channel = practice_channel
    await _pair(rig)
    (created,) = rig.fake.calls_to("POST", f"/channels/{PRACTICE_CHANNEL}/threads")
    assert created.json["type"] == 12 and created.json["invitable"] is False  # private
    threads = [c for c in rig.fake.calls if c.method == "PUT" and "/thread-members/" in c.path]
    assert {c.path.rsplit("/", 1)[1] for c in threads} == {str(ALICE), str(BOB)}
    thread_id = int(threads[0].path.split("/")[2])
    (plan,) = rig.fake.messages_in(thread_id)
    assert "Alice" in text_of(_as_call(plan)) and "Bob" in text_of(_as_call(plan))
    # No DMs with the plan: the thread is where the pair talks.
    for user in (ALICE, BOB):
        dms = rig.fake.messages_in(rig.fake.dm_channel_id(user))
        assert not any("practice partners" in text_of(_as_call(m)) for m in dms)
