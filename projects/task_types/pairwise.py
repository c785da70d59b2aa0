from typing import Literal

from pydantic import Field

from .base import Strict, TaskType

Text = Field(min_length=1, max_length=200_000)


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

    def answer_from_form(self, post):
        return {key: post.get(key, "") for key in ("choice", "strength", "reason")}

    def agreement_value(self, answer):
        return answer["choice"]

    def gold_agreement(self, answer, gold):
        if answer["choice"] == gold["choice"]:
            return 1.0
        # A tie against a clear preference is half right; picking the other side is wrong.
        return 0.5 if "tie" in (answer["choice"], gold["choice"]) else 0.0
