"""API tokens: made on the settings page, shown once, stored hashed, acting with the owner's role,
revocable, refused clearly when expired or revoked, throttled."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from accounts.tokens import ApiTokenRateThrottle
from taskhub.errors import DomainError
from tests import factories


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_a_token_is_made_on_the_page_shown_once_and_stored_hashed(client_for, contractor):
    client = client_for(contractor)
    response = client.post(reverse("api_tokens"), {"name": "nightly pipeline", "days": "30"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = response.context["token"]
    assert token.startswith("thk_") and token.encode() in response.content
    record = ApiToken.objects.get(user=contractor)
    assert record.name == "nightly pipeline"
    assert token not in (record.digest, record.token_key) and not AuthToken.objects.filter(digest=token).exists()
    assert AuthToken.objects.get(digest=record.digest).user == contractor
    again = client.get(reverse("api_tokens"))
    assert token.encode() not in again.content and b"nightly pipeline" in again.content


def test_bad_token_requests_are_refused_at_their_field(client_for, contractor):
    response = client_for(contractor).post(reverse("api_tokens"), {"name": "", "days": "900"})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"name", "days"}
    assert not ApiToken.objects.exists()
    with pytest.raises(DomainError) as refused:
        api_token_create(user=contractor, name="x", days=0)
    assert refused.value.field == "days"


def test_a_token_acts_with_its_owners_role(client, db):
    contractor, admin = factories.ContractorFactory(), factories.AdminFactory()
    _, contractor_token = api_token_create(user=contractor, name="c", days=1)
    _, admin_token = api_token_create(user=admin, name="a", days=1)
    assert client.get("/api/claims/", **_auth(contractor_token)).status_code == 200
    # A contractor's token never reaches another role's endpoints.
    for path in ("/api/admin/projects/", "/api/admin/exports/", "/api/admin/submissions/", "/api/review/next/"):
        assert client.get(path, **_auth(contractor_token)).status_code == 403, path
    assert client.get("/api/admin/projects/", **_auth(admin_token)).status_code == 200
    assert client.get("/api/claims/", **_auth(admin_token)).status_code == 403


def test_revoked_and_expired_tokens_are_refused_saying_why(client, contractor):
    record, token = api_token_create(user=contractor, name="old pipeline", days=1)
    assert client.get("/api/claims/", **_auth(token)).status_code == 200
    api_token_revoke(user=contractor, token_id=record.pk)
    refused = client.get("/api/claims/", **_auth(token))
    assert refused.status_code == 401 and "was revoked" in refused.json()["detail"]
    assert not AuthToken.objects.filter(digest=record.digest).exists()

    expiring, token2 = api_token_create(user=contractor, name="short", days=1)
    AuthToken.objects.filter(digest=expiring.digest).update(expiry=timezone.now() - timedelta(seconds=1))
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/claims/", **_auth(token2))
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    unknown = client.get("/api/claims/", **_auth("thk_" + "0" * 64))
    assert unknown.status_code == 401 and "no such API token" in unknown.json()["detail"]


def test_only_the_owner_revokes_a_token(client_for, contractor):
    record, _ = api_token_create(user=contractor, name="mine", days=1)
    other = factories.ContractorFactory()
    assert client_for(other).post(reverse("api_token_revoke", args=[record.pk])).status_code == 404
    record.refresh_from_db()
    assert record.revoked_at is None
    response = client_for(contractor).post(reverse("api_token_revoke", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.state() == "revoked"


def test_token_requests_are_throttled(client, contractor, monkeypatch):
    monkeypatch.setattr(ApiTokenRateThrottle, "THROTTLE_RATES", {"api_token": "3/minute"})
    cache.clear()
    _, token = api_token_create(user=contractor, name="busy", days=1)
    codes = [client.get("/api/claims/", **_auth(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Sessions (a person in the browser) are not throttled by it.
    client.force_login(contractor)
    assert client.get("/api/claims/").status_code == 200
    cache.clear()
