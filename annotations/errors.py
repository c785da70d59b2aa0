from taskhub.errors import Conflict, DomainError, Forbidden


class ClaimError(Conflict):
    code = "claim_conflict"


class NotQualified(Forbidden):
    code = "not_qualified"


class ProjectClosed(DomainError):
    code = "project_not_active"
