import re

from django.core import mail
from django.urls import reverse

from accounts.models import Role, User


def _link(body: str) -> str:
    return re.search(r"https?://testserver(\S+)", body).group(1)


def test_signup_verify_email_then_land_on_contractor_dashboard(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "New.Person@Example.com",
            "password1": "a long enough passphrase",
            "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.role == Role.CONTRACTOR
    # Mandatory verification: not signed in until the emailed link is used.
    assert client.get(reverse("work:dashboard")).status_code == 302
    assert len(mail.outbox) == 1
    confirm = _link(mail.outbox[0].body)
    page = client.get(confirm)
    assert page.status_code == 200
    response = client.post(confirm, follow=True)
    assert response.redirect_chain[-1][0] == reverse("work:dashboard")
    assert user.emailaddress_set.get().verified


def test_signup_with_a_taken_email_creates_nothing_and_tells_only_the_owner(client, contractor):
    # allauth prevents account enumeration: the form looks successful, the owner is told by email.
    response = client.post(
        reverse("account_signup"),
        {"email": contractor.email, "password1": "a long enough passphrase", "password2": "a long enough passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.filter(email=contractor.email).count() == 1
    assert mail.outbox[0].to == [contractor.email]
    assert "already" in mail.outbox[0].body


def test_password_reset_sends_a_working_link(client, contractor):
    client.post(reverse("account_reset_password"), {"email": contractor.email})
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0].body)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "brand new passphrase 42", "password2": "brand new passphrase 42"},
    )
    assert response.status_code == 302
    contractor.refresh_from_db()
    assert contractor.check_password("brand new passphrase 42")


def test_logout_ends_the_session(client_for, contractor):
    client = client_for(contractor)
    client.post(reverse("account_logout"))
    assert client.get(reverse("work:dashboard")).status_code == 302


def test_profile_saves_time_zone_and_refuses_unknown_ones(client_for, contractor):
    client = client_for(contractor)
    ok = client.post(reverse("profile"), {"display_name": "C", "timezone": "Europe/Paris", "jurisdiction": "FR"})
    assert ok.status_code == 302
    bad = client.post(reverse("profile"), {"display_name": "C", "timezone": "Mars/Olympus", "jurisdiction": "FR"})
    assert bad.status_code == 400
    contractor.refresh_from_db()
    assert contractor.timezone == "Europe/Paris"
