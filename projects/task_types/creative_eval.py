from pydantic import Field

from .base import (
    Grade,
    ScoredFormErrors,
    Strict,
    TaskType,
    check_rubric_scores,
    form_scores,
    score_agreement,
    scores_final_label,
)


class Payload(Strict):
    brief: str = Field(min_length=1, max_length=20_000)
    text: str = Field(min_length=1, max_length=500_000)


class Answer(Strict):
    scores: dict[str, Grade] = Field(min_length=1)
    critique: str = Field(min_length=20, max_length=20_000)


class CreativeEval(ScoredFormErrors, TaskType):
    key = "creative_eval"
    label = "Creative writing evaluation"
    description = "Judge a piece of prose against the rubric and write a critique."
    payload_schema = Payload
    answer_schema = Answer
    example_payload = {
        "brief": "A 100-word story about a lighthouse keeper.",
        "text": "Every night Mara climbed the ninety steps ...",
    }

    agreement_level = "interval"
    form_fields = {"critique": ("critique", "your critique"), "scores": ("scores", "the scores")}

    def answer_from_form(self, post):
        return {"scores": form_scores(post), "critique": post.get("critique", "")}

    def agreement_value(self, answer):
        scores = list(answer["scores"].values())
        return sum(scores) / len(scores)

    def check_answer(self, answer, task, project):
        check_rubric_scores(answer.scores, project)

    final_label_rule = "The mean and the median of each criterion."

    def final_label(self, answers):
        """Mean and median of each criterion."""
        return {"scores": scores_final_label(answers)}

    def gold_agreement(self, answer, gold):
        return score_agreement(answer["scores"], gold.get("scores", {}))
