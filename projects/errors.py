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


class BatchCloseError(DomainError):
    """A batch closing that cannot be recorded as given (its reason)."""

    code = "invalid_batch_close"


class TaskImportError(DomainError):
    code = "import_refused"


class QualificationError(DomainError):
    code = "invalid_qualification"


class MediaRefused(DomainError):
    """An upload that is not an image or a video of an accepted format (by its content), or too large."""

    code = "media_refused"


class LineageError(DomainError):
    code = "invalid_lineage"


class ModelEndpointError(DomainError):
    """An endpoint setting that cannot be kept (a bad URL, an API key typed where its variable's name goes)."""

    code = "invalid_model_endpoint"


class ModelError(DomainError):
    """The project's model did not give a reply: down, slow, rate-limited, refusing the key, or failing.
    `code` says which (model_unreachable, model_slow, model_rate_limited, model_key_missing, model_key_refused,
    model_not_found, model_bad_request, model_error); `retry_after` is the server's own wait, in seconds."""

    status = 503
    code = "model_error"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def as_problem(self):
        problem = super().as_problem()
        if self.retry_after is not None:
            problem["retry_after"] = self.retry_after
        return problem


class GenerationError(DomainError):
    code = "generation_refused"
