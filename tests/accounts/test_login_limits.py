"""Sign-in limits behind the TLS proxy: each client is counted by its own address, and nobody can
lock a known email out from elsewhere (issue 15, item 5)."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # every request reaches the app from the proxy


@pytest.fixture(autouse=True)
def behind_one_proxy(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    cache.clear()  # allauth's counters live in the cache
    yield
    cache.clear()


def _login(email: str, password: str, client_ip: str, *, forwarded: str | None = None):
    client = Client(REMOTE_ADDR=PROXY)
    return client.post(reverse("account_login"), {"login": email, "password": password},
                       HTTP_X_FORWARDED_FOR=forwarded or client_ip)


def _signed_in(response) -> bool:
    return response.status_code == 302 and not response["Location"].startswith(reverse("account_login"))


def test_one_persons_failed_logins_do_not_stop_another_persons_login_behind_the_proxy():
    bob, carol = factories.ContractorFactory(), factories.ContractorFactory()
    for _ in range(20):
        assert not _signed_in(_login(bob.email, "wrong password", "203.0.113.5"))
    assert _signed_in(_login(carol.email, factories.PASSWORD, "198.51.100.7"))


def test_nobody_locks_a_known_email_out_and_the_guesser_is_still_stopped():
    alice = factories.ContractorFactory()
    for _ in range(8):
        _login(alice.email, "guess", "203.0.113.9")
    # The guesser is held back (even with the right password, from their address) ...
    held = _login(alice.email, factories.PASSWORD, "203.0.113.9")
    assert not _signed_in(held) and held.status_code in (200, 429)
    assert "Too many" in held.content.decode() or held.status_code == 429
    # ... while the owner, from their own address, signs in.
    assert _signed_in(_login(alice.email, factories.PASSWORD, "198.51.100.20"))


def test_a_request_with_fewer_forwarded_addresses_than_trusted_proxies_is_counted_by_its_own(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    person = factories.ContractorFactory()
    response = _login(person.email, factories.PASSWORD, "198.51.100.30")  # one entry, two proxies expected
    assert _signed_in(response)


def test_the_proxy_settings_are_read_from_the_environment():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, child_env

    code = "import django; django.setup(); from django.conf import settings as s; " \
           "print(s.ALLAUTH_TRUSTED_PROXY_COUNT, s.USE_X_FORWARDED_HOST, s.SECURE_PROXY_SSL_HEADER[0])"
    env = child_env(ALLAUTH_TRUSTED_PROXY_COUNT="1", USE_X_FORWARDED_HOST="true",
                    DJANGO_SETTINGS_MODULE="taskhub.settings", DEBUG="true")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    assert result.stdout.split() == ["1", "True", "HTTP_X_FORWARDED_PROTO"], result.stderr
    assert os.environ.get("ALLAUTH_TRUSTED_PROXY_COUNT") is None
