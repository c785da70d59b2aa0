from django.urls import path

from . import views, views_release

app_name = "manage"

urlpatterns = [
    path("", views.manage_home, name="home"),
    path("batches/<int:batch_id>/schedule/", views_release.batch_schedule, name="batch_schedule"),
    path("batches/<int:batch_id>/fairness/", views_release.batch_fairness, name="batch_fairness"),
]
