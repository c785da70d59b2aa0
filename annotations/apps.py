from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Claims and submissions"

    def ready(self):
        # A contractor whose role changes gives their held claims back (taskhub.hooks.role_changed).
        # Imported here: the services need the models, which are ready only now.
        from taskhub.hooks import register_batch_closed_handler, register_role_handler

        from .services.claims import claims_release_on_role_change, claims_tell_holders_of_closed_batch

        register_role_handler("annotations", claims_release_on_role_change)
        # The contractors still holding a closed batch's work are told why (taskhub.hooks.batch_closed).
        register_batch_closed_handler("annotations", claims_tell_holders_of_closed_batch)
