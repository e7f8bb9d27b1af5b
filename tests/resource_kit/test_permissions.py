"""Scope permissions on plain DRF views, in process (HS256, so no JWKS is involved)."""

from __future__ import annotations

import time
from http import HTTPStatus

import jwt
import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apps.resource_kit import errors
from apps.resource_kit.permissions import MSG_ACTION_NOT_DECLARED, HasScope, ScopePermission
from apps.resource_kit.views import ResourceServerMixin

SECRET = "an-hs256-secret-long-enough-for-sha-256"
ISSUER = "https://auth.example.com/t/demo/"
AUDIENCE = "https://things.example.com"


class ReadThings(ResourceServerMixin, APIView):
    permission_classes = [HasScope("read:things")]

    def get(self, request):
        return Response(
            {"sub": request.user.sub, "scopes": sorted(request.user.scopes), "jti": request.auth["jti"]}
        )


class ThingsByMethod(ResourceServerMixin, APIView):
    required_scopes = {"get": "read:things", "post": ["write:things", "read:things"]}

    def get(self, request):
        return Response({})

    def post(self, request):
        return Response({})

    def delete(self, request):  # declared nowhere in required_scopes
        return Response({})


@pytest.fixture(autouse=True)
def _hs256_resource_server(settings):
    settings.RESOURCE_SERVER = {
        "ISSUER": ISSUER,
        "AUDIENCE": AUDIENCE,
        "ALGORITHMS": ["HS256"],
        "HS256_SECRET": SECRET,
        "REALM": "things",
    }


def token(scope: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "app@clients", "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "j1"}
    return jwt.encode(
        {**claims, "scope": scope, "client_id": "app"}, SECRET, algorithm="HS256", headers={"typ": "at+jwt"}
    )


def call(view, method: str, scope: str):
    request = getattr(APIRequestFactory(), method)("/things", HTTP_AUTHORIZATION=f"Bearer {token(scope)}")
    response = view.as_view()(request)
    response.render()
    return response


def test_has_scope_lets_a_token_with_the_scope_in():
    # given a token with the scope (and another)
    # when it calls a HasScope view
    response = call(ReadThings, "get", "read:things write:things")
    # then the view sees the token's user and claims
    assert response.status_code == HTTPStatus.OK
    assert response.data == {"sub": "app@clients", "scopes": ["read:things", "write:things"], "jti": "j1"}


def test_has_scope_refuses_a_token_without_it():
    # given a token without the scope
    # when it calls a HasScope view
    response = call(ReadThings, "get", "write:things")
    # then 403 insufficient_scope, naming the scope
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.data == {
        "error": "insufficient_scope",
        "error_description": errors.MSG_INSUFFICIENT_SCOPE.format(scope="read:things"),
        "scope": "read:things",
    }
    assert response["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="read:things", '
        f'error_description="{errors.MSG_INSUFFICIENT_SCOPE.format(scope="read:things")}", realm="things"'
    )


@pytest.mark.parametrize(
    ("method", "scope", "status"),
    [
        ("get", "read:things", HTTPStatus.OK),
        ("post", "read:things", HTTPStatus.FORBIDDEN),
        ("post", "read:things write:things", HTTPStatus.OK),
    ],
)
def test_required_scopes_by_http_method(method, scope, status):
    # given an APIView declaring scopes per HTTP method
    # when a token calls it
    response = call(ThingsByMethod, method, scope)
    # then each method needs all of its scopes
    assert response.status_code == status


def test_undeclared_operation_is_closed():
    # given a method the view forgot to declare scopes for
    # when even an all-scopes token calls it
    response = call(ThingsByMethod, "delete", "read:things write:things delete:things")
    # then it is refused
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.data == {"detail": MSG_ACTION_NOT_DECLARED}


def test_has_scope_needs_a_scope():
    # given no scope
    # when a permission is built
    # then it is a programming error
    with pytest.raises(ValueError, match="at least one scope"):
        HasScope()


def test_has_scope_names_its_scopes():
    # given a HasScope permission
    permission = HasScope("b:x", "a:x")
    # when it is inspected
    # then its name says what it requires
    assert permission.__name__ == "HasScope(a:x b:x)"
    assert issubclass(permission, ScopePermission)
