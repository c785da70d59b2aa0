"""allauth, adapted to TaskHub behind its TLS proxy.

- The client's address: allauth reads it from X-Forwarded-For when ALLAUTH_TRUSTED_PROXY_COUNT
  proxies of ours are in front (settings); a request whose header is shorter than that (sent
  straight to the app server, or forged) is counted by its connecting address, not refused with
  an error.
- Failed logins are limited per address ("10/m/ip") and per address and account together ("5/5m/
  key", the key being address + email). Keyed by the email alone, anyone who knows an address
  could lock its owner out by failing five times; keyed by both, failures from elsewhere never
  stop the owner's own correct login.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.httpkit import clean_client_ip
from django.core.exceptions import ImproperlyConfigured, PermissionDenied


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        try:
            return super().get_client_ip(request)
        except ImproperlyConfigured:
            # Fewer X-Forwarded-For entries than trusted proxies: not through our proxies.
            ip = clean_client_ip(request.META.get("REMOTE_ADDR", ""))
            if not ip:
                raise PermissionDenied("Unable to determine the client's address.") from None
            return ip

    def _get_login_attempts_cache_key(self, request, **credentials: Any) -> str:
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{self.get_client_ip(request)}|{account}"


