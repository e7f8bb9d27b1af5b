"""``client-grants``: which application may get tokens for which API, with which scopes.

Auth0: https://auth0.com/docs/api/management/v2/client-grants. One grant per client and
audience (409 ``conflict`` for a second). ``scope`` is a subset of the API's scopes. The list
pages by offset or by checkpoint (``from``/``take``), filtered by ``client_id`` and ``audience``. The
management client's own grant for the Management API is not changeable or deletable here (it
would lock automation out; ``management_api_sync`` keeps it complete).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from apps.apis.models import Api
from apps.applications.models import Application
from apps.grants.models import ClientGrant
from apps.grants.services import client_grant_create, client_grant_delete, client_grant_update
from apps.management.api.base import ManagementView
from apps.management.api.errors import ManagementApiError, bad_request, conflict, not_found
from apps.management.api.pagination import paginated
from apps.management.api.payload import StrictCharField, StrictSerializer, validated_body

MSG_GRANT_EXISTS = "A client grant for this client and audience already exists"
MSG_SYSTEM_GRANT = "The management client's grant for the Management API is managed by Portcullis"
MSG_MISSING = "Payload validation error: 'Missing required property: {name}'."


class ClientGrantCreateSerializer(StrictSerializer):
    client_id = StrictCharField(max_length=100)
    audience = StrictCharField(max_length=600)
    scope = serializers.ListField(child=StrictCharField(max_length=280), max_length=1000)


class ClientGrantUpdateSerializer(StrictSerializer):
    scope = serializers.ListField(child=StrictCharField(max_length=280), max_length=1000)


def render_client_grant(grant: ClientGrant) -> dict[str, Any]:
    return {
        "id": str(grant.pk),
        "client_id": grant.application.client_id,
        "audience": grant.api.identifier,
        "scope": list(grant.scopes),
    }


def _grants(request) -> QuerySet[ClientGrant]:
    return ClientGrant.objects.for_tenant(request.tenant).select_related("application", "api")


def client_grant_get(request, grant_id: str) -> ClientGrant:
    """The tenant's client grant ``grant_id`` (404 ``inexistent_client_grant``)."""
    grant = (
        _grants(request).filter(pk=int(grant_id)).first()
        if grant_id.isascii() and grant_id.isdigit() and len(grant_id) < 19
        else None
    )
    if grant is None:
        raise not_found("client_grant")
    return grant


def _refuse_system_grant(grant: ClientGrant) -> None:
    if grant.application.is_system and grant.api.is_system:
        raise ManagementApiError(
            status=HTTPStatus.FORBIDDEN, message=MSG_SYSTEM_GRANT, error_code="operation_not_supported"
        )


class ClientGrantListView(ManagementView):
    required_scopes = {"GET": "read:client_grants", "POST": "create:client_grants"}
    checkpoint_paging = True

    def get(self, request, **kwargs) -> Response:
        rows = _grants(request).order_by("pk")
        if client_id := request.query_params.get("client_id"):
            rows = rows.filter(application__client_id=client_id)
        if audience := request.query_params.get("audience"):
            rows = rows.filter(api__identifier=audience)
        return paginated(
            request, rows, key="client_grants", render=render_client_grant, checkpoints=self.checkpoint_paging
        )

    def post(self, request, **kwargs) -> Response:
        body = validated_body(ClientGrantCreateSerializer, request)
        for name in ("client_id", "audience"):
            if name not in body:
                raise bad_request(MSG_MISSING.format(name=name))
        application = (
            Application.objects.for_tenant(request.tenant).filter(client_id=body["client_id"]).first()
        )
        if application is None:
            raise not_found("client")
        api = Api.objects.for_tenant(request.tenant).filter(identifier=body["audience"]).first()
        if api is None:
            raise not_found("resource_server")
        try:
            grant = client_grant_create(
                tenant=request.tenant,
                application=application,
                api=api,
                scopes=body.get("scope", []),
                actor=request.user,
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "conflict":
                raise conflict(MSG_GRANT_EXISTS) from exc
            raise
        return Response(render_client_grant(grant), status=HTTPStatus.CREATED)


class ClientGrantDetailView(ManagementView):
    required_scopes = {
        "GET": "read:client_grants",
        "PATCH": "update:client_grants",
        "DELETE": "delete:client_grants",
    }

    def get(self, request, id: str, **kwargs) -> Response:
        return Response(render_client_grant(client_grant_get(request, id)))

    def patch(self, request, id: str, **kwargs) -> Response:
        grant = client_grant_get(request, id)
        body = validated_body(ClientGrantUpdateSerializer, request)
        _refuse_system_grant(grant)
        grant = client_grant_update(grant=grant, scopes=body["scope"], actor=request.user)
        return Response(render_client_grant(grant))

    def delete(self, request, id: str, **kwargs) -> Response:
        grant = client_grant_get(request, id)
        _refuse_system_grant(grant)
        client_grant_delete(grant=grant, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)
