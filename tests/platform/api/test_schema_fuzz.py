"""Fuzz the whole API from its own OpenAPI schema (schemathesis): no answer is a 5xx, every
answer, error or not, is one the schema documents in the shape it documents, and input the
schema calls invalid is rejected.

Valid and invalid input both (schemathesis's positive and negative modes), EXAMPLES cases per
operation, as a staff account with one member profile and a few titles. Valid cases aim their
member at the real profile and half their events at real titles, so they reach the checks
behind the schema (a title's runtime and age, replays) and not only "no such member".
One check is left out: "schema-valid input is accepted". Input can be valid by the schema and
still name a title that does not exist or another account's member, which the API answers
with 400 by contract; no schema can say which ids exist. Those answers are tested one by one
in test_bad_input.py.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config import celery_app
from config.wsgi import application
from tests.factories import MemberFactory, TitleFactory

EXAMPLES = 25


# The API ignores query parameters it does not know, as HTTP APIs customarily do, and the
# schema does not forbid them: schemathesis is told not to send made-up ones as "invalid".
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False}})
# Loaded at collection (the schema view reads no database); schemathesis's lazy fixture
# loader does not work with pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=CONFIG)


@pytest.fixture
def world(db):
    member = MemberFactory(name="Ann")
    member.account.is_staff = True
    member.account.save()
    titles = [TitleFactory() for _ in range(3)]
    token = Token.objects.create(user=member.account)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # a fuzzed retrain runs in-process, on no queue
    # Requests go straight to the WSGI app, which closes the database connection after each
    # one, the test's transaction with it; Django's own test client unhooks this the same way.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield {"member": member, "titles": titles, "token": token.key}
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)
    celery_app.conf.task_always_eager = eager


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the work tree; each run explores afresh
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_its_schema_says(case, world):
    if not case._meta.generation.mode.is_negative:  # valid input: aim some of it at real rows
        if "member_id" in (case.path_parameters or {}):
            case.path_parameters["member_id"] = world["member"].pk
        body = case.body if isinstance(case.body, dict) else {}
        for i, event in enumerate(body.get("events", [])):
            if i % 2 == 0:
                event["member"] = world["member"].pk
                event["title"] = world["titles"][i % 3].pk
    case.call_and_validate(
        headers={"Authorization": f"Token {world['token']}"},
        excluded_checks=[positive_data_acceptance],
    )
