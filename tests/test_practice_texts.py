"""A practice plan reads as English: the right article, and questions asked of the person."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from bot.practice.texts import practice_plan

ENDS = datetime(2026, 11, 30, 10, tzinfo=UTC)


def _plan(role: str, org: str, seed: int = 1) -> str:
    card = {"role": role, "org": org, "field": "healthcare"}
    message = practice_plan(
        number=1,
        names=["ann", "ben"],
        card=card,
        ends_at=ENDS,
        zones=["UTC", "UTC"],
        rng=random.Random(seed),
    )
    return message.text


def test_a_role_starting_with_a_vowel_takes_an() -> None:
    assert "An operations manager at a nonprofit" in _plan("operations manager", "a nonprofit")
    assert "A UX researcher at a nonprofit" in _plan("UX researcher", "a nonprofit")


def test_questions_ask_about_their_organization_not_a_made_up_one() -> None:
    for seed in range(40):
        text = _plan("founder", "a nonprofit", seed)
        assert "a nonprofit heading" not in text and " at a nonprofit?" not in text
    assert any("your nonprofit" in _plan("founder", "a nonprofit", s) for s in range(40))
