"""The ``/tiara`` commands, one module per area; each exports its ``commands``.

Nothing registers on import: whoever builds the bot hands the modules' ``commands`` to a
:class:`~bot.registry.Registry` (``adapters.bootstrap.build_registry``), so a test can
build a bot with only some of them.
"""

from bot.commands import (
    coach,
    contacts,
    general,
    meetings,
    practice,
    prompts,
    reminders,
    requests,
    tracker,
)
from bot.registry import Commands

__all__ = ["ALL"]

# Every area's commands. Their order is the order of the manifest's command lists.
ALL: tuple[Commands, ...] = (
    coach.commands,
    general.commands,
    practice.commands,
    prompts.commands,
    reminders.commands,
    # The tracker: requests and replies, meetings, one item by its id, contacts.
    requests.commands,
    meetings.commands,
    tracker.commands,
    contacts.commands,
)
