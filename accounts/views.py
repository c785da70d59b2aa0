from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors, services
from .access import admin_required, authenticated
from .filters import AuditEntryFilter
from .forms import ProfileForm
from .models import Role

HOME_BY_ROLE = {
    Role.CONTRACTOR: "work:dashboard",
    Role.LEAD: "lead:home",
    Role.ADMIN: "manage:home",
}


@authenticated
def home(request):
    """Send each person to the home page of their role."""
    return redirect(HOME_BY_ROLE[request.user.role])


@authenticated
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "account/profile.html", {"form": form}, status=400 if form.errors else 200)


@authenticated
def notifications(request):
    page = Paginator(selectors.notifications_for(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "account/notifications.html", {"page": page, "notifications": page.object_list})


@require_POST
@authenticated
def notification_read(request, notification_id):
    """Mark one read, then follow its link (only to this site) or come back to the list."""
    notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    target = notification.url if request.POST.get("follow") else ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications")


@require_POST
@authenticated
def notifications_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"Marked {count} notification{'' if count == 1 else 's'} read.")
    return redirect("notifications")


AUDIT_PAGE = 100


@admin_required
def audit_trail(request):
    """Every decision that touched a person or pay, newest first, with filters."""
    filters = AuditEntryFilter(request.GET or None, queryset=selectors.audit_entries())
    entries = filters.qs if filters.is_bound and filters.is_valid() else selectors.audit_entries()
    page = Paginator(entries, AUDIT_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "manage/audit.html", {"filters": filters, "page": page, "query": query.urlencode()},
                  status=400 if filters.is_bound and not filters.is_valid() else 200)
