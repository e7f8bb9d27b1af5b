"""``resource-servers``: the tenant's APIs and their scopes, in Auth0's shape.

Auth0: https://auth0.com/docs/api/management/v2/resource-servers. ``{id}`` is our id or the
identifier (URL-encoded), as in Auth0. The identifier never changes (issued tokens carry it in
``aud``). Our fields map to Auth0's: ``enforce_policies`` is RBAC, ``token_dialect``
``access_token_authz`` adds the ``permissions`` claim, ``access_token`` does not.
The system Management API is readable; like Auth0 it may not be deleted, and of its settings
only ``token_lifetime`` and ``skip_consent_for_verifiable_first_party_clients`` may change
(anything else: 403 ``operation_not_supported``).
GET takes ``include_fields`` as Auth0's reference documents it, and ``fields`` with it (Auth0's
older reference did; without ``fields``, ``include_fields`` changes nothing); unknown names select nothing.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.db import transaction
from rest_framework import serializers
from rest_framework.response import Response

from apps.apis.models import MAX_TOKEN_LIFETIME, Api
from apps.apis.services import api_create, api_delete, api_scopes_set, api_update
from apps.management.api.base import ManagementView
from apps.management.api.errors import ManagementApiError, bad_request, conflict, not_found
from apps.management.api.fields import SelectableFields
from apps.management.api.pagination import paginated
from apps.management.api.payload import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
    validated_body,
)

MSG_IDENTIFIER_TAKEN = "A resource server with the same identifier already exists"
MSG_IDENTIFIER_IMMUTABLE = "Payload validation error: 'identifier' cannot be changed."
MSG_SYSTEM_API_DELETE = "The Management API is managed by Portcullis and cannot be deleted"
MSG_SYSTEM_API_UPDATE = "Only token_lifetime and skip_consent_for_verifiable_first_party_clients of the Management API can be changed"
MSG_DUPLICATE_SCOPE = "Payload validation error: scope '{value}' is listed twice."
SYSTEM_API_MUTABLE = frozenset({"token_lifetime", "skip_consent_for_verifiable_first_party_clients"})


class TokenDialect:
    """Auth0's ``token_dialect`` values that we implement (our tokens always follow RFC 9068)."""

    ACCESS_TOKEN = "access_token"
    ACCESS_TOKEN_AUTHZ = "access_token_authz"
    CHOICES = (ACCESS_TOKEN, ACCESS_TOKEN_AUTHZ)


class ScopeSerializer(StrictSerializer):
    value = StrictCharField(max_length=280)
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        # The body is read with partial=True (every top-level property optional), which DRF
        # passes down to nested serializers: a scope's value is required all the same.
        if "value" not in attrs:
            raise serializers.ValidationError("Missing required property: value")
        return attrs


class ResourceServerSerializer(StrictSerializer):
    """The body of POST and PATCH, in Auth0's field names."""

    name = StrictCharField(max_length=200)
    identifier = StrictCharField(max_length=600)
    scopes = serializers.ListField(child=ScopeSerializer(), max_length=1000)
    signing_alg = serializers.ChoiceField(choices=Api.SigningAlgorithm.values)
    token_lifetime = StrictIntegerField(min_value=60, max_value=MAX_TOKEN_LIFETIME)
    allow_offline_access = StrictBooleanField()
    skip_consent_for_verifiable_first_party_clients = StrictBooleanField()
    enforce_policies = StrictBooleanField()
    token_dialect = serializers.ChoiceField(choices=TokenDialect.CHOICES)

    def validate_scopes(self, scopes: list[dict]) -> dict[str, str]:
        result: dict[str, str] = {}
        for scope in scopes:
            if scope["value"] in result:
                raise serializers.ValidationError(MSG_DUPLICATE_SCOPE.format(value=scope["value"]))
            result[scope["value"]] = scope.get("description", "")
        return result


# Auth0's field -> our Api field, for the plain settings.
_SETTINGS = {
    "name": "name",
    "signing_alg": "signing_alg",
    "token_lifetime": "token_lifetime",
    "allow_offline_access": "allow_offline_access",
    "skip_consent_for_verifiable_first_party_clients": "skip_consent_for_first_party",
    "enforce_policies": "rbac_enabled",
}


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    options = {ours: body[theirs] for theirs, ours in _SETTINGS.items() if theirs in body}
    if "token_dialect" in body:
        options["add_permissions_in_token"] = body["token_dialect"] == TokenDialect.ACCESS_TOKEN_AUTHZ
    return options


def render_resource_server(api: Api) -> dict[str, Any]:
    return {
        "id": str(api.pk),
        "name": api.name,
        "identifier": api.identifier,
        "scopes": [{"value": scope.value, "description": scope.description} for scope in api.scopes.all()],
        "signing_alg": api.signing_alg,
        "token_lifetime": api.token_lifetime,
        "allow_offline_access": api.allow_offline_access,
        "skip_consent_for_verifiable_first_party_clients": api.skip_consent_for_first_party,
        "enforce_policies": api.rbac_enabled,
        "token_dialect": (
            TokenDialect.ACCESS_TOKEN_AUTHZ if api.add_permissions_in_token else TokenDialect.ACCESS_TOKEN
        ),
        "is_system": api.is_system,
    }


def _apis(request):
    return Api.objects.for_tenant(request.tenant).prefetch_related("scopes")


def resource_server_get(request, key: str) -> Api:
    """The tenant's API whose id or identifier is ``key`` (404 ``inexistent_resource_server``)."""
    apis = _apis(request)
    api = apis.filter(pk=int(key)).first() if key.isascii() and key.isdigit() and len(key) < 19 else None
    api = api or apis.filter(identifier=key).first()
    if api is None:
        raise not_found("resource_server")
    return api


class ResourceServerListView(ManagementView):
    required_scopes = {"GET": "read:resource_servers", "POST": "create:resource_servers"}
    selectable_fields = SelectableFields(items="resource_servers")

    def get(self, request, **kwargs) -> Response:
        rows = _apis(request).order_by("name", "pk")
        return paginated(request, rows, key="resource_servers", render=render_resource_server)

    def post(self, request, **kwargs) -> Response:
        body = validated_body(ResourceServerSerializer, request)
        if "identifier" not in body:
            raise bad_request("Payload validation error: 'Missing required property: identifier'.")
        if Api.objects.for_tenant(request.tenant).filter(identifier=body["identifier"]).exists():
            raise conflict(MSG_IDENTIFIER_TAKEN)
        api = api_create(
            tenant=request.tenant,
            name=body.get("name") or body["identifier"],
            identifier=body["identifier"],
            scopes=body.get("scopes", {}),
            actor=request.user,
            **{key: value for key, value in _settings(body).items() if key != "name"},
        )
        return Response(render_resource_server(resource_server_get(request, str(api.pk))), status=201)


class ResourceServerDetailView(ManagementView):
    required_scopes = {
        "GET": "read:resource_servers",
        "PATCH": "update:resource_servers",
        "DELETE": "delete:resource_servers",
    }
    selectable_fields = SelectableFields()

    def get(self, request, id: str, **kwargs) -> Response:
        return Response(render_resource_server(resource_server_get(request, id)))

    def patch(self, request, id: str, **kwargs) -> Response:
        api = resource_server_get(request, id)
        body = validated_body(ResourceServerSerializer, request)
        if "identifier" in body:
            if body["identifier"] != api.identifier:
                raise bad_request(MSG_IDENTIFIER_IMMUTABLE)
            del body["identifier"]
        if api.is_system and set(body) - SYSTEM_API_MUTABLE:
            raise ManagementApiError(
                status=HTTPStatus.FORBIDDEN,
                message=MSG_SYSTEM_API_UPDATE,
                error_code="operation_not_supported",
            )
        with transaction.atomic():
            if "scopes" in body:
                api_scopes_set(api=api, scopes=body["scopes"], actor=request.user)
            options = _settings(body)
            if options:
                api_update(api=api, actor=request.user, **options)
        return Response(render_resource_server(resource_server_get(request, str(api.pk))))

    def delete(self, request, id: str, **kwargs) -> Response:
        api = resource_server_get(request, id)
        if api.is_system:
            raise ManagementApiError(
                status=HTTPStatus.FORBIDDEN,
                message=MSG_SYSTEM_API_DELETE,
                error_code="operation_not_supported",
            )
        api_delete(api=api, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)
