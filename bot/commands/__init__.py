"""All ``/tiara`` subcommands. Importing this package registers them."""

from bot.commands import general, practice, prompts, reminders, tracker
from bot.commands._registry import registry

__all__ = ["general", "practice", "prompts", "registry", "reminders", "tracker"]
