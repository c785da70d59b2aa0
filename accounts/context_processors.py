from django.utils.functional import SimpleLazyObject

from taskhub.badges import badges_for

from .selectors import notifications_unread_count


def notifications(request):
    """`notifications_unread` for the header badge; counted only if a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": SimpleLazyObject(lambda: notifications_unread_count(user=user)),
            # The alert badges of the navigation (taskhub.badges), counted only if a template shows them.
            "nav_badges": SimpleLazyObject(lambda: badges_for(user))}
