"""No authority beyond your own people: every route x role x someone else's object answers 403 or 404.

The routes come from the URLconf; `tests/hardening/matrix.py` says, for each, who may reach the
someone-else's object in its URL. A route without an entry fails `test_every_route_has_an_entry`.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from taskhub.heartbeats import BEAT, WORKER, heartbeat_record
from tests.hardening import count
from tests.hardening.matrix import ADMIN_NAMESPACE, MATRIX, ROLES, Entry
from tests.hardening.routes import sample_kwargs, site_routes
from tests.hardening.world import World, build_world

pytestmark = pytest.mark.django_db

DENIED = {403, 404}


def test_every_route_has_an_entry_in_the_matrix():
    routes = list(site_routes())
    # The Django admin has unnamed redirects of its own (covered by its staff check, below).
    unnamed = [str(p.pattern) for name, p in routes if name.endswith("?") and not name.startswith("admin:")]
    assert unnamed == [], "name these routes so the matrix can list them"
    names = {name for name, _ in routes if not name.startswith(f"{ADMIN_NAMESPACE}:")}
    missing = sorted(names - MATRIX.keys())
    assert missing == [], f"routes without an entry in tests/hardening/matrix.py: {missing}"
    assert sorted(MATRIX.keys() - names) == [], "entries for routes that no longer exist"


def _clients(world: World) -> dict[str, Client]:
    clients = {}
    for role, person in world.people.items():
        client = Client(raise_request_exception=False)
        if person is not None:
            client.force_login(person)
        clients[role] = client
    return clients


def _ask(client: Client, entry: Entry, url: str):
    if entry.method == "get":
        return client.get(url)
    if entry.json:
        return client.post(url, {}, content_type="application/json")
    return client.post(url, {})


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_every_route_and_role_reaches_only_what_it_may():
    world = build_world()
    clients = _clients(world)
    heartbeat_record(BEAT)  # /healthz is public and healthy here
    heartbeat_record(WORKER)
    failures: list[str] = []
    probes = 0
    for name, entry in MATRIX.items():
        url = reverse(name, kwargs=entry.kwargs(world))
        # Those who may not come first, so nothing the allowed ones change hides a hole.
        for role in sorted(ROLES, key=lambda r: r in entry.allowed):
            response = _ask(clients[role], entry, url)
            status = response.status_code
            probes += 1
            if status >= 500:
                failures.append(f"{name} as {role}: {status}")
            elif role == "anonymous" and not entry.public:
                ok = status in DENIED | {401} if entry.json else _sent_to_sign_in(response) or status in DENIED
                if not ok:
                    failures.append(f"{name} as anonymous: {status}, expected sign-in or 403/404")
            elif role != "anonymous" and role not in entry.allowed and status not in DENIED:
                failures.append(f"{name} as {role} (someone else's object): {status}, expected 403 or 404")
            elif (role in entry.allowed or entry.public) and status in DENIED:
                failures.append(f"{name} as {role}: {status}, but this role may use it")
        if entry.owner:
            owner = Client(raise_request_exception=False)
            owner.force_login(getattr(world, entry.owner))
            status = _ask(owner, entry, url).status_code
            probes += 1
            if status >= 500 or status in DENIED:
                failures.append(f"{name} as its owner ({entry.owner}): {status}, the route must work for them")
    count("matrix routes", len(MATRIX))
    count("matrix probes", probes)
    assert failures == [], '\n'.join(failures)


def test_a_lead_who_leads_a_person_on_one_project_cannot_decide_their_flag_on_another():
    """Issue 15, item 1, as it was found: the lead leads "other" (on the shared project), and the flag
    and pause are on a project of someone else's sprint. Pages and services both refuse."""
    from annotations.models import ContractorFlag, ContractorPause
    from sprints import services as lead_services
    from taskhub.errors import NotFound

    world = build_world()
    client = _clients(world)["lead"]
    page = client.get(reverse("lead:flags")).content.decode()
    assert str(world.other) not in page  # neither the flag nor the pause is listed
    reason = "Paused because the grades on this project fell."
    decided = client.post(reverse("lead:flag_decide", args=[world.flag_other.pk]), {"decision": "pause",
                                                                                    "reason": reason})
    lifted = client.post(reverse("lead:pause_lift", args=[world.pause_other.pk]), {"reason": reason})
    assert (decided.status_code, lifted.status_code) == (404, 404)
    with pytest.raises(NotFound):
        lead_services.flag_decide(flag=world.flag_other, lead=world.lead, decision="pause", reason=reason)
    with pytest.raises(NotFound):
        lead_services.pause_lift(pause=world.pause_other, lead=world.lead, reason=reason)
    assert ContractorFlag.objects.get(pk=world.flag_other.pk).status == ContractorFlag.Status.OPEN
    assert ContractorPause.objects.get(pk=world.pause_other.pk).lifted_at is None
    # The lead of that project's sprint decides them.
    assert lead_services.flag_decide(flag=world.flag_other, lead=world.other_lead, decision="warn",
                                     reason=reason).status == ContractorFlag.Status.WARNED
    # And a lead calling the claim engine's service without their scope is refused, not trusted.
    from annotations import services as review_services
    from taskhub.errors import Forbidden

    with pytest.raises(Forbidden):
        review_services.pause_lift(pause=world.pause_other, lead=world.other_lead, reason=reason)


def test_the_django_admin_is_for_admins_only():
    world = build_world()
    clients = _clients(world)
    failures, probes = [], 0
    for name, pattern in site_routes():
        if not name.startswith(f"{ADMIN_NAMESPACE}:") or name.endswith("?"):
            continue
        try:
            url = reverse(name, kwargs=sample_kwargs(pattern))
        except NoReverseMatch:
            continue
        for role in ("anonymous", "contractor", "reviewer", "lead"):
            response = clients[role].get(url)
            probes += 1
            denied = response.status_code in DENIED or (
                response.status_code == 302 and response["Location"].startswith(reverse("admin:login")))
            if not denied and name not in {"admin:login", "admin:logout", "admin:jsi18n"}:
                failures.append(f"{name} as {role}: {response.status_code}")
    count("matrix admin probes", probes)
    assert probes > 300
    assert failures == []
