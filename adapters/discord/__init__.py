"""Tiara on Discord: the ``/tiara`` command group, modals, persistent buttons and DMs."""
