"""Prometheus metrics: tokens issued and refused, request latency per endpoint, /metrics itself,
and the sum over a real server's worker processes."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
import requests
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from apps.core import metrics
from tests.conftest import make_m2m_setup
from tests.reliability.servers import server


@pytest.fixture(autouse=True)
def _metrics_applied_at_once(settings):
    settings.METRICS_FLUSH_SECONDS = 0


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_issued_and_refused_tokens_are_counted_per_tenant_grant_type_and_error(http, m2m):
    # given the counters for the tenant as they stand
    issued = dict(tenant=m2m.tenant.slug, grant_type="client_credentials", outcome="issued", error="")
    refused = dict(
        tenant=m2m.tenant.slug, grant_type="client_credentials", outcome="refused", error="invalid_client"
    )
    issued_before, refused_before = (
        _sample("portcullis_tokens_total", **issued),
        _sample("portcullis_tokens_total", **refused),
    )

    # when one token is issued and one request is refused for a wrong secret
    assert http.post(m2m.token_path(), data=m2m.form()).status_code == HTTPStatus.OK
    assert (
        http.post(m2m.token_path(), data=m2m.form(client_secret="wrong")).status_code
        == HTTPStatus.UNAUTHORIZED
    )

    # then each is counted once, under its outcome and error
    assert _sample("portcullis_tokens_total", **issued) == issued_before + 1
    assert _sample("portcullis_tokens_total", **refused) == refused_before + 1


def test_requests_are_timed_per_url_pattern_not_per_path(http, m2m):
    labels = dict(endpoint="token", method="POST")
    count_before = _sample("portcullis_http_request_duration_seconds_count", **labels)
    ok_before = _sample("portcullis_http_responses_total", status="200", **labels)

    assert http.post(m2m.token_path(), data=m2m.form()).status_code == HTTPStatus.OK

    assert _sample("portcullis_http_request_duration_seconds_count", **labels) == count_before + 1
    assert _sample("portcullis_http_responses_total", status="200", **labels) == ok_before + 1


def test_unknown_methods_do_not_create_new_label_values(http):
    # given a request with a made-up method
    before = _responses(endpoint="healthz", method="other")
    status = http.request("BREW", "/healthz").status_code
    # then it is counted under "other", and "BREW" never becomes a label value
    assert _responses(endpoint="healthz", method="other") == before + 1, status
    assert _responses(endpoint="healthz", method="BREW") == 0


def _responses(**labels: str) -> float:
    """portcullis_http_responses_total summed over the labels not given (status, usually)."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "portcullis_http_responses_total"
        and all(sample.labels.get(name) == value for name, value in labels.items())
    )


@pytest.mark.django_db
def test_the_metrics_endpoint_serves_the_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {
        "portcullis_tokens",
        "portcullis_http_request_duration_seconds",
        "portcullis_token_log_queue_depth",
    } <= names


@pytest.mark.django_db
def test_a_metrics_bearer_token_when_set_is_required(client, settings):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code
        == HTTPStatus.UNAUTHORIZED
    )
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert allowed.status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_a_two_worker_server_reports_the_sum_of_its_workers(tmp_path):
    # given a server with two worker processes, as make run serves
    setup = make_m2m_setup()
    with server(tmp_path / "server.log", workers=2, threads=2) as running:
        url = running.base_url + setup.token_path()
        # when tokens are requested on fresh connections (spread over both workers)
        answered = 0
        for _ in range(40):
            response = requests.post(url, data=setup.form(), headers={"Connection": "close"}, timeout=10)
            answered += response.status_code == HTTPStatus.OK
        # then every scrape, whichever worker takes it, counts them all (once each worker has
        # applied its tally: within METRICS_FLUSH_SECONDS, 1 s)
        time.sleep(1.5)
        for _ in range(4):
            text = requests.get(
                running.base_url + "/metrics", headers={"Connection": "close"}, timeout=10
            ).text
            issued = _value_of(text, "portcullis_tokens_total", tenant=setup.tenant.slug, outcome="issued")
            assert issued == answered == 40


def _value_of(text: str, sample_name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_the_batched_tally_gives_what_prometheus_client_would_have_recorded(settings):
    # given the same observations recorded directly and through the tally (as the server does)
    settings.METRICS_FLUSH_SECONDS = 60
    registry = CollectorRegistry()
    buckets = (0.001, 0.01, 0.1, 1.0)
    direct = Histogram("direct_seconds", "d", ["endpoint"], buckets=buckets, registry=registry)
    tallied = Histogram("tallied_seconds", "t", ["endpoint"], buckets=buckets, registry=registry)
    direct_count = Counter("direct", "d", ["status"], registry=registry)
    tallied_count = Counter("tallied", "t", ["status"], registry=registry)
    values = [0.0005, 0.001, 0.0011, 0.05, 0.1, 0.2, 3.0, 0.001, 7.5]
    for value in values:
        direct.labels("token").observe(value)
        metrics.observe(tallied, "token", value=value)
        direct_count.labels("200").inc()
        metrics.count(tallied_count, "200")

    # when the tally is applied
    metrics.flush()

    # then every bucket, the sum and the count are the same
    def samples(prefix: str) -> dict:
        return {
            (sample.name.removeprefix(prefix), tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect()
            for sample in family.samples
            if sample.name.startswith(prefix) and not sample.name.endswith("_created")
        }

    assert samples("direct") == samples("tallied")
    assert samples("direct")[("_seconds_bucket", (("endpoint", "token"), ("le", "0.001")))] == 3
