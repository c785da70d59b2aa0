"""Forms of the payout desk's pages. They parse input; services decide and write."""

from __future__ import annotations

import uuid

from django import forms

from accounts.models import Role, User
from projects.models import Project

from .models import LedgerEntry


class BonusForm(forms.Form):
    """A bonus or a correction added by hand, with the reason the contractor reads. The hidden token
    makes a double submission pay once (the service's idempotency key)."""

    kind = forms.ChoiceField(choices=[(LedgerEntry.Kind.BONUS, "Bonus"), (LedgerEntry.Kind.ADJUSTMENT, "Adjustment")],
                             widget=forms.RadioSelect, initial=LedgerEntry.Kind.BONUS)
    contractor = forms.ModelChoiceField(queryset=User.objects.none(), empty_label="— choose a contractor —")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, empty_label="— no project —",
                                     help_text="The work it is for, if any.")
    amount = forms.CharField(max_length=20, help_text="Like 12.50. A bonus is positive; an adjustment may be negative.")
    currency = forms.CharField(max_length=3, initial="USD")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="The contractor reads this on their ledger and statement.")
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contractor"].queryset = User.objects.filter(role=Role.CONTRACTOR).order_by("email")
        self.fields["project"].queryset = Project.objects.order_by("name")
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)
