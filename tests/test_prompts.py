"""TIARA questions: a bank of our own, fresh selections, tailoring, and the prep checklist."""

from __future__ import annotations

import re

import pytest

from bot.questions import TIARA, Question, Tailoring, bank
from tests.conftest import Member, everything


def bullets(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("• ")]


def test_the_bank_covers_tiara_and_the_other_families() -> None:
    categories = bank().categories
    assert [categories[name].letter for name in TIARA] == ["T", "I", "A", "R", "A"]
    for name in TIARA:
        assert len(categories[name].questions) >= 6
    for name in ("job", "path", "preparation", "fit", "next"):
        assert len(categories[name].questions) >= 6
    ids = [q.id for c in categories.values() for q in c.questions]
    assert len(ids) == len(set(ids))


def test_tailoring_fills_known_values_and_falls_back_otherwise() -> None:
    question = Question(
        "x", "trends", "What is changing in your field?", "What is changing in {field}?"
    )
    assert question.render(Tailoring(field="public health")) == "What is changing in public health?"
    assert question.render(Tailoring(org="Acme")) == "What is changing in your field?"
    assert question.render(None) == "What is changing in your field?"


@pytest.mark.parametrize("name", list(bank().categories))
async def test_no_repeat_until_a_category_is_exhausted(alice: Member, name: str) -> None:
    size = len(bank().categories[name].questions)
    seen: list[str] = []
    while len(seen) < size:
        seen += bullets((await alice.ok(f"prompts {name}")).text)
    first_cycle = seen[:size]
    assert sorted(first_cycle) == sorted({q.text for q in bank().categories[name].questions})
    # The next call starts a new cycle: no question repeats inside one call.
    again = bullets((await alice.ok(f"prompts {name}")).text)
    assert len(again) == len(set(again)) == 3


async def test_all_gives_one_question_per_tiara_letter(alice: Member) -> None:
    message = await alice.ok("prompts")
    headings = re.findall(r"^([TIAR]) · (\w+)$", message.text, re.MULTILINE)
    assert headings == [
        ("T", "Trends"),
        ("I", "Insights"),
        ("A", "Advice"),
        ("R", "Resources"),
        ("A", "Assignments"),
    ]
    assert len(bullets(message.text)) == 5


async def test_prompts_for_a_contact_are_tailored(alice: Member) -> None:
    await alice.ok(
        'contact "Dana Lee" org="Acme Health" title="data analyst" field="public health"'
    )
    texts: list[str] = []
    for _ in range(4):
        texts += bullets((await alice.ok('prompts trends for="Dana Lee"')).text)
    assert any("Acme Health" in t or "public health" in t or "data analyst" in t for t in texts)
    assert not any("{" in t for t in texts)
    more = await alice.click("More trends")
    assert more.title == "T · Trends questions for Dana Lee"


async def test_unknown_category_lists_the_choices(alice: Member) -> None:
    message = await alice("prompts gossip")
    assert message.error and "trends" in message.text and "assignments" in message.text


async def test_prep_checklist_for_a_meeting(alice: Member) -> None:
    await alice.ok("log contact=Ann Wu referrals=Dana Lee")
    await alice.ok('contact "Dana Lee" org=Acme title=Director url=https://example.org/dana')
    await alice.ok('log contact="Dana Lee" when="next Tuesday 10am" venue=video')
    prep = await alice.ok("prep M2")
    fields = dict((f.label, f.value) for f in prep.fields)
    assert fields["Person"] == "Dana Lee, Director"
    assert fields["Meeting"] == "M2, Tue 24 Nov 2026, 10:00"
    assert fields["Referred by"] == "Ann Wu"
    for heading in ("Research", "Your short story", "Questions (TIARA)", "Venue", "During"):
        assert f"{heading}\n• " in prep.text
    assert "Mention that Ann Wu suggested you talk." in prep.text
    assert "Video: test the link" in prep.text
    assert "Profile: https://example.org/dana" in prep.text
    by_name = await alice.ok("prep dana lee")
    assert dict((f.label, f.value) for f in by_name.fields)["Meeting"].startswith("M2")


async def test_prep_for_an_unknown_target(alice: Member) -> None:
    assert "no contact named" in (await alice("prep Nobody")).text
    assert "can't find M9" in (await alice("prep M9")).text


async def test_prep_with_a_bare_number_means_the_meeting(alice: Member) -> None:
    """With both M1 and R1, `prep 1` is about the meeting, without asking."""
    await alice.ok('request "Dana Lee" via=email')
    await alice.ok('log "Sam Ortiz" when="Nov 20 2pm"')
    answer = await alice.ok("prep 1")
    assert "Sam Ortiz" in everything(answer) and "M1 or R1" not in everything(answer)
