"""TIARA questions and meeting preparation."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.questions import Question, Tailoring, bank
from bot.registry import Commands, Kind, Option
from bot.usecases import prompts as uc
from bot.usecases.lookup import label
from bot.values import Button, Field, Message

commands = Commands("Prepare")

_CATEGORIES = tuple(bank().categories)

_VENUE_TIPS = {
    "phone": "Phone: find a quiet spot, keep your notes and questions in front of you, and "
    "smile while you talk; it carries in your voice.",
    "video": "Video: test the link, camera and sound ten minutes early, tidy what is behind "
    "you, and look at the camera when you speak.",
    "in-person": "In person: plan to arrive ten minutes early, bring a notebook and a resume "
    "(offer it only if they ask), and offer to pay for the coffee.",
}


def _bullets(questions: tuple[Question, ...], tailoring: Tailoring | None) -> str:
    return "\n".join(f"• {q.render(tailoring)}" for q in questions)


@commands.command(
    "prompts",
    options=(
        Option(
            "category",
            Kind.CHOICE,
            "which kind of questions (default: one of each TIARA letter)",
            positional=True,
            choices=(uc.ALL, *_CATEGORIES),
        ),
        Option("for", Kind.NAME, "a contact, to tailor questions to their organization and role"),
    ),
    examples=("/tiara prompts", "/tiara prompts trends", '/tiara prompts advice for="Dana Lee"'),
    group="Prepare",
    aliases=("questions", "tiara"),
)
async def prompts(ctx: Context, args: dict[str, Any]) -> Message:
    """Get questions to ask: Trends, Insights, Advice, Resources, Assignments, and more.

    Each call shows questions you haven't seen yet, until a category runs out. Other
    families: job (the work itself), path (career paths), preparation, fit, next (next
    steps).
    """
    found = await uc.prompts(
        ctx.scope, category=args.get("category", uc.ALL), person=args.get("for")
    )
    person, tailoring = found.person, found.tailoring
    suffix = f" for {person.name}" if person else ""
    more_args: dict[str, object] = {"for": person.name} if person else {}
    if found.category == uc.ALL:
        parts = [
            f"{p.category.letter} · {p.category.title}\n{_bullets(p.questions, tailoring)}"
            for p in found.picked
        ]
        parts.append("More of one kind: /tiara prompts trends (or insights, advice, ...)")
        return Message(
            title=f"TIARA questions{suffix}",
            text="\n\n".join(parts),
            buttons=(Button("More questions", ("prompts",), more_args),),
        )
    [picked] = found.picked
    cat = picked.category
    heading = f"{cat.letter} · {cat.title}" if cat.letter else cat.title
    return Message(
        title=f"{heading} questions{suffix}",
        text=f"{cat.blurb}\n\n{_bullets(picked.questions, tailoring)}",
        buttons=(
            Button(f"More {cat.title.lower()}", ("prompts",), {**more_args, "category": cat.name}),
        ),
    )


@commands.command(
    "prep",
    options=(
        Option(
            "target",
            Kind.TEXT,
            "a contact's name or a meeting id such as M3",
            required=True,
            positional=True,
        ),
    ),
    examples=("/tiara prep M3", "/tiara prep Dana Lee"),
    group="Prepare",
)
async def prep(ctx: Context, args: dict[str, Any]) -> Message:
    """Get a preparation checklist for a meeting or contact, with tailored TIARA questions."""
    prepared = await uc.prep(ctx.scope, target=args["target"])
    person, meeting, referrer = prepared.person, prepared.meeting, prepared.referrer
    fields = [Field("Person", person.name + (f", {person.title}" if person.title else ""))]
    if person.organization:
        fields.append(Field("Organization", person.organization))
    if person.field:
        fields.append(Field("Field", person.field))
    if meeting is not None:
        fields.append(Field("Meeting", f"{label(meeting)}, {ctx.when(meeting.held_at)}"))
    if referrer is not None:
        fields.append(Field("Referred by", referrer.name))

    org = person.organization or "Their organization"
    research = [
        "Their background: past roles, education, anything you share (school, groups, "
        "interests)." + (f" Profile: {person.profile_url}" if person.profile_url else ""),
        f"{org}: recent news, announcements and reports.",
        f"The field{f' ({person.field})' if person.field else ''}: two or three changes "
        "to ask about.",
    ]
    story = [
        "Who you are and what you are exploring, in about 30 seconds.",
        "Why this field, and why them in particular.",
    ]
    if referrer is not None:
        story.append(f"Mention that {referrer.name} suggested you talk.")
    venue = meeting.venue if meeting is not None else None
    venue_tip = _VENUE_TIPS.get(
        venue or "",
        "Confirm the format (phone, video, in person), the time zone and who calls whom.",
    )
    during = [
        "Start with a little small talk, then your questions.",
        "Keep to the time you asked for, and never ask for a job.",
        "Ask who else you should talk to, and whether you may stay in touch.",
    ]
    sections = [
        "Research\n" + "\n".join(f"• {r}" for r in research),
        "Your short story\n" + "\n".join(f"• {s}" for s in story),
        "Questions (TIARA)\n" + _bullets(prepared.questions, prepared.tailoring),
        "Venue\n• " + venue_tip,
        "During\n" + "\n".join(f"• {d}" for d in during),
    ]
    if not (person.organization and person.title):
        sections.append(
            "Tip: add their details for sharper questions: "
            f'/tiara contact "{person.name}" title=... org=... field=...'
        )
    return Message(
        title=f"Prepare for {person.name}",
        text="\n\n".join(sections),
        fields=tuple(fields),
        buttons=(Button("More questions", ("prompts",), {"for": person.name}),),
    )
