"""ORJSONRenderer escapes U+2028 and U+2029 as DRF's renderer does, and leaves every other
character, those whose UTF-8 starts with the same byte included, as written."""

import json

from rest_framework.renderers import JSONRenderer

from api.renderers import ORJSONRenderer


def test_line_and_paragraph_separators_are_escaped_and_nothing_else():
    for text in [
        "plain",
        "curly \u2019quotes\u2019 \u2014 dash",
        "a\u2028b\u2029c \u2019",
        "\u2029",
    ]:
        data = {"name": text, "n": [1, 2.5, None]}
        fast = ORJSONRenderer().render(data)
        assert fast == JSONRenderer().render(data), text
        assert json.loads(fast) == data
