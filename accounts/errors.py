"""The errors of accounts' services (see taskhub.errors for their one shape)."""

from taskhub.errors import Conflict, DomainError


class AccountDecisionError(DomainError):
    code = "invalid_account_decision"


class AccountStateError(Conflict):
    code = "account_state"
