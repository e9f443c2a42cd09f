"""The OpenAPI schema documents the errors each operation can answer, not only its success.

drf-spectacular describes the 2xx body of each view. This AutoSchema adds the error answers
that follow from how the view is configured, so they stay true as views change: 400 where the
operation takes input (a body, query parameters, a page size), 401 where it needs
credentials, 403 for staff-only views and for unsafe methods (a session without its CSRF
token), 404 where the path names an object or the list is paged, 413 and 415 where there is
a request body, 429 where a throttle applies to the caller, and 503 everywhere (the database
out of reach). A view documents any other answer (409) itself with
`extend_schema(responses=...)`.
The fuzz test (tests/platform/api/test_schema_fuzz.py) holds the API to every word of it.
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAdminUser


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, and what to do about it.")


VALIDATION_ERROR = {
    "type": "object",
    "additionalProperties": {},
    "description": "Field name (or `detail`, or `non_field_errors`) -> messages; a batch names "
    'the index of each bad event: {"events": {"2": {"title": ["Unknown title id 999999."]}}}',
}

ERRORS = {
    "400": ("The input is invalid; the body names each bad field.", VALIDATION_ERROR),
    "401": ("No credentials, or bad ones: send `Authorization: Token <token>`.", ErrorOutput),
    "403": ("Not allowed: staff only, or a session request without its CSRF token.", ErrorOutput),
    "404": ("No such object, or not one of this account's.", ErrorOutput),
    "413": ("The request body is larger than the API reads.", ErrorOutput),
    "415": ("The body is not JSON (send `Content-Type: application/json`).", ErrorOutput),
    "429": ("Too many requests; retry after the seconds in `Retry-After`.", ErrorOutput),
    "503": ("The database is unreachable; retry after the seconds in `Retry-After`.", ErrorOutput),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
NOT_FOUND = OpenApiResponse(ErrorOutput, description=ERRORS["404"][0])
"""For a view that answers 404 for an id outside its path (`extend_schema(responses=...)`)."""


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                description, body = ERRORS[code]
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(body, description=description), code, direction=direction
                )
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        view = self.view
        permissions = list(getattr(view, "permission_classes", []))
        public = all(permission is AllowAny for permission in permissions)
        has_body = self.method in UNSAFE and self.get_request_serializer() is not None
        paginator = self._get_paginator()
        has_query = bool(self.get_override_parameters())  # what the view itself validates
        sized = getattr(paginator, "page_size_query_param", None) is not None
        codes = []
        if has_body or has_query or sized:
            codes.append("400")
        if not public:
            codes.append("401")
        if IsAdminUser in permissions or (self.method in UNSAFE and not public):
            codes.append("403")
        if "{" in self.path or paginator is not None:
            codes.append("404")
        if has_body:
            codes += ["413", "415"]
        if getattr(view, "throttle_classes", None) and public:
            codes.append("429")
        codes.append("503")
        return codes
