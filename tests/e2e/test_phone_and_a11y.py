"""Every page of every role on a phone (390×844) and at a desktop size: nothing wider than the
screen, and axe-core (vendored, tests/e2e/vendor) finds no critical or serious violation.

The page list is the authorization matrix's (tests/e2e/sweep.py); the sweep is bounded (one
World, one context per person, a time limit for the whole walk)."""

import time

import pytest

from tests.e2e import sweep
from tests.hardening.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SWEEP_SECONDS = 240


@pytest.fixture
def world(live_server):
    world = build_world()
    world.sweep = sweep.visits(world) + sweep.workspace_visits(world)
    return world


def _walk(browser, live_server, world, viewport, *, touch: bool, check_width: bool):
    problems: list[str] = []
    started = time.monotonic()
    visits = world.sweep
    contexts = sweep.contexts(browser, live_server.url, world, {v.who for v in visits}, viewport=viewport, touch=touch)
    pages = {who: context.new_page() for who, context in contexts.items()}
    axe = sweep.AXE.read_text()
    try:
        for visit in visits:
            assert time.monotonic() - started < SWEEP_SECONDS, f"the sweep took over {SWEEP_SECONDS} s"
            page = pages[visit.who]
            response = page.goto(visit.url, wait_until="load")
            where = f"{visit.name} as {visit.who} ({visit.url})"
            if response is None or response.status >= 400:
                problems.append(f"{where}: answered {response and response.status}")
                continue
            if check_width:
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > viewport["width"]:
                    problems.append(f"{where}: {width} px wide; {page.evaluate(sweep.WIDEST_JS, viewport['width'])}")
            page.add_script_tag(content=axe)
            for violation in page.evaluate(sweep.AXE_JS):
                problems.append(f"{where}: {violation['impact']} {violation['id']} at {violation['nodes']}")
    finally:
        for context in contexts.values():
            context.close()
    return visits, problems


def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, world):
    visits, problems = _walk(browser, live_server, world, PHONE, touch=True, check_width=True)
    assert len(visits) > 60
    assert problems == [], "\n".join(problems)


def test_every_page_passes_axe_at_desktop_size(browser, live_server, world):
    visits, problems = _walk(browser, live_server, world, DESKTOP, touch=False, check_width=False)
    assert len(visits) > 60
    assert problems == [], "\n".join(problems)
