"""The reviewers' pages, under /review/."""

from django.urls import path

from ..views import review as views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("next/", views.next_item, name="next"),
    path("submissions/<int:submission_id>/", views.grade, name="grade"),
    path("appeals/", views.appeals, name="appeals"),
    path("appeals/<int:appeal_id>/decide/", views.appeal_decide, name="appeal_decide"),
    path("second-opinions/", views.second_opinions, name="second_opinions"),
    path("second-opinions/<int:opinion_id>/", views.second_opinion_grade, name="second_opinion"),
]
