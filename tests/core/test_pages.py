"""The pages a person may land on outside the admin and the protocol endpoints."""

from __future__ import annotations

from http import HTTPStatus


def test_home_page_points_to_the_admin_and_the_issuer(http, db):
    response = http.get("/")
    assert response.status_code == HTTPStatus.OK
    assert "/admin/" in response.text and "/t/&lt;tenant&gt;/" in response.text


def test_unknown_page_is_a_readable_404(http, db, settings):
    settings.DEBUG = False
    response = http.get("/no/such/page")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.text


def test_unknown_path_under_a_tenant_is_a_json_404(http, m2m, settings):
    settings.DEBUG = False
    response = http.get(f"/t/{m2m.tenant.slug}/no-such-endpoint")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


def test_healthz(http, db):
    response = http.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


def test_token_endpoint_with_a_disallowed_host_gets_json_400(http, m2m, settings):
    # given a Host header that is not in ALLOWED_HOSTS (host-header poisoning of the issuer)
    settings.DEBUG = False
    # when
    response = http.post(m2m.token_path(), data=m2m.form(), headers={"Host": "evil.example.com"})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_request"


def test_the_500_page_renders_without_inline_styles(rf):
    # given a request that failed outside the tenants' protocol paths
    from config.urls import server_error

    # when Django renders the error page
    response = server_error(rf.get("/somewhere"))
    # then it is readable and styled from a file, which the CSP allows (no style= attribute)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Something went wrong" in html and "portcullis/page.css" in html
    assert "style=" not in html
