"""How fairly each release went round, for team leads and admins, under /fairness/."""

from django.urls import path

from ..views import release

app_name = "fairness"

urlpatterns = [
    path("", release.fairness_index, name="index"),
    path("batches/<int:batch_id>/", release.batch_fairness, name="batch"),
    path("projects/<slug:slug>/", release.project_fairness, name="project"),
]
