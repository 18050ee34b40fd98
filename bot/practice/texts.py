"""What practice messages say: persona cards, the practice plan, the announcement."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from bot.questions import Tailoring, bank
from bot.timeutil import format_when
from bot.values import Button, Message

__all__ = [
    "ON_DEMAND",
    "PLAN_MINUTES",
    "announcement",
    "checkin_buttons",
    "persona",
    "practice_plan",
    "round_name",
]

PLAN_MINUTES = 25
_ANNOUNCED_GROUPS = 40  # beyond this the announcement says "…and N more"
# The number of a pairing on demand (`practice now`): only scheduled rounds are numbered
# (1, 2, 3...), so the first scheduled round is round 1 however many came before it.
ON_DEMAND = 0


def round_name(number: int, on_demand: bool) -> str:
    """How a member sees a round: "Round 3", or "On-demand practice" (never numbered)."""
    return "On-demand practice" if on_demand else f"Round {number}"


# The persona card: who the "professional" plays. Combined at random, so the same pair
# rarely rehearses the same conversation twice.
_ROLES = (
    "product manager",
    "data analyst",
    "UX researcher",
    "software engineer",
    "marketing lead",
    "financial analyst",
    "policy advisor",
    "program director",
    "operations manager",
    "recruiter",
    "consultant",
    "research scientist",
    "communications officer",
    "founder",
)
_ORGS = (
    "a 20-person startup",
    "a large multinational",
    "a city government office",
    "a nonprofit",
    "a university lab",
    "a mid-size agency",
    "a family-owned business",
    "a hospital system",
    "a fast-growing scale-up",
    "a consulting firm",
)
_FIELDS = (
    "healthcare",
    "climate and energy",
    "education",
    "fintech",
    "media",
    "retail",
    "transportation",
    "public policy",
    "gaming",
    "biotech",
    "agriculture",
    "cybersecurity",
)
_ASKED = ("trends", "insights", "advice", "resources", "assignments")


def persona(rng: random.Random) -> dict[str, str]:
    """A made-up professional for one practice conversation."""
    return {"role": rng.choice(_ROLES), "org": rng.choice(_ORGS), "field": rng.choice(_FIELDS)}


def _questions(card: dict[str, str], rng: random.Random) -> list[str]:
    """One question of each TIARA category, worded for the persona when the bank can."""
    # Asked of the professional: "Is your nonprofit heading...", not "Is a nonprofit...".
    org = card.get("org")
    if org:
        org = "your " + org.removeprefix("a ").removeprefix("an ")
    tailoring = Tailoring(org=org, role=card.get("role"), field=card.get("field"))
    lines = []
    for name in _ASKED:
        category = bank().categories[name]
        question = rng.choice(category.questions)
        lines.append(f"• {category.title}: {question.render(tailoring)}")
    return lines


def _with_article(phrase: str) -> str:
    """ "An operations manager", "A UX researcher": by the sound, as far as our roles go."""
    return ("An " if phrase[:1].lower() in "aeio" else "A ") + phrase


def _names(names: Sequence[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _deadline(ends_at: datetime, names: Sequence[str], zones: Sequence[str]) -> str:
    """The deadline in every zone of the group: "Mon 30 Nov 2026, 10:00 (Europe/Berlin)",
    or "... 04:00 for Ann (America/New_York), ... 10:00 for Ben and Cy (Europe/Berlin)"."""
    distinct = list(dict.fromkeys(zones))
    if len(distinct) == 1:
        return f"{format_when(ends_at, distinct[0])} ({distinct[0]})"
    parts = []
    for zone in distinct:
        who = [name for name, z in zip(names, zones, strict=True) if z == zone]
        parts.append(f"{format_when(ends_at, zone)} for {_names(who)} ({zone})")
    return "; ".join(parts)


def practice_plan(
    *,
    number: int,
    names: Sequence[str],
    card: dict[str, str],
    ends_at: datetime,
    zones: Sequence[str],
    rng: random.Random,
    on_demand: bool = False,
) -> Message:
    """The plan a group gets: who plays whom, the persona, questions, and the deadline.

    A pairing on demand (``on_demand``) has no round number and says so in its title.

    ``zones``: each member's timezone, in the order of ``names``. The deadline is shown in
    each zone the group lives in, naming who is where when they differ.
    """
    first, second = names[0], names[1]
    half = PLAN_MINUTES // 2
    if len(names) == 2:
        turns = [
            f"• First {half} minutes: {first} plays the professional below and {second} asks.",
            f"• Then swap: {second} plays the professional and {first} asks.",
        ]
    else:
        turns = [
            f"• About 8 minutes each: {first} plays the professional, {second} asks and "
            f"{names[2]} listens for what worked.",
            "• Then rotate twice, so everyone plays each part once.",
        ]
    role = f"{card['role']} at {card['org']}, working in {card['field']}"
    text = "\n\n".join(
        [
            f"You're practice partners{'' if on_demand else ' this round'}: {_names(names)}. "
            f"Find {PLAN_MINUTES} minutes together before {_deadline(ends_at, names, zones)}, "
            "on a call or in person.",
            f"How it goes ({PLAN_MINUTES} minutes)\n" + "\n".join(turns),
            f"The professional to play\n{_with_article(role)}. Invent the details you need "
            "and stay in "
            "character: answer the way a busy but friendly person in that job would.",
            "Questions to practise\n" + "\n".join(_questions(card, rng)),
            "Keep it real: open by saying who you are and why you asked, watch the time, "
            "and close by thanking them and asking who else you could talk to. Afterwards, "
            "tell each other one thing that went well and one to try next time.",
        ]
    )
    title = round_name(number, on_demand) if on_demand else f"Practice round {number}"
    return Message(title=f"{title}: {_names(names)}", text=text, private=True)


def announcement(
    *,
    number: int,
    groups: Sequence[Sequence[str]],
    ends_at: datetime,
    tz: str,
    next_at: datetime | None = None,
) -> Message:
    """The channel post: who practises with whom. Nothing private: names and the deadline.

    A round with nobody to pair (one person in practice) is not "on": the post says there
    are no pairs and when the next round starts, so whoever reads it can still join.
    """
    if not groups:
        nxt = next_at or ends_at
        return Message(
            title="No practice pairs this round",
            text=(
                "Only one person is in practice right now, so there's nobody to pair them "
                f"with. The next round starts {format_when(nxt, tz)} ({tz}): join before "
                "then and you'll get a partner and a practice plan by DM.\n\n"
                "Join: /tiara practice join"
            ),
            private=False,
        )
    shown = [f"• {_names(list(g))}" for g in groups[:_ANNOUNCED_GROUPS]]
    if len(groups) > _ANNOUNCED_GROUPS:
        shown.append(f"…and {len(groups) - _ANNOUNCED_GROUPS} more")
    parts = [
        f"{len(groups)} {'group' if len(groups) == 1 else 'groups'} this round, until "
        f"{format_when(ends_at, tz)} ({tz}). Each group has its practice plan in a DM.",
        "\n".join(shown),
        "Want in? /tiara practice join",
    ]
    return Message(title=f"Practice round {number} is on", text="\n\n".join(parts), private=False)


def checkin_buttons(round_number: int) -> tuple[Button, ...]:
    ref = {"round": str(round_number)}
    return (
        Button("Yes, we met", ("practice", "checkin"), {**ref, "answer": "yes"}, style="primary"),
        Button("Not yet", ("practice", "checkin"), {**ref, "answer": "not_yet"}),
        Button("Can't this round", ("practice", "checkin"), {**ref, "answer": "cant"}),
    )
