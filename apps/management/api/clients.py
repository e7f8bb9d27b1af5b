"""``clients``: the tenant's applications, in Auth0's shape, and ``rotate-secret``.

Auth0: https://auth0.com/docs/api/management/v2/clients. Our application types are Auth0's
``app_type`` values (``non_interactive`` is machine to machine). ``client_secret`` is in the
answer of POST ``clients`` and of POST ``clients/{id}/rotate-secret`` only: we store a keyed
hash of it, never the secret, so no later read can return it (Auth0 returns it on every read
with ``read:client_keys``; we cannot). System clients (the management client) are not deletable.
GET takes Auth0's ``fields``/``include_fields``; the list pages by offset or by checkpoint
(``from``/``take``) and filters by ``app_type`` (comma-separated) and ``is_first_party``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from apps.applications.models import MAX_METADATA_LENGTH, Application
from apps.applications.services import (
    application_create,
    application_delete,
    application_secret_rotate,
    application_update,
)
from apps.management.api.base import ManagementView
from apps.management.api.errors import ManagementApiError, bad_request, not_found
from apps.management.api.fields import SelectableFields
from apps.management.api.pagination import boolean_param, paginated
from apps.management.api.payload import (
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    string_list,
    validated_body,
)

MSG_SYSTEM_CLIENT_DELETE = "This client is managed by Portcullis and cannot be deleted"
MSG_BAD_APP_TYPE_FILTER = "Query validation error: 'app_type' must be a comma-separated list of {choices}."
# The names Auth0's reference allows in ``fields`` on GET clients and clients/{id} (any other is a
# 400); those we do not answer (``logo_uri``...) select nothing.
AUTH0_CLIENT_FIELDS = frozenset(
    [
        "name",
        "description",
        "callbacks",
        "oidc_backchannel_logout",
        "oidc_logout",
        "session_transfer",
        "allowed_origins",
        "web_origins",
        "client_id",
        "tenant",
        "global",
        "config_route",
        "callback_url_template",
        "jwt_configuration",
        "api_type",
        "logo_uri",
        "allowed_clients",
        "owners",
        "custom_login_page",
        "custom_login_page_on",
        "sso",
        "addons",
        "form_template",
        "custom_login_page_preview",
        "encryption_key",
        "client_secret",
        "signing_keys",
        "mobile",
        "token_endpoint_auth_method",
        "allowed_logout_urls",
        "app_type",
        "is_first_party",
        "oidc_conformant",
        "client_metadata",
        "is_token_endpoint_ip_header_trusted",
        "initiate_login_uri",
        "grant_types",
        "refresh_token",
        "default_organization",
        "organization_usage",
        "organization_require_behavior",
        "organization_discovery_methods",
        "client_authentication_methods",
        "require_pushed_authorization_requests",
        "require_proof_of_possession",
        "id_token",
        "signed_request_object",
        "compliance_level",
        "skip_non_verifiable_callback_uri_confirmation_prompt",
        "token_exchange",
        "token_quota",
        "identity_assertion_authorization_grant",
        "third_party_security_mode",
        "subject_type_authorization",
        "resource_server_identifier",
        "express_configuration",
        "my_organization_configuration",
        "async_approval_notification_channels",
        "token_vault_privileged_access",
        "registration_type",
        "external_metadata_type",
        "external_metadata_created_by",
        "external_client_id",
        "redirection_policy",
    ]
)


class ClientSerializer(StrictSerializer):
    """The body of POST and PATCH ``clients``, in Auth0's field names."""

    name = StrictCharField(max_length=255)
    description = StrictCharField(max_length=500, allow_blank=True)
    app_type = serializers.ChoiceField(choices=Application.AppType.values)
    grant_types = serializers.ListField(
        child=serializers.ChoiceField(choices=Application.GrantType.values), max_length=20
    )
    callbacks = string_list()
    allowed_origins = string_list()
    allowed_logout_urls = string_list()
    token_endpoint_auth_method = serializers.ChoiceField(choices=Application.AuthMethod.values)
    is_first_party = StrictBooleanField()
    is_token_endpoint_ip_header_trusted = StrictBooleanField()
    client_metadata = serializers.DictField(
        child=StrictCharField(max_length=MAX_METADATA_LENGTH, allow_blank=True), allow_empty=True
    )


# Auth0's field -> the services' argument, where they differ.
_RENAMED = {"allowed_logout_urls": "logout_urls"}
# The model's field -> Auth0's, for the services' validation messages.
_MODEL_TO_AUTH0 = {"redirect_uris": "callbacks", "post_logout_redirect_uris": "allowed_logout_urls"}


@contextmanager
def _auth0_field_names() -> Iterator[None]:
    """A service's ``ValidationError`` about a model field, named as the caller sent it."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError(
            {_MODEL_TO_AUTH0.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc


def _service_args(body: dict[str, Any]) -> dict[str, Any]:
    return {_RENAMED.get(key, key): value for key, value in body.items()}


def render_client(application: Application) -> dict[str, Any]:
    return {
        "client_id": application.client_id,
        "tenant": application.tenant.slug,
        "name": application.name,
        "description": application.description,
        "app_type": application.app_type,
        "is_first_party": application.is_first_party,
        "oidc_conformant": True,
        "global": False,
        "callbacks": application.redirect_uris.split(),
        "allowed_origins": application.allowed_origins.split(),
        "allowed_logout_urls": application.post_logout_redirect_uris.split(),
        "grant_types": list(application.grant_types),
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "client_metadata": dict(application.client_metadata),
        "is_token_endpoint_ip_header_trusted": application.is_token_endpoint_ip_header_trusted,
    }


def _clients(request) -> QuerySet[Application]:
    return Application.objects.for_tenant(request.tenant).select_related("tenant")


def client_get(request, client_id: str) -> Application:
    """The tenant's application ``client_id`` (404 ``inexistent_client``)."""
    application = _clients(request).filter(client_id=client_id).first()
    if application is None:
        raise not_found("client")
    return application


class ClientListView(ManagementView):
    required_scopes = {"GET": "read:clients", "POST": "create:clients"}
    selectable_fields = SelectableFields(items="clients", allowed=AUTH0_CLIENT_FIELDS)
    checkpoint_paging = True

    def get(self, request, **kwargs) -> Response:
        rows = _clients(request).order_by("name", "pk")
        app_types = [value for value in request.query_params.get("app_type", "").split(",") if value]
        if app_types:
            if set(app_types) - set(Application.AppType.values):
                raise bad_request(
                    MSG_BAD_APP_TYPE_FILTER.format(choices=", ".join(Application.AppType.values)),
                    error_code="invalid_query_string",
                )
            rows = rows.filter(app_type__in=app_types)
        first_party = boolean_param(request, "is_first_party")
        if first_party is not None:
            rows = rows.filter(is_first_party=first_party)
        return paginated(
            request, rows, key="clients", render=render_client, checkpoints=self.checkpoint_paging
        )

    def post(self, request, **kwargs) -> Response:
        body = validated_body(ClientSerializer, request)
        if "name" not in body:
            raise bad_request("Payload validation error: 'Missing required property: name'.")
        # Auth0 creates a regular web application when no type is given.
        body.setdefault("app_type", Application.AppType.REGULAR_WEB)
        with _auth0_field_names():
            created = application_create(tenant=request.tenant, actor=request.user, **_service_args(body))
        return Response(
            render_client(created.application) | {"client_secret": created.client_secret},
            status=HTTPStatus.CREATED,
        )


class ClientDetailView(ManagementView):
    required_scopes = {"GET": "read:clients", "PATCH": "update:clients", "DELETE": "delete:clients"}
    selectable_fields = SelectableFields(allowed=AUTH0_CLIENT_FIELDS)

    def get(self, request, client_id: str, **kwargs) -> Response:
        return Response(render_client(client_get(request, client_id)))

    def patch(self, request, client_id: str, **kwargs) -> Response:
        application = client_get(request, client_id)
        body = validated_body(ClientSerializer, request)
        # A changed app_type is refused by the service (400): the type decides DOT's client type.
        # The same type is accepted, as tools that send the whole object (Terraform, Deploy CLI) do.
        if body.get("app_type") == application.app_type:
            del body["app_type"]
            if not body:
                return Response(render_client(application))
        with _auth0_field_names():
            application = application_update(
                application=application, actor=request.user, **_service_args(body)
            )
        return Response(render_client(application))

    def delete(self, request, client_id: str, **kwargs) -> Response:
        application = client_get(request, client_id)
        if application.is_system:
            raise ManagementApiError(
                status=HTTPStatus.FORBIDDEN,
                message=MSG_SYSTEM_CLIENT_DELETE,
                error_code="operation_not_supported",
            )
        application_delete(application=application, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class ClientRotateSecretView(ManagementView):
    """POST ``clients/{id}/rotate-secret``: a new secret, returned once; the old one stops working."""

    required_scopes = {"POST": "update:client_keys"}

    def post(self, request, client_id: str, **kwargs) -> Response:
        application = client_get(request, client_id)
        secret = application_secret_rotate(application=application, actor=request.user)
        application.refresh_from_db()
        return Response(render_client(application) | {"client_secret": secret})
