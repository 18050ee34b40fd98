"""One member never sees another's contacts, requests, meetings or notes."""

from __future__ import annotations

from bot.core import Bot
from tests.conftest import Member, everything

SECRET = "Quill said the reorg is confidential"


async def seed(alice: Member) -> None:
    await alice.ok("request contact=Zebedee Moss via=email")
    await alice.ok(
        f'log contact="Quill Ravenscroft" org=Zyxcorp when="yesterday 3pm" notes="{SECRET}"'
    )
    await alice.ok("log contact=Sorrel when=next Tuesday 10am")


async def test_a_second_member_sees_none_of_the_first(alice: Member, bob: Member) -> None:
    await seed(alice)
    typed = (
        "meetings",
        "show M1",
        "show R1",
        "edit M1 notes=mine now",
        "delete M1 ",
        "thanks M1",
        "contact Quill Ravenscroft",
        "prep M1",
        "prep Quill Ravenscroft",
        "prompts for=Quill Ravenscroft",
        "reply contact=Zebedee Moss outcome=declined",
        "reply id=R1 outcome=declined",
    )
    replies = [await bob(text) for text in typed]
    for text, reply in zip(typed, replies, strict=True):
        seen = everything(reply)
        for private in ("Quill", "Ravenscroft", "Zyxcorp", "Zebedee", "Sorrel", SECRET):
            if private not in text:  # bob may see his own words echoed, nothing more
                assert private not in seen, (private, seen)
    assert replies[0].title == "No meetings or requests yet"
    assert all(r.error for r in replies[1:])
    # And alice's data is untouched by bob's attempts.
    shown = await alice.ok("show M1")
    assert ("Notes", SECRET) in [(f.label, f.value) for f in shown.fields]
    assert "Waiting for a reply" in (await alice.ok("meetings")).text


async def test_short_ids_are_per_member(alice: Member, bob: Member) -> None:
    await seed(alice)
    await bob.ok("log contact=Bea when=yesterday notes=bob's own")
    shown = await bob.ok("show M1")
    assert shown.title == "M1 · Meeting with Bea"
    assert "alice" not in everything(shown) and SECRET not in everything(shown)


async def test_a_button_clicked_by_someone_else_acts_on_their_own_data(
    alice: Member, bob: Member
) -> None:
    await seed(alice)
    confirm = await alice.ok("delete M1")
    # Bob somehow clicks alice's "Delete" button: it must not delete alice's meeting.
    result = await bob.click("Delete", confirm)
    assert result.error
    assert (await alice.ok("show M1")).title == "M1 · Meeting with Quill Ravenscroft"


async def test_the_same_user_id_in_another_workspace_is_someone_else(
    alice: Member, bot: Bot
) -> None:
    await seed(alice)
    twin = Member(bot, "alice", workspace="another-cohort")
    assert (await twin.ok("meetings")).title == "No meetings or requests yet"
    assert (await twin("show M1")).error
    other_platform = Member(bot, "alice", workspace="cohort", platform="other")
    assert (await other_platform("contact Quill Ravenscroft")).error
