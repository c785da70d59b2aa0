"""Admin pages, included under /manage/ (next to the projects' manage pages)."""

from django.urls import path

from .. import views

app_name = "payouts_manage"

urlpatterns = [
    path("payouts/", views.manage_payouts, name="payouts"),
    path("payouts/draft/", views.manage_payouts_draft, name="draft"),
    path("payouts/approve/", views.manage_payouts_approve, name="approve"),
    path("payouts/<int:payout_id>/", views.manage_statement, name="statement"),
    path("payouts/<int:payout_id>/statement.csv", views.manage_statement_csv, name="statement_csv"),
    path("payouts/<int:payout_id>/paid/", views.manage_payout_mark_paid, name="mark_paid"),
    path("payouts/bonuses/", views.manage_bonuses, name="bonuses"),
    path("wage-floor/", views.manage_wage_floor, name="wage_floor"),
]
