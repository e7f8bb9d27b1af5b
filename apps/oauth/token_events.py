"""What the token log records about one token request, issued or refused (Auth0's log types)."""

from __future__ import annotations

import json

from django.http import HttpRequest

from apps.audit.models import TokenEvent
from apps.audit.token_log import token_event_record
from apps.core import metrics
from apps.core.client_ip import client_ip
from apps.oauth.constants import PARAM_AUDIENCE, PARAM_CLIENT_ID, PARAM_GRANT_TYPE
from apps.oauth.grants.registry import rules_for


def _text(value: str, max_length: int) -> str:
    """Caller-supplied text as the log can store it: no NUL (Postgres refuses it), bounded length."""
    return value.replace("\x00", "")[:max_length]


def token_request_logged(
    request: HttpRequest, *, status: int, error: str = "", error_description: str = ""
) -> None:
    """Record the outcome of a token request of ``request.tenant``; ``error`` is empty on success."""
    context = getattr(request, "oauth", None)
    params = dict(context.params) if context is not None else {}
    rules = rules_for(params.get(PARAM_GRANT_TYPE))
    if rules is None:
        type_ = TokenEvent.Type.FAILED_EXCHANGE
    else:
        type_ = rules.success_log_type if status == 200 else rules.failure_log_type
    metrics.token_answered(
        tenant=request.tenant.slug,
        grant_type=params.get(PARAM_GRANT_TYPE, "") if rules is not None else "unsupported",
        error=_text(error, 64),
    )
    token_event_record(
        tenant_id=request.tenant.pk,
        type=type_,
        client_id=_text((context and context.client_id) or params.get(PARAM_CLIENT_ID, ""), 100),
        audience=_text((context and context.audience) or params.get(PARAM_AUDIENCE, ""), 600),
        scope=context.scope if context else "",
        jti=context.jti if context else "",
        error=_text(error, 64),
        error_description=_text(error_description, 500),
        ip=(context and context.end_user_ip) or client_ip(request),
    )


def error_of(body: str | bytes) -> tuple[str, str]:
    """``(error, error_description)`` of an RFC 6749 error body."""
    try:
        document = json.loads(body)
    except ValueError:
        return "server_error", ""
    return str(document.get("error", "")), str(document.get("error_description", ""))
