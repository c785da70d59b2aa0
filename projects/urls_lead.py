from django.urls import path

from . import views, views_release

app_name = "lead"

urlpatterns = [
    path("", views.lead_home, name="home"),
    path("fairness/", views_release.fairness_index, name="fairness_index"),
    path("batches/<int:batch_id>/fairness/", views_release.batch_fairness_for_lead, name="batch_fairness"),
]
