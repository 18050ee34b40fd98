"""Tiara on Discord, offline: a real discord.py client connected to the local fake gateway,
interactions from raw payloads through the real CommandTree, answers read off the fake's
REST calls (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from adapters.bootstrap import build_registry
from bot.values import UserRef
from storage.store import Store
from storage.unit import UnitOfWork
from tests import discord_payloads as payloads
from tests.discord_fake import FakeDiscord
from tests.discord_rig import (
    ALICE,
    BOB,
    DEFERRED,
    EPHEMERAL,
    GUILD,
    MESSAGE,
    MODAL,
    Rig,
    button_id,
    buttons,
    fake,
    inputs,
    rig,
    start_rig,
    text_of,
)

registry = build_registry()

__all__ = ["fake", "rig"]  # the rig's fixtures, used by every test here


# --------------------------------------------------------------------- commands


async def test_log_opens_a_form_and_its_submission_is_saved(rig: Rig) -> None:
    modal = await rig.command("log")
    assert modal["type"] == MODAL
    assert modal["data"]["title"] == "Log a conversation"
    assert set(inputs(modal)) == {"contact", "when", "notes", "followups", "referrals"}

    saved = await rig.submit(
        modal, {"contact": "Priya Raman", "when": "yesterday 3pm", "notes": "SQL matters most"}
    )
    assert saved["type"] == MESSAGE and saved["data"]["flags"] & EPHEMERAL
    assert "Priya Raman" in text_of(saved)

    listing = await rig.command("meetings")
    assert listing["data"]["flags"] & EPHEMERAL
    assert "Priya Raman" in text_of(listing)
    # Nobody else sees it.
    assert "Priya Raman" not in text_of(await rig.command("meetings", user=BOB))


async def test_options_typed_inline_skip_the_form(rig: Rig) -> None:
    answer = await rig.command("log", contact="Sam Ortiz", when="yesterday 10am", venue="video")
    assert answer["type"] == MESSAGE
    assert "Sam Ortiz" in text_of(answer)


async def test_a_mistake_in_a_form_offers_it_again_with_everything_typed(rig: Rig) -> None:
    modal = await rig.command("log")
    typed = {
        "contact": "Priya Raman",
        "when": "someday maybe",
        "notes": "A long note I won't retype",
    }
    refused = await rig.submit(modal, typed)
    assert refused["data"]["flags"] & EPHEMERAL
    assert "someday maybe" in text_of(refused) or "date" in text_of(refused).casefold()
    again = await rig.click(refused, "Fix it")
    assert again["type"] == MODAL
    shown = inputs(again)
    assert shown["notes"]["value"] == "A long note I won't retype"
    assert shown["when"]["value"] == "someday maybe"
    saved = await rig.submit(again, {**typed, "when": "yesterday 3pm"})
    assert "Priya Raman" in text_of(saved) and not saved["data"].get("embeds", [{}])[0].get(
        "title", ""
    ).startswith("⚠")
    # Nothing was saved by the refused attempt: one meeting.
    assert text_of(await rig.command("meetings")).count("Priya Raman") == 1


async def test_choices_booleans_and_descriptions_come_from_the_registry(rig: Rig) -> None:
    group = rig.client.tree.get_command("tiara")
    assert group is not None
    shape = group.to_dict(rig.client.tree)  # type: ignore[union-attr]
    subcommands = {o["name"]: o for o in shape["options"]}
    assert set(subcommands) >= {"log", "meetings", "practice", "settings", "prompts", "nudge"}
    log_options = {o["name"]: o for o in subcommands["log"]["options"]}
    assert [c["value"] for c in log_options["venue"]["choices"]] == ["phone", "video", "in-person"]
    assert log_options["contact"]["autocomplete"] is True
    assert not any(o.get("required") for o in log_options.values())  # the form asks instead
    assert "id" not in log_options  # hidden options are for buttons
    settings = {o["name"]: o for o in subcommands["settings"]["options"]}
    assert settings["nudges"]["type"] == payloads.BOOLEAN
    practice = {o["name"]: o for o in subcommands["practice"]["options"]}
    assert {"join", "leave", "status", "checkin"} <= set(practice)
    checkin = {o["name"]: o for o in practice["checkin"]["options"]}
    assert checkin["answer"]["required"] is True
    prompts = {o["name"]: o for o in subcommands["prompts"]["options"]}
    assert "for" in prompts  # a Python keyword, renamed back for Discord


async def test_every_registry_command_is_reachable(rig: Rig) -> None:
    tree = rig.client.tree
    for command in registry:
        found = tree.get_command("tiara")
        for word in command.path:
            assert found is not None, command.name
            found = found.get_command(word)  # type: ignore[union-attr]
        assert found is not None, f"/tiara {command.name} is missing on Discord"


async def test_booleans_and_choices_reach_the_core(rig: Rig) -> None:
    answer = await rig.command("settings", nudges=False, keep_in_touch_months="6")
    assert answer["type"] == MESSAGE
    shown = text_of(await rig.command("settings"))
    assert "off" in shown.casefold() and "6 months" in shown


async def test_autocomplete_offers_only_my_contacts(rig: Rig) -> None:
    await rig.command("request", contact="Priya Raman")
    await rig.command("request", contact="Sam Prior")
    await rig.command("request", contact="Pia Secret", user=BOB)
    answer = await rig.send(
        payloads.autocomplete(
            path=("log",), options={"contact": "pri"}, focused="contact", user_id=ALICE
        )
    )
    assert answer["type"] == 8  # autocomplete result
    assert [c["value"] for c in answer["data"]["choices"]] == ["Priya Raman", "Sam Prior"]


async def test_a_slow_answer_is_deferred_then_followed_up(rig: Rig) -> None:
    rig.adapter.answer_within = 0.0  # every answer is too slow
    payload = payloads.slash_command(path=("meetings",), options={}, user_id=ALICE)
    first = await rig.send(payload)
    assert first["type"] == DEFERRED and first["data"]["flags"] & EPHEMERAL
    followups = await rig.followups(payload)
    rig.adapter.answer_within = None
    direct = await rig.command("meetings")
    assert text_of(followups[0]) == text_of(direct)


# --------------------------------------------------------------------- buttons


async def test_buttons_on_an_answer_run_their_command(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="yesterday 3pm")
    listing = await rig.command("show", id="M1")
    thanked = await rig.click(listing, "Mark thank-you sent")
    assert thanked["type"] == MESSAGE and "thank" in text_of(thanked).casefold()
    assert "Mark thank-you sent" not in buttons(await rig.command("show", id="M1"))


async def test_a_button_that_opens_a_form_opens_it_prefilled(rig: Rig) -> None:
    answer = await rig.command("request", contact="Priya Raman", org="Acme")
    replied = await rig.click(answer, "They agreed")
    log_it = await rig.click(replied, "Log the meeting")
    assert log_it["type"] == MODAL
    assert inputs(log_it)["contact"]["value"] == "Priya Raman"


async def test_buttons_still_work_after_a_restart(
    rig: Rig, empty_store: Store, fake: FakeDiscord
) -> None:
    await rig.command("log", contact="Priya Raman", when="yesterday 3pm")
    shown = await rig.command("show", id="M1")
    await rig.close()
    # A new process: new client, new adapter, nothing in memory but the database.
    fresh = await start_rig(empty_store, rig.clock, fake)
    try:
        thanked = await fresh.click(shown, "Mark thank-you sent")
        assert thanked["type"] == MESSAGE and "thank" in text_of(thanked).casefold()
        assert "Mark thank-you sent" not in buttons(await fresh.command("show", id="M1"))
    finally:
        await fresh.close()


async def test_a_long_contact_name_is_kept_in_the_database_not_lost(rig: Rig) -> None:
    name = "Dana " + "Alexandra-Montgomery " * 5
    answer = await rig.command("request", contact=name.strip())
    custom_id = button_id(answer, "They agreed")
    assert len(custom_id) <= 100
    replied = await rig.click(answer, "They agreed")
    log_it = await rig.click(replied, "Log the meeting")
    assert inputs(log_it)["contact"]["value"] == name.strip()
    # Someone else clicking a copy of Alice's kept button gets nothing of hers.
    other = await rig.click(replied, "Log the meeting", user=BOB)
    assert other["type"] == MESSAGE and name.strip() not in text_of(other)
    assert "expired" in text_of(other)


async def test_a_forged_button_is_refused_politely(rig: Rig) -> None:
    for custom_id in (
        'tiara:b:{"w":"5000","c":["drop","tables"]}',
        'tiara:b:{"w":1}',
        "tiara:k:5000:x",
    ):
        answer = await rig.send(payloads.button_click(custom_id=custom_id, user_id=ALICE))
        assert answer["type"] == MESSAGE and answer["data"]["flags"] & EPHEMERAL
        assert "expired" in text_of(answer)


# --------------------------------------------------------------------- DMs


async def test_a_nudge_arrives_by_dm_with_buttons_that_work_from_the_dm(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="now")
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    dm = rig.fake.dm_channel_id(ALICE)
    sent = rig.fake.messages_in(dm)
    assert sent, "no DM"
    assert "Priya Raman" in text_of(sent[0])
    assert sent[0]["allowed_mentions"]["parse"] == []
    # The click comes from the DM: no server in the interaction, the button carries it.
    done = await rig.click(sent[0], "Done", guild=None)
    assert done["type"] == MESSAGE and not done["data"]["embeds"][0]["title"].startswith("⚠")
    assert "thank-you to Priya Raman is recorded" in text_of(done)
    assert "thank-you to Priya Raman" not in text_of(await rig.command("followups"))


async def test_closed_dms_mark_the_member_unreachable_and_are_not_retried(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="now")
    rig.fake.refuse_dms(ALICE)
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    attempts = len(rig.fake.calls_to("POST", f"/channels/{rig.fake.dm_channel_id(ALICE)}/messages"))
    assert attempts == 1
    rig.clock.advance(timedelta(days=2))
    await rig.bot.tick()
    again = len(rig.fake.calls_to("POST", f"/channels/{rig.fake.dm_channel_id(ALICE)}/messages"))
    assert again == attempts


async def test_a_rate_limited_dm_is_retried_after_retry_after(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="now")
    path = f"/channels/{rig.fake.dm_channel_id(ALICE)}/messages"
    rig.fake.rate_limit("POST", path, retry_after=0.01)
    rig.clock.advance(timedelta(hours=3))
    report = await rig.bot.tick()
    assert report.sent >= 1
    statuses = [c.status for c in rig.fake.calls_to("POST", path)]
    assert statuses[:2] == [429, 200]
    assert len(rig.fake.messages_in(rig.fake.dm_channel_id(ALICE))) == 1


async def test_a_member_leaving_the_server_gets_no_more_nudges(rig: Rig) -> None:
    await rig.command("log", contact="Priya Raman", when="now")
    async with rig.handled("raw_member_remove"):  # a task of its own: wait for its end
        await rig.fake.member_leaves(GUILD, ALICE)
    async with rig.store.transaction() as session:
        member = await UnitOfWork(session).members.find("discord", str(GUILD), str(ALICE))
        assert member is not None and not member.active
    rig.clock.advance(timedelta(hours=3))
    await rig.bot.tick()
    assert rig.fake.messages_in(rig.fake.dm_channel_id(ALICE)) == []


async def test_the_first_reminder_asks_for_a_timezone(rig: Rig) -> None:
    answer = await rig.command("log", contact="Priya Raman", when="tomorrow 3pm")
    shown = text_of(answer)
    assert "Your reminders follow UTC" in shown
    assert "timezone:America/Chicago" in shown  # Discord's option syntax
    tz = await rig.send(
        payloads.autocomplete(
            path=("settings",), options={"timezone": "chicago"}, focused="timezone", user_id=ALICE
        )
    )
    assert [c["value"] for c in tz["data"]["choices"]] == ["America/Chicago"]
    await rig.command("settings", timezone="America/Chicago")
    assert (
        await rig.bot.timezone_of(UserRef("discord", str(GUILD), str(ALICE))) == "America/Chicago"
    )


async def test_member_text_never_pings_anyone(rig: Rig) -> None:
    await rig.command(
        "log", contact="Priya Raman", when="yesterday 3pm", notes="@everyone see <@4343> and <@&77>"
    )
    shown = await rig.command("show", id="M1")
    assert shown["data"]["allowed_mentions"]["parse"] == []
    body = text_of(shown)
    assert "@everyone" not in body and "<@4343>" not in body and "<@&77>" not in body
    assert "everyone" in body  # shown, made inert
