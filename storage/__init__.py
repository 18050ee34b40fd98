"""Tiara's storage: SQLAlchemy 2.x models, sessions, Alembic migrations and queries."""

from storage.store import Store

__all__ = ["Store"]
