"""Roles are enforced by one mechanism: every TaskHub view declares who may use it."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import factories

OUR_APPS = ("taskhub", "accounts", "projects", "annotations", "payouts")


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _is_ours(callback) -> bool:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None) or callback
    return view.__module__.split(".")[0] in OUR_APPS


def test_every_taskhub_view_declares_its_access():
    undeclared = []
    for route, callback in _walk(get_resolver().url_patterns):
        # The Django admin has its own staff check (admins only, see the last test).
        if not _is_ours(callback) or route.startswith("admin/"):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is not None:  # DRF: the permission classes are the mechanism
            from rest_framework.settings import api_settings

            perms = view_class.permission_classes or api_settings.DEFAULT_PERMISSION_CLASSES
            if not perms:
                undeclared.append(route)
            continue
        if not hasattr(callback, "taskhub_access"):
            undeclared.append(route)
    assert undeclared == []


LEAD_PAGES = ["lead:home"]
ADMIN_PAGES = ["manage:home"]
CONTRACTOR_PAGES = ["work:dashboard", "work:my_work"]


@pytest.mark.parametrize("name", LEAD_PAGES + ADMIN_PAGES)
def test_contractor_gets_403_on_lead_and_admin_pages(client_for, contractor, name):
    response = client_for(contractor).get(reverse(name))
    assert response.status_code == 403
    assert b"have access to this page" in response.content


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_lead_gets_403_on_admin_pages(client_for, lead, name):
    assert client_for(lead).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", LEAD_PAGES + ADMIN_PAGES + CONTRACTOR_PAGES + ["home", "profile"])
def test_anonymous_visitor_is_sent_to_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


def test_api_refuses_anonymous_and_non_contractors(client, client_for, lead):
    assert client.get("/api/claims/").status_code == 401  # with WWW-Authenticate: Token
    assert client_for(lead).get("/api/claims/").status_code == 403


@pytest.mark.parametrize(
    ("factory", "home"),
    [
        (factories.ContractorFactory, "work:dashboard"),
        (factories.LeadFactory, "lead:home"),
        (factories.AdminFactory, "manage:home"),
    ],
)
def test_each_role_lands_on_its_own_home_page(client, db, factory, home):
    user = factory()
    response = client.post(reverse("account_login"), {"login": user.email, "password": factories.PASSWORD},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse(home)
    assert response.status_code == 200


def test_only_admins_reach_the_django_admin(client_for, lead, admin_user):
    assert client_for(lead).get("/admin/").status_code == 302
    assert client_for(admin_user).get("/admin/").status_code == 200
