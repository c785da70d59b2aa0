"""The team lead's pages, under /lead/."""

from django.urls import path

from ..views import flags, people, questions, sprints

app_name = "lead"

urlpatterns = [
    path("", sprints.lead_home, name="home"),
    path("sprints/", sprints.sprint_list, name="sprints"),
    path("sprints/new/", sprints.sprint_create, name="sprint_create"),
    path("sprints/<int:sprint_id>/", sprints.sprint_board, name="sprint_board"),
    path("sprints/<int:sprint_id>/board/", sprints.sprint_board_fragment, name="sprint_board_fragment"),
    path("sprints/<int:sprint_id>/edit/", sprints.sprint_edit, name="sprint_edit"),
    path("sprints/<int:sprint_id>/roster/", sprints.sprint_roster, name="sprint_roster"),
    path("sprints/<int:sprint_id>/announce/", sprints.sprint_announce, name="sprint_announce"),
    path("flags/", flags.flags, name="flags"),
    path("flags/<int:flag_id>/decide/", flags.flag_decide, name="flag_decide"),
    path("pauses/<int:pause_id>/lift/", flags.pause_lift, name="pause_lift"),
    path("pause-appeals/<int:appeal_id>/decide/", flags.pause_appeal_decide, name="pause_appeal_decide"),
    path("figures/recompute/", flags.figures_recompute, name="figures_recompute"),
    path("problems/", flags.problems, name="problems"),
    path("problems/<int:report_id>/resolve/", flags.problem_resolve, name="problem_resolve"),
    # Issue 20: a page per person, graded work again, second opinions, questions.
    path("people/<int:contractor_id>/", people.person, name="person"),
    path("graded/", people.graded, name="graded"),
    path("second-opinions/", people.second_opinions, name="second_opinions"),
    path("second-opinions/sample/", people.second_opinions_sample, name="second_opinions_sample"),
    path("second-opinions/<int:opinion_id>/decide/", people.second_opinion_decide, name="second_opinion_decide"),
    path("questions/", questions.lead_questions, name="questions"),
    path("questions/<int:question_id>/answer/", questions.question_answer, name="question_answer"),
    path("questions/<int:question_id>/pin/", questions.question_pin, name="question_pin"),
]
