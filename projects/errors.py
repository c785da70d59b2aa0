from taskhub.errors import Conflict, DomainError


class RateError(DomainError):
    code = "invalid_rate"


class BatchStateError(Conflict):
    code = "batch_state"


class TaskImportError(DomainError):
    code = "invalid_import"
