from taskhub.errors import Conflict, DomainError


class LedgerError(DomainError):
    code = "invalid_ledger_entry"


class PayoutStateError(Conflict):
    code = "payout_state"


class PayoutError(DomainError):
    code = "invalid_payout"


class WageFloorError(DomainError):
    code = "invalid_wage_floor"
