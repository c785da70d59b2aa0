"""The contractor's pages, under /work/."""

from django.urls import path

from ..views import conversation, release, work

app_name = "work"

urlpatterns = [
    path("", work.dashboard, name="dashboard"),
    path("batches/<int:batch_id>/lottery/", release.lottery_join, name="lottery_join"),
    path("batches/<int:batch_id>/lottery/leave/", release.lottery_leave, name="lottery_leave"),
    path("projects/<slug:slug>/", work.project_detail, name="project"),
    path("projects/<slug:slug>/instructions/", work.instructions_history, name="instructions"),
    path("projects/<slug:slug>/start/", work.project_start, name="start"),
    path("claims/<int:claim_id>/", work.claim_detail, name="claim"),
    path("claims/<int:claim_id>/open/", work.claim_open, name="open"),
    path("claims/<int:claim_id>/release/", work.claim_release, name="release"),
    path("claims/<int:claim_id>/report/", work.claim_report, name="report"),
    path("claims/<int:claim_id>/submit/", work.claim_submit, name="submit"),
    path("claims/<int:claim_id>/draft/", work.claim_draft, name="draft"),
    path("claims/<int:claim_id>/heartbeat/", work.claim_heartbeat, name="heartbeat"),
    path("claims/<int:claim_id>/turns/", conversation.turn_create, name="turns"),
    path("claims/<int:claim_id>/turns/<int:turn_id>/", conversation.turn_detail, name="turn"),
    path("claims/<int:claim_id>/turns/<int:turn_id>/stream/", conversation.turn_stream, name="turn_stream"),
    path("submissions/", work.my_work, name="my_work"),
    path("reviews/<int:review_id>/appeal/", work.appeal_create, name="appeal"),
    path("flags/<int:flag_id>/respond/", work.flag_respond, name="flag_respond"),
    path("pauses/<int:pause_id>/appeal/", work.pause_appeal, name="pause_appeal"),
    path("history/", work.history, name="history"),
]
