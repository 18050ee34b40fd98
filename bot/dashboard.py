"""A member's dashboard (Slack's App Home): what's coming up, what's waiting for them,
their practice, and buttons to log a meeting or get questions.

Each section is the answer its command gives (``meetings``, ``followups``, ``practice
status``): the same use case, rendered by the same function.
"""

from __future__ import annotations

from bot.commands.meetings import render_meetings
from bot.commands.practice import render_standing
from bot.commands.reminders import render_followups
from bot.usecases import Scope
from bot.usecases.meetings import list_meetings
from bot.usecases.practice import standing
from bot.usecases.reminders import list_reminders
from bot.values import Button, Message

__all__ = ["INTRO", "dashboard"]

INTRO = Message(
    text="Your informational interviews at a glance. Everything here is private to you.",
    buttons=(
        Button("Log a meeting", ("log",), style="primary", opens_form=True),
        Button("TIARA questions", ("prompts",)),
        Button("Help", ("help",)),
    ),
)


async def dashboard(scope: Scope | None, *, default_tz: str) -> list[Message]:
    """The dashboard's sections: the intro with its buttons, then the member's meetings
    and requests (``/tiara meetings``), their reminders (the first page of ``/tiara
    followups``) and their practice (``/tiara practice status``), in ``scope``'s unit of
    work, which must commit: reminders listed for the first time get their numbers.

    ``scope`` is None for someone Tiara doesn't know (never used it, or erased their
    data): only the intro, and nothing is written. ``default_tz``: the configured
    timezone, for a workspace without one (when its next practice round starts).
    """
    if scope is None:
        return [INTRO]
    return [
        INTRO,
        render_meetings(await list_meetings(scope)),
        render_followups(scope, await list_reminders(scope)),
        render_standing(scope, await standing(scope, default_tz=default_tz)),
    ]
