"""The contractor's questions, under /questions/ (issue 20)."""

from django.urls import path

from ..views import questions

app_name = "questions"

urlpatterns = [
    path("", questions.mine, name="mine"),
    path("sprints/<int:sprint_id>/", questions.ask_on_sprint, name="ask_sprint"),
    path("claims/<int:claim_id>/", questions.ask_on_claim, name="ask_claim"),
]
