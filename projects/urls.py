"""The admin's set-up pages, under /manage/."""

from django.urls import path

from . import views

app_name = "manage"

urlpatterns = [
    path("", views.manage_home, name="home"),
    path("people/", views.people, name="people"),
    path("people/<int:user_id>/", views.person, name="person"),
    path("people/<int:user_id>/role/", views.person_role, name="person_role"),
    path("batches/", views.batch_list, name="batches"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/close/", views.batch_close, name="batch_close"),
    path("batches/<int:batch_id>/schedule/", views.batch_schedule, name="batch_schedule"),
    path("projects/", views.project_list, name="projects"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<int:project_id>/", views.project_edit, name="project_edit"),
    path("projects/<int:project_id>/rate/", views.rate_change, name="rate_change"),
    path("projects/<int:project_id>/media/", views.media_library, name="media_library"),
    path("projects/<int:project_id>/media/upload/", views.media_upload, name="media_upload"),
    path("projects/<int:project_id>/lineage/", views.lineage_answer, name="lineage_answer"),
    path("projects/<int:project_id>/models/", views.model_endpoints, name="model_endpoints"),
    path("models/<int:endpoint_id>/", views.model_endpoint, name="model_endpoint"),
    path("models/<int:endpoint_id>/check/", views.model_endpoint_check, name="model_endpoint_check"),
    path("generations/", views.generations, name="generations"),
    path("generations/<int:generation_id>/", views.generation_detail, name="generation"),
    path("generations/<int:generation_id>/progress/", views.generation_progress, name="generation_progress"),
    path("generations/<int:generation_id>/retry/", views.generation_retry, name="generation_retry"),
    path("projects/preview/", views.markdown_preview, name="markdown_preview"),
    path("imports/", views.import_page, name="imports"),
    path("imports/<int:import_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:import_id>/progress/", views.import_progress, name="import_progress"),
    path("calendar/", views.release_calendar, name="calendar"),
]
