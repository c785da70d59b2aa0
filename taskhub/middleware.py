from django.db import InterfaceError, OperationalError
from django.utils import timezone


class UserTimezoneMiddleware:
    """Show every time in the signed-in person's own time zone (release times, deadlines)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        try:
            signed_in = user is not None and user.is_authenticated
        except (OperationalError, InterfaceError):
            # The database is down (the user is read from the session): the view answers for itself,
            # /healthz with its report, any other page with a 503 (taskhub.errors.server_error).
            signed_in = False
        if signed_in:
            timezone.activate(user.tzinfo)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
