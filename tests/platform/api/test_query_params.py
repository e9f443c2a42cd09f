"""QueryParams: a serializer's fields bound once check a query string as the serializer
does, value for value and error for error."""

import pytest
from django.http import QueryDict
from rest_framework import serializers

from api.serializers import QueryParams
from api.views.homepage import MemberHomepageApi

QUERIES = [
    "",
    "device=tv",
    "at=2026-01-02T03:04:05Z",
    "at=2026-01-02T03:04:05%2B02:00&device=phone",
    "at=",
    "device=",
    "at=yesterday",
    "at=1900-01-01T00:00:00Z",
    "at=2999-01-01T00:00:00Z&device=toaster",
    "device=fridge&other=1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_homepage_query_is_checked_as_its_serializer_checks_it(query):
    data = QueryDict(query)
    serializer = MemberHomepageApi.Input(data=data)
    try:
        got = MemberHomepageApi.params.validate(data)
    except serializers.ValidationError as exc:
        assert not serializer.is_valid()
        assert exc.detail == serializer.errors
    else:
        assert serializer.is_valid(), serializer.errors
        assert got == serializer.validated_data


def test_a_serializer_that_validates_in_methods_is_refused():
    class Checked(serializers.Serializer):
        n = serializers.IntegerField()

        def validate_n(self, value):
            return value

    class Whole(serializers.Serializer):
        n = serializers.IntegerField()

        def validate(self, attrs):
            return attrs

    for cls, hook in ((Checked, "validate_n"), (Whole, "validate")):
        with pytest.raises(TypeError, match=hook):
            QueryParams(cls)
