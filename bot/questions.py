"""The TIARA question bank (``data/questions.toml``) and fresh selections from it."""

from __future__ import annotations

import random
import string
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from storage.models import Member, PromptSeen
from storage.unit import UnitOfWork

__all__ = ["TIARA", "Category", "Question", "QuestionBank", "Tailoring", "bank"]

TIARA = ("trends", "insights", "advice", "resources", "assignments")


@dataclass(frozen=True, slots=True)
class Tailoring:
    """What is known about the contact, to fill a question's placeholders."""

    org: str | None = None
    role: str | None = None
    field: str | None = None

    def values(self) -> dict[str, str]:
        return {
            k: v for k, v in (("org", self.org), ("role", self.role), ("field", self.field)) if v
        }


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    category: str
    text: str
    tailored: str | None = None

    def render(self, tailoring: Tailoring | None = None) -> str:
        """The tailored wording when every value it needs is known, else the plain one."""
        if self.tailored and tailoring is not None:
            known = tailoring.values()
            needed = {name for _, name, _, _ in string.Formatter().parse(self.tailored) if name}
            if needed <= known.keys():
                return self.tailored.format(**known)
        return self.text


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    title: str
    letter: str | None
    blurb: str
    questions: tuple[Question, ...]


class QuestionBank:
    """Categories of questions, in the order the bot shows them."""

    def __init__(self, categories: tuple[Category, ...]) -> None:
        self.categories = {c.name: c for c in categories}

    @classmethod
    def from_toml(cls, text: str) -> QuestionBank:
        data = tomllib.loads(text)
        categories = []
        for name, raw in data["categories"].items():
            questions = tuple(
                Question(q["id"], name, q["text"], q.get("tailored")) for q in raw["questions"]
            )
            categories.append(
                Category(name, raw["title"], raw.get("letter"), raw["blurb"], questions)
            )
        return cls(tuple(categories))

    async def pick(
        self,
        uow: UnitOfWork,
        member: Member,
        category: str,
        count: int,
        *,
        now: datetime,
        rng: random.Random,
    ) -> list[Question]:
        """Choose ``count`` questions the member has not seen since the category was exhausted."""
        pool = self.categories[category].questions
        seen = await uow.tracker.seen_questions(member.id, category)
        unseen = [q for q in pool if q.id not in seen]
        chosen = rng.sample(unseen, min(count, len(unseen)))
        if len(chosen) < count:
            # Every question has been shown: start the cycle again, without repeating these.
            await uow.tracker.forget_seen(member.id, category)
            rest = [q for q in pool if q not in chosen]
            chosen += rng.sample(rest, min(count - len(chosen), len(rest)))
        for question in chosen:
            uow.add(
                PromptSeen(
                    workspace_id=member.workspace_id,
                    member_id=member.id,
                    category=category,
                    question_id=question.id,
                    seen_at=now,
                )
            )
        return chosen


@cache
def bank() -> QuestionBank:
    """The bank shipped with Tiara."""
    text = resources.files("bot").joinpath("data/questions.toml").read_text(encoding="utf-8")
    return QuestionBank.from_toml(text)
