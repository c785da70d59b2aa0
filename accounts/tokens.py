"""API tokens for pipelines: knox's token authentication, with clear refusals, and their throttle.

A token acts as its owner, with the owner's role: the same permission classes guard every
endpoint whether a request comes with a session or a token (accounts/access.py). Tokens are made
and revoked by their owner on the API tokens page (`services.api_token_create` / `_revoke`).
"""

from __future__ import annotations

import binascii

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from rest_framework import exceptions
from rest_framework.throttling import UserRateThrottle

from taskhub.formats import local_time

from .models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """knox's `Authorization: Token <token>`, saying why a token is refused: revoked (and when),
    expired (and when), or unknown. Never a 500 for a malformed header."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not text: send the token as it was shown.") from None

    def authenticate_credentials(self, token: bytes):
        try:
            return super().authenticate_credentials(token)
        except exceptions.AuthenticationFailed:
            raise exceptions.AuthenticationFailed(self._refusal(token)) from None

    @staticmethod
    def _refusal(token: bytes) -> str:
        try:
            digest = hash_token(token.decode("utf-8"))
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            return "Invalid token."
        record = ApiToken.objects.filter(digest=digest).select_related("user").first()
        if record is None:
            return "Invalid token: no such API token."
        if record.revoked_at is not None:
            return f"This API token ({record.name}) was revoked at {local_time(record.revoked_at, record.user)}."
        if record.expires_at <= timezone.now():
            return f"This API token ({record.name}) expired at {local_time(record.expires_at, record.user)}."
        return "Invalid token."


class ApiTokenRateThrottle(UserRateThrottle):
    """DRF throttling of requests made with an API token, per user (rate TASKHUB_API_TOKEN_RATE).
    Sessions (people in a browser) are not throttled here."""

    scope = "api_token"

    def allow_request(self, request, view):
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            return True
        return super().allow_request(request, view)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (and so the API page's Authorize button) describes API tokens."""

    target_class = "accounts.tokens.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
