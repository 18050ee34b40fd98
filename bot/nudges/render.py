"""What a nudge says. One member's due nudges become one direct message."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.items import item_label
from bot.nudges import kinds as k
from bot.nudges.plan import THANKS_WINDOW
from bot.practice.texts import checkin_buttons
from bot.questions import TIARA, Tailoring, bank
from bot.timeutil import format_when
from bot.values import Button, Message
from storage.models import Contact, Landing, Meeting, Nudge, OutreachRequest

__all__ = [
    "Extras",
    "PracticeView",
    "Section",
    "compose",
    "describe",
    "nudge_label",
    "subject",
]

_CLIP = 400
_MAX_LABEL = 75  # Slack's limit for a button's text (Discord's is 80)


def nudge_label(nudge: Nudge) -> str:
    """The reminder's short id (N4). It is given as the member first sees the reminder
    (NudgeRepo.number): whatever shows one numbers it first."""
    if nudge.seq is None:
        raise ValueError(f"nudge {nudge.id} is shown before it was numbered")
    return item_label("N", nudge.seq)


def _clip(text: str, limit: int = _CLIP) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(contact: Contact) -> str:
    return f"{contact.name} ({contact.organization})" if contact.organization else contact.name


@dataclass(frozen=True)
class Extras:
    """What some nudges need beyond their own subject (looked up when they are sent)."""

    landing: Landing | None = None
    helpers: tuple[str, ...] = ()
    week_meetings: tuple[Meeting, ...] = ()
    week_nudges: tuple[Nudge, ...] = ()
    practice: PracticeView | None = None


@dataclass(frozen=True)
class PracticeView:
    """The member's place in a practice round, for its check-in and reminder."""

    number: int
    ends_at: datetime
    partners: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One nudge's part of a message."""

    title: str
    text: str
    actions: tuple[Button, ...] = field(default=())


def _days_ago(then: datetime, now: datetime, tz: str) -> str:
    """Calendar days in the member's timezone: sent Monday afternoon is "1 day ago" Tuesday."""
    zone = ZoneInfo(tz)
    days = (now.astimezone(zone).date() - then.astimezone(zone).date()).days
    if days < 1:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


def _meeting_ref(meeting: Meeting) -> str:
    return item_label("M", meeting.seq)


def _request_ref(request: OutreachRequest) -> str:
    return item_label("R", request.seq)


def _prep_questions(nudge: Nudge, contact: Contact) -> list[str]:
    rng = random.Random(nudge.id)
    tailoring = Tailoring(org=contact.organization, role=contact.title, field=contact.field)
    questions = bank()
    picked = []
    for name in TIARA:
        category = questions.categories[name]
        question = rng.choice(category.questions)
        picked.append(f"{category.letter}: {question.render(tailoring)}")
    return picked


def describe(nudge: Nudge, *, tz: str, now: datetime, extras: Extras | None = None) -> Section:
    """The title, text and action buttons of one nudge, in the member's timezone."""
    extras = extras or Extras()
    meeting, request, contact = nudge.meeting, nudge.request, nudge.contact
    kind = nudge.kind

    def when(moment: datetime) -> str:
        return format_when(moment, tz)

    if kind in (k.THANKS, k.THANKS_LAST) and meeting is not None:
        person = meeting.contact
        deadline = meeting.held_at + THANKS_WINDOW
        title = (
            f"Last call: thank {person.name} by {when(deadline)}"
            if kind == k.THANKS_LAST
            else f"Time for your thank-you to {person.name}"
        )
        lines = [
            f"You met {person.name} {when(meeting.held_at)}. A short thank-you within 24 hours "
            "is what people remember; mention one or two things you learned."
        ]
        if meeting.notes:
            lines.append(f"From your notes:\n“{_clip(meeting.notes)}”")
        if meeting.followups:
            lines.append(f"You also promised: {_clip(meeting.followups, 200)}")
        return Section(
            title,
            "\n\n".join(lines),
            (
                Button(
                    "Thank-you sent",
                    ("thanks",),
                    {"id": _meeting_ref(meeting)},
                    "primary",
                ),
            ),
        )
    if kind == k.PREP and meeting is not None:
        person = meeting.contact
        lines = [
            f"You meet {_who(person)} {when(meeting.held_at)}"
            + (f" ({meeting.venue})" if meeting.venue else "")
            + ".",
            "Before then:\n• Look up their background and anything you share.\n"
            "• Skim recent news about their organization and field.\n"
            "• Rehearse a 30-second introduction: who you are and what you are exploring.\n"
            "• Confirm the time and how you will meet.",
            "Questions to start from:\n"
            + "\n".join(f"• {q}" for q in _prep_questions(nudge, person)),
        ]
        return Section(
            f"Prepare for {person.name}",
            "\n\n".join(lines),
            (Button("Full checklist", ("prep",), {"target": _meeting_ref(meeting)}, "primary"),),
        )
    if kind == k.LOG_IT and meeting is not None:
        person = meeting.contact
        return Section(
            f"How did it go with {person.name}?",
            "Write it down while it's fresh: what you learned, their advice, what you promised, "
            "and anyone they suggested you talk to. Then I'll remind you about the thank-you.",
            (
                Button(
                    "Log how it went",
                    ("log",),
                    {"id": _meeting_ref(meeting), "contact": person.name},
                    "primary",
                    opens_form=True,
                ),
            ),
        )
    if kind == k.CHECK_BACK and request is not None:
        person = request.contact
        return Section(
            f"Check back with {person.name}",
            f"{person.name} asked you to come back later, and later is now. Reply in the same "
            "thread: a friendly line that reminds them of your earlier conversation and "
            "asks again for 20 minutes.",
            (
                Button(
                    "They agreed", ("reply",), {"id": _request_ref(request), "outcome": "scheduled"}
                ),
                Button(
                    "They declined",
                    ("reply",),
                    {"id": _request_ref(request), "outcome": "declined"},
                ),
            ),
        )
    if kind in k.FAMILIES["follow_up"] and request is not None:
        person = request.contact
        asked = f"You asked {person.name} for a conversation {_days_ago(request.sent_at, now, tz)}"
        reply_buttons = (
            Button(
                "They agreed", ("reply",), {"id": _request_ref(request), "outcome": "scheduled"}
            ),
            Button(
                "They declined", ("reply",), {"id": _request_ref(request), "outcome": "declined"}
            ),
        )
        if kind == k.SECOND_CONTACT:
            org = person.organization
            place = org if org else "the same organization"
            return Section(
                f"Three business days: try a second person at {place}",
                f"{asked} and have no answer yet. Don't wait: write to someone else at {place} "
                f"as well. In a few days I'll remind you to follow up once with {person.name}.",
                reply_buttons,
            )
        if kind == k.MOVE_ON:
            return Section(
                f"Time to move on from {person.name}",
                f"{asked} and have had no answer. That happens to everyone; many people "
                "never reply. Put your energy into the next name on your list. If "
                f"{person.name} writes back later: /tiara reply {_request_ref(request)} "
                "outcome=scheduled",
                (),
            )
        last = kind == k.FOLLOW_UP_LAST
        return Section(
            f"{'Last follow-up' if last else 'Follow up'} with {person.name}",
            f"{asked} via {request.via}, with no reply yet. People miss messages; a short, "
            "friendly follow-up in the same thread that restates your ask is normal."
            + (" This is the last one: after it, let it rest." if last else ""),
            reply_buttons,
        )
    if kind == k.REFERRAL and contact is not None:
        # The meeting where someone suggested them names the referrer.
        referrer = meeting.contact if meeting is not None else None
        if referrer is not None and referrer.id != contact.id:
            return Section(
                f"Reach out to {contact.name} — {referrer.name} suggested them",
                f"Name {referrer.name} in your subject line and in your first sentence: a "
                "shared connection is the best reason to say yes.",
                (Button("I sent a request", ("request",), {"contact": contact.name}, "primary"),),
            )
        return Section(
            f"Reach out to {contact.name}",
            "You were referred to them. Name the person who referred you in the subject line "
            "and your first sentence: a shared connection is the best reason to say yes.",
            (Button("I sent a request", ("request",), {"contact": contact.name}, "primary"),),
        )
    if kind == k.TELL_REFERRER and contact is not None and meeting is not None:
        return Section(
            f"Tell {contact.name} how it went",
            f"{contact.name} introduced you to {meeting.contact.name}, whom you met "
            f"{when(meeting.held_at)}. People who make introductions like to hear how they "
            "turned out: two friendly lines are enough.",
            (),
        )
    if kind == k.KEEP_IN_TOUCH and contact is not None:
        last_at = contact.last_contact_at
        since = f" (last in touch {when(last_at)})" if last_at is not None else ""
        return Section(
            f"Check in with {_who(contact)}",
            f"It has been a while{since}. Send a short note: an article they'd like, "
            "congratulations on their news, or an update on what you've done since you spoke.",
            (),
        )
    if kind == k.LANDED:
        landing = extras.landing
        what = (
            f"{landing.role} at {landing.organization}"
            if landing is not None and landing.role
            else (landing.organization if landing is not None else "your new path")
        )
        helpers = ", ".join(extras.helpers) if extras.helpers else "the people you met"
        return Section(
            "Tell the people who helped",
            f"Congratulations on {what}. Let each of them know and thank them again: {helpers}.",
            (),
        )
    if kind == k.WEEKLY_PLAN:
        lines = [
            f"• {when(m.held_at)}: meeting with {_who(m.contact)}" for m in extras.week_meetings
        ]
        lines += [
            f"• {when(n.due_at)}: {describe(n, tz=tz, now=now).title}" for n in extras.week_nudges
        ]
        body = (
            "\n".join(lines)
            if lines
            else "Nothing is scheduled yet. A good week to send a request or two."
        )
        return Section("Your week", body, ())
    if kind in k.PRACTICE_KINDS:
        return _practice(kind, extras.practice, when)
    # The subject was deleted after the nudge was claimed: say so briefly.
    return Section("A reminder", "This reminder's meeting or request no longer exists.", ())


def _practice(kind: str, view: PracticeView | None, when: Callable[[datetime], str]) -> Section:
    if kind == k.PRACTICE_PAUSED:
        return Section(
            "Practice paused",
            "You haven't answered the last three practice check-ins, so I've paused your "
            "practice rounds. Whenever you'd like partners again, resume with one click or "
            "/tiara practice join.",
            (Button("Resume practice", ("practice", "join")),),
        )
    if kind == k.PRACTICE_ALONE:
        return Section(
            "No practice partner this round",
            "You're the only one in practice right now, so I couldn't pair you. I'll try "
            "again next round, or ask for a partner any time with /tiara practice now.",
            (Button("Find a partner now", ("practice", "now")),),
        )
    if view is None:  # listed in followups, where the round's details aren't loaded
        return Section(
            "Did you meet your practice partner?"
            if kind == k.PRACTICE_CHECKIN
            else "Practise with your partner",
            "Your practice round is on: a 25-minute call is enough. /tiara practice status "
            "shows who and until when.",
            (),
        )
    with_whom = " and ".join(view.partners) or "your partners"
    actions = checkin_buttons(view.number)
    ends = f"Round {view.number} ends"  # only scheduled rounds have check-ins
    if kind == k.PRACTICE_CHECKIN:
        return Section(
            f"Did you meet {with_whom} for practice?",
            f"{ends} {when(view.ends_at)}. Tell me how it's going.",
            actions,
        )
    return Section(
        f"Still time to practise with {with_whom}",
        f"{ends} {when(view.ends_at)}. A 25-minute call is enough: send them two times "
        "that suit you.",
        actions,
    )


def subject(nudge: Nudge) -> Contact | None:
    """The person a nudge is about, if any (its meeting's, request's or own contact)."""
    if nudge.kind in (k.REFERRAL, k.TELL_REFERRER, k.KEEP_IN_TOUCH) and nudge.contact is not None:
        return nudge.contact
    if nudge.meeting is not None:
        return nudge.meeting.contact
    if nudge.request is not None:
        return nudge.request.contact
    return nudge.contact


def _named(button: Button, nudge: Nudge) -> Button:
    """A button in a grouped message says whom it is about ("Thank-you sent: Dana Lee")."""
    person = subject(nudge)
    if person is None or nudge.kind in k.PRACTICE_KINDS:
        return button
    label = f"{button.label}: {person.name}"
    if len(label) > _MAX_LABEL:
        label = label[: _MAX_LABEL - 1] + "…"
    return replace(button, label=label)


def _controls(nudge: Nudge, *, single: bool) -> tuple[Button, ...]:
    if nudge.kind in k.PRACTICE_KINDS:
        return ()  # their own buttons say everything
    ref = {"id": nudge_label(nudge)}
    # A snooze button carries no time: like a typed `snooze N4`, it lands at the member's
    # nudge time a day (or a week) after the later of the click and the due time.
    if not single:
        return (
            Button(f"Done ({nudge_label(nudge)})", ("done",), ref),
            Button(f"Snooze {nudge_label(nudge)}", ("snooze",), ref),
        )
    return (
        Button("Done", ("done",), ref),
        Button("Snooze to tomorrow", ("snooze",), ref),
        Button("Snooze 1 week", ("snooze",), {**ref, "days": "7"}),
        Button("Stop these", ("nudge", "stop"), {"kind": k.family_of(nudge.kind)}),
    )


_MAX_BUTTONS = 25  # Slack's actions block and a Discord view both hold 25


def compose(nudges: Sequence[Nudge], sections: Sequence[Section]) -> Message:
    """One direct message for all of one member's due nudges."""
    if len(nudges) == 1:
        section = sections[0]
        return Message(
            title=section.title,
            text=section.text,
            buttons=section.actions + _controls(nudges[0], single=True),
        )
    parts = []
    buttons: list[Button] = []
    for nudge, section in zip(nudges, sections, strict=True):
        parts.append(f"{nudge_label(nudge)} · {section.title}\n{section.text}")
        extra = tuple(_named(b, nudge) for b in section.actions[:1])
        extra += _controls(nudge, single=False)
        if len(buttons) + len(extra) <= _MAX_BUTTONS:
            buttons.extend(extra)
    parts.append("Snooze or stop any of these: /tiara followups")
    return Message(
        title=f"{len(nudges)} things for you today",
        text="\n\n".join(parts),
        buttons=tuple(buttons),
    )
