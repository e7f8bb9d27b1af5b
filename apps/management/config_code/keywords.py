"""The tenant's Management API in a config file: ``##MANAGEMENT_API##``, never its identifier.

Every tenant's Management API has its own identifier (``<issuer>api/v2/``, the issuer naming the
tenant), so a file that wrote tenant A's would name nothing in tenant B: an import there would
refuse every grant, role permission or token rule that refers to it. Auth0's Deploy CLI meets the
same problem with keyword replacement (files write ``https://##AUTH0_DOMAIN##/api/v2/``); here the
export writes the keyword wherever the file refers to the tenant's own Management API, and the
import reads it as the Management API of the tenant being imported into. The Management API itself
is not in the file (Portcullis manages it), nor is the management client or its grant.

A file may still write a tenant's literal identifier: it is taken as it is (it works in that tenant).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from apps.management.config_code.schema import APIS, CLIENT_GRANTS, ROLES, TENANT, TOKEN_RULES

MANAGEMENT_API = "##MANAGEMENT_API##"


def _map_api_references(config: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``config`` (checked by ``config_check``) with ``change`` applied to every place that
    names an API by its identifier."""
    config = copy.deepcopy(config)
    tenant = config.get(TENANT)
    if isinstance(tenant, dict) and isinstance(tenant.get("default_audience"), str):
        tenant["default_audience"] = change(tenant["default_audience"])
    for entry in config.get(APIS) or []:
        entry["identifier"] = change(entry["identifier"])
    for kind in (CLIENT_GRANTS, TOKEN_RULES):
        for entry in config.get(kind) or []:
            if isinstance(entry.get("api"), str):
                entry["api"] = change(entry["api"])
    for entry in config.get(ROLES) or []:
        if "permissions" in entry:
            entry["permissions"] = {
                change(identifier): scopes for identifier, scopes in entry["permissions"].items()
            }
    return config


def management_api_to_keyword(config: dict[str, Any], *, identifier: str | None) -> dict[str, Any]:
    """For an export: the tenant's Management API (``identifier``) written as the keyword."""
    if identifier is None:
        return config
    return _map_api_references(config, lambda value: MANAGEMENT_API if value == identifier else value)


def management_api_from_keyword(config: dict[str, Any], *, identifier: str | None) -> dict[str, Any]:
    """For an import: the keyword read as the target tenant's Management API (``identifier``); left
    as it is when the tenant has none, for the reference check to report."""
    if identifier is None:
        return config
    return _map_api_references(config, lambda value: identifier if value == MANAGEMENT_API else value)
