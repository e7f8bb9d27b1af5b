"""``logs`` and ``logs/{id}``: the token log (``TokenEvent``) and the audit trail (``AuditEvent``) as
Auth0's log events (https://auth0.com/docs/api/management/v2/logs/get-logs,
https://auth0.com/docs/deploy-monitor/logs/retrieve-log-events-using-mgmt-api).

Each event has ``log_id``, ``date``, ``type`` (Auth0's log event code), ``description``, and when
known ``client_id``, ``ip``, ``user_id``/``user_name``, ``audience``/``scope`` (token events) and
``details``. ``user_id`` is the end user's id exactly as the ``users`` endpoints write it
(``auth0|<id>``): the user an admin's or the API's change names (``data.user``), else the actor when
that is one of the tenant's end users (sign-in, MFA); token events carry no user (the token log
records none), so they have no ``user_id`` and never match a ``user_id`` query. Token events
already carry Auth0's codes (``seccft``, ``feccft``, ``sertft`` ...).
Audit events map as ``AUDIT_LOG_TYPES`` says: ``s`` (sign-in), ``f`` (failed sign-in: we do not tell
a wrong password from an unknown user, so never ``fp``/``fu``), ``limit_wc`` (brute-force block),
``limit_mu`` (suspicious-IP throttle), ``scp`` (password changed), ``gd_*`` (MFA), ``ferrt`` (refresh
token reuse), ``feacft`` (authorization code replay); every other change (configuration through
the admin, the API or commands) is ``sapi`` ("Success API Operation") with our event type in
``details.audit_type``.

``log_id`` is ``<date in µs, 17 digits><0 audit | 1 token><row id, 12 digits>``: it sorts in time
order across both tables, like Auth0's ids.

Two ways to read, like Auth0:

- search: ``q``, ``page``/``per_page`` (at most 100; Auth0's limit of 1,000 results in all),
  ``include_totals`` and ``sort`` (``date:-1``, the default, or ``date:1``). ``q`` takes this
  subset of Auth0's query syntax: terms ``field:value`` separated by spaces or ``AND``, all of which
  must hold; fields ``type`` (``type:seccft``; ``type:(s OR f)`` for several), ``client_id``,
  ``ip``, ``user_id`` (``user_id:"auth0|42"``), ``date`` (``date:[2026-01-01 TO 2026-01-31]``, ISO
  dates or date-times, ``*`` for an open end; bounds inclusive; a date alone is the whole day).
  Anything else is 400 ``invalid_query_string``. Auth0's ``fields``/``include_fields`` choose the
  properties answered (``fields.SelectableFields``; ``log_id`` is always answered).
- checkpoint: ``from`` (a ``log_id``) and ``take`` (default 50, at most 100; read by
  ``pagination.Checkpoint``, as for every endpoint with checkpoints): events after it in
  ``log_id`` order, as Auth0's plain array with a ``Link: <...>; rel="next"`` header for the
  following request; other parameters but ``fields``/``include_fields`` are ignored. Events of
  the last ``CHECKPOINT_SETTLE_SECONDS`` (plus the token log's batching interval) are left for a
  later request, so a row committed late (a token batch, a long transaction) is not skipped by an
  exporter.

Both tables are read with their ``(tenant, -created_at)`` index, each at most ``offset + limit``
rows, merged in Python: no query per row.
"""

from __future__ import annotations

import heapq
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.audit.models import AuditEvent, TokenEvent
from apps.management.api.base import ManagementView
from apps.management.api.errors import bad_request, not_found
from apps.management.api.fields import SelectableFields
from apps.management.api.pagination import DEFAULT_PER_PAGE, MAX_PER_PAGE, Checkpoint, is_true
from apps.oauth.claims import user_id_from_subject, user_subject

T = AuditEvent.Type
# Auth0 log event codes (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes) of our
# audit events; any type not listed is ``sapi``.
AUDIT_LOG_TYPES: dict[str, str] = {
    T.USER_LOGIN: "s",
    T.USER_LOGIN_FAILED: "f",
    T.USER_BLOCKED: "limit_wc",
    T.IP_THROTTLED: "limit_mu",
    T.USER_PASSWORD_CHANGED: "scp",
    T.MFA_SUCCEEDED: "gd_auth_succeed",
    T.MFA_FAILED: "gd_auth_failed",
    T.MFA_ENROLLED: "gd_enrollment_complete",
    T.REFRESH_TOKEN_REUSED: "ferrt",
    T.AUTHORIZATION_CODE_REPLAYED: "feacft",
}
API_OPERATION = "sapi"
# Sign-in and MFA events name the end user (their username) as the target.
USER_EVENT_PREFIXES = ("user.", "mfa.")

KIND_AUDIT, KIND_TOKEN = "0", "1"
LOG_ID_RE = re.compile(r"^(\d{17})([01])(\d{12})$")
CHECKPOINT_SETTLE_SECONDS = 5
MAX_SEARCH_RESULTS = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MSG_QUERY = "Query validation error: {reason}"
MSG_Q_SYNTAX = (
    "'q' supports field:value terms (type, client_id, ip, user_id, date) joined by spaces or AND; "
    "got {term!r}."
)
MSG_Q_FIELD = "'q' cannot filter on {field!r}: use type, client_id, ip, user_id or date."
MSG_Q_DATE = "'q' date must be [<from> TO <to>] with ISO dates, date-times or *; got {value!r}."
MSG_SORT = "'sort' must be date:1 or date:-1."
MSG_FROM = "'from' must be a log_id."
MSG_PER_PAGE = "'per_page' must be an integer from 1 to 100."
MSG_PAGE = "'page' must be a non-negative integer."
MSG_TOO_DEEP = (
    "Search results are limited to the first 1000: narrow the query or read by checkpoint (from/take)."
)


def _query_error(reason: str):
    return bad_request(MSG_QUERY.format(reason=reason), error_code="invalid_query_string")


@dataclass(frozen=True, slots=True)
class LogKey:
    """Where an event sorts: its time, its table, its row."""

    created_at: datetime
    kind: str
    pk: int

    @property
    def log_id(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)  # exact, unlike a float
        return f"{micros:017d}{self.kind}{self.pk:012d}"

    @classmethod
    def parse(cls, log_id: str) -> LogKey | None:
        match = LOG_ID_RE.match(log_id or "")
        if match is None:
            return None
        micros, kind, pk = match.groups()
        seconds, rest = divmod(int(micros), 1_000_000)
        try:
            created_at = EPOCH + timedelta(seconds=seconds, microseconds=rest)
        except OverflowError:
            return None
        return cls(created_at=created_at, kind=kind, pk=int(pk))


# --- rendering -------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def audit_log_type(audit_type: str) -> str:
    return AUDIT_LOG_TYPES.get(audit_type, API_OPERATION)


def _client_of(event: AuditEvent) -> str:
    if event.actor_label.startswith("client "):
        return event.actor_label.removeprefix("client ")
    client_id = (event.data or {}).get("client_id") if isinstance(event.data, dict) else None
    return client_id if isinstance(client_id, str) else ""


def _user_of(event: AuditEvent) -> int | None:
    """The id of the end user ``event`` is about: the one it names (``data.user``, written by the
    services that change a user), else its actor when that is one of the tenant's end users."""
    named = (event.data or {}).get("user") if isinstance(event.data, dict) else None
    if isinstance(named, int) and not isinstance(named, bool):
        return named
    if event.actor_id is not None and getattr(event, "actor_tenant_id", None) == event.tenant_id:
        return event.actor_id
    return None


def log_user_id(pk: int) -> str:
    """An end user's ``user_id`` in a log event: the ``users`` endpoints' id (``auth0|<id>``)."""
    return user_subject(User(pk=pk))


def audit_log_render(event: AuditEvent) -> dict[str, Any]:
    data = event.data if isinstance(event.data, dict) else {}
    try:
        label = AuditEvent.Type(event.type).label
    except ValueError:
        label = event.type
    body: dict[str, Any] = {
        "log_id": LogKey(event.created_at, KIND_AUDIT, event.pk).log_id,
        "date": _iso(event.created_at),
        "type": audit_log_type(event.type),
        "description": str(label),
        "details": {
            "audit_type": event.type,
            "actor": event.actor_label,
            "target": event.target,
            "data": data,
        },
    }
    client_id = _client_of(event)
    if client_id:
        body["client_id"] = client_id
    if isinstance(data.get("ip"), str):
        body["ip"] = data["ip"]
    if event.type.startswith(USER_EVENT_PREFIXES) and event.target:
        body["user_name"] = event.target
    user = _user_of(event)
    if user is not None:
        body["user_id"] = log_user_id(user)
    return body


def token_log_render(event: TokenEvent) -> dict[str, Any]:
    try:
        label = TokenEvent.Type(event.type).label
    except ValueError:
        label = event.type
    body: dict[str, Any] = {
        "log_id": LogKey(event.created_at, KIND_TOKEN, event.pk).log_id,
        "date": _iso(event.created_at),
        "type": event.type,
        "description": event.error_description or str(label),
        "details": {"error": event.error} if event.error else {},
    }
    for name in ("client_id", "audience", "scope", "ip"):
        value = getattr(event, name)
        if value:
            body[name] = str(value)
    return body


def _render(key_and_row: tuple[LogKey, Any]) -> dict[str, Any]:
    key, row = key_and_row
    return audit_log_render(row) if key.kind == KIND_AUDIT else token_log_render(row)


# --- filtering -------------------------------------------------------------------------------------


@dataclass
class LogFilter:
    """What ``q`` asked for, as a filter per table (None: that table has no match)."""

    audit: Q | None
    token: Q | None


DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TERM_RE = re.compile(r'(\w+):(\[[^\]]*\]|\([^)]*\)|"[^"]*"|\S+)')


def _date_bound(raw: str, *, upper: bool) -> datetime | None:
    raw = raw.strip()
    if raw == "*":
        return None
    day = parse_date(raw) if DATE_ONLY_RE.match(raw) else None  # fromisoformat takes dates too
    if day is None:
        moment = parse_datetime(raw)
        if moment is None:
            raise ValueError(raw)
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) - timedelta(microseconds=1) if upper else start


def _date_q(value: str) -> Q:
    if value.startswith("[") and value.endswith("]") and " TO " in value:
        low_raw, _, high_raw = value[1:-1].partition(" TO ")
        low, high = _date_bound(low_raw, upper=False), _date_bound(high_raw, upper=True)
    else:
        low, high = _date_bound(value, upper=False), _date_bound(value, upper=True)
    condition = Q()
    if low is not None:
        condition &= Q(created_at__gte=low)
    if high is not None:
        condition &= Q(created_at__lte=high)
    return condition


def _values(raw: str) -> list[str]:
    if raw.startswith("(") and raw.endswith(")"):
        return [v.strip('"') for v in re.split(r"\s+OR\s+", raw[1:-1].strip()) if v.strip()]
    return [raw.strip('"')]


def log_filter_parse(q: str) -> LogFilter:
    """``q`` (module docstring) as a filter per table; raises 400 ``invalid_query_string``."""
    audit, token = Q(), Q()
    audit_possible = token_possible = True
    rest = TERM_RE.sub(" ", q)
    leftover = [word for word in rest.split() if word != "AND"]
    if leftover:
        raise _query_error(MSG_Q_SYNTAX.format(term=leftover[0][:64]))
    for field, raw in TERM_RE.findall(q):
        if field == "type":
            codes = set(_values(raw))
            audit_types = [t for t in AuditEvent.Type.values if audit_log_type(t) in codes]
            token_types = [t for t in TokenEvent.Type.values if t in codes]
            audit &= Q(type__in=audit_types)
            token &= Q(type__in=token_types)
            audit_possible &= bool(audit_types)
            token_possible &= bool(token_types)
        elif field == "client_id":
            ids = _values(raw)
            audit &= Q(actor_label__in=[f"client {i}" for i in ids]) | Q(data__client_id__in=ids)
            token &= Q(client_id__in=ids)
        elif field == "ip":
            ips = _values(raw)
            audit &= Q(data__ip__in=ips)
            try:
                valid = [str(ipaddress.ip_address(ip)) for ip in ips]
            except ValueError:
                valid = []
            token &= Q(ip__in=valid)
            token_possible &= bool(valid)
        elif field == "user_id":
            ids = [
                pk for pk in (user_id_from_subject(v) for v in _values(raw)) if pk is not None and pk < 2**63
            ]
            # As ``_user_of`` reads it: the user the event names, else an end-user actor.
            named = Q(data__user__in=ids)
            acting = Q(actor_id__in=ids, actor__tenant_id=F("tenant_id")) & ~Q(data__has_key="user")
            audit &= named | acting
            audit_possible &= bool(ids)
            token_possible = False  # the token log records no user
        elif field == "date":
            try:
                condition = _date_q(raw)
            except ValueError:
                raise _query_error(MSG_Q_DATE.format(value=raw[:64])) from None
            audit &= condition
            token &= condition
        else:
            raise _query_error(MSG_Q_FIELD.format(field=field[:32]))
    return LogFilter(audit=audit if audit_possible else None, token=token if token_possible else None)


def _audit_rows(tenant) -> QuerySet[AuditEvent]:
    # The actor's tenant tells an end user (``user_id``) from a portal admin, in the same query.
    return AuditEvent.objects.filter(tenant=tenant).annotate(actor_tenant_id=F("actor__tenant_id"))


def _token_rows(tenant) -> QuerySet[TokenEvent]:
    return TokenEvent.objects.filter(tenant=tenant)


def _keyed(rows, kind: str):
    return [(LogKey(row.created_at, kind, row.pk), row) for row in rows]


def _int_param(request: Request, name: str, default: int, message: str, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < low or (high is not None and int(raw) > high):
        raise _query_error(message)
    return int(raw)


# --- reads -------------------------------------------------------------------------------------------


def log_search(*, tenant, q: str, page: int, per_page: int, ascending: bool, with_total: bool):
    """One page of matching events of both tables, in date order, and the total when asked."""
    start = page * per_page
    if start + per_page > MAX_SEARCH_RESULTS:
        raise _query_error(MSG_TOO_DEEP)
    filters = log_filter_parse(q)
    order = ("created_at", "pk") if ascending else ("-created_at", "-pk")
    sources = []
    total = 0
    for condition, rows, kind in (
        (filters.audit, _audit_rows(tenant), KIND_AUDIT),
        (filters.token, _token_rows(tenant), KIND_TOKEN),
    ):
        if condition is None:
            continue
        matching = rows.filter(condition)
        sources.append(_keyed(matching.order_by(*order)[: start + per_page], kind))
        if with_total:
            total += matching.count()

    def sort_key(item):
        key = item[0]
        return (key.created_at, key.kind, key.pk)

    merged = list(heapq.merge(*sources, key=sort_key, reverse=not ascending))
    return [_render(item) for item in merged[start : start + per_page]], total


def log_checkpoint(*, tenant, after: LogKey | None, take: int) -> list[dict[str, Any]]:
    """Up to ``take`` events after ``after`` in ``log_id`` order, old enough to be settled."""
    settled = timezone.now() - timedelta(
        seconds=CHECKPOINT_SETTLE_SECONDS + max(0.0, float(settings.TOKEN_LOG_FLUSH_SECONDS))
    )
    sources = []
    for rows, kind in ((_audit_rows(tenant), KIND_AUDIT), (_token_rows(tenant), KIND_TOKEN)):
        rows = rows.filter(created_at__lte=settled)
        if after is not None:
            later = Q(created_at__gt=after.created_at)
            if kind > after.kind:
                later |= Q(created_at=after.created_at)
            elif kind == after.kind:
                later |= Q(created_at=after.created_at, pk__gt=after.pk)
            rows = rows.filter(later)
        sources.append(_keyed(rows.order_by("created_at", "pk")[:take], kind))
    merged = list(heapq.merge(*sources, key=lambda item: (item[0].created_at, item[0].kind, item[0].pk)))
    return [_render(item) for item in merged[:take]]


def log_get(*, tenant, log_id: str) -> dict[str, Any] | None:
    key = LogKey.parse(log_id)
    if key is None:
        return None
    rows = _audit_rows(tenant) if key.kind == KIND_AUDIT else _token_rows(tenant)
    row = rows.filter(pk=key.pk).first()
    if row is None or LogKey(row.created_at, key.kind, row.pk).log_id != log_id:
        return None
    return _render((key, row))


# --- views -------------------------------------------------------------------------------------------


class LogEventSerializer(serializers.Serializer):
    """A log event (for the OpenAPI document)."""

    log_id = serializers.CharField()
    date = serializers.DateTimeField()
    type = serializers.CharField()
    description = serializers.CharField()
    client_id = serializers.CharField(required=False)
    ip = serializers.CharField(required=False)
    user_id = serializers.CharField(required=False)
    user_name = serializers.CharField(required=False)
    audience = serializers.CharField(required=False)
    scope = serializers.CharField(required=False)
    details = serializers.DictField()


LOG_LIST_PARAMETERS = [
    OpenApiParameter(
        "q", OpenApiTypes.STR, description="field:value terms: type, client_id, ip, user_id, date"
    ),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("per_page", OpenApiTypes.INT),
    OpenApiParameter("include_totals", OpenApiTypes.BOOL),
    OpenApiParameter("sort", OpenApiTypes.STR, enum=["date:1", "date:-1"]),
    OpenApiParameter("from", OpenApiTypes.STR, description="checkpoint: a log_id"),
    OpenApiParameter("take", OpenApiTypes.INT, description="checkpoint: how many (1-100)"),
]


# The names Auth0's reference allows in ``fields`` on GET logs, and ours it does not list.
AUTH0_LOG_FIELDS = frozenset(
    [
        "date",
        "connection",
        "client_id",
        "client_name",
        "ip",
        "user_id",
        "user_name",
        "description",
        "user_agent",
        "type",
        "details",
        "strategy",
        "strategy_type",
    ]
)
LOG_FIELDS = AUTH0_LOG_FIELDS | {"log_id", "audience", "scope"}


class LogListView(ManagementView):
    """GET logs: search (``q``, paging) or checkpoint (``from``/``take``); module docstring."""

    required_scopes = {"GET": "read:logs"}
    selectable_fields = SelectableFields(items="logs", allowed=LOG_FIELDS, always=frozenset({"log_id"}))

    @extend_schema(
        operation_id="get_logs",
        parameters=LOG_LIST_PARAMETERS,
        responses={200: LogEventSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        checkpoint = Checkpoint.of(request)
        if checkpoint is not None:
            return self._checkpoint(request, checkpoint)
        per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, MSG_PER_PAGE, 1, MAX_PER_PAGE)
        page = _int_param(request, "page", 0, MSG_PAGE, 0, None)
        sort = params.get("sort") or "date:-1"
        if sort not in ("date:1", "date:-1"):
            raise _query_error(MSG_SORT)
        with_total = is_true(request, "include_totals")
        logs, total = log_search(
            tenant=request.tenant,
            q=params.get("q", ""),
            page=page,
            per_page=per_page,
            ascending=sort == "date:1",
            with_total=with_total,
        )
        if not with_total:
            return Response(logs)
        return Response(
            {"start": page * per_page, "limit": per_page, "length": len(logs), "total": total, "logs": logs}
        )

    def _checkpoint(self, request: Request, checkpoint: Checkpoint) -> Response:
        raw_from, take = checkpoint.after, checkpoint.take
        after = LogKey.parse(raw_from) if raw_from else None
        if raw_from and after is None:
            raise _query_error(MSG_FROM)
        logs = log_checkpoint(tenant=request.tenant, after=after, take=take)
        next_from = logs[-1]["log_id"] if logs else raw_from
        query = urlencode({"from": next_from, "take": take} if next_from else {"take": take})
        response = Response(logs)
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{query}>; rel="next"'
        return response


class LogDetailView(ManagementView):
    """GET logs/{id}."""

    required_scopes = {"GET": "read:logs"}

    @extend_schema(operation_id="get_logs_by_id", responses={200: LogEventSerializer})
    def get(self, request: Request, id: str) -> Response:
        body = log_get(tenant=request.tenant, log_id=id)
        if body is None:
            raise not_found("log")
        return Response(body)
