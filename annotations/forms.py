"""Turn a task page's form fields into the answer object its task type validates."""

from django.http import QueryDict


def _scores(post: QueryDict) -> dict:
    scores = {}
    for key, value in post.items():
        if key.startswith("score__"):
            scores[key.removeprefix("score__")] = value
    return scores


def answer_from_post(task_type: str, post: QueryDict) -> dict:
    if task_type == "pairwise":
        return {k: post.get(k, "") for k in ("choice", "strength", "reason")}
    if task_type == "rating":
        return {"scores": _scores(post), "overall": post.get("overall", ""), "comment": post.get("comment", "")}
    if task_type == "rewrite":
        return {"text": post.get("text", "")}
    if task_type == "redteam":
        prompts = [p for p in post.get("attack_prompts", "").split("\n---\n")]
        return {
            "attack_prompts": [p.strip() for p in prompts if p.strip()] or [""],
            "model_reply": post.get("model_reply", ""),
            "category": post.get("category", ""),
            "success": post.get("success", "") in ("yes", "true", "on", "1"),
            "notes": post.get("notes", ""),
        }
    if task_type == "audio_timestamp":
        starts, ends, labels = post.getlist("span_start"), post.getlist("span_end"), post.getlist("span_label")
        spans = [{"start": s, "end": e, "label": lab} for s, e, lab in zip(starts, ends, labels, strict=False)
                 if s or e or lab]
        return {"spans": spans}
    if task_type == "creative_eval":
        return {"scores": _scores(post), "critique": post.get("critique", "")}
    return dict(post.items())
