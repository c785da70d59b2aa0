from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from taskhub.errors import DomainError, apply_to_forms

from . import mail, selectors, services
from .access import admin_required, authenticated, public
from .filters import AuditEntryFilter
from .forms import ApiTokenForm, EmailPreferencesForm, ProfileForm
from .models import EmailGroup, Role

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
def email_preferences(request):
    """What TaskHub emails the person, per group of notifications."""
    form = EmailPreferencesForm(request.POST or None, initial_modes=mail.preferences_of(request.user))
    if request.method == "POST" and form.is_valid():
        mail.preferences_set(user=request.user, modes=form.cleaned_data)
        messages.success(request, "Email choices saved.")
        return redirect("email_preferences")
    return render(request, "account/email_preferences.html", {"form": form,
                                                             "digest_hour": settings.TASKHUB_EMAIL_DIGEST_HOUR},
                  status=400 if form.errors else 200)


# No sign-in and no CSRF token: the signed token in the address is the authority, and a mail
# client's one-click unsubscribe (RFC 8058) POSTs "List-Unsubscribe=One-Click" without a cookie.
@public
@csrf_exempt
@require_http_methods(["GET", "POST"])
def email_unsubscribe(request, token):
    """GET: a page that asks to confirm (one click). POST: switch that group (or all) off."""
    found = mail.unsubscribe_read(token)
    if found is None:
        return render(request, "account/unsubscribe.html", {"invalid": True}, status=404)
    person, group = found
    label = "any notification" if group == mail.ALL_GROUPS else EmailGroup(group).label
    if request.method == "POST":
        scope = mail.ALL_GROUPS if request.POST.get("all") else group
        mail.unsubscribe(user=person, group=scope)
        return render(request, "account/unsubscribe.html", {
            "done": True, "label": "any notification" if scope == mail.ALL_GROUPS else label,
            "email": person.email})
    return render(request, "account/unsubscribe.html", {"label": label, "email": person.email,
                                                       "group_is_all": group == mail.ALL_GROUPS})


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


@authenticated
def notification_open(request, notification_id):
    """A notification is a link to what it concerns: mark it read and go there (only within this
    site; one without a link comes back to the list)."""
    notification = services.notification_mark_read(user=request.user, notification_id=notification_id)
    target = notification.url
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
@authenticated
def api_tokens(request):
    """A person's API tokens: make one (shown once, on this response only) and revoke them."""
    form = ApiTokenForm(request.POST or None)
    created = token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, token = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"])
                form = ApiTokenForm()
            except DomainError as exc:
                apply_to_forms([form], exc)
        if form.errors:
            status = 400
    response = render(request, "account/api_tokens.html", {
        "form": form, "tokens": selectors.api_tokens_for(user=request.user), "created": created, "token": token,
    }, status=status)
    # The token appears in this one response: never cached anywhere.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@authenticated
def api_token_revoke(request, token_id):
    record = services.api_token_revoke(user=request.user, token_id=token_id)
    messages.success(request, f"Revoked the token {record.name!r}: it no longer works.")
    return redirect("api_tokens")
