"""The scale test's seeder (``tests/bench/scale_db.py``) makes tenants the endpoints and the admin accept.

``make scale`` seeds 10,000 tenants with it and is not part of ``make test``; these tests run it
small, so a model change that breaks the seeded rows fails here rather than in a long run.
"""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest
from django.test import Client

from apps.accounts.models import User
from apps.applications.models import Application
from apps.tenants.models import SigningKey, Tenant
from tests.bench.scale_db import (
    SEED_AUDIENCE,
    SEED_GRANTED_SCOPES,
    plan_seq_scans,
    scale_seed,
    seeded_m2m_clients,
)
from tests.oauth.helpers import verify_with_jwks

TENANTS = 20
APPS_PER_TENANT = 3


@pytest.fixture
def seeded(db):
    # Batches smaller than the run, so that more than one batch is exercised.
    return scale_seed(tenants=TENANTS, apps_per_tenant=APPS_PER_TENANT, batch_size=8)


def test_seeding_inserts_the_tenants_and_their_rows(seeded):
    # then
    assert (seeded.tenants, seeded.applications, seeded.users) == (
        TENANTS,
        TENANTS * APPS_PER_TENANT,
        TENANTS,
    )
    assert seeded.signing_keys == TENANTS * 4  # a current and a next key per algorithm
    assert seeded.client_grants == TENANTS  # the first application of each tenant is M2M
    assert Tenant.objects.count() == TENANTS
    assert Application.objects.count() == TENANTS * APPS_PER_TENANT
    assert SigningKey.objects.filter(state=SigningKey.State.CURRENT).count() == TENANTS * 2


def test_a_seeded_client_gets_a_token_that_verifies_with_its_tenants_jwks(http, seeded):
    # given a seeded tenant's M2M client
    client = seeded_m2m_clients(limit=5)[3]
    form = {"grant_type": "client_credentials"} | {
        k: client[k] for k in ("client_id", "client_secret", "audience")
    }
    # when it asks its tenant for a token, over HTTP
    response = http.post(f"/t/{client['tenant']}/oauth/token", data=form)
    # then it gets one, signed by its tenant's seeded current key
    assert response.status_code == HTTPStatus.OK, response.text
    token = response.json()["access_token"]
    claims = verify_with_jwks(http, token, tenant_slug=client["tenant"], audience=SEED_AUDIENCE)
    assert claims["scope"] == " ".join(SEED_GRANTED_SCOPES)
    assert jwt.get_unverified_header(token)["kid"] == f"{client['tenant']}-RS256-current"


def test_seeded_clients_are_spread_over_the_tenants(seeded):
    # when
    clients = seeded_m2m_clients(limit=5)
    # then one client per tenant, from tenants across the whole range
    assert len({c["tenant"] for c in clients}) == len(clients) == 5
    assert clients[0]["tenant"] == "scale-00000"
    assert clients[-1]["tenant"] >= "scale-00015"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/applications/application/",
        "/admin/apis/api/",
        "/admin/tenants/tenant/",
        "/admin/accounts/user/",
    ],
)
def test_the_admin_lists_render_the_seeded_rows(seeded, path):
    # given a superuser
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", email="root@example.com", password="x"))
    # when
    response = client.get(path)
    # then
    assert response.status_code == HTTPStatus.OK
    assert "scale-00007" in response.content.decode()


def test_plan_seq_scans_finds_sequential_scans_at_any_depth_with_the_rows_they_read():
    # given an EXPLAIN (ANALYZE, FORMAT JSON) plan with two Seq Scans under a join: one that read
    # a whole table (rows returned + rows its filter removed, over 2 loops), one stopped by a LIMIT
    plan = {
        "Node Type": "Nested Loop",
        "Plans": [
            {"Node Type": "Index Scan", "Relation Name": "tenants_tenant", "Actual Rows": 1},
            {
                "Node Type": "Hash",
                "Plans": [
                    {
                        "Node Type": "Seq Scan",
                        "Relation Name": "applications_application",
                        "Actual Rows": 10,
                        "Rows Removed by Filter": 990,
                        "Actual Loops": 2,
                    }
                ],
            },
            {
                "Node Type": "Limit",
                "Plans": [{"Node Type": "Seq Scan", "Relation Name": "apis_api", "Actual Rows": 1}],
            },
        ],
    }
    # then
    assert list(plan_seq_scans(plan)) == [("applications_application", 2000), ("apis_api", 1)]
