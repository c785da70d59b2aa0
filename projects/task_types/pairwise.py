from collections import Counter
from typing import Literal

from pydantic import Field

from .base import Strict, TaskType

Text = Field(min_length=1, max_length=200_000)
CHOICES = ("A", "B", "tie")
# The tie rule of the final label weighs each vote by how strongly it was made.
STRENGTH_WEIGHT = {"slight": 1, "clear": 2, "strong": 3}


class Payload(Strict):
    prompt: str = Text
    response_a: str = Text
    response_b: str = Text


class Answer(Strict):
    choice: Literal["A", "B", "tie"]
    strength: Literal["slight", "clear", "strong"]
    reason: str = Field(min_length=1, max_length=5_000)


class Pairwise(TaskType):
    key = "pairwise"
    label = "Pairwise comparison"
    description = "Read a prompt and two responses; choose the better one, how strongly, and why."
    payload_schema = Payload
    answer_schema = Answer
    example_payload = {
        "prompt": "Explain photosynthesis to a ten-year-old.",
        "response_a": "Plants eat sunlight to make sugar from air and water.",
        "response_b": "Photosynthesis is the conversion of light energy into chemical energy.",
    }

    agreement_level = "nominal"
    form_fields = {"choice": ("choice", "which response is better"),
                   "strength": ("strength", "how strongly you prefer it"), "reason": ("reason", "your reason")}

    def answer_from_form(self, post):
        return {key: post.get(key, "") for key in ("choice", "strength", "reason")}

    def agreement_value(self, answer):
        return answer["choice"]

    final_label_rule = (
        "The choice most contractors made. When the most-chosen options have as many votes, the one chosen more "
        "strongly in sum wins (slight 1, clear 2, strong 3); when that is level too, the final label is a tie."
    )

    def final_label(self, answers):
        """The majority choice. Tie rule: when the most-chosen options have as many votes, the one
        whose votes are stronger in sum wins (slight 1, clear 2, strong 3); when that is level too,
        the final label is "tie" (no preference)."""
        votes = Counter(a["choice"] for a in answers)
        weight: Counter = Counter()
        for a in answers:
            weight[a["choice"]] += STRENGTH_WEIGHT.get(a.get("strength"), 1)
        top = max(votes.values())
        leaders = [c for c in CHOICES if votes[c] == top]
        decided_by = "majority"
        if len(leaders) > 1:
            strongest = max(weight[c] for c in leaders)
            leaders = [c for c in leaders if weight[c] == strongest]
            decided_by = "strength" if len(leaders) == 1 else "level"
        return {"choice": leaders[0] if len(leaders) == 1 else "tie", "decided_by": decided_by,
                "votes": {c: votes[c] for c in CHOICES}}

    def gold_agreement(self, answer, gold):
        if answer["choice"] == gold["choice"]:
            return 1.0
        # A tie against a clear preference is half right; picking the other side is wrong.
        return 0.5 if "tie" in (answer["choice"], gold["choice"]) else 0.0
