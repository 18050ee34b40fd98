"""Tiara's platform-neutral core: the domain, the command registry and the dispatcher."""
