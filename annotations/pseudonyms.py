"""Contractors as a stable per-project pseudonym, in exports and webhooks, unless an admin asks for ids.

The pseudonym is the first 12 hex digits of SHA-256(project key + contractor id), where the project
key is an HMAC of the project's id under TASKHUB_PSEUDONYM_KEY: stable across exports of a project,
different between projects, and not reversible without the key. `PSEUDONYM_SQL` computes the same in
PostgreSQL for the streaming exports (a test proves the two agree).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.utils.crypto import salted_hmac

PSEUDONYM_SQL = ("'w-' || left(encode(sha256(convert_to(%(pseudonym_key)s || s.contractor_id::text, 'UTF8')), "
                 "'hex'), 12)")


def pseudonym_key(project_id: int) -> str:
    return salted_hmac("taskhub.exports.pseudonym", f"project:{project_id}",
                       secret=settings.TASKHUB_PSEUDONYM_KEY, algorithm="sha256").hexdigest()


def pseudonym(project_id: int, contractor_id: int) -> str:
    digest = hashlib.sha256(f"{pseudonym_key(project_id)}{contractor_id}".encode()).hexdigest()
    return f"w-{digest[:12]}"
