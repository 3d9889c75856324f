"""What a survey may hold, and its satisfaction rate: the one definition for the import (each
row), the server (each pushed change) and the reports.

A survey counts households: `answered` of `asked` answered, and either `satisfied` of them
were satisfied, or each question has the answering households' mean score 1–5. A mean score
s counts as (s − 1) / 4 satisfied (1 → 0 %, 3 → 50 %, 5 → 100 %); several questions, their
mean. Coverage is answered ÷ asked: under 70 % the satisfaction KPI's points scale down by
coverage ÷ 70 % (docs/reports.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

COVERAGE = 0.7  # answers from under 70 % of the households asked scale the points down
HOUSEHOLDS_MAX = 10_000_000
QUESTIONS_MAX = 50
QUESTION_MAX = 200  # characters of a question's name


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for each value of a survey change that breaks the rules (the fields the
    change carries; the pairs are checked when it carries both)."""
    out: list[tuple[str, str]] = []
    asked, answered = values.get("asked"), values.get("answered")
    satisfied, scores = values.get("satisfied"), values.get("scores")
    if "asked" in values and not (isinstance(asked, int) and 1 <= asked <= HOUSEHOLDS_MAX):
        out.append(("asked", f"households asked: a whole number from 1 to {HOUSEHOLDS_MAX:,}"))
    if "answered" in values and not (isinstance(answered, int) and 0 <= answered <= HOUSEHOLDS_MAX):
        out.append(
            ("answered", f"households answering: a whole number from 0 to {HOUSEHOLDS_MAX:,}")
        )
    elif isinstance(asked, int) and isinstance(answered, int) and answered > asked:
        out.append(("answered", f"{answered} households answered, more than the {asked} asked"))
    if satisfied is not None:
        if not _number(satisfied) or satisfied < 0:
            out.append(("satisfied", "households satisfied: a number ≥ 0"))
        elif isinstance(answered, int) and satisfied > answered:
            out.append(
                (
                    "satisfied",
                    f"{satisfied:g} households satisfied, more than the {answered} answering",
                )
            )
    if scores is not None:
        if not isinstance(scores, dict):
            out.append(("scores", "an object of question → mean score 1–5"))
        elif len(scores) > QUESTIONS_MAX:
            out.append(("scores", f"at most {QUESTIONS_MAX} questions"))
        else:
            for q, s in scores.items():
                if not q.strip() or len(q) > QUESTION_MAX:
                    out.append(("scores", f"a question's name has 1–{QUESTION_MAX} characters"))
                elif not _number(s) or not 1 <= s <= 5:
                    out.append((f"scores.{q}", "a mean score from 1 to 5"))
    if "satisfied" in values and "scores" in values and satisfied is None and not scores:
        out.append(("satisfied", "a survey needs households satisfied or the questions' scores"))
    return out


def score_rate(mean: float) -> float:
    """The share satisfied a mean score 1–5 stands for."""
    return (mean - 1) / 4


def satisfied_of(answered: int, satisfied: float | None, scores: Mapping[str, float]) -> float:
    """Households satisfied (or their equivalent from the questions' scores), at most the
    households answering."""
    if satisfied is not None:
        return min(float(satisfied), float(answered))
    if not scores:
        return 0.0
    mean = sum(score_rate(float(s)) for s in scores.values()) / len(scores)
    return answered * min(1.0, max(0.0, mean))


def factor(answered: float, asked: float) -> float:
    """The coverage rule: 1 at ≥ 70 % of households answering, else coverage ÷ 70 %."""
    if asked <= 0:
        return 1.0
    return min(1.0, (answered / asked) / COVERAGE)
