"""What the Django admin pages of every app share, and the admin of the frame's own outbox."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from .errors import DomainError
from .models import OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are shown, never added, edited or deleted here: their writes go through services
    (and many are append-only in the database)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAddMixin:
    """Admin add forms that write through a service: a refusal becomes a message, not a 500."""

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def decision_action(modeladmin, request, queryset, *, form_class, action: str, title: str, explanation: str,
                    submit_label: str, decide) -> TemplateResponse | None:
    """An admin action that is a decision about each selected row: it asks for `form_class` (a reason,
    an effective time) on an intermediate page, then calls `decide(row, cleaned_data)` (a service) for
    each; refusals are listed on the page again, never a 500."""
    items = list(queryset)
    form = form_class(request.POST if "apply" in request.POST else None)
    failures = []
    if form.is_bound and form.is_valid():
        for item in items:
            try:
                decide(item, form.cleaned_data)
            except DomainError as exc:
                failures.append((item, exc.message))
            else:
                modeladmin.message_user(request, f"{item}: done.", level=messages.SUCCESS)
        if not failures:
            return None
        items = [item for item, _ in failures]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title, "explanation": explanation, "submit_label": submit_label, "opts": modeladmin.opts,
        "items": items, "failures": failures, "form": form, "action": action, "media": modeladmin.media + form.media,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/decision.html", context)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """The outbox: Celery tasks sent after their commit, or still waiting for the broker (beat's drain
    sends those every TASKHUB_OUTBOX_DRAIN_SECONDS)."""

    list_display = ["id", "task", "created_at", "attempts", "sent_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task"]
