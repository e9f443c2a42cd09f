"""Map domain errors to HTTP 4xx with a message a person can act on, and answer every error
in JSON, never with a debug page or a traceback.

`exception_handler` covers errors raised inside API views; the `handler*` views (wired in
config.urls) cover the rest: no URL matched, a request Django refused before any view, and a
crash, which is logged with its traceback and answered with a plain 500.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from events.services import ConflictingEvents, InvalidEvents
from members.selectors import MemberNotFound

from .parsers import RequestTooLarge

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "database_unavailable"
    default_detail = "The database is unreachable right now; try again in a few seconds."


def exception_handler(exc, context):
    """Domain errors become 4xx: invalid input (Django ValidationErrors raised by services)
    400, keeping its field structure; a member not on the account 404; an event id replayed
    with another payload 409; a body over the size limit 413."""
    if isinstance(exc, MemberNotFound):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, InvalidEvents):
        exc = exceptions.ValidationError({"events": exc.errors})
    elif isinstance(exc, ConflictingEvents):
        exc = Conflict({"events": exc.errors})
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()  # Django's own limit, on a body read before the parser
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc))
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("Answering 503, the database is out of reach: %s", exc)
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = "5"
    return response


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _error(413, RequestTooLarge().detail)
    return _error(400, "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "You do not have permission to do this.")


def not_found(request, exception=None):
    return _error(404, f"Nothing at {request.path}; the API is under /api/v1/ (see /api/v1/docs/).")


def server_error(request):
    return _error(500, "Server error. It has been logged; try again, or report it if it repeats.")
