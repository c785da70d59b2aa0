from django.apps import AppConfig

from taskhub.hooks import register_pay_handler


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Ledger and payouts"

    def ready(self):
        # The pay hook (taskhub.hooks): work below payouts whose pay may have changed is
        # recomputed once the writing transaction commits. Imported here, not at the top: apps.py is
        # loaded before the models that the services import exist.
        from .services.recompute import earnings_recompute_enqueue_scope

        register_pay_handler(earnings_recompute_enqueue_scope)
