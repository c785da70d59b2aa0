"""The filters of the admin's audit page (django-filter): what was decided, by whom, about whom,
on which project, when."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from .models import AuditEntry
from .selectors import audit_projects

_DATE = forms.DateInput(attrs={"type": "date"})


class AuditEntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AuditEntry.Kind.choices, empty_label="Every kind")
    actor = django_filters.CharFilter(field_name="actor__email", lookup_expr="icontains", label="Decided by (email)")
    subject = django_filters.CharFilter(field_name="subject__email", lookup_expr="icontains", label="About (email)")
    project = django_filters.ChoiceFilter(field_name="project_id", empty_label="Every project", label="Project")
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From", widget=_DATE)
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="Until", widget=_DATE)
    text = django_filters.CharFilter(method="search", label="Reason or summary contains")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["project"].extra["choices"] = [(str(pk), name) for pk, name in audit_projects()]

    def search(self, queryset, name, value):
        value = value.replace("\x00", "")
        return queryset.filter(Q(summary__icontains=value) | Q(reason__icontains=value))
