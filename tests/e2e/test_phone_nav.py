"""The phone in Chromium: the menu collapses behind a button that works by keyboard, touch targets
are at least 44 px on a touch screen and keyboard hints are hidden there; and the small fixes of
issue 19 as a person meets them (notifications as links, the grouped time-zone picker, Submit and
stop, the favicon, email choices and the unsubscribe link)."""

import re

import pytest
from django.core import mail as django_mail
from playwright.sync_api import expect

from accounts import mail
from accounts.models import EmailGroup, EmailMode, Notification
from accounts.services import notification_create
from tests import factories
from tests.e2e.sweep import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    contexts = []

    def open_as(user, touch=True):
        context = browser.new_context(base_url=live_server.url, viewport=PHONE, has_touch=touch, is_mobile=touch)
        context.set_default_timeout(10_000)
        if user is not None:
            context.add_cookies([{**session_cookie(user), "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def test_the_menu_collapses_on_a_phone_and_works_by_keyboard(phone):
    admin = factories.AdminFactory()
    page = phone(admin, touch=False)
    page.goto("/manage/")
    toggle = page.get_by_role("button", name="Menu")
    menu = page.get_by_role("navigation", name="Main")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu.get_by_role("link", name="Payouts")).to_be_hidden()

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Payouts")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Tab")  # into the menu
    expect(menu.get_by_role("link").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(menu.get_by_role("link", name="Payouts")).to_be_hidden()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # At a desktop width there is no menu button: the menu is always there.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.reload()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(menu.get_by_role("link", name="Payouts")).to_be_visible()


def test_touch_targets_are_44_px_and_keyboard_hints_are_hidden_on_touch(phone, live_server):
    contractor = factories.ContractorFactory()
    project = factories.ProjectFactory(name="Helpful pairs", slug="helpful-pairs")
    factories.PayRateFactory(project=project)
    factories.make_tasks(factories.BatchFactory(project=project), 3)
    page = phone(contractor)
    page.goto("/work/projects/helpful-pairs/")
    page.get_by_role("button", name=re.compile("Start|Claim|Begin", re.I)).first.click()
    page.wait_for_url(re.compile(r"/work/claims/\d+/"))
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    small = page.evaluate("""() => [...document.querySelectorAll(
        'main button, main .button, main select, main input:not([type=hidden]):not([type=radio]):not([type=checkbox]),'
        + ' .menu-toggle')]
      .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
      .map(el => el.outerHTML.slice(0, 80))""")
    assert small == []
    hints = page.locator(".keys")
    assert hints.count() >= 1
    expect(hints.first).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # "Submit and stop" stops: no "next task" promised.
    page.get_by_label("Response A").check()
    page.get_by_label("Clearly").check()
    page.get_by_label("Why?").fill("A is accurate and B is not: the moon causes the tides.")
    page.get_by_role("button", name="Submit and stop").click()
    page.wait_for_url(re.compile(r"/work/$"))
    expect(page.get_by_role("status")).to_contain_text("You have stopped for now")
    expect(page.get_by_role("status")).not_to_contain_text("next task")


def test_notifications_are_links_and_the_time_zone_picker_is_grouped(phone):
    person = factories.ContractorFactory(timezone="Europe/Berlin")
    notification_create(user=person, kind="rate_change", title="New pay rate on Helpful pairs",
                        url="/earnings/", key="rate-1")
    page = phone(person)
    page.goto("/accounts/notifications/")
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", re.compile(r"favicon\.svg$"))
    page.get_by_role("link", name="New pay rate on Helpful pairs").click()
    page.wait_for_url(re.compile(r"/earnings/$"))
    assert Notification.objects.get(user=person).read_at is not None

    page.goto("/accounts/profile/")
    picker = page.get_by_label("Time zone")
    assert picker.locator("optgroup").count() >= 8
    berlin = picker.locator("optgroup[label=Europe] option[value='Europe/Berlin']")
    assert re.fullmatch(r"Berlin \(UTC\+0[12]:00\)", berlin.inner_text())
    assert picker.evaluate("el => el.value") == "Europe/Berlin"
    picker.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Profile saved")
    person.refresh_from_db()
    assert person.timezone == "Asia/Tokyo"


def test_email_choices_and_the_unsubscribe_link_in_a_browser(phone, live_server):
    person = factories.ContractorFactory()
    page = phone(person)
    page.goto("/accounts/email-choices/")
    page.get_by_role("group", name=re.compile("Lottery results")).get_by_label("Off").check()
    page.get_by_role("group", name=re.compile("Pay rate")).get_by_label("In a daily digest").check()
    page.get_by_role("button", name="Save email choices").click()
    expect(page.get_by_role("status")).to_contain_text("Email choices saved")
    assert mail.preferences_of(person)[EmailGroup.LOTTERY] == EmailMode.OFF
    assert mail.preferences_of(person)[EmailGroup.PAY] == EmailMode.DIGEST

    django_mail.outbox.clear()
    notification_create(user=person, kind="release_announced", title="Pairs · B1 opens soon", key="r-1")
    mail.emails_send(email_ids=list(mail.OutgoingEmail.objects.values_list("pk", flat=True)))
    assert len(django_mail.outbox) == 1
    link = re.search(r"Unsubscribe from these emails \(one click, no sign-in\): (\S+)",
                     django_mail.outbox[0].body).group(1)
    anonymous = phone(None)
    anonymous.goto(link.replace("http://127.0.0.1:8000", live_server.url))
    expect(anonymous.get_by_role("heading", name="Stop these emails?")).to_be_visible()
    anonymous.get_by_role("button", name="Unsubscribe").click()
    expect(anonymous.get_by_role("heading", name="Done")).to_be_visible()
    assert mail.preferences_of(person)[EmailGroup.RELEASES] == EmailMode.OFF
