"""Every page of the demo data works under the Content Security Policy.

The policy forbids inline scripts and inline styles (the Django admin and allauth pages
included). Chromium reports each blocked script or style on the console; this sweep signs in
as a contractor, a lead and an admin, walks every page reachable by links (one URL per shape,
so /work/claims/12/ and /work/claims/13/ count once) plus every task workspace, and fails on
any such report or uncaught script error.
"""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command

from projects.models import Project
from taskhub.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Links not to follow: signing out, downloads, the JSON API and raw files.
SKIP = re.compile(r"^/(accounts/logout|api/|static/|media/|healthz)|\.csv$|/csv/?$|/admin/logout|/delete/$|/history/$")
MAX_PAGES_PER_ROLE = 120


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


class Watch:
    """Console reports about the policy, and uncaught errors, from every page visited."""

    def __init__(self, page):
        self.problems: list[str] = []
        self.where = ""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{self.where}: uncaught {error}"))

    def _console(self, message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"{self.where}: {message.text}")


def _visit(page, watch, url):
    watch.where = url
    response = page.goto(url)
    page.wait_for_load_state("load")
    assert response is not None and response.status < 500, f"{url} answered {response and response.status}"
    header = response.headers.get("content-security-policy", "")
    if "text/html" in response.headers.get("content-type", ""):
        assert "script-src 'self'" in header and "style-src 'self'" in header, f"{url} has no CSP header"
    return response


def _crawl(page, watch, start: str, base: str) -> set[str]:
    seen_shapes, queue, visited = set(), [start], set()
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        url = queue.pop(0)
        path = urlsplit(url).path
        if _shape(path) in seen_shapes or SKIP.search(path):
            continue
        seen_shapes.add(_shape(path))
        response = _visit(page, watch, url)
        visited.add(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            absolute = urljoin(page.url, href)
            parts = urlsplit(absolute)
            if absolute.startswith(base) and not parts.fragment and _shape(parts.path) not in seen_shapes:
                queue.append(f"{base}{parts.path}")
    return visited


def _sign_in(page, watch, email):
    page.context.clear_cookies()
    _visit(page, watch, "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state("load")


def test_every_page_of_the_demo_runs_under_the_content_security_policy(page, live_server):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - discarded output
    watch = Watch(page)
    base = live_server.url

    # Signed out: the allauth pages.
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        _visit(page, watch, url)

    _sign_in(page, watch, "alice@taskhub.local")
    contractor_pages = _crawl(page, watch, f"{base}/work/", base)
    assert {"/work/", "/work/submissions/", "/earnings/", "/accounts/profile/"} <= contractor_pages
    # Every task type's workspace, reached the way a contractor does: "Start working".
    types_seen = set()
    for project in Project.objects.exclude(is_onboarding=True).order_by("slug"):
        _visit(page, watch, f"/work/projects/{project.slug}/")
        watch.where = f"workspace of {project.slug}"
        page.get_by_role("button", name="Start working").click()
        page.wait_for_load_state("load")
        assert page.locator("#answer-form").count() == 1, f"no workspace for {project.slug}"
        types_seen.add(project.task_type)
        page.keyboard.press("1")  # shortcuts run without tripping the policy
    assert types_seen == {"pairwise", "rating", "rewrite", "redteam", "audio_timestamp", "creative_eval",
                          "image_regions", "video_spans"}

    _sign_in(page, watch, "lead@taskhub.local")
    lead_pages = _crawl(page, watch, f"{base}/lead/", base)
    assert any(p.startswith("/review/") for p in lead_pages)

    _sign_in(page, watch, "admin@taskhub.local")
    admin_pages = _crawl(page, watch, f"{base}/manage/", base)
    admin_pages |= _crawl(page, watch, f"{base}/admin/", base)
    assert "/admin/" in admin_pages and any(p.startswith("/admin/projects/project/") for p in admin_pages)

    assert watch.problems == [], "\n".join(watch.problems)
