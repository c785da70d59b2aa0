from pydantic import Field

from .base import (
    Grade,
    ScoredFormErrors,
    Strict,
    TaskType,
    check_rubric_scores,
    form_number,
    form_scores,
    score_agreement,
    score_summary,
    scores_final_label,
)

Score = Grade


class Payload(Strict):
    prompt: str = Field(min_length=1, max_length=200_000)
    response: str = Field(min_length=1, max_length=200_000)


class Answer(Strict):
    scores: dict[str, Score] = Field(min_length=1)
    overall: Score
    comment: str = Field(default="", max_length=5_000)


class Rating(ScoredFormErrors, TaskType):
    key = "rating"
    label = "Rating"
    description = "Score one response 1–5 on each rubric criterion, then overall."
    payload_schema = Payload
    answer_schema = Answer
    example_payload = {
        "prompt": "Summarise the plot of Hamlet in two sentences.",
        "response": "A Danish prince avenges his father's murder. Nearly everyone dies.",
    }

    agreement_level = "ordinal"
    form_fields = {"overall": ("overall", "the overall score"), "comment": ("comment", "the comment"),
                   "scores": ("scores", "the scores")}

    def answer_from_form(self, post):
        answer = {"scores": form_scores(post), "comment": post.get("comment", "")}
        if post.get("overall", "") != "":  # left out when empty, so the error says it is missing
            answer["overall"] = form_number(post.get("overall"))
        return answer

    def agreement_value(self, answer):
        return answer["overall"]

    def check_answer(self, answer, task, project):
        check_rubric_scores(answer.scores, project)

    final_label_rule = "The mean and the median of each criterion and of the overall score."

    def final_label(self, answers):
        """Mean and median of each criterion and of the overall score."""
        return {"overall": score_summary([a["overall"] for a in answers]), "scores": scores_final_label(answers)}

    def gold_agreement(self, answer, gold):
        return score_agreement({**answer["scores"], "__overall": answer["overall"]},
                               {**gold.get("scores", {}), "__overall": gold["overall"]})
