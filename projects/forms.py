"""Forms of the admin set-up pages. They parse input; services decide and write.

Times typed into a form are read in the person's own time zone (UserTimezoneMiddleware
activates it), so `datetime-local` values become aware datetimes here.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Role
from taskhub import parsing
from taskhub.errors import DomainError
from taskhub.parsing import whole_number_or_none

from . import settings_form, task_types
from .errors import InvalidData
from .models import GRADE_POLICY_FIELDS, Batch, GradePolicy, ModelEndpoint, PayRate, Project, TaskImport
from .selectors import grade_policy_in_force, percents_of

_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


# --- Admin: project setup ------------------------------------------------------------------


class ProjectSetupForm(forms.ModelForm):
    """The project's own fields, its lineage answers and its wage-floor guarantee; the rubric rows,
    the first rate and the grade policy are separate."""

    continues = forms.ModelChoiceField(
        queryset=Project.objects.none(), required=False, label="Continues",
        help_text="The same work under a new name: its rates, grade policy and the notice before any cut carry over, "
                  "and its contractors are told. A lineage is never undone.",
    )
    lineage_reason = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), label="Not a continuation because",
        help_text="When TaskHub proposes a recently closed project this one resembles and it is new work: why. "
                  "That project's contractors are shown it.",
    )
    wage_floor_guaranteed = forms.BooleanField(
        required=False, initial=True, label="Guarantee the wage floor",
        help_text="Payouts top up pay below each contractor's floor for the active time measured. Ending the "
                  "guarantee takes effect after the notice period.",
    )
    wage_floor_reason = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
                                        label="Why end the guarantee")
    instructions_change_note = forms.CharField(
        required=False, max_length=500, label="What changed in the instructions",
        help_text="Needed when you edit them: each edit is a new version with this note, shown in its history.",
    )
    instructions_material = forms.BooleanField(
        required=False, label="Material change: tell the contractors",
        help_text="It changes how the work is done; everyone who may work on the project is notified.",
    )

    class Meta:
        model = Project
        fields = ["name", "slug", "task_type", "status", "description", "instructions", "overlap",
                  "max_active_claims", "claim_minutes", "estimated_minutes", "idle_minutes", "is_onboarding",
                  "qualification", "review_sample_rate",
                  "flag_threshold", "flag_window", "flag_min_grades", "grants_name", "pass_rule",
                  "pass_min_submissions", "pass_min_average", "pass_min_agreement"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "instructions": forms.Textarea(attrs={"rows": 10}),
        }
        labels = {"max_active_claims": "Claim limit (tasks held at once)", "claim_minutes": "Minutes to finish a claim",
                  "estimated_minutes": "Estimated active minutes per task",
                  "idle_minutes": "Idle limit of the task page's clock (minutes)"}

    # Typed minutes go through the one parser (ASCII digits, within the model's bounds); blank keeps
    # what the project has (the defaults for a new one).
    estimated_minutes = forms.CharField(required=False, label="Estimated active minutes per task",
                                        help_text="Shown until 10 submissions are measured; then their median.")
    idle_minutes = forms.CharField(required=False, label="Idle limit of the task page's clock (minutes)",
                                   help_text="The clock pauses after this long without input (1–60).")
    _MINUTES_BOUNDS = {"estimated_minutes": 1440, "idle_minutes": 60}

    def _kept(self, name):
        value = self.data.get(self.add_prefix(name), "")
        if value in (None, ""):
            return getattr(self.instance, name)
        try:
            return parsing.whole_number(value, field=name, minimum=1, maximum=self._MINUTES_BOUNDS[name])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_estimated_minutes(self):
        return self._kept("estimated_minutes")

    def clean_idle_minutes(self):
        return self._kept("idle_minutes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No type is preselected: the admin chooses what kind of work this is.
        self.fields["task_type"].choices = [("", "— choose the task type —"), *task_types.choices()]
        self.fields["slug"].required = False
        self.fields["slug"].help_text = ("The project's address, made from the name (you may edit it); "
                                         "unique, letters, digits and hyphens.")
        # The type settings: one field per setting of each type's schema (only the project's own type once
        # it exists); the page shows the chosen type's fieldset.
        self.settings_types = [self.instance.task_type] if self.instance.pk else [t.key for t in task_types.all_types()]
        for key in self.settings_types:
            for name, field in settings_form.settings_fields(key).items():
                self.fields[name] = field
        if self.instance.pk:
            self.initial.update(settings_form.settings_initial(self.instance.task_type, self.instance.task_config))
        qualification = self.fields["qualification"]
        qualification.queryset = Project.objects.filter(is_onboarding=True).exclude(
            pk=self.instance.pk if self.instance.pk else None
        ).order_by("name")
        for name in ("pass_rule", "pass_min_submissions", "pass_min_average", "pass_min_agreement"):
            self.fields[name].required = False  # only onboarding projects use them; blank keeps the default
        self.fields["continues"].queryset = Project.objects.exclude(
            pk=self.instance.pk if self.instance.pk else None).order_by("-archived_at", "name")
        if self.instance.pk:
            # Changing the type would make every imported task's payload the wrong shape; whether it
            # is onboarding, how its work was paid.
            self.fields["task_type"].disabled = True
            self.fields["is_onboarding"].disabled = True
            self.fields["wage_floor_guaranteed"].initial = self.instance.wage_floor_guarantee_ends_at is None
            if self.instance.continues_id:
                self.fields["continues"].initial = self.instance.continues_id
                self.fields["continues"].disabled = True

    def _post_clean(self):
        # The model is validated whole by the service (`project_create` / `project_update`),
        # whose errors the view puts back on these fields; the form only parses input.
        pass

    def settings_groups(self) -> list[dict]:
        """Each type's settings fields, for the page (a fieldset per type)."""
        groups = []
        for key in self.settings_types:
            kind = task_types.get(key)
            names = list(settings_form.settings_fields(key))
            groups.append({"key": key, "label": kind.label, "fields": [self[name] for name in names]})
        return groups

    def clean(self):
        data = super().clean()
        if not (data.get("slug") or "").strip() and data.get("name"):
            slug = slugify(data["name"])[: Project._meta.get_field("slug").max_length].strip("-")
            if not slug:
                self.add_error("slug", "The name has no letters or digits to make an address from: type a slug.")
            data["slug"] = slug
        elif not (data.get("slug") or "").strip() and "slug" not in self.errors:
            self.add_error("slug", "Give the project a name (the slug is made from it) or type a slug.")
        key = self.instance.task_type if self.instance.pk else data.get("task_type")
        if key in self.settings_types:
            config = settings_form.settings_from(key, data)
            try:
                data["task_config"] = task_types.get(key).validate_config(config)
            except InvalidData as exc:
                for name, message in settings_form.settings_errors(key, exc):
                    self.add_error(name, message)
        return data


class RubricRowForm(forms.Form):
    key = forms.SlugField(max_length=40, required=False, label="Key", help_text="Short id, e.g. helpful.")
    label = forms.CharField(max_length=80, required=False, label="Label", help_text="What reviewers read.")
    description = forms.CharField(max_length=300, required=False, label="Description",
                                  help_text="Optional: what a 5 looks like.")
    # The anchor words of a 1–5 score on this criterion (blank: the defaults, "Very poor" and "Excellent").
    low = forms.CharField(max_length=80, required=False, label="What 1 means")
    high = forms.CharField(max_length=80, required=False, label="What 5 means")

    def clean(self):
        data = super().clean()
        if (data.get("label") or data.get("description")) and not data.get("key"):
            self.add_error("key", "Give this criterion a key.")
        if data.get("key") and not data.get("label"):
            self.add_error("label", "Give this criterion a label.")
        return data


class _RubricFormSetBase(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for index, form in enumerate(self.forms):
            key = form.cleaned_data.get("key")
            if not key:
                continue
            if key in seen:
                form.add_error("key", f"Criterion {index + 1}: the key {key!r} is used twice.")
            seen.add(key)

    def rubric(self) -> list[dict]:
        return [
            {"key": f.cleaned_data["key"], "label": f.cleaned_data["label"],
             "description": f.cleaned_data.get("description", ""),
             **{anchor: f.cleaned_data[anchor] for anchor in ("low", "high") if f.cleaned_data.get(anchor)}}
            for f in self.forms if f.cleaned_data.get("key")
        ]


RUBRIC_MAX_ROWS = 20
RubricFormSet = forms.formset_factory(RubricRowForm, formset=_RubricFormSetBase, extra=1, max_num=RUBRIC_MAX_ROWS,
                                      validate_max=True)


def rubric_formset(data=None, *, rubric=None) -> forms.BaseFormSet:
    return RubricFormSet(data, prefix="rubric", initial=rubric or [])


def with_one_more_row(data):
    """The posted set-up form with one more empty rubric row (the "Add a criterion" button without
    script), or None when it cannot have more."""
    total = whole_number_or_none(data.get("rubric-TOTAL_FORMS"), minimum=0, maximum=RUBRIC_MAX_ROWS - 1)
    if total is None:
        return None
    data = data.copy()
    data["rubric-TOTAL_FORMS"] = str(total + 1)
    return data


def quiet(*forms_):
    """Show posted forms as they were typed, without their errors (nothing was submitted yet)."""
    for form in forms_:
        if isinstance(form, forms.BaseFormSet):
            form._errors, form._non_form_errors = [], form.error_class()
            quiet(*form.forms)
        elif form is not None:
            form._errors = forms.utils.ErrorDict()


class InitialRateForm(forms.Form):
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=4, label="Pay rate")
    currency = forms.CharField(min_length=3, max_length=3, initial="USD")
    unit = forms.ChoiceField(choices=PayRate.Unit.choices)

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class GradePolicyForm(forms.Form):
    """What share of the pay each final grade earns (percent); on a project that exists, when a change
    takes effect, why, and whether a raise also pays past work."""

    def __init__(self, *args, changing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for name in GRADE_POLICY_FIELDS:
            label = GradePolicy._meta.get_field(name).verbose_name
            self.fields[name] = forms.DecimalField(
                min_value=0, max_value=100, max_digits=5, decimal_places=2, label=label[:1].upper() + label[1:],
                initial=GradePolicy.DEFAULT_PERCENTS[name],
            )
        if changing:
            self.fields["effective_from"] = forms.DateTimeField(
                required=False, widget=_LOCAL, input_formats=_FORMATS, label="Change takes effect",
                help_text="In your time zone. Blank: now. It pays work submitted from then on; a lower share can "
                          "start only after the notice period.",
            )
            self.fields["reason"] = forms.CharField(required=False, max_length=500, label="Why the policy changes",
                                                    widget=forms.Textarea(attrs={"rows": 2}),
                                                    help_text="Contractors read it with the change.")
            self.fields["apply_to_past"] = forms.BooleanField(
                required=False, label="A raise: pay past work by it too",
                help_text="Past work is re-paid upward only (adjustments); a lowering never applies to past work.",
            )

    def percents(self) -> dict:
        return {name: self.cleaned_data[name] for name in GRADE_POLICY_FIELDS}

    @staticmethod
    def initial_for(project: Project | None) -> dict:
        if project is None or not project.pk:
            return dict(GradePolicy.DEFAULT_PERCENTS)
        return percents_of(grade_policy_in_force(project=project, at=timezone.now()))


class BatchCreateForm(forms.Form):
    """A new draft batch of a project; its tasks come by import, its release by scheduling."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label="— choose a project —")
    batch_name = forms.CharField(max_length=200, label="Batch name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.exclude(status=Project.Status.ARCHIVED).order_by("name")


class DecisionForm(forms.Form):
    """A decision about a person (deactivation, reactivation, a revoked qualification): the reason they
    read and, where it applies, when it takes effect. The services check the reason's length."""

    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="The person reads it; it is kept in the audit trail.")
    effective_at = forms.DateTimeField(required=False, widget=_LOCAL, input_formats=_FORMATS, label="Takes effect",
                                       help_text="In your time zone. Blank: now. The person is told at once.")


class RoleChangeForm(forms.Form):
    """A role change: the new role and the reason the person reads (the service checks both)."""

    role = forms.ChoiceField(choices=Role.choices, label="New role")
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="The person reads it; it is kept in the audit trail.")


class BatchCloseForm(forms.Form):
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), label="Why it closes",
                             help_text="The contractors who still hold its tasks read it; it is kept on the batch "
                                       "and in the audit trail.")


class QualificationGrantForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), label="Qualification (onboarding project)",
                                     empty_label="— choose —")
    note = forms.CharField(max_length=500, required=False, help_text="Why it is granted by hand (kept on record).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.filter(is_onboarding=True).order_by("name")


class MarkdownPreviewForm(forms.Form):
    instructions = forms.CharField(required=False, max_length=100_000)


# --- Admin: rates, imports, calendar --------------------------------------------------------


class RateChangeForm(forms.Form):
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=4)
    currency = forms.CharField(min_length=3, max_length=3, initial="USD")
    unit = forms.ChoiceField(choices=PayRate.Unit.choices)
    effective_from = forms.DateTimeField(
        required=False, widget=_LOCAL, input_formats=_FORMATS,
        help_text="In your time zone. Blank: now. A cut can start only after the notice period.",
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Contractors see it with the new rate.")
    confirm_unusual = forms.BooleanField(
        required=False, label="Yes, this rate is intended",
        help_text="Needed for a rate far above the highest this project has paid: it is in force at once, and "
                  "lowering it again is a cut that waits for the notice period.",
    )

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class TaskImportForm(forms.Form):
    batch = forms.ModelChoiceField(
        queryset=Batch.objects.none(), required=False, empty_label="— a new draft batch —",
        help_text="Add to a batch that is not closed, or leave empty to create a new draft batch.",
    )
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False,
                                     help_text="For a new batch: the project it belongs to.")
    batch_name = forms.CharField(max_length=200, required=False, label="New batch name")
    file = forms.FileField(help_text="JSON Lines, CSV or HH-RLHF (.jsonl or .jsonl.gz).")
    format = forms.ChoiceField(choices=TaskImport.Format.choices, initial=TaskImport.Format.AUTO)
    gold_from_reference = forms.BooleanField(
        required=False, label="Use the source's known answer as gold",
        help_text="Tasks with a known answer are graded automatically and mixed into review queues.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = (
            Batch.objects.filter(status__in=[Batch.Status.DRAFT, Batch.Status.SCHEDULED, Batch.Status.OPEN])
            .select_related("project").order_by("project__name", "name")
        )
        self.fields["project"].queryset = Project.objects.exclude(status=Project.Status.ARCHIVED).order_by("name")

    def clean(self):
        data = super().clean()
        if not data.get("batch"):
            if not data.get("project"):
                self.add_error("project", "Choose the project of the new batch (or an existing batch).")
            if not (data.get("batch_name") or "").strip():
                self.add_error("batch_name", "Name the new batch (or choose an existing batch).")
        return data


P = Batch.Policy


class HoursField(forms.DecimalField):
    """A length of time typed in hours (e.g. 24 or 1.5), as a timedelta. Only ASCII digits: a
    number the admin cannot see on the page is not a setting. The service decides what range is
    allowed (and names the field when it refuses)."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=6, decimal_places=2, **kwargs)

    def clean(self, value):
        if value not in self.empty_values and not str(value).strip().isascii():
            raise forms.ValidationError("Type the number of hours with the digits 0–9.", code="invalid")
        hours = super().clean(value)
        return None if hours is None else timedelta(seconds=int(hours * 3600))

    def prepare_value(self, value):
        if isinstance(value, timedelta):
            return f"{value.total_seconds() / 3600:g}"
        return value


class ScheduleReleaseForm(forms.Form):
    """Release time and policy of a batch. Times are read in the admin's own time zone."""

    release_at = forms.DateTimeField(widget=_LOCAL, input_formats=_FORMATS,
                                     help_text="In your time zone. Contractors see it in theirs.")
    release_policy = forms.ChoiceField(choices=P.choices, widget=forms.RadioSelect)
    fair_share_cap = forms.IntegerField(
        required=False, min_value=1, max_value=32767, label="Fair-share cap",
        help_text="A fixed cap: most tasks one person may get from this batch until the horizon. Blank: derived "
                  "from demand, on the schedule below.",
    )
    fair_share_horizon = HoursField(
        required=False, label="Cap horizon (hours)",
        help_text="Fair share: the cap relaxes over this time and is gone at its end, so the whole batch is "
                  "handed out. At least the release notice.",
    )
    fair_share_relax_every = HoursField(
        required=False, label="Cap relaxes every (hours)",
        help_text="Fair share: from half the horizon on, the cap is recomputed from demand (and grows) this often.",
    )
    fallback_policy = forms.ChoiceField(
        choices=[(P.FAIR_SHARE, P.FAIR_SHARE.label), (P.FIRST_COME, P.FIRST_COME.label)], initial=P.FAIR_SHARE,
        label="Lottery left-overs",
        help_text="How tasks nobody won, handed back or not started in time are handed out. Fair share keeps "
                  "them from going to whoever clicks first.",
    )
    reservation_period = HoursField(
        required=False, label="Lottery: reservation period (hours)",
        help_text="How long each win is held for its winner; the time to finish it starts when they open it. "
                  "24 hours lets every time zone wake up.",
    )
    lottery_max_per_person = forms.IntegerField(
        required=False, min_value=1, max_value=32767, label="Lottery: most tasks per person",
        help_text="Blank: the project's active-claim cap.",
    )
    reservation_opens_at = forms.DateTimeField(
        required=False, widget=_LOCAL, input_formats=_FORMATS,
        label="Lottery: reservation window opens", help_text="Blank: the default window before release.",
    )
    urgent = forms.BooleanField(required=False, label="Urgent: release with less than the minimum notice")
    urgent_reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                                    help_text="Required when urgent; kept on record and shown to contractors.")


# --- Admin: model endpoints and generated pairwise batches (issue 21) ------------------------------


class ModelEndpointForm(forms.ModelForm):
    """An endpoint's settings; the service checks them (and refuses a key typed where its variable's name goes)."""

    class Meta:
        model = ModelEndpoint
        fields = ["name", "base_url", "model", "api_key_env", "system_prompt", "temperature", "max_tokens",
                  "connect_timeout_seconds", "read_timeout_seconds", "max_reply_seconds", "requests_per_task",
                  "requests_per_contractor_hour", "is_default", "is_active"]
        labels = {"api_key_env": "API key environment variable", "base_url": "Base URL",
                  "is_default": "The red-team workspace talks to this endpoint"}
        widgets = {"system_prompt": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base_url"].widget.attrs["placeholder"] = "http://vllm.internal:8000/v1"
        self.fields["api_key_env"].widget.attrs.update({"placeholder": "TASKHUB_MODEL_KEY", "autocomplete": "off",
                                                        "spellcheck": "false"})

    def forget_refused_key(self) -> None:
        """A refused value of the key's variable is not shown back: it may be a pasted key."""
        if self.is_bound and "api_key_env" in self.errors:
            data = self.data.copy()
            data["api_key_env"] = ""
            self.data = data


class PairwiseGenerationForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), help_text="A pairwise project.")
    batch = forms.ModelChoiceField(queryset=Batch.objects.none(), required=False, empty_label="— a new draft batch —")
    batch_name = forms.CharField(max_length=200, required=False, label="New batch name")
    file = forms.FileField(help_text='One prompt a line, or JSON Lines: {"prompt": "...", "external_id": "..."}.')
    endpoint_a = forms.ModelChoiceField(queryset=ModelEndpoint.objects.none(), label="Side A: endpoint")
    temperature_a = forms.DecimalField(required=False, min_value=0, max_value=2, decimal_places=2, max_digits=3,
                                       label="Side A: temperature", help_text="Blank: the endpoint's own.")
    endpoint_b = forms.ModelChoiceField(queryset=ModelEndpoint.objects.none(), label="Side B: endpoint")
    temperature_b = forms.DecimalField(required=False, min_value=0, max_value=2, decimal_places=2, max_digits=3,
                                       label="Side B: temperature",
                                       help_text="The same endpoint twice needs two temperatures.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pairwise = Project.objects.filter(task_type="pairwise").exclude(status=Project.Status.ARCHIVED)
        self.fields["project"].queryset = pairwise.order_by("name")
        self.fields["batch"].queryset = (
            Batch.objects.filter(project__in=pairwise, status__in=[Batch.Status.DRAFT, Batch.Status.SCHEDULED])
            .select_related("project").order_by("project__name", "name"))
        endpoints = ModelEndpoint.objects.filter(project__in=pairwise, is_active=True).select_related("project")
        self.fields["endpoint_a"].queryset = endpoints
        self.fields["endpoint_b"].queryset = endpoints
        self.fields["endpoint_a"].label_from_instance = self.fields["endpoint_b"].label_from_instance = (
            lambda e: f"{e.project.name}: {e.name} ({e.model})")

    def clean(self):
        data = super().clean()
        if not data.get("batch") and not (data.get("batch_name") or "").strip():
            self.add_error("batch_name", "Name the new batch (or choose an existing batch).")
        return data

    def sides(self) -> dict:
        data = self.cleaned_data
        side = {}
        for name in ("a", "b"):
            temperature = data.get(f"temperature_{name}")
            side[f"settings_{name}"] = {} if temperature is None else {"temperature": float(temperature)}
        return side
