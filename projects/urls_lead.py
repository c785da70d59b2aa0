from django.urls import path

from . import views, views_lead, views_release

app_name = "lead"

urlpatterns = [
    path("", views.lead_home, name="home"),
    path("fairness/", views_release.fairness_index, name="fairness_index"),
    path("batches/<int:batch_id>/fairness/", views_release.batch_fairness_for_lead, name="batch_fairness"),
    path("sprints/", views_lead.sprint_list, name="sprints"),
    path("sprints/new/", views_lead.sprint_create, name="sprint_create"),
    path("sprints/<int:sprint_id>/", views_lead.sprint_board, name="sprint_board"),
    path("sprints/<int:sprint_id>/board/", views_lead.sprint_board_fragment, name="sprint_board_fragment"),
    path("sprints/<int:sprint_id>/edit/", views_lead.sprint_edit, name="sprint_edit"),
    path("sprints/<int:sprint_id>/roster/", views_lead.sprint_roster, name="sprint_roster"),
    path("sprints/<int:sprint_id>/announce/", views_lead.sprint_announce, name="sprint_announce"),
]
