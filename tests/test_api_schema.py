"""The documented API: the schema validates, the documentation page works under the CSP from vendored
files, and schemathesis fuzzes every operation of the schema as each role (bounded: a few examples per
operation) with no 5xx and no response that breaks the schema."""

import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create
from accounts.tokens import ApiTokenRateThrottle
from tests import factories

ROLES = ["anonymous", "contractor", "reviewer", "lead", "admin"]


def test_schema_is_served_and_valid(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    for path in ("/api/admin/exports/", "/api/admin/exports/{export_id}/download/", "/api/admin/submissions/",
                 "/api/admin/batches/{batch_id}/release/", "/api/admin/batches/{batch_id}/imports/",
                 "/api/admin/batches/{batch_id}/schedule/", "/api/admin/projects/", "/api/claims/"):
        assert path in paths, path
    assert "apiToken" in schema["components"]["securitySchemes"]
    # The export options are documented as the typed boundary checks them.
    options = schema["components"]["schemas"]["ExportOptionsRequest"]["properties"]
    assert options["min_grade"]["anyOf"][0] == {"maximum": 5, "minimum": 1, "type": "integer"}


def test_generated_schema_matches_served_one(db):
    assert SchemaGenerator().get_schema(request=None, public=True)["paths"].keys()


def test_docs_page_uses_vendored_files_and_no_inline_code(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "<style" not in html and " style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in script.content


# --- schemathesis over the whole schema, as each role -----------------------------------------


@pytest.fixture
def api_headers(db, settings, tmp_path, monkeypatch):
    """Each role's headers (an API token acting as a user of that role), beside something to find:
    a project with tasks and graded work."""
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(ApiTokenRateThrottle, "THROTTLE_RATES", {"api_token": "1000000/hour"})
    work = factories.Work()
    project = work.project(slug="fuzz", overlap=2)
    submission = work.submission(contractor=factories.ContractorFactory(), project=project)
    work.review(submission, 4)
    users = {
        "contractor": factories.ContractorFactory(),
        "reviewer": factories.ContractorFactory(is_reviewer=True),
        "lead": factories.LeadFactory(),
        "admin": factories.AdminFactory(),
    }
    headers = {"anonymous": {}}
    for role, user in users.items():
        _, token = api_token_create(user=user, name="fuzz", days=1)
        headers[role] = {"Authorization": f"Token {token}"}
    return headers


@pytest.fixture
def api_schema(db):
    # Requests go to the WSGI application in this process, inside the test's transaction: like
    # Django's test client, keep request signals from closing the test's database connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# Every operation of the schema, a few generated requests each (hypothesis, derandomized: the same
# requests every run), each sent as every role. schemathesis' pytest plugin does not run under
# pytest 9 yet, so the operations are driven here with its strategies and checks.
EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, response_schema_conformance]


def test_api_fuzz_as_each_role(api_schema, api_headers):
    failures: list[str] = []
    operations = sent = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case):
            nonlocal sent
            for role, headers in api_headers.items():
                response = case.call(headers=headers)
                sent += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except AssertionError as exc:  # schemathesis' failures are AssertionError subclasses
                    failures.append(f"{role} {case.method} {case.formatted_path} -> "
                                    f"{response.status_code}: {str(exc)[:300]}")

        run()
    print(f"schemathesis: {operations} operations, {sent} requests, {len(failures)} failures")
    assert operations >= 23
    assert failures == []
