"""The Management API's OpenAPI document: served per tenant, and fuzzed with schemathesis.

The fuzz run is bounded (about ``TOTAL_CASES`` requests: a few examples per operation, positive
and negative data, a fixed seed through ``derandomize``), drives every operation of the served document over real HTTP with a
real management token, and fails on any 5xx or any answer the document does not describe
(status code, content type, body schema).
"""

from __future__ import annotations

from http import HTTPStatus

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# The run's bound: about this many requests in all, spread over every operation and both modes
# (between 2 and 8 examples each), so the run stays well under a minute as endpoints are added.
TOTAL_CASES = 240
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_document_is_served_per_tenant_without_a_token(mgmt, other_mgmt):
    # when
    response = mgmt.http.get(f"{mgmt.base}openapi.json")
    other = other_mgmt.http.get(f"{other_mgmt.base}openapi.json")
    # then
    assert response.status_code == HTTPStatus.OK
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": f"{mgmt.http.base_url}/t/{mgmt.tenant.slug}/api/v2"}]
    assert other.json()["servers"] == [{"url": f"{mgmt.http.base_url}/t/{other_mgmt.tenant.slug}/api/v2"}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {
        "/keys/signing",
        "/guardian/policies",
        "/logs/{id}",
        "/attack-protection/brute-force-protection",
    } <= set(document["paths"])
    assert "/openapi.json" not in document["paths"]
    operation = document["paths"]["/keys/signing/{kid}"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ManagementError"
    }


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(mgmt):
    # given the served document and a token with every scope
    schema = schemathesis.openapi.from_url(f"{mgmt.http.base_url}{mgmt.base}openapi.json")
    headers = {"Authorization": f"Bearer {mgmt.token()}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    examples = max(2, min(8, TOTAL_CASES // (2 * len(operations))))
    failures: list[str] = []

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

            # when
            try:
                fuzz()
            except Exception as exc:
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    # then
    assert failures == [], "\n\n".join(failures)
