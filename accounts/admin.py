from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from taskhub.admin import ReadOnlyAdmin, decision_action

from . import services
from .forms import UserAdminChangeForm, UserAdminCreationForm
from .models import AuditEntry, User


class _ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                             help_text=f"The person reads it (at least {settings.TASKHUB_DECISION_REASON_MIN_CHARS} "
                                       "characters). It is kept in the audit trail.")


class DeactivateForm(_ReasonForm):
    effective_at = forms.SplitDateTimeField(
        widget=widgets.AdminSplitDateTime, required=False, label="Takes effect",
        help_text="Blank: now. The person is told at once, by notification and email.",
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts. Whether an account is active is a decision with a reason, an effective time and a
    notice: the box is read-only here and the actions below go through accounts.services; accounts
    are never deleted (their work, pay and trail stay theirs)."""

    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    ordering = ["email"]
    list_display = ["email", "display_name", "role", "is_reviewer", "jurisdiction", "is_active", "deactivated_at",
                    "date_joined"]
    list_filter = ["role", "is_reviewer", "is_active"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "timezone", "jurisdiction")}),
        ("Role", {"fields": ("role", "is_reviewer", "is_superuser"),
                  "description": "A role is changed as a decision, with a reason the person reads, on their page "
                                 "under /manage/people/."}),
        ("Active", {"fields": ("is_active", "deactivated_at", "deactivated_by", "deactivation_reason"),
                    "description": "Use the actions “Deactivate…” and “Reactivate…” of the list of accounts."}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined", "is_active", "deactivated_at", "deactivated_by",
                       "deactivation_reason", "role"]
    filter_horizontal = []
    actions = ["deactivate", "reactivate"]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # A new account is made with its role; an existing one's role changes only as a decision.
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is not None else [name for name in fields if name != "role"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate… (with a reason and a notice)")
    def deactivate(self, request, queryset):
        return decision_action(
            self, request, queryset, form_class=DeactivateForm, action="deactivate", title="Deactivate accounts",
            explanation="Each person is told at once, with your reason, when their account stops working. "
                        "The decision is kept in the audit trail.",
            submit_label="Deactivate",
            decide=lambda user, data: services.user_deactivate(user=user, by=request.user, reason=data["reason"],
                                                               effective_at=data["effective_at"]),
        )

    @admin.action(description="Reactivate… (or cancel a deactivation set for later)")
    def reactivate(self, request, queryset):
        return decision_action(
            self, request, queryset, form_class=_ReasonForm, action="reactivate", title="Reactivate accounts",
            explanation="Each person is told, with your reason.", submit_label="Reactivate",
            decide=lambda user, data: services.user_reactivate(user=user, by=request.user, reason=data["reason"]),
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail, read-only (the database refuses changes). Its page with filters for daily
    use is /manage/audit/."""

    list_display = ["at", "kind", "actor", "subject", "project_name", "summary"]
    list_filter = ["kind"]
    search_fields = ["summary", "reason", "actor__email", "subject__email", "project_name"]
    list_select_related = ["actor", "subject"]
    date_hierarchy = "at"
