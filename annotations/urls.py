from django.urls import path

from projects import views_release

from . import views

app_name = "work"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("batches/<int:batch_id>/lottery/", views_release.lottery_join, name="lottery_join"),
    path("batches/<int:batch_id>/lottery/leave/", views_release.lottery_leave, name="lottery_leave"),
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/start/", views.project_start, name="start"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim"),
    path("claims/<int:claim_id>/release/", views.claim_release, name="release"),
    path("claims/<int:claim_id>/submit/", views.claim_submit, name="submit"),
    path("claims/<int:claim_id>/draft/", views.claim_draft, name="draft"),
    path("claims/<int:claim_id>/heartbeat/", views.claim_heartbeat, name="heartbeat"),
    path("submissions/", views.my_work, name="my_work"),
    path("reviews/<int:review_id>/appeal/", views.appeal_create, name="appeal"),
]
