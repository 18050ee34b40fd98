"""One way of saying things: ids or unique names, "did you mean" for option values,
command groups, and paging through reminders."""

from __future__ import annotations

from tests.conftest import Member, everything


async def test_reply_takes_a_request_id_positionally(alice: Member) -> None:
    sent = await alice.ok('request contact="Dana Lee" org=Acme via=email when="yesterday"')
    rid = sent.title.split()[1]
    assert rid.startswith("R")
    answer = await alice.ok(f"reply {rid} outcome=scheduled")
    assert "Dana Lee replied (scheduled)" in (answer.title or "")


async def test_thanks_takes_the_contacts_name(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" org=Acme when="1 hour ago"')
    answer = await alice.ok("thanks Dana Lee")
    assert "Thank-you to Dana Lee recorded" in (answer.title or "")


async def test_a_name_with_several_meetings_lists_them_with_ids(alice: Member) -> None:
    await alice.ok('log contact="Dana Lee" when="2 days ago"')
    await alice.ok('log contact="Dana Lee" when="1 day ago"')
    answer = await alice("show Dana Lee")
    assert answer.error
    assert "M1" in answer.text and "M2" in answer.text and "/tiara show M" in answer.text
    # A thank-you goes to the one still without one.
    await alice.ok("thanks M1")
    thanked = await alice.ok("thanks Dana")
    assert "Thank-you to Dana Lee" in (thanked.title or "")
    shown = await alice.ok("show M2")
    assert "thank-you sent" in everything(shown)


async def test_prompts_for_a_unique_start_of_a_name(alice: Member) -> None:
    await alice.ok('contact "Priya Shah" org=Globex')
    await alice.ok('contact "Sam Ortiz" org=Initech')
    answer = await alice.ok("prompts for=Priya")
    assert "for Priya Shah" in (answer.title or "")


async def test_an_ambiguous_start_of_a_name_lists_the_candidates(alice: Member) -> None:
    await alice.ok('contact "Dana Lee" org=Acme')
    await alice.ok('contact "Dana Wu" org=Globex')
    answer = await alice("prompts for=Dana")
    assert answer.error
    assert "Dana Lee" in answer.text and "Dana Wu" in answer.text


async def test_landed_takes_the_organization_positionally(alice: Member) -> None:
    answer = await alice.ok("landed Acme")
    assert "Acme" in (answer.title or "")


async def test_practice_pause_reads_weeks_as_typed(alice: Member) -> None:
    await alice.ok("practice join")
    answer = await alice.ok("practice pause 2 weeks")
    assert "2 weeks" in (answer.title or "")
    bad = await alice("practice pause forever")
    assert bad.error and "practice pause 2 weeks" in bad.text
    long = await alice("practice pause 13 weeks")
    assert long.error and "13 weeks is more than that" in long.text
    status = await alice.ok("practice status")
    assert "Paused" in everything(status)


async def test_a_misspelt_choice_gets_a_did_you_mean_and_saves_nothing(alice: Member) -> None:
    answer = await alice("prompts resourses")
    assert answer.error and "Did you mean resources?" in answer.text
    venue = await alice('log contact="Dana Lee" venue=zoom')
    assert venue.error and "Did you mean venue=video?" in venue.text
    via = await alice('request contact="Sam Ortiz" via=mail')
    assert via.error and "Did you mean via=email?" in via.text
    listing = await alice.ok("meetings")
    assert listing.title == "No meetings or requests yet"
    nothing = await alice('log contact="Dana Lee" venue=spaceship')
    assert nothing.error and "phone, video, in-person" in nothing.text
    assert "Did you mean" not in nothing.text


async def test_a_did_you_mean_button_runs_the_command_with_that_choice(alice: Member) -> None:
    typo = await alice('log contact="Dana Lee" when="today 10am" venue=zom')
    assert typo.error and "Did you mean venue=video?" in typo.text
    assert [b.label for b in typo.buttons] == ["Yes, video"]
    logged = await alice.click("Yes, video", typo)
    assert not logged.error and "Dana Lee" in (logged.title or "")
    shown = await alice.ok("meetings")
    assert "video" in everything(shown)
    # Picking the right choice doesn't confirm anything else: a surprising date still asks.
    old = await alice('request contact="Sam Ortiz" via=mial when="2020-01-01"')
    picked = await alice.click("Yes, email", old)
    assert "2020" in picked.text and "Is that right?" in picked.text
    assert "Sam Ortiz" not in everything(await alice.ok("meetings"))
    sure = await alice.click("Yes, Wed 1 Jan 2020", picked)
    assert "Sam Ortiz" in (sure.title or "")


async def test_a_choice_that_starts_a_value_is_taken(alice: Member) -> None:
    await alice.ok('request contact="Dana Lee" via=email')
    answer = await alice.ok('reply "Dana Lee" outcome=schedule')
    assert "(scheduled)" in (answer.title or "")


async def test_a_group_name_shows_its_subcommands(alice: Member) -> None:
    bare = await alice.ok("practice")
    assert "/tiara practice join" in bare.text and "/tiara practice pause" in bare.text
    for group, sub in (
        ("practice", "practice now"),
        ("coach", "coach stats"),
        ("nudge", "nudge stop"),
    ):
        answer = await alice.ok(f"help {group}")
        assert f"/tiara {sub}" in answer.text, group
    assert "for coaches only" in (await alice.ok("help coach")).text
    assert "/tiara nudge done" in (await alice.ok("help nudge")).text
    typo = await alice("practice pauze")
    assert typo.error and "Did you mean `practice pause`?" in typo.text
    wrong = await alice.ok("practice xyzzy")  # nothing close: the group's list
    assert "has no 'xyzzy'" in wrong.text and "/tiara practice pause" in wrong.text
    assert "referrals, or a request's when" in (await alice.ok("help edit")).text
    assert "nudges=<on|off>" in (await alice.ok("help settings")).text
    assert "/tiara practice join" in (await alice.ok("help practice join")).title


async def test_followups_pages_through_every_reminder_with_buttons(alice: Member) -> None:
    for n in range(5):
        await alice.ok(f'request contact="Person {n}" via=email')
    page = await alice.ok("followups")
    assert "page 1 of" in (page.title or "")
    seen: list[str] = []
    while True:
        ids = [b.label.removeprefix("Done ") for b in page.buttons if b.label.startswith("Done")]
        assert 0 < len(ids) <= 10
        assert all(f"Snooze {i}" in [b.label for b in page.buttons] for i in ids)
        assert all(i in page.text for i in ids)
        seen += ids
        if not any(b.label == "More" for b in page.buttons):
            break
        assert "more: /tiara followups page=" in page.text
        page = await alice.click("More", page)
    assert len(seen) == len(set(seen)) > 10  # every reminder, each once
    done = await alice.click(f"Done {seen[-1]}", page)
    assert not done.error
    too_far = await alice("followups page=9")
    assert too_far.error and "/tiara followups" in too_far.text
    assert (await alice("followups page=two")).error
