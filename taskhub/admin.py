"""What the Django admin pages of every app share, and the admin of the frame's own outbox."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

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


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """The outbox: Celery tasks sent after their commit, or still waiting for the broker (beat's drain
    sends those every TASKHUB_OUTBOX_DRAIN_SECONDS)."""

    list_display = ["id", "task", "created_at", "attempts", "sent_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task"]
