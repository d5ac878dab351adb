"""Property-based API fuzzing (schemathesis): every operation of the OpenAPI schema gets
generated requests, fitting the schema and not, signed in as an account owner with an API
key; no answer may be a 5xx, and every documented answer must match the schema.

Bounded for the suite: a fixed seed (``derandomize``) and ``FUZZ_EXAMPLES`` examples per
operation, every operation visited in one test (the account is set up once). The long run
recorded in SECURITY.md raises ``FUZZ_EXAMPLES``."""

from __future__ import annotations

import contextlib
import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import Role
from accounts.services import api_key_create
from integrations.services.integrations import integration_create
from tests.factories import add_member, make_record

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, which closes the database connection after
    each one; the test's transaction must survive them (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(_keep_the_test_connection, db, owner, account, workspace):
    """An owner's API key, and a little data so that ids 1, 2, ... often exist."""
    add_member(account, role=Role.CONTRIBUTOR)
    epic = make_record(workspace, "epic", "Payments")
    make_record(workspace, "feature", "Checkout", epic=epic)
    integration_create(account=account, workspace=workspace, name="Jira")
    _, raw = api_key_create(user=owner, name="fuzz")
    return {"Authorization": f"Bearer {raw}"}


def _strategy(operation):
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    # Some operations have nothing that can be made invalid.
    with contextlib.suppress(Exception):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def test_no_operation_answers_5xx_or_off_schema(fuzz_headers):
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = get_wsgi_application()
    failures: list[str] = []
    visited = 0
    answers: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        visited += 1

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,  # a fixed seed: the same cases on every run
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_strategy(operation))
        def run(case):
            # The owner's key, over whatever credentials the schema's security schemes made.
            case.headers = {**(case.headers or {}), **fuzz_headers}
            case.cookies = {}
            response = case.call()
            answers.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collected, so one run reports every operation at fault
            failures.append(f"{operation.label}: {exc}")
    server_errors = sum(1 for status in answers if status >= 500)
    by_status = dict(sorted(Counter(answers).items()))
    print(  # the figures SECURITY.md records (seen with pytest -s)
        f"fuzz: {len(answers)} cases over {visited} operations, {EXAMPLES} examples each, "
        f"{server_errors} answered 5xx, {len(failures)} operations at fault; answers {by_status}"
    )
    # Signed in: the cases reach the views (a few may still be refused: foreign ids, viewers).
    assert by_status.get(401, 0) < len(answers) / 10, by_status
    assert visited >= 50, "the schema lost its operations"
    assert not failures, "\n\n".join(failures)
