import difflib

from pydantic import Field

from .base import Strict, TaskType


class Payload(Strict):
    prompt: str = Field(min_length=1, max_length=200_000)
    response: str = Field(min_length=1, max_length=200_000)
    guidelines: str | None = Field(default=None, max_length=20_000)


class Answer(Strict):
    text: str = Field(min_length=1, max_length=200_000)


class Rewrite(TaskType):
    key = "rewrite"
    label = "Rewrite"
    description = "Improve a response; the diff against the original is kept with the answer."
    payload_schema = Payload
    form_fields = {"text": ("text", "your improved response")}
    answer_schema = Answer
    example_payload = {
        "prompt": "Write a polite reminder about an unpaid invoice.",
        "response": "Pay the invoice now.",
    }

    def answer_from_form(self, post):
        return {"text": post.get("text", "")}

    def check_answer(self, answer, task, project):
        if task is not None and answer.text == task.payload["response"].strip():
            self.fail("text", "the rewrite is identical to the original response")

    def finish_answer(self, answer, task):
        if task is not None:
            original = task.payload["response"].splitlines(keepends=True)
            rewritten = answer["text"].splitlines(keepends=True)
            answer["diff"] = "".join(difflib.unified_diff(original, rewritten, "original", "rewrite"))
        return answer

    def gold_agreement(self, answer, gold):
        return difflib.SequenceMatcher(None, answer["text"], gold["text"]).ratio()
