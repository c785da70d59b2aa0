from django.apps import AppConfig


class SprintsConfig(AppConfig):
    name = "sprints"
    verbose_name = "Sprints"

    def ready(self):
        # The navigation's alert badges (taskhub.badges): what waits for a lead, an admin or a reviewer.
        # Imported here: the selectors need the models, which are ready only now.
        from annotations.selectors import appeals_open_for, second_opinions_pending_for
        from taskhub.badges import LEADS, REVIEWERS, badge_register
        from taskhub.hooks import register_role_handler

        from .selectors import flags_open_for_lead, problem_reports_open_for_lead
        from .selectors.people import second_opinions_to_decide
        from .selectors.questions import questions_open_for_lead
        from .services import sprints_check_role_change

        # A lead who runs an unfinished sprint keeps the role (taskhub.hooks.role_changed).
        register_role_handler("sprints", sprints_check_role_change)

        badge_register("appeals", label="Appeals", url_name="review:appeals", roles=REVIEWERS, order=10,
                       count=lambda user: appeals_open_for(decider=user))
        badge_register("flags", label="Flags", url_name="lead:flags", roles=LEADS, order=20,
                       count=lambda user: flags_open_for_lead(lead=user))
        badge_register("questions", label="Questions", url_name="lead:questions", roles=LEADS, order=30,
                       count=lambda user: questions_open_for_lead(lead=user))
        badge_register("second_opinions", label="Second opinions", url_name="review:second_opinions",
                       roles=REVIEWERS, order=40, count=lambda user: second_opinions_pending_for(reviewer=user))
        badge_register("re_review", label="Re-review", url_name="lead:second_opinions", roles=LEADS, order=50,
                       count=lambda user: second_opinions_to_decide(lead=user))
        badge_register("problem_reports", label="Problems", url_name="lead:problems", roles=LEADS, order=25,
                       count=lambda user: problem_reports_open_for_lead(lead=user))
