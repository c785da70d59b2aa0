import zoneinfo
from datetime import datetime, timedelta

from django import forms
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.utils import timezone

from .models import EmailGroup, EmailMode, User


class UserAdminCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role")


class UserAdminChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


def _offset(name: str, now: datetime) -> str:
    offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian",
           "Pacific")


def _timezone_choices():
    """Zones grouped by region, each labelled with its place and its UTC offset now, e.g.
    "Berlin (UTC+01:00)" under Europe: the select jumps to a place as its name is typed."""
    now = timezone.now()
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in (*REGIONS, "Other")}
    for name in sorted(zoneinfo.available_timezones()):
        region, _, place = name.partition("/")
        if region in REGIONS and place:
            groups[region].append((name, f"{place.replace('_', ' ').replace('/', ' / ')} ({_offset(name, now)})"))
        elif place:  # older names (US/Pacific, Etc/GMT+5) stay choosable
            groups["Other"].append((name, f"{name} ({_offset(name, now)})"))
    return [("UTC", "UTC (UTC+00:00)")] + [(region, sorted(zones, key=lambda z: z[1])) for region, zones in
                                           groups.items() if zones]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=_timezone_choices, label="Time zone",
        help_text="Release times, deadlines and your daily email digest follow this time zone. Grouped by region; "
                  "type a city's first letters to jump to it."
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
