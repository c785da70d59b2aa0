"""Forms of the team lead's pages. They parse input; services decide and write.

Times typed into a form are read in the person's own time zone (UserTimezoneMiddleware
activates it), so `datetime-local` values become aware datetimes here.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from accounts.models import User
from projects.models import Project

from .models import Sprint
from .selectors import sprint_contractor_choices, sprint_project_choices

_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _UserChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name} ({obj.email})" if obj.display_name else obj.email


class SprintForm(forms.Form):
    name = forms.CharField(max_length=200)
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.none(), widget=forms.CheckboxSelectMultiple,
        help_text="Work on these projects counts towards the sprint.",
    )
    members = _UserChoice(
        queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple,
        help_text="Contractors on the team for this sprint.",
    )
    starts_at = forms.DateTimeField(widget=_LOCAL, input_formats=_FORMATS, help_text="In your time zone.")
    ends_at = forms.DateTimeField(widget=_LOCAL, input_formats=_FORMATS,
                                  help_text="Typically 24–48 hours after the start; at most 7 days.")
    target_submissions = forms.IntegerField(min_value=1, max_value=1_000_000, label="Target submissions")
    quality_target = forms.DecimalField(min_value=1, max_value=5, max_digits=3, decimal_places=2,
                                        initial=Decimal("4.00"), label="Quality target (average grade)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = sprint_project_choices()
        self.fields["members"].queryset = sprint_contractor_choices()

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The sprint must end after it starts.")
        return data

    @classmethod
    def initial_for(cls, sprint: Sprint) -> dict:
        return {
            "name": sprint.name, "projects": list(sprint.projects.all()),
            "members": list(sprint.members.all()),
            "starts_at": timezone.localtime(sprint.starts_at), "ends_at": timezone.localtime(sprint.ends_at),
            "target_submissions": sprint.target_submissions, "quality_target": sprint.quality_target,
        }


class AnnouncementForm(forms.Form):
    target = forms.ChoiceField(label="Post to")
    title = forms.CharField(max_length=200)
    body = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}),
                           help_text="Members get it as an in-app notification.")

    def __init__(self, *args, sprint: Sprint, projects, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("sprint", f"This sprint's members ({sprint.name})")]
        choices += [(f"project:{p.pk}", f"Everyone eligible for {p.name}") for p in projects]
        self.fields["target"].choices = choices
        self.projects = {f"project:{p.pk}": p for p in projects}
