"""Who runs the server, and files, on Discord: Manage Server, Administrator or the coach role
(``TIARA_DISCORD_COACH_ROLE``) reach the core as ``platform_admin`` from commands, buttons and
forms; exports and charts arrive as files, byte for byte, in replies and DMs, within Discord's
limits (10 a message, 10 MiB) and named in words when they can't be sent.

A small registry of test commands stands in for the coach commands: one says whether the
core was told the member runs the server, one answers with files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord.files import UPLOAD_LIMIT
from bot.clock import FixedClock
from bot.context import Context
from bot.registry import Kind, Option, Registry
from bot.values import Attachment, Button, Message, UserRef
from storage.store import Store
from tests import discord_payloads as payloads
from tests.conftest import START
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
    fake,
    files_of,
    start_rig,
    text_of,
)

__all__ = ["fake"]

COACH_ROLE_ID = 7_777
OTHER_ROLE_ID = 7_878
EVERYONE = payloads.EVERYONE_PERMISSIONS
MANAGE_SERVER = EVERYONE | payloads.MANAGE_GUILD
ADMINISTRATOR = EVERYONE | payloads.ADMINISTRATOR

commands = Registry()


@commands.command(
    "whoami",
    options=(Option("note", Kind.TEXT, "Anything", label="Note"),),
    form=("Who am I", ("note",)),
)
async def whoami(ctx: Context, args: dict[str, Any]) -> Message:
    """Say whether the core was told this member runs the server."""
    admin = "yes" if ctx.invocation.platform_admin else "no"
    return Message(
        text=f"Runs the server: {admin}.",
        buttons=(Button("Ask again", ("whoami",), {"note": "again"}),),
    )


@commands.command(
    "files",
    options=(
        Option("count", Kind.TEXT, "How many files"),
        Option("kb", Kind.TEXT, "How big each is, in KB"),
        Option("big", Kind.TEXT, "How many bytes an extra, huge file has"),
        Option("title", Kind.TEXT, "The answer's title"),
        Option("words", Kind.TEXT, "How many words of text"),
    ),
)
async def files(ctx: Context, args: dict[str, Any]) -> Message:
    """Answer with files."""
    return Message(
        text=" ".join(["word"] * int(args.get("words", "0"))) or "Here you are.",
        title=args.get("title"),
        attachments=_attachments(
            int(args.get("count", "2")), int(args.get("kb", "0")), int(args.get("big", "0"))
        ),
    )


def _data(index: int, kb: int = 0) -> bytes:
    """Distinct bytes for file ``index``: a CSV row, padded to ``kb`` KB with every byte."""
    head = f"contact,org,met\nDana Lee {index},Acme,2026-01-0{index % 9 + 1}\n".encode()
    return head + bytes(range(256)) * (kb * 4)


def _attachments(count: int, kb: int = 0, big: int = 0) -> tuple[Attachment, ...]:
    made = [
        Attachment(f"export-{n}.csv", _data(n, kb), "text/csv", title=f"Export {n}")
        for n in range(count)
    ]
    if big:
        made.append(Attachment("huge.ics", b"B" * big, "text/calendar"))
    return tuple(made)


@pytest.fixture
async def rig(empty_store: Store, fake: FakeDiscord) -> AsyncIterator[Rig]:
    fake.add_role(GUILD, payloads.role(COACH_ROLE_ID, "Coaches"))
    fake.add_role(GUILD, payloads.role(OTHER_ROLE_ID, "Students"))
    await empty_store.upgrade()
    running = await start_rig(empty_store, FixedClock(START), fake, commands=commands)
    yield running
    await running.close()


async def whoami_says(rig: Rig, **how: Any) -> str:
    payload = payloads.slash_command(
        path=("whoami",), options={"note": "hi"}, user_id=how.pop("user", ALICE), **how
    )
    answer = await rig.send(payload)
    assert answer["type"] == MESSAGE
    return text_of(answer)


# ------------------------------------------------------------------ who runs it


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [(MANAGE_SERVER, "yes"), (ADMINISTRATOR, "yes"), (EVERYONE, "no")],
    ids=["manage-server", "administrator", "member"],
)
async def test_manage_server_or_administrator_runs_the_server(
    rig: Rig, permissions: int, expected: str
) -> None:
    assert f"Runs the server: {expected}." in await whoami_says(rig, permissions=permissions)


@pytest.mark.parametrize("configured", [str(COACH_ROLE_ID), "Coaches", "@coaches"])
async def test_the_coach_role_counts_by_id_or_by_name(rig: Rig, configured: str) -> None:
    rig.adapter.coach_role = configured
    coach = await whoami_says(rig, roles=[OTHER_ROLE_ID, COACH_ROLE_ID])
    student = await whoami_says(rig, roles=[OTHER_ROLE_ID], user=BOB)
    assert "Runs the server: yes." in coach
    assert "Runs the server: no." in student


async def test_a_role_of_the_same_name_elsewhere_or_no_role_configured_doesnt_count(
    rig: Rig,
) -> None:
    assert "Runs the server: no." in await whoami_says(rig, roles=[COACH_ROLE_ID])
    rig.adapter.coach_role = "Mentors"  # no such role in the server
    assert "Runs the server: no." in await whoami_says(rig, roles=[COACH_ROLE_ID])
    rig.adapter.coach_role = "123456"  # an id nobody holds
    assert "Runs the server: no." in await whoami_says(rig, roles=[COACH_ROLE_ID])


async def test_a_second_role_of_the_same_name_makes_the_name_count_for_no_one(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever may manage roles can make another "Coaches": the name no longer says who
    the coaches are, so it counts for no one (the role's id still works)."""
    rig.adapter.coach_role = "Coaches"
    await rig.fake.dispatch(
        "GUILD_ROLE_CREATE", {"guild_id": str(GUILD), "role": payloads.role(7_979, "coaches")}
    )
    assert "Runs the server: no." in await whoami_says(rig, roles=[7_979], user=BOB)
    assert "Runs the server: no." in await whoami_says(rig, roles=[COACH_ROLE_ID])
    assert "set it to the role's id" in caplog.text
    rig.adapter.coach_role = str(COACH_ROLE_ID)
    assert "Runs the server: yes." in await whoami_says(rig, roles=[COACH_ROLE_ID])
    # An id is never read as a name: a role called "7777" is not the coach role.
    await rig.fake.dispatch(
        "GUILD_ROLE_CREATE",
        {"guild_id": str(GUILD), "role": payloads.role(8_080, str(COACH_ROLE_ID))},
    )
    assert "Runs the server: no." in await whoami_says(rig, roles=[8_080], user=BOB)


async def test_buttons_and_forms_carry_it_too(rig: Rig) -> None:
    answer = await rig.send(
        payloads.slash_command(
            path=("whoami",), options={"note": "x"}, user_id=ALICE, permissions=MANAGE_SERVER
        )
    )
    custom_id = button_id(answer, "Ask again")
    as_admin = await rig.send(
        payloads.button_click(
            custom_id=custom_id, user_id=ALICE, guild_id=GUILD, permissions=MANAGE_SERVER
        )
    )
    as_member = await rig.send(
        payloads.button_click(custom_id=custom_id, user_id=ALICE, guild_id=GUILD)
    )
    assert "Runs the server: yes." in text_of(as_admin)
    assert "Runs the server: no." in text_of(as_member)

    modal = await rig.command("whoami")
    assert modal["type"] == MODAL
    custom_id = modal["data"]["custom_id"]
    submitted = await rig.send(
        payloads.modal_submit(
            custom_id=custom_id, values={"note": "hi"}, user_id=ALICE, permissions=MANAGE_SERVER
        )
    )
    assert "Runs the server: yes." in text_of(submitted)
    plain = await rig.send(
        payloads.modal_submit(custom_id=custom_id, values={"note": "hi"}, user_id=ALICE)
    )
    assert "Runs the server: no." in text_of(plain)


async def test_in_a_dm_what_the_server_last_said_counts(rig: Rig) -> None:
    """A DM click carries no permissions: a member seen running the server keeps the flag
    there; one seen without it doesn't get it; one who isn't a member there can't act in it
    at all."""
    answer = await rig.send(
        payloads.slash_command(
            path=("whoami",), options={"note": "x"}, user_id=ALICE, permissions=MANAGE_SERVER
        )
    )
    custom_id = button_id(answer, "Ask again")

    async def click_in_dm(user: int) -> str:
        return text_of(
            await rig.send(payloads.button_click(custom_id=custom_id, user_id=user, guild_id=None))
        )

    assert "Runs the server: yes." in await click_in_dm(ALICE)
    assert "belongs to another Discord server" in await click_in_dm(BOB)  # not one of ours
    await whoami_says(rig, user=BOB)  # now Bob is, without Manage Server
    assert "Runs the server: no." in await click_in_dm(BOB)
    await whoami_says(rig)  # Alice lost Manage Server
    assert "Runs the server: no." in await click_in_dm(ALICE)


# ----------------------------------------------------------------------- files


async def test_files_arrive_byte_for_byte_in_the_ephemeral_reply(rig: Rig) -> None:
    call = await rig.answer(payloads.slash_command(path=("files",), user_id=ALICE))
    assert call.json["type"] == MESSAGE
    assert call.json["data"]["flags"] & EPHEMERAL
    assert "Here you are." in text_of(call)
    assert files_of(call) == {"export-0.csv": _data(0), "export-1.csv": _data(1)}
    # Their titles become the files' descriptions (alt text).
    arrived = rig.fake.files_in(payloads.CHANNEL_ID)
    assert [(f["filename"], f["description"]) for f in arrived] == [
        ("export-0.csv", "Export 0"),
        ("export-1.csv", "Export 1"),
    ]


async def test_a_slow_answer_brings_its_files_in_the_follow_up(rig: Rig) -> None:
    rig.adapter.answer_within = 0.0
    payload = payloads.slash_command(path=("files",), options={"kb": "40"}, user_id=ALICE)
    first = await rig.answer(payload)
    assert first.json["type"] == DEFERRED and not first.files
    followups = await rig.followups(payload)
    assert followups[0].json["flags"] & EPHEMERAL
    assert files_of(followups[0]) == {"export-0.csv": _data(0, 40), "export-1.csv": _data(1, 40)}


async def test_a_dm_carries_its_files(rig: Rig) -> None:
    assert rig.adapter.notifier is not None
    chart = Attachment("progress.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png")
    await rig.adapter.notifier.send_dm(
        UserRef("discord", str(GUILD), str(ALICE)),
        Message(text="This week's cohort progress.", title="Cohort progress", attachments=(chart,)),
    )
    dm = rig.fake.dm_channel_id(ALICE)
    arrived = rig.fake.files_in(dm)
    assert [(f["filename"], f["data"]) for f in arrived] == [("progress.png", chart.data)]
    [message] = rig.fake.messages_in(dm)
    assert message["embeds"][0]["title"] == "Cohort progress"


async def test_more_than_ten_files_go_ten_a_message(rig: Rig) -> None:
    payload = payloads.slash_command(path=("files",), options={"count": "12"}, user_id=ALICE)
    first = await rig.answer(payload)
    followups = await rig.followups(payload)
    assert len(first.files) == 10
    assert [len(f.files) for f in followups] == [2]
    assert all(f.status == 200 for f in [first, *followups])
    arrived = {**files_of(first), **files_of(followups[0])}
    assert arrived == {f"export-{n}.csv": _data(n) for n in range(12)}
    assert followups[0].json["flags"] & EPHEMERAL


async def test_a_file_too_big_for_discord_is_named_instead(rig: Rig) -> None:
    too_big = UPLOAD_LIMIT + 1
    options = {"count": "1", "big": str(too_big)}
    call = await rig.answer(payloads.slash_command(path=("files",), options=options, user_id=ALICE))
    assert call.status < 300
    assert files_of(call) == {"export-0.csv": _data(0)}
    shown = text_of(call)
    assert "Here you are." in shown
    assert "huge.ics" in shown and "too big" in shown and "10 MB" in shown
    assert not [c for c in rig.fake.calls if c.status == 413]


async def test_files_discord_still_refuses_become_a_sentence(rig: Rig) -> None:
    """The server allows less than Tiara thought (413): the answer comes without the files,
    saying so, rather than not at all; the same for a DM."""
    rig.fake.upload_limit = 1024
    call = await rig.answer(
        payloads.slash_command(path=("files",), options={"kb": "4"}, user_id=ALICE)
    )
    answers = await rig.fake.wait_for("POST", call.path, count=2)
    assert answers[0].status == 413 and answers[-1].status < 300 and len(answers) == 2
    assert not answers[-1].files
    shown = text_of(answers[-1])
    assert "Here you are." in shown and "too big" in shown

    assert rig.adapter.notifier is not None
    await rig.adapter.notifier.send_dm(
        UserRef("discord", str(GUILD), str(ALICE)),
        Message(text="Your export.", attachments=_attachments(1, kb=4)),
    )
    [dm] = rig.fake.messages_in(rig.fake.dm_channel_id(ALICE))
    assert "Your export." in dm["content"] and "too big" in dm["content"]


async def test_files_go_on_the_first_of_several_messages(rig: Rig) -> None:
    options = {"title": "Cohort export", "words": "1500", "count": "1"}
    payload = payloads.slash_command(path=("files",), options=options, user_id=ALICE)
    first = await rig.answer(payload)
    followups = await rig.followups(payload)
    assert first.json["data"]["embeds"][0]["title"] == "Cohort export"
    assert files_of(first) == {"export-0.csv": _data(0)}
    assert followups and not any(f.files for f in followups)


async def test_file_contents_are_never_logged(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig.fake.upload_limit = 1024  # the refused path logs too
    secret = "Dana Lee 1,Acme"
    await rig.answer(payloads.slash_command(path=("files",), options={"kb": "4"}, user_id=ALICE))
    await rig.answer(payloads.slash_command(path=("files",), user_id=ALICE))
    assert "refused" in caplog.text
    assert secret not in caplog.text
