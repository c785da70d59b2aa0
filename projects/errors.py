"""The errors of projects' services. Each carries a code and, where it helps, the field it is about
and its items `{field, message}` (see taskhub.errors)."""

from taskhub.errors import Conflict, DomainError


class InvalidData(DomainError):
    """A payload, answer or configuration that does not fit its task type; `errors` say where."""

    code = "invalid_data"


class RateError(DomainError):
    code = "invalid_rate"


class GradePolicyError(DomainError):
    code = "invalid_grade_policy"


class ProjectSetupError(DomainError):
    code = "invalid_project"


class BatchStateError(Conflict):
    code = "batch_state"


class TaskImportError(DomainError):
    code = "import_refused"


class QualificationError(DomainError):
    code = "invalid_qualification"


class MediaRefused(DomainError):
    """An upload that is not an image or a video of an accepted format (by its content), or too large."""

    code = "media_refused"


class LineageError(DomainError):
    code = "invalid_lineage"
