import uuid

from django import forms
from django.contrib import admin, messages

from accounts.models import Role, User
from projects.models import Project
from taskhub.admin import ReadOnlyAdmin, ServiceAddMixin
from taskhub.errors import DomainError

from . import services
from .models import LedgerEntry, Payout, PayoutPeriod, WageFloor, WageFloorTopUp


class ManualEntryForm(forms.ModelForm):
    """A bonus or a correction added by hand. The token makes a double submission harmless."""

    kind = forms.ChoiceField(choices=[(LedgerEntry.Kind.BONUS, "Bonus"), (LedgerEntry.Kind.ADJUSTMENT, "Adjustment")])
    contractor = forms.ModelChoiceField(queryset=User.objects.filter(role=Role.CONTRACTOR).order_by("email"))
    project = forms.ModelChoiceField(queryset=Project.objects.order_by("name"), required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2,
                                help_text="A bonus is positive; an adjustment may be negative.")
    currency = forms.CharField(max_length=3, initial="USD")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="The contractor sees this on their ledger and statement.")
    token = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex)

    class Meta:
        model = LedgerEntry
        fields = ["kind", "contractor", "project", "amount", "currency", "reason"]

    def clean(self):
        data = super().clean()
        amount = data.get("amount")
        if amount is not None and data.get("kind") == LedgerEntry.Kind.BONUS and amount <= 0:
            self.add_error("amount", "A bonus must be more than zero; use an adjustment to take money back.")
        if amount is not None and amount == 0:
            self.add_error("amount", "An entry of zero changes nothing.")
        return data


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ServiceAddMixin, admin.ModelAdmin):
    """Read-only: entries are never edited. Add a bonus or adjustment; it goes through the service."""

    list_display = ["created_at", "contractor", "kind", "amount", "currency", "project", "source_type", "source_id",
                    "grade"]
    list_filter = ["kind", "currency", "source_type"]
    search_fields = ["contractor__email", "idempotency_key", "reason"]
    list_select_related = ["contractor", "project"]
    date_hierarchy = "created_at"
    readonly_fields = ["contractor", "project", "kind", "amount", "currency", "source_type", "source_id",
                       "rate_amount", "rate_unit", "grade", "pay_percent", "active_seconds", "reason", "created_by",
                       "idempotency_key", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ManualEntryForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["kind", "contractor", "project", "amount", "currency", "reason", "token"]
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        add = (services.ledger_bonus_add if data["kind"] == LedgerEntry.Kind.BONUS
               else services.ledger_adjustment_add)
        entry = add(contractor=data["contractor"], amount=data["amount"], currency=data["currency"],
                    reason=data["reason"], created_by=request.user, project=data["project"],
                    idempotency_key=data["token"])
        obj.pk = entry.pk
        obj.__dict__.update({k: v for k, v in entry.__dict__.items() if not k.startswith("_")})


@admin.register(WageFloor)
class WageFloorAdmin(ServiceAddMixin, admin.ModelAdmin):
    """A floor is history: add a new one from a later date rather than editing the old one."""

    list_display = ["jurisdiction", "amount", "currency", "effective_from", "note"]
    list_filter = ["jurisdiction", "currency"]
    fields = ["jurisdiction", "amount", "currency", "effective_from", "note"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def save_model(self, request, obj, form, change):
        obj.pk = services.wage_floor_set(jurisdiction=obj.jurisdiction, amount=obj.amount, currency=obj.currency,
                                         effective_from=obj.effective_from, note=obj.note).pk


@admin.register(PayoutPeriod)
class PayoutPeriodAdmin(ReadOnlyAdmin):
    list_display = ["start", "end"]


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ["id", "contractor", "period", "currency", "total", "entry_count", "status", "external_reference",
                    "approved_by", "paid_at"]
    list_filter = ["status", "currency", "period"]
    search_fields = ["contractor__email", "external_reference"]
    list_select_related = ["contractor", "period", "approved_by"]
    readonly_fields = ["contractor", "period", "currency", "total", "entry_count", "status", "external_reference",
                       "created_at", "approved_by", "approved_at", "paid_by", "paid_at"]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None

    @admin.action(description="Approve selected draft payouts")
    def approve(self, request, queryset):
        try:
            approved = services.payouts_approve(payout_ids=queryset.values_list("pk", flat=True),
                                                approved_by=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"Approved {len(approved)} payout(s).", level=messages.SUCCESS)


@admin.register(WageFloorTopUp)
class WageFloorTopUpAdmin(ReadOnlyAdmin):
    """Top-ups are computed when payouts are drafted (payouts.services.wage_floor_top_ups_add)."""

    list_display = ["period", "contractor", "project", "jurisdiction", "active_seconds", "earned", "floor",
                    "required", "amount", "currency"]
    list_filter = ["period", "project", "currency"]
    list_select_related = ["period", "contractor", "project"]
