"""The pages of every role, for the browser sweeps (phone width, accessibility).

The page list comes from the authorization matrix (tests/hardening/matrix.py): every named GET
route that renders a page, reversed with the hardening World's objects, visited by a person who may
see it (its owner for someone's own object). A new route in the matrix is swept without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.hardening.matrix import MATRIX
from tests.hardening.world import World

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.10.2.min.js"
# Routes that are not pages: files, fragments polled by htmx, event streams, sign-out's POST-only page.
NOT_PAGES = {
    "healthz", "media", "api-docs", "manage_data:export_download", "payouts:statement_csv",
    "payouts_manage:statement_csv", "manage:import_progress", "manage_data:export_progress",
    "manage:generation_progress", "lead:sprint_board_fragment", "work:turn", "work:turn_stream",
    "notification_open",
}
PEOPLE = {"contractor": "contractor", "lead": "lead", "admin": "admin"}


@dataclass(frozen=True)
class Visit:
    who: str  # a World attribute, or "anonymous"
    name: str
    url: str


def visits(world: World) -> list[Visit]:
    found: list[Visit] = []
    for name, entry in sorted(MATRIX.items()):
        if entry.method != "get" or entry.json or name in NOT_PAGES:
            continue
        url = reverse(name, kwargs=entry.kwargs(world))
        if entry.owner:
            found.append(Visit(entry.owner, name, url))
            continue
        if entry.public:
            if name.startswith("account_") and name not in ("account_login", "account_signup",
                                                            "account_reset_password"):
                continue  # allauth's own steps after a link in an email
            found.append(Visit("anonymous", name, url))
            continue
        for role, attribute in PEOPLE.items():
            if role in entry.allowed:
                found.append(Visit(attribute, name, url))
    return found


def workspace_visits(world: World) -> list[Visit]:
    """The workspace of every task type, claimed by the probing contractor ("contractor")."""
    from tests.annotations.reviewing import PAYLOADS, claim_for, make_project, make_task

    found = []
    for task_type in sorted(PAYLOADS):
        project = make_project(task_type, name=f"Sweep {task_type}")
        factories.PayRateFactory(project=project)
        make_task(project)
        claim = claim_for(world.contractor, project)
        url = reverse("work:claim", kwargs={"claim_id": claim.pk})
        found.append(Visit("contractor", f"work:claim ({task_type})", url))
    return found


def session_cookie(user) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}


def contexts(browser, base_url: str, world: World, people: set[str], *, viewport: dict, touch: bool = False) -> dict:
    """One signed-in browser context per person (and one anonymous)."""
    made = {}
    for who in people:
        context = browser.new_context(base_url=base_url, viewport=viewport, has_touch=touch, is_mobile=touch,
                                      bypass_csp=True)  # axe is injected as an inline script
        context.set_default_timeout(15_000)
        if who != "anonymous":
            cookie = session_cookie(getattr(world, who))
            context.add_cookies([{**cookie, "url": base_url}])
        made[who] = context
    return made


WIDEST_JS = """(limit) => {
  const out = [];
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 1 && r.width > 0 && !clipped(el)) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '') +
               ' right=' + Math.round(r.right));
    }
  }
  return out.slice(0, 4);
}"""

AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'critical' || v.impact === 'serious').map(v => ({
    id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' +
      (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}));
}"""
