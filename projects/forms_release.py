from django import forms

from .models import Batch

P = Batch.Policy

_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class ScheduleReleaseForm(forms.Form):
    """Release time and policy of a batch. Times are read in the admin's own time zone."""

    release_at = forms.DateTimeField(widget=_LOCAL, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                     help_text="In your time zone. Contractors see it in theirs.")
    release_policy = forms.ChoiceField(choices=P.choices, widget=forms.RadioSelect)
    fair_share_cap = forms.IntegerField(
        required=False, min_value=1, max_value=32767, label="Fair-share cap",
        help_text="Most tasks one person may get from this batch. Blank: derived at release as "
                  "tasks × overlap ÷ eligible contractors, rounded up.",
    )
    fallback_policy = forms.ChoiceField(
        choices=[(P.FIRST_COME, P.FIRST_COME.label), (P.FAIR_SHARE, P.FAIR_SHARE.label)], initial=P.FIRST_COME,
        label="Lottery left-overs", help_text="How tasks nobody won in the lottery are handed out afterwards.",
    )
    lottery_max_per_person = forms.IntegerField(
        required=False, min_value=1, max_value=32767, label="Lottery: most tasks per person",
        help_text="Blank: the project's active-claim cap.",
    )
    reservation_opens_at = forms.DateTimeField(
        required=False, widget=_LOCAL, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        label="Lottery: reservation window opens", help_text="Blank: the default window before release.",
    )
    urgent = forms.BooleanField(required=False, label="Urgent: release with less than the minimum notice")
    urgent_reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                                    help_text="Required when urgent; kept on record and shown to contractors.")
