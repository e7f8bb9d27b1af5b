"""The Management API's routes under ``/t/<tenant>/api/v2/`` (Auth0's paths)."""

from __future__ import annotations

from django.urls import path

from apps.management.api import client_grants, clients, resource_servers

app_name = "management"

urlpatterns: list = [
    # --- core resources: resource-servers, clients, client-grants (issue 8, mapi-core) ---
    path("resource-servers", resource_servers.ResourceServerListView.as_view(), name="resource-servers"),
    # {id} is the id or the (URL-encoded) identifier, which may contain slashes once decoded.
    path(
        "resource-servers/<path:id>",
        resource_servers.ResourceServerDetailView.as_view(),
        name="resource-server",
    ),
    path("clients", clients.ClientListView.as_view(), name="clients"),
    path("clients/<str:client_id>", clients.ClientDetailView.as_view(), name="client"),
    path(
        "clients/<str:client_id>/rotate-secret",
        clients.ClientRotateSecretView.as_view(),
        name="client-rotate-secret",
    ),
    path("client-grants", client_grants.ClientGrantListView.as_view(), name="client-grants"),
    path("client-grants/<str:id>", client_grants.ClientGrantDetailView.as_view(), name="client-grant"),
    # --- end core resources ---
]
