"""Home pages of team leads and admins."""

from django.shortcuts import render

from taskhub.access import admin_required, lead_required

from . import selectors
from .models import TaskImport


@lead_required
def lead_home(request):
    return render(request, "lead/home.html", {"projects": selectors.projects_progress()})


@admin_required
def manage_home(request):
    context = {
        "batches": selectors.batches_overview(),
        "imports": TaskImport.objects.select_related("batch", "batch__project", "created_by")[:20],
    }
    return render(request, "manage/home.html", context)
