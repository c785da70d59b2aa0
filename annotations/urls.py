from django.urls import path

from . import views

app_name = "work"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("projects/<slug:slug>/", views.project_detail, name="project"),
    path("projects/<slug:slug>/start/", views.project_start, name="start"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim"),
    path("claims/<int:claim_id>/release/", views.claim_release, name="release"),
    path("claims/<int:claim_id>/submit/", views.claim_submit, name="submit"),
    path("submissions/", views.my_work, name="my_work"),
]
