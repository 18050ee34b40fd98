"""The kinds of nudge, and the families a member can stop with one click."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

__all__ = [
    "CHECK_BACK",
    "FAMILIES",
    "FAMILY_NAMES",
    "FOLLOW_UP",
    "FOLLOW_UP_LAST",
    "KEEP_IN_TOUCH",
    "LANDED",
    "LOG_IT",
    "MOVE_ON",
    "PRACTICE_ALONE",
    "PRACTICE_CHECKIN",
    "PRACTICE_KINDS",
    "PRACTICE_PAUSED",
    "PRACTICE_REMIND",
    "PREP",
    "REFERRAL",
    "SECOND_CONTACT",
    "TELL_REFERRER",
    "THANKS",
    "THANKS_LAST",
    "WEEKLY_PLAN",
    "NudgeKind",
    "family_of",
]


class NudgeKind(StrEnum):
    """What a nudge reminds of (stored in ``nudges.kind``)."""

    THANKS = "thanks"  # a couple of hours after a meeting
    THANKS_LAST = "thanks_last"  # last call before the 24-hour mark
    PREP = "prep"  # the day before a meeting (or two hours before)
    LOG_IT = "log_it"  # an hour after a meeting: how did it go?
    FOLLOW_UP = "follow_up"  # no reply yet: follow up
    FOLLOW_UP_LAST = "follow_up_last"  # the second and last follow-up
    MOVE_ON = "move_on"  # no reply after the follow-ups
    CHECK_BACK = "check_back"  # they said "ask me later": the day to ask again
    SECOND_CONTACT = "second_contact"  # 3B7, business day 3: someone else at the organization
    REFERRAL = "referral"  # reach out to someone you were referred to
    TELL_REFERRER = "tell_referrer"  # tell the referrer how the meeting went
    KEEP_IN_TOUCH = "keep_in_touch"
    LANDED = "landed"  # tell everyone who helped
    WEEKLY_PLAN = "weekly_plan"
    PRACTICE_CHECKIN = "practice_checkin"  # midway through a round: did you meet?
    PRACTICE_REMIND = "practice_remind"  # not met yet: the one reminder before the round ends
    PRACTICE_ALONE = "practice_alone"  # nobody to pair with this round
    PRACTICE_PAUSED = "practice_paused"  # paused after ignoring three check-ins


# The kinds by their names, as the rest of the code writes them (k.THANKS).
THANKS = NudgeKind.THANKS
THANKS_LAST = NudgeKind.THANKS_LAST
PREP = NudgeKind.PREP
LOG_IT = NudgeKind.LOG_IT
FOLLOW_UP = NudgeKind.FOLLOW_UP
FOLLOW_UP_LAST = NudgeKind.FOLLOW_UP_LAST
MOVE_ON = NudgeKind.MOVE_ON
CHECK_BACK = NudgeKind.CHECK_BACK
SECOND_CONTACT = NudgeKind.SECOND_CONTACT
REFERRAL = NudgeKind.REFERRAL
TELL_REFERRER = NudgeKind.TELL_REFERRER
KEEP_IN_TOUCH = NudgeKind.KEEP_IN_TOUCH
LANDED = NudgeKind.LANDED
WEEKLY_PLAN = NudgeKind.WEEKLY_PLAN
PRACTICE_CHECKIN = NudgeKind.PRACTICE_CHECKIN
PRACTICE_REMIND = NudgeKind.PRACTICE_REMIND
PRACTICE_ALONE = NudgeKind.PRACTICE_ALONE
PRACTICE_PAUSED = NudgeKind.PRACTICE_PAUSED

PRACTICE_KINDS = (PRACTICE_CHECKIN, PRACTICE_REMIND, PRACTICE_ALONE, PRACTICE_PAUSED)

FAMILIES: dict[str, tuple[str, ...]] = {
    "thanks": (THANKS, THANKS_LAST),
    "prep": (PREP,),
    "log_it": (LOG_IT,),
    "follow_up": (FOLLOW_UP, FOLLOW_UP_LAST, MOVE_ON, SECOND_CONTACT, CHECK_BACK),
    "referrals": (REFERRAL, TELL_REFERRER),
    "keep_in_touch": (KEEP_IN_TOUCH,),
    "landed": (LANDED,),
    "weekly_plan": (WEEKLY_PLAN,),
    "practice": PRACTICE_KINDS,
}

FAMILY_NAMES = {
    "thanks": "thank-you reminders",
    "prep": "reminders to prepare",
    "log_it": "how-did-it-go check-ins",
    "follow_up": "follow-up reminders for unanswered requests",
    "referrals": "referral reminders",
    "keep_in_touch": "keep-in-touch reminders",
    "landed": "reminders to tell the people who helped",
    "weekly_plan": "weekly plans",
    "practice": "practice check-ins",
}

_FAMILY_OF = {kind: family for family, kinds in FAMILIES.items() for kind in kinds}

# How long after it is due a nudge is still worth sending (after an outage, say).
# Kinds not listed never go stale. Thank-you and prep nudges also stop at a hard deadline
# (the 24-hour mark, the meeting itself), set on the row.
STALE_AFTER: dict[str, timedelta] = {
    LOG_IT: timedelta(days=7),
    KEEP_IN_TOUCH: timedelta(days=30),
    WEEKLY_PLAN: timedelta(days=1),
}


def family_of(kind: str) -> str:
    return _FAMILY_OF[kind]
