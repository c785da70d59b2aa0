from django.urls import path

from . import views, views_manage, views_release

app_name = "manage"

urlpatterns = [
    path("", views.manage_home, name="home"),
    path("batches/<int:batch_id>/schedule/", views_release.batch_schedule, name="batch_schedule"),
    path("batches/<int:batch_id>/fairness/", views_release.batch_fairness, name="batch_fairness"),
    path("projects/", views_manage.project_list, name="projects"),
    path("projects/new/", views_manage.project_create, name="project_create"),
    path("projects/<int:project_id>/", views_manage.project_edit, name="project_edit"),
    path("projects/<int:project_id>/rate/", views_manage.rate_change, name="rate_change"),
    path("projects/preview/", views_manage.markdown_preview, name="markdown_preview"),
    path("imports/", views_manage.import_page, name="imports"),
    path("imports/<int:import_id>/", views_manage.import_detail, name="import_detail"),
    path("imports/<int:import_id>/progress/", views_manage.import_progress, name="import_progress"),
    path("calendar/", views_manage.release_calendar, name="calendar"),
]
