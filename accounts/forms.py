import zoneinfo

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm

from .models import EmailGroup, EmailMode, User


class UserAdminCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role")


class UserAdminChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name or name == "UTC"]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=_timezone_choices, help_text="Release times and deadlines are shown in this time zone."
    )
    jurisdiction = forms.RegexField(
        regex=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
        required=False,
        help_text="Country, optionally with region, e.g. US-CA or DE.",
        error_messages={"invalid": "Use a country code, optionally with a region, e.g. US-CA or DE."},
    )

    class Meta:
        model = User
        fields = ("display_name", "timezone", "jurisdiction")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. \"nightly DPO pipeline\".")
    days = forms.IntegerField(min_value=1, max_value=365, initial=90, label="Valid for (days)")


class EmailPreferencesForm(forms.Form):
    """One choice per group of notifications: at once, a daily digest, or off."""

    def __init__(self, *args, initial_modes: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for group in EmailGroup:
            self.fields[group.value] = forms.ChoiceField(
                label=group.label, choices=EmailMode.choices, widget=forms.RadioSelect,
                initial=initial_modes[group.value],
                error_messages={"required": "Choose at once, a daily digest or off.",
                                "invalid_choice": "Choose at once, a daily digest or off."},
            )
