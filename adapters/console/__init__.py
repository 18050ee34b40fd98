"""The console adapter: Tiara in a terminal, interactive or scripted through a pipe."""

from adapters.console.adapter import ConsoleAdapter
from adapters.console.notifier import ConsoleNotifier
from adapters.console.render import render

__all__ = ["ConsoleAdapter", "ConsoleNotifier", "render"]
