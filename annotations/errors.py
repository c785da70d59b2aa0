"""The errors of the claim engine and of grading. Each carries a code and, where it helps, the field
it is about and its items `{field, message}` (see taskhub.errors)."""

from taskhub.errors import Conflict, DomainError, Forbidden


class ClaimError(Conflict):
    code = "claim_conflict"


class NotQualified(Forbidden):
    code = "not_qualified"


class ProjectClosed(DomainError):
    code = "project_not_active"


class LotteryError(DomainError):
    code = "lottery"


class ReviewError(DomainError):
    """A grade, mark, reason or decision that cannot be accepted as given."""

    code = "invalid_review"


class DraftError(DomainError):
    code = "invalid_draft"


class ExportError(DomainError):
    """An export that cannot be made as asked: an unknown format, a filter of the wrong type, no data."""

    code = "export_refused"


class ConversationError(DomainError):
    """A message to the model that cannot be sent as given (empty, too long, no model set up)."""

    code = "conversation_refused"


class ModelBudgetSpent(DomainError):
    """A contractor has sent as many messages as the endpoint's budget allows (per task, or this hour)."""

    status = 429
    code = "budget_spent"
