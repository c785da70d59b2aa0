from django.urls import path

from .. import views

app_name = "payouts"

urlpatterns = [
    path("", views.earnings, name="earnings"),
    path("entries/<int:entry_id>/", views.ledger_entry, name="entry"),
    path("payouts/<int:payout_id>/", views.statement, name="statement"),
    path("payouts/<int:payout_id>/statement.csv", views.statement_csv, name="statement_csv"),
]
