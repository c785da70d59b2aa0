from django.utils.functional import SimpleLazyObject

from .selectors import notifications_unread_count


def notifications(request):
    """`notifications_unread` for the header badge; counted only if a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: notifications_unread_count(user=user))}
