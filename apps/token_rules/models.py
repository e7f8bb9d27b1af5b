"""Token rules: Auth0's "customize tokens with client credentials", as data instead of code."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apps.core.models import TenantOwned
from apps.core.validators import SCOPE_TOKEN_RE
from apps.token_rules import claims as claim_rules

# RFC 6749 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no '"', no '\', ASCII only).
ERROR_DESCRIPTION_RE = re.compile(r"^[\x20-\x21\x23-\x5B\x5D-\x7E]+$")
MAX_METADATA_KEY_LENGTH = 255

MSG_METADATA_VALUE_WITHOUT_KEY = "Name the metadata key this value is compared with."
MSG_CROSS_TENANT = "The application and the API must belong to the rule's tenant."
MSG_SCOPES_NOT_LIST = "Scopes are a list of scope values."
MSG_SCOPE_MALFORMED = "'{scope}' is not a valid scope (RFC 6749 section 3.3: printable ASCII without spaces)."
MSG_SCOPE_NOT_DEFINED = "Not defined by the API {identifier}: {scopes}"
MSG_SCOPE_ADDED_AND_REMOVED = "Scopes both added and removed: {scopes}"
MSG_METADATA_CLAIMS_NOT_OBJECT = 'Claims from metadata are a JSON object of claim name to metadata key, e.g. {"https://example.com/plan": "plan"}.'
MSG_METADATA_CLAIM_KEY = "Claim '{name}' must name an application metadata key (a non-empty string)."
MSG_CLAIM_IN_BOTH = "Claims set twice (static and from metadata): {names}"
MSG_DENY_MESSAGE_REQUIRED = "A deny rule needs the message the client will read."
MSG_DENY_MESSAGE_CHARSET = (
    "The message is printable ASCII without double quotes or backslashes (RFC 6749 section 5.2)."
)
MSG_DENY_CHANGES = "A deny rule refuses the token: it cannot also change claims or scopes."
MSG_MESSAGE_WITHOUT_DENY = "Only a deny rule has a message."
MSG_RULE_DOES_NOTHING = (
    "The rule changes nothing: add a claim, add or remove a scope, or make it a deny rule."
)


class TokenRule(TenantOwned):
    """One rule applied to client-credentials tokens of its tenant, in ``order``.

    A rule *matches* a token request when every condition it sets holds (an empty
    condition matches anything): the application, the API (audience), and an application
    metadata key with a value (Auth0's ``client_metadata``). A matching rule either
    customises the token (static claims, claims copied from application metadata, scopes
    added within the client grant, scopes removed) or denies it with a message. Rules
    hold data only: nothing in them is evaluated as code or as a template.
    """

    class Action(models.TextChoices):
        CUSTOMIZE = "customize", "Customize the token"
        DENY = "deny", "Deny the token"

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0, help_text="Rules run from the lowest number up.")
    # Conditions. An application or API that is deleted takes its rules with it: a rule
    # must never widen to "any application" because its application went away.
    application = models.ForeignKey(
        "applications.Application",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: any application.",
    )
    api = models.ForeignKey(
        "apis.Api",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="API",
        help_text="Empty: any API.",
    )
    metadata_key = models.CharField(
        "application metadata key",
        max_length=MAX_METADATA_KEY_LENGTH,
        blank=True,
        help_text="Match only applications whose metadata has this key with the value below.",
    )
    metadata_value = models.CharField("application metadata value", max_length=255, blank=True)
    # Actions.
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.CUSTOMIZE)
    claims = models.JSONField(
        "static claims",
        default=dict,
        blank=True,
        help_text='JSON object, claim name to value: {"https://example.com/plan": "gold"}.',
    )
    metadata_claims = models.JSONField(
        "claims from application metadata",
        default=dict,
        blank=True,
        help_text='JSON object, claim name to metadata key: {"https://example.com/plan": "plan"}.',
    )
    add_scopes = models.JSONField(default=list, blank=True)
    remove_scopes = models.JSONField(default=list, blank=True)
    deny_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "order", "id"]
        indexes = [models.Index(fields=["tenant", "order"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Every refusal at once, on the field it concerns, each with a ``code``."""
        errors: dict[str, list[ValidationError]] = {}

        def add(field: str, message: str, code: str) -> None:
            errors.setdefault(field, []).append(ValidationError(message, code=code))

        if self.metadata_value and not self.metadata_key:
            add("metadata_key", MSG_METADATA_VALUE_WITHOUT_KEY, "metadata_key_missing")
        for related in (self.application_id and self.application, self.api_id and self.api):
            if related and related.tenant_id != self.tenant_id:
                add("__all__", MSG_CROSS_TENANT, "cross_tenant")
                break
        self._clean_claims(add)
        self._clean_scopes(add)
        self._clean_action(add)
        if errors:
            raise ValidationError(errors)

    def _clean_claims(self, add) -> None:
        if not isinstance(self.claims, dict):
            add("claims", claim_rules.MSG_CLAIMS_NOT_OBJECT, "invalid_claim")
        else:
            for name, value in self.claims.items():
                problem = claim_rules.claim_name_error(name) or claim_rules.claim_value_error(name, value)
                if problem:
                    add("claims", problem, "invalid_claim")
        if not isinstance(self.metadata_claims, dict):
            add("metadata_claims", MSG_METADATA_CLAIMS_NOT_OBJECT, "invalid_claim")
        else:
            for name, key in self.metadata_claims.items():
                problem = claim_rules.claim_name_error(name)
                if problem:
                    add("metadata_claims", problem, "invalid_claim")
                if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY_LENGTH:
                    add("metadata_claims", MSG_METADATA_CLAIM_KEY.format(name=name), "invalid_claim")
        if isinstance(self.claims, dict) and isinstance(self.metadata_claims, dict):
            both = sorted(set(self.claims) & set(self.metadata_claims))
            if both:
                add("metadata_claims", MSG_CLAIM_IN_BOTH.format(names=", ".join(both)), "invalid_claim")
            if len(self.claims) + len(self.metadata_claims) > claim_rules.MAX_CLAIMS_PER_RULE:
                add("claims", claim_rules.MSG_CLAIMS_TOO_MANY, "invalid_claim")

    def _clean_scopes(self, add) -> None:
        for field in ("add_scopes", "remove_scopes"):
            values = getattr(self, field)
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                add(field, MSG_SCOPES_NOT_LIST, "invalid_scope")
                continue
            for scope in values:
                if not SCOPE_TOKEN_RE.match(scope):
                    add(field, MSG_SCOPE_MALFORMED.format(scope=scope), "invalid_scope")
        if not isinstance(self.add_scopes, list) or not isinstance(self.remove_scopes, list):
            return
        both = sorted(set(self.add_scopes) & set(self.remove_scopes))
        if both:
            add("remove_scopes", MSG_SCOPE_ADDED_AND_REMOVED.format(scopes=" ".join(both)), "invalid_scope")
        if self.api_id and self.add_scopes:
            defined = set(self.api.scopes.values_list("value", flat=True))
            unknown = [scope for scope in self.add_scopes if scope not in defined]
            if unknown:
                add(
                    "add_scopes",
                    MSG_SCOPE_NOT_DEFINED.format(identifier=self.api.identifier, scopes=" ".join(unknown)),
                    "invalid_scope",
                )

    def _clean_action(self, add) -> None:
        changes = bool(self.claims or self.metadata_claims or self.add_scopes or self.remove_scopes)
        if self.action == self.Action.DENY:
            if not self.deny_message:
                add("deny_message", MSG_DENY_MESSAGE_REQUIRED, "deny_message_missing")
            elif not ERROR_DESCRIPTION_RE.match(self.deny_message):
                add("deny_message", MSG_DENY_MESSAGE_CHARSET, "deny_message_charset")
            if changes:
                add("action", MSG_DENY_CHANGES, "deny_with_changes")
        else:
            if self.deny_message:
                add("deny_message", MSG_MESSAGE_WITHOUT_DENY, "message_without_deny")
            if not changes:
                add("action", MSG_RULE_DOES_NOTHING, "rule_does_nothing")

    def conditions(self) -> dict[str, Any]:
        """The rule's conditions as the audit trail records them."""
        return {
            "application": self.application.client_id if self.application_id else None,
            "api": self.api.identifier if self.api_id else None,
            "metadata": {self.metadata_key: self.metadata_value} if self.metadata_key else None,
        }
