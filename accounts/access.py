"""Who may see what: the one access mechanism every TaskHub view uses.

Page views are wrapped in `role_required(...)` (or marked `public`); API views use the
permission classes below. Anonymous visitors are sent to the login page, signed-in users
without the role get 403. `tests/test_access.py` walks the URL configuration and fails
if a TaskHub view is not covered.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import Role

CONTRACTOR_ROLES = frozenset({Role.CONTRACTOR})
LEAD_ROLES = frozenset({Role.LEAD, Role.ADMIN})
ADMIN_ROLES = frozenset({Role.ADMIN})


def has_role(user, roles) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def role_required(roles):
    """Allow the view only to signed-in users whose role is in `roles`."""
    roles = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, roles):
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        wrapper.taskhub_access = roles
        return wrapper

    return decorator


def authenticated(view):
    """Any signed-in user, whatever the role (e.g. the role-dispatching home page)."""
    return role_required(frozenset(Role))(view)


contractor_required = role_required(CONTRACTOR_ROLES)
lead_required = role_required(LEAD_ROLES)
admin_required = role_required(ADMIN_ROLES)


def can_review(user) -> bool:
    """Team leads, admins, and contractors an admin made reviewers."""
    return bool(user.is_authenticated and user.is_active and getattr(user, "can_review", False))


def reviewer_required(view):
    """Like `role_required`, for the people who grade work: leads, admins and reviewer contractors."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_review(request.user):
            raise PermissionDenied("Your role does not give access to this page.")
        return view(request, *args, **kwargs)

    wrapper.taskhub_access = "reviewer"
    return wrapper


def public(view):
    """Mark a view as deliberately open to anonymous visitors."""
    view.taskhub_access = "public"
    return view


class _RolePermission(BasePermission):
    roles: frozenset = frozenset()
    message = "Your role does not give access to this resource."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, self.roles)


class IsContractor(_RolePermission):
    roles = CONTRACTOR_ROLES


class IsLead(_RolePermission):
    roles = LEAD_ROLES


class IsAdmin(_RolePermission):
    roles = ADMIN_ROLES


class IsReviewer(BasePermission):
    message = "Only reviewers (team leads, admins and appointed contractors) may do this."

    def has_permission(self, request, view) -> bool:
        return can_review(request.user)


def role_context(request):
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else None
    return {
        "is_contractor": role == Role.CONTRACTOR,
        "is_lead": role in LEAD_ROLES,
        "is_admin_role": role == Role.ADMIN,
        "can_review": bool(user is not None and can_review(user)),
    }
