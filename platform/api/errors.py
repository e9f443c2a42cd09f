"""Map domain errors to HTTP 4xx with a message a person can act on."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from events.services import InvalidEvents
from members.selectors import MemberNotFound


def exception_handler(exc, context):
    """Domain errors become 4xx: invalid input (Django ValidationErrors raised by services)
    400, keeping its field structure; a member not on the account 404."""
    if isinstance(exc, MemberNotFound):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, InvalidEvents):
        exc = exceptions.ValidationError({"events": exc.errors})
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
