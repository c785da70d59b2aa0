"""Admin pages of accounts, included under /manage/ (next to the projects' and payouts' manage pages)."""

from django.urls import path

from .. import views

app_name = "accounts_manage"

urlpatterns = [
    path("audit/", views.audit_trail, name="audit"),
]
