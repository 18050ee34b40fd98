"""The registry every command module adds to."""

from bot.registry import Registry

registry = Registry()
