"""The API page's tabs (Auth0's dashboard): Settings, Permissions, Machine to Machine Applications, Test.

The forms and the page state of each tab; ``ApiAdmin`` (``apps.apis.admin``) owns the URLs, the
permission checks and the service calls. Every tab is a plain HTML page whose forms work without
JavaScript; ``static/portcullis/api_tabs.js`` only folds the scope checkboxes of applications
that are switched off, and ``static/portcullis/copy_button.js`` (the portal's one copy button)
adds the Test tab's copy buttons.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from apps.apis.models import Api, Scope
from apps.applications.models import Application
from apps.grants.selectors import application_allows_client_credentials
from apps.grants.services import client_grant_create, client_grant_delete, client_grant_update
from apps.oauth.portal_tokens import IssuedTestToken

# (key, label, admin URL name) in the order the tab bar shows them.
TABS = (
    ("settings", "Settings", "admin:apis_api_change"),
    ("permissions", "Permissions", "admin:apis_api_permissions"),
    ("m2m", "Machine to Machine Applications", "admin:apis_api_m2m"),
    ("test", "Test", "admin:apis_api_test"),
)

MSG_NO_SUCH_APPLICATION = "Choose one of the applications authorized for this API."


@dataclass(frozen=True, slots=True)
class Tab:
    key: str
    label: str
    url: str
    current: bool


def api_tabs(api: Api, current: str) -> list[Tab]:
    """The tab bar of ``api``'s pages, with ``current`` marked (``aria-current="page"``)."""
    return [
        Tab(key, label, reverse(url_name, args=[api.pk]), key == current) for key, label, url_name in TABS
    ]


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the fields it names when the form has them."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Permissions ----------------------------------------------------------------------------------


class ScopeAddForm(forms.Form):
    """ "Add a permission": its value and description. The value's syntax and uniqueness are the
    service's rules (``api_scope_add``); its refusals come back onto these fields."""

    prefix = "add"
    value = forms.CharField(
        label="Permission",
        max_length=280,
        help_text="For example read:reports. Printable ASCII without spaces (RFC 6749 section 3.3).",
    )
    description = forms.CharField(label="Description", max_length=500, required=False)


class ScopeListForm(forms.Form):
    """The API's permissions: each one's description, and a "Remove" box, saved together."""

    def __init__(self, *args: Any, scopes: Iterable[Scope], disabled: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scopes = list(scopes)
        for scope in self.scopes:
            self.fields[f"description-{scope.pk}"] = forms.CharField(
                label=f"Description of {scope.value}",
                max_length=500,
                required=False,
                initial=scope.description,
                disabled=disabled,
            )
            self.fields[f"remove-{scope.pk}"] = forms.BooleanField(
                label=f"Remove {scope.value}", required=False, disabled=disabled
            )

    def rows(self) -> list[tuple[Scope, forms.BoundField, forms.BoundField]]:
        return [(scope, self[f"description-{scope.pk}"], self[f"remove-{scope.pk}"]) for scope in self.scopes]

    def descriptions(self) -> dict[str, str]:
        return {scope.value: self.cleaned_data[f"description-{scope.pk}"] for scope in self.scopes}

    def removed(self) -> list[str]:
        return [scope.value for scope in self.scopes if self.cleaned_data[f"remove-{scope.pk}"]]


# --- Machine to Machine Applications ------------------------------------------------------------------


class SwitchInput(forms.CheckboxInput):
    """A checkbox announced as a switch (WAI-ARIA ``role="switch"``): on = authorized."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"role": "switch", "class": "portcullis-switch", **(attrs or {})})


@dataclass(frozen=True, slots=True)
class M2MRow:
    """One application on the tab: its switch and scope boxes, and what to say about it."""

    application: Application
    authorized: forms.BoundField
    scopes: forms.BoundField
    editable: bool
    # False when the application could not use a grant (grant type, public client, inactive).
    usable: bool


class M2MForm(forms.Form):
    """Every listed application's switch (``authorized-<id>``) and scope boxes (``scopes-<id>``).

    One POST saves all rows: for each editable row whose state differs from its client grant,
    one service call (create, update or delete). Rows that are not editable (system applications,
    and every row of a system API or for a read-only user) are rendered disabled and ignored.
    """

    def __init__(
        self,
        *args: Any,
        applications: list[Application],
        scopes: list[tuple[str, str]],
        editable_ids: set[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.applications = applications
        self.scope_values = [value for value, _ in scopes]
        # Each box is labelled with the scope and, when it has one, its description.
        choices = [
            (value, f"{value} ({description})" if description else value) for value, description in scopes
        ]
        self.editable_ids = editable_ids
        for application in applications:
            grant = application.api_grant
            locked = application.pk not in editable_ids
            self.fields[f"authorized-{application.pk}"] = forms.BooleanField(
                label="Authorized",
                required=False,
                initial=grant is not None,
                widget=SwitchInput,
                disabled=locked,
            )
            self.fields[f"scopes-{application.pk}"] = forms.MultipleChoiceField(
                label=f"Permissions granted to {application}",
                choices=choices,
                required=False,
                initial=list(grant.scopes) if grant is not None else [],
                widget=forms.CheckboxSelectMultiple,
                disabled=locked,
            )

    def rows(self) -> list[M2MRow]:
        return [
            M2MRow(
                application=application,
                authorized=self[f"authorized-{application.pk}"],
                scopes=self[f"scopes-{application.pk}"],
                editable=application.pk in self.editable_ids,
                usable=application.is_active and application_allows_client_credentials(application),
            )
            for application in self.applications
        ]

    def save(self, *, api: Api, actor: Any) -> list[str]:
        """Bring each editable row's client grant to the posted state through ``apps.grants.services``;
        all rows or none (one transaction). Returns what changed, as sentences for the message."""
        changed: list[str] = []
        with transaction.atomic():
            for application in self.applications:
                if application.pk not in self.editable_ids:
                    continue
                grant = application.api_grant
                authorized = self.cleaned_data[f"authorized-{application.pk}"]
                # Granted scopes in the API's order, whatever order the boxes were posted in.
                chosen = set(self.cleaned_data[f"scopes-{application.pk}"])
                scopes = [value for value in self.scope_values if value in chosen]
                if authorized and grant is None:
                    client_grant_create(
                        tenant=api.tenant, application=application, api=api, scopes=scopes, actor=actor
                    )
                    changed.append(f"{application} authorized ({_scope_text(scopes)})")
                elif authorized and set(grant.scopes) != set(scopes):
                    # What the services read of the grant, already loaded: no query each.
                    grant.tenant, grant.api, grant.application = api.tenant, api, application
                    client_grant_update(grant=grant, scopes=scopes, actor=actor)
                    changed.append(f"{application} now granted {_scope_text(scopes)}")
                elif not authorized and grant is not None:
                    grant.tenant, grant.api, grant.application = api.tenant, api, application
                    client_grant_delete(grant=grant, actor=actor)
                    changed.append(f"{application} no longer authorized")
        return changed


def _scope_text(scopes: list[str]) -> str:
    return " ".join(scopes) if scopes else "no permissions"


# --- Test -------------------------------------------------------------------------------------------


def minted_token_display(token: IssuedTestToken) -> dict[str, Any]:
    """The minted token as the Test tab shows it: raw, and its header and claims as pretty JSON."""
    return {
        "token": token,
        "header_json": json.dumps(token.header, indent=2, ensure_ascii=False),
        "claims_json": json.dumps(token.claims, indent=2, ensure_ascii=False),
    }
