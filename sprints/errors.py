"""The errors of sprints' services (see taskhub.errors for their shape)."""

from taskhub.errors import DomainError


class SprintError(DomainError):
    code = "invalid_sprint"
