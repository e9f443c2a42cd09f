"""The API reads JSON only, and never more of it than DATA_UPLOAD_MAX_MEMORY_SIZE."""

import io

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"

    def __init__(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(
            f"The request body is over {limit} bytes; send smaller batches "
            "(at most 500 events per request)."
        )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser reads the whole stream, however long (Django's size limit guards only
    form bodies and `request.body`). This one reads at most the limit and refuses a longer body
    with 413 before parsing it, so a client cannot make a web process hold gigabytes; and JSON
    nested too deep for the parser is a 400 like any other malformed JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise RequestTooLarge()
        try:
            return super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
