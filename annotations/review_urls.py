from django.urls import path

from . import review_views as views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_item, name="next"),
    path("submissions/<int:submission_id>/", views.grade, name="grade"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:appeal_id>/decide/", views.appeal_decide, name="appeal_decide"),
    path("flags/", views.flags, name="flags"),
    path("flags/<int:flag_id>/decide/", views.flag_decide, name="flag_decide"),
    path("pauses/<int:pause_id>/lift/", views.pause_lift, name="pause_lift"),
    path("figures/recompute/", views.figures_recompute, name="figures_recompute"),
]
