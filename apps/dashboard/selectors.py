"""Reads behind the portal's dashboard home and its events page.

Every selector takes ``tenant_ids``: the tenants the page may show (``None``: every tenant, for a
superuser working across them; an empty set shows nothing). Views compute it from the session's
working tenant (``apps.dashboard.views.scope_tenant_ids``).

What stays fast however big the logs grow:
- charts and the sign-in figures read only the hourly roll-ups (``HourlyRollup``): at most
  30 days x 24 hours x a few metrics rows, one query, never the raw logs;
- the latest events and the events page read each raw log newest first along its
  ``(tenant, [filter column,] created_at)`` index, at most one page (+1) of rows per log, and
  page on by keyset (``EventCursor``), never by offset.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent, HourlyRollup, TokenEvent
from apps.audit.rollups import hour_of
from apps.dashboard.admin_base import scope_to_tenants

TenantIds = frozenset[int] | None
Metric = HourlyRollup.Metric

HOURS = 24
DAYS = 30
KIND_TOKEN = "token"
KIND_AUDIT = "audit"
KINDS = (KIND_TOKEN, KIND_AUDIT)
# Within one microsecond, token events sort before audit events (any fixed order does).
_KIND_RANK = {KIND_AUDIT: 0, KIND_TOKEN: 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Audit events that are a refusal or an attack, shown like refused tokens.
FAILURE_AUDIT_TYPES = frozenset(
    {
        AuditEvent.Type.USER_LOGIN_FAILED,
        AuditEvent.Type.USER_BLOCKED,
        AuditEvent.Type.USER_ACCOUNT_BLOCKED,
        AuditEvent.Type.IP_THROTTLED,
        AuditEvent.Type.MFA_FAILED,
        AuditEvent.Type.AUTHORIZATION_CODE_REPLAYED,
        AuditEvent.Type.REFRESH_TOKEN_REUSED,
        AuditEvent.Type.TOKEN_HOOK_DENIED,
        AuditEvent.Type.TOKEN_HOOK_FAILED,
    }
)
# Sign-in and MFA events name the end user as their target; other events name what changed.
USER_EVENT_PREFIXES = ("user.", "mfa.")


def _nothing(tenant_ids: TenantIds) -> bool:
    return tenant_ids is not None and not tenant_ids


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TenantCounts:
    """What the tenant has configured: its own APIs and applications (not the system ones), its users."""

    apis: int
    applications: int
    users: int


def dashboard_counts(*, tenant_ids: TenantIds) -> TenantCounts:
    """Three counts, three queries (each along the tenant's foreign-key index)."""
    if _nothing(tenant_ids):
        return TenantCounts(apis=0, applications=0, users=0)
    return TenantCounts(
        apis=scope_to_tenants(Api.objects.filter(is_system=False), tenant_ids).count(),
        applications=scope_to_tenants(Application.objects.filter(is_system=False), tenant_ids).count(),
        users=scope_to_tenants(User.objects.filter(tenant__isnull=False), tenant_ids).count(),
    )


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """Tokens issued and refused in one hour or one day starting at ``start``."""

    start: datetime
    issued: int = 0
    refused: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    """The dashboard's charts and sign-in figures, from the roll-ups."""

    hourly: list[TokenBucket]  # the last 24 hours, oldest first, the current hour last
    daily: list[TokenBucket]  # the last 30 days (in the current time zone), today last
    failed_logins_24h: int
    failed_logins_30d: int
    blocked_24h: int
    blocked_30d: int

    @property
    def tokens_30d(self) -> int:
        return sum(bucket.issued + bucket.refused for bucket in self.daily)


ACTIVITY_METRICS = (
    Metric.TOKENS_ISSUED,
    Metric.TOKENS_REFUSED,
    Metric.LOGINS_FAILED,
    Metric.ACCOUNTS_BLOCKED,
)


def dashboard_activity(*, tenant_ids: TenantIds, now: datetime | None = None) -> Activity:
    """Tokens per hour (24 h) and per day (30 days), failed sign-ins and blocks: one roll-up query.

    The query sums the roll-ups by hour and metric (over tenants and type keys), so it returns at
    most 30 x 24 x 4 rows whatever the traffic; hours are grouped into days here, in the current
    time zone.
    """
    now = now or timezone.now()
    current_hour = hour_of(now)
    first_hour = current_hour - timedelta(hours=HOURS - 1)
    today = timezone.localtime(now).date()
    first_day = today - timedelta(days=DAYS - 1)
    first_day_start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    sums: list[dict[str, Any]] = []
    if not _nothing(tenant_ids):
        sums = list(
            scope_to_tenants(HourlyRollup.objects.all(), tenant_ids)
            .filter(metric__in=ACTIVITY_METRICS, hour__gte=min(first_hour, first_day_start))
            .values("hour", "metric")
            .annotate(total=Sum("count"))
            .order_by()
        )
    by_hour: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in sums:
        hour = hour_of(row["hour"])
        if hour >= first_hour:
            by_hour[hour][row["metric"]] += row["total"]
        day = timezone.localtime(hour).date()
        if day >= first_day:
            by_day[day][row["metric"]] += row["total"]
    hours = [first_hour + timedelta(hours=offset) for offset in range(HOURS)]
    days = [first_day + timedelta(days=offset) for offset in range(DAYS)]

    def total(table: dict[Any, dict[str, int]], metric: str) -> int:
        return sum(counts[metric] for counts in table.values())

    return Activity(
        hourly=[
            TokenBucket(hour, by_hour[hour][Metric.TOKENS_ISSUED], by_hour[hour][Metric.TOKENS_REFUSED])
            for hour in hours
        ],
        daily=[
            TokenBucket(
                timezone.make_aware(datetime.combine(day, datetime.min.time())),
                by_day[day][Metric.TOKENS_ISSUED],
                by_day[day][Metric.TOKENS_REFUSED],
            )
            for day in days
        ],
        failed_logins_24h=total(by_hour, Metric.LOGINS_FAILED),
        failed_logins_30d=total(by_day, Metric.LOGINS_FAILED),
        blocked_24h=total(by_hour, Metric.ACCOUNTS_BLOCKED),
        blocked_30d=total(by_day, Metric.ACCOUNTS_BLOCKED),
    )


# --- the events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventCursor:
    """A position in the merged, newest-first list of both logs: ``(created_at, kind, pk)``.

    Encoded for a URL as ``<microseconds since the epoch>.<kind rank>.<pk>``.
    """

    created_at: datetime
    kind: str
    pk: int

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{_KIND_RANK[self.kind]}.{self.pk}"

    @classmethod
    def decode(cls, value: str) -> EventCursor | None:
        """The cursor, or None for anything that is not one (the page then starts at the newest)."""
        try:
            micros, rank, pk = (int(part) for part in value.split("."))
            kind = {rank_: kind for kind, rank_ in _KIND_RANK.items()}[rank]
            created_at = _EPOCH + timedelta(microseconds=micros)
        except (ValueError, KeyError, OverflowError):
            return None
        return cls(created_at=created_at, kind=kind, pk=pk)

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.created_at, _KIND_RANK[self.kind], self.pk)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One line of the events list, whichever log it comes from."""

    kind: str
    pk: int
    created_at: datetime
    type: str
    label: str
    tenant_slug: str
    application: str
    user: str
    detail: str
    failed: bool

    @property
    def cursor(self) -> EventCursor:
        return EventCursor(created_at=self.created_at, kind=self.kind, pk=self.pk)

    @property
    def admin_url_name(self) -> str:
        return "admin:audit_tokenevent_change" if self.kind == KIND_TOKEN else "admin:audit_auditevent_change"


def _token_row(event: TokenEvent) -> EventRow:
    if event.error:
        detail = f"{event.error}: {event.error_description}" if event.error_description else event.error
    else:
        detail = " ".join(part for part in (event.audience, event.scope and f"({event.scope})") if part)
    return EventRow(
        kind=KIND_TOKEN,
        pk=event.pk,
        created_at=event.created_at,
        type=event.type,
        label=_label(TokenEvent.Type, event.type),
        tenant_slug=event.tenant.slug,
        application=event.client_id,
        user="",
        detail=detail,
        failed=event.type.startswith("f"),  # Auth0's codes: s... success, f... failure
    )


def _audit_row(event: AuditEvent) -> EventRow:
    data = event.data if isinstance(event.data, dict) else {}
    is_user_event = event.type.startswith(USER_EVENT_PREFIXES)
    client_id = data.get("client_id") if isinstance(data.get("client_id"), str) else ""
    if not client_id and event.type.startswith("application."):
        client_id = event.target
    if is_user_event:
        detail = " ".join(str(data[key]) for key in ("reason", "ip") if isinstance(data.get(key), str | int))
    else:
        detail = event.target
    return EventRow(
        kind=KIND_AUDIT,
        pk=event.pk,
        created_at=event.created_at,
        type=event.type,
        label=_label(AuditEvent.Type, event.type),
        tenant_slug=event.tenant.slug if event.tenant_id else "",
        application=client_id,
        user=event.target if is_user_event else event.actor_label,
        detail=detail,
        failed=event.type in FAILURE_AUDIT_TYPES,
    )


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class EventFilters:
    """The events page's filters; empty values filter nothing.

    ``type``: one event type of either log, or ``"token"`` / ``"audit"`` for a whole log.
    ``client_id``: token requests of that application, and audit events about it.
    ``user``: audit events whose user (target) or actor is that username (the token log records
    no user, so it is left out). ``since`` / ``until``: ``since <= created_at < until``.
    """

    type: str = ""
    client_id: str = ""
    user: str = ""
    since: datetime | None = None
    until: datetime | None = None


def event_querysets(
    *, tenant_ids: TenantIds, filters: EventFilters, kinds: Iterable[str] = KINDS
) -> dict[str, QuerySet]:
    """The newest-first queryset of each log the filters leave in (``kinds``: the logs the user may read)."""
    if _nothing(tenant_ids):
        return {}
    wanted = set(kinds)
    if filters.type in (*TokenEvent.Type.values, KIND_TOKEN):
        wanted &= {KIND_TOKEN}
    elif filters.type in (*AuditEvent.Type.values, KIND_AUDIT):
        wanted &= {KIND_AUDIT}
    elif filters.type:
        wanted = set()  # no such type: nothing matches
    if filters.user:
        wanted &= {KIND_AUDIT}  # the token log records no user
    querysets: dict[str, QuerySet] = {}
    if KIND_TOKEN in wanted:
        tokens = scope_to_tenants(TokenEvent.objects.select_related("tenant"), tenant_ids)
        if filters.type in TokenEvent.Type.values:
            tokens = tokens.filter(type=filters.type)
        if filters.client_id:
            tokens = tokens.filter(client_id=filters.client_id)
        querysets[KIND_TOKEN] = _in_range(tokens, filters)
    if KIND_AUDIT in wanted:
        audits = scope_to_tenants(AuditEvent.objects.select_related("tenant"), tenant_ids)
        if filters.type in AuditEvent.Type.values:
            audits = audits.filter(type=filters.type)
        if filters.client_id:
            audits = audits.filter(target=filters.client_id)
        if filters.user:
            audits = audits.filter(Q(target=filters.user) | Q(actor_label=filters.user))
        querysets[KIND_AUDIT] = _in_range(audits, filters)
    return querysets


def _in_range(queryset: QuerySet, filters: EventFilters) -> QuerySet:
    if filters.since is not None:
        queryset = queryset.filter(created_at__gte=filters.since)
    if filters.until is not None:
        queryset = queryset.filter(created_at__lt=filters.until)
    return queryset.order_by("-created_at", "-pk")


def _after(queryset: QuerySet, kind: str, cursor: EventCursor | None) -> QuerySet:
    """The rows that come after ``cursor`` in the merged newest-first order.

    ``created_at <= t`` is what the index serves; the rest only drops the rows of that very
    microsecond that were already shown.
    """
    if cursor is None:
        return queryset
    rank, cursor_rank = _KIND_RANK[kind], _KIND_RANK[cursor.kind]
    if rank > cursor_rank:
        return queryset.filter(created_at__lt=cursor.created_at)
    queryset = queryset.filter(created_at__lte=cursor.created_at)
    if rank == cursor_rank:
        queryset = queryset.exclude(created_at=cursor.created_at, pk__gte=cursor.pk)
    return queryset


_ROW_OF = {KIND_TOKEN: _token_row, KIND_AUDIT: _audit_row}


@dataclass(frozen=True, slots=True)
class EventsPage:
    rows: list[EventRow]
    next_cursor: EventCursor | None = None  # where the next (older) page starts; None: no more
    kinds: frozenset[str] = field(default_factory=frozenset)  # the logs that were read


def events_page(
    *,
    tenant_ids: TenantIds,
    filters: EventFilters,
    kinds: Iterable[str] = KINDS,
    before: EventCursor | None = None,
    per_page: int = 50,
) -> EventsPage:
    """One page of both logs merged newest first, after ``before``: one query per log read."""
    querysets = event_querysets(tenant_ids=tenant_ids, filters=filters, kinds=kinds)
    lists = [
        [_ROW_OF[kind](event) for event in _after(queryset, kind, before)[: per_page + 1]]
        for kind, queryset in querysets.items()
    ]
    merged = list(heapq.merge(*lists, key=lambda row: row.cursor.sort_key(), reverse=True))
    rows = merged[:per_page]
    next_cursor = rows[-1].cursor if len(merged) > per_page else None
    return EventsPage(rows=rows, next_cursor=next_cursor, kinds=frozenset(querysets))


def latest_events(*, tenant_ids: TenantIds, kinds: Iterable[str] = KINDS, limit: int = 8) -> list[EventRow]:
    """The newest ``limit`` events of both logs, for the dashboard."""
    return events_page(tenant_ids=tenant_ids, filters=EventFilters(), kinds=kinds, per_page=limit).rows
