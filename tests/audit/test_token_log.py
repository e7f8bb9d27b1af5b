"""The token log: every token issued or refused, with Auth0's log types, in the right tenant."""

from __future__ import annotations

import base64
from http import HTTPStatus

import jwt
import pytest

from apps.audit import token_log
from apps.audit.models import TokenEvent
from apps.oauth import errors
from tests.tenancy import two_tenants


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


def test_issued_token_is_logged_with_its_jti(http, m2m):
    # when
    response = http.post(m2m.token_path(), data=m2m.form())
    # then
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    event = TokenEvent.objects.get()
    assert event.type == TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS
    assert event.tenant_id == m2m.tenant.pk
    assert (event.client_id, event.audience, event.scope, event.jti) == (
        m2m.client_id, m2m.api.identifier, "read:things write:things", claims["jti"],
    )  # fmt: skip
    assert event.error == "" and event.ip == "127.0.0.1"


def test_refused_token_is_logged_with_the_error(http, m2m):
    # when
    http.post(m2m.token_path(), data=m2m.form(scope="delete:things"))
    # then
    event = TokenEvent.objects.get()
    assert event.type == TokenEvent.Type.FAILED_CLIENT_CREDENTIALS
    assert event.error == "access_denied"
    assert event.error_description == errors.MSG_SCOPES_NOT_GRANTED.format(scopes="delete:things")
    assert event.client_id == m2m.client_id and event.jti == ""


def test_malformed_request_is_logged_as_a_failed_exchange(http, m2m):
    http.post(m2m.token_path(), data="{", headers={"Content-Type": "application/json"})
    event = TokenEvent.objects.get()
    assert event.type == TokenEvent.Type.FAILED_EXCHANGE
    assert event.error == "invalid_request"


def test_secrets_never_reach_the_log(http, m2m):
    http.post(m2m.token_path(), data=m2m.form())
    http.post(m2m.token_path(), data=m2m.form(client_secret="typo-" + m2m.client_secret))
    for event in TokenEvent.objects.values():
        assert m2m.client_secret not in str(event)


def test_events_land_in_the_tenant_whose_endpoint_was_called(http, db):
    # given tenant A's client calling tenant B's endpoint
    tenants = two_tenants()
    # when
    http.post(tenants.b.token_path(), data=tenants.a.form())
    # then B sees the refusal; A's log is untouched
    assert (
        TokenEvent.objects.filter(tenant=tenants.b.tenant, type="feccft", error="invalid_client").count() == 1
    )
    assert not TokenEvent.objects.filter(tenant=tenants.a.tenant).exists()


def test_buffered_events_are_written_by_flush(http, m2m, settings, monkeypatch):
    # given the production mode: events queue in memory (the flusher thread is not started here)
    settings.TOKEN_LOG_FLUSH_SECONDS = 60
    monkeypatch.setattr(token_log, "_start_flusher", lambda: None)
    # when tokens are issued
    for _ in range(3):
        assert http.post(m2m.token_path(), data=m2m.form()).status_code == HTTPStatus.OK
    # then nothing is written until a flush, which writes them all in one batch
    assert TokenEvent.objects.count() == 0
    assert token_log.flush() == 3
    assert TokenEvent.objects.filter(type="seccft").count() == 3


def test_requests_refused_before_parsing_are_logged_too(http, m2m):
    # when bodies are refused before their parameters are read (NUL bytes, broken JSON)
    http.post(m2m.token_path(), data=m2m.form(audience="https://x\x00.example.com"))
    http.post(m2m.token_path(), data="{", headers={"Content-Type": "application/json"})
    # then each refusal is a failed exchange with its error
    events = TokenEvent.objects.all()
    assert [event.type for event in events] == [TokenEvent.Type.FAILED_EXCHANGE] * 2
    assert {event.error for event in events} == {"invalid_request"}


def test_nul_in_a_basic_auth_client_id_is_refused_and_logged(http, m2m):
    # given a Basic header (not parsed as a body parameter) whose client id has a NUL byte
    credentials = base64.b64encode(b"ab\x00cd:secret").decode()
    # when
    response = http.post(
        m2m.token_path(),
        data=m2m.form(client_id=None, client_secret=None),
        headers={"Authorization": f"Basic {credentials}"},
    )
    # then it is an authentication failure, logged without the NUL
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert TokenEvent.objects.get().client_id == "abcd"


@pytest.mark.parametrize("ip", ["203.0.113.7", "2001:db8::1", None])
def test_a_flushed_batch_keeps_every_field_exactly(m2m, settings, monkeypatch, ip):
    # given queued events whose text needs escaping in a bulk write (tab, newline, backslash,
    # quotes, non-ASCII), an empty and a full description, and each kind of address
    settings.TOKEN_LOG_FLUSH_SECONDS = 60
    monkeypatch.setattr(token_log, "_start_flusher", lambda: None)
    awkward = "a\tb\nc\\d 'e' \"f\" \u00e9\u4e2d \\N"
    token_log.token_event_record(
        tenant_id=m2m.tenant.pk,
        type=TokenEvent.Type.FAILED_CLIENT_CREDENTIALS,
        client_id=awkward[:100],
        audience="https://api.example.com/" + "x" * 500,
        scope="read:things write:things",
        jti="",
        error="access_denied",
        error_description=awkward,
        ip=ip,
    )
    token_log.token_event_record(
        tenant_id=m2m.tenant.pk, type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS, client_id="c", ip=ip
    )
    # when the batch is written
    assert token_log.flush() == 2
    # then each row holds what was queued; fields an event did not name get the model's defaults
    refused, issued = TokenEvent.objects.order_by("pk")
    assert (refused.client_id, refused.error_description, refused.error) == (
        awkward,
        awkward,
        "access_denied",
    )
    assert refused.audience == "https://api.example.com/" + "x" * 500
    assert refused.ip == ip and issued.ip == ip
    assert (issued.type, issued.client_id, issued.audience, issued.scope, issued.jti) == (
        "seccft",
        "c",
        "",
        "",
        "",
    )
    assert refused.created_at <= issued.created_at and refused.tenant_id == m2m.tenant.pk
