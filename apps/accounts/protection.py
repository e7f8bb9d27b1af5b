"""The counters behind brute-force protection and suspicious-IP throttling (``apps.core.counters``).

Every server process counts into the same numbers: in Redis with ``REDIS_URL``, in the database
without it. Counts change with atomic operations only, so concurrent failures are never lost.
The rules that use them (when to block, when to refuse) are in ``apps.accounts.services``.

- Brute-force protection counts consecutive failures per (tenant, case-folded username, IP);
  a success or a block resets the count. A count is forgotten after the tenant's block duration,
  counted from the first failure of the run (later failures do not extend it).
- Suspicious-IP throttling counts failures per (tenant, IP), across usernames, in fixed
  windows of the tenant's ``window_seconds`` (``apps.core.ratelimit``).

Keys carry a hash of the username and IP, never the username itself. If the counters fail,
counting is skipped and logged (sign-ins go on; blocks already recorded in the database hold).
"""

from __future__ import annotations

import hashlib
import logging

from apps.core.counters import counter_delete, counter_incr
from apps.core.ratelimit import RateLimitResult, rate_limit_hit, rate_limit_peek
from apps.tenants.selectors import SuspiciousIpThrottling

logger = logging.getLogger(__name__)

BRUTE_FORCE_KEY_PREFIX = "portcullis:bruteforce"
SUSPICIOUS_IP_SCOPE = "signin-ip"
# ``LoginBlock.username``'s length: identifiers are cut to it, so the counter and the block agree.
LOGIN_IDENTIFIER_MAX_LENGTH = 254


def login_identifier(username: str) -> str:
    """The username as brute-force protection counts it: case-folded, bounded.

    Case-folding merges at least every pair of spellings the case-insensitive account lookup
    treats as one account (``ALICE``/``alice``, final and medial sigma...), so no spelling of a
    username starts a count of its own.
    """
    return username.casefold()[:LOGIN_IDENTIFIER_MAX_LENGTH]


def _brute_force_key(tenant_id: int, identifier: str, ip: str | None) -> str:
    digest = hashlib.sha256(f"{tenant_id}\0{identifier}\0{ip or ''}".encode()).hexdigest()[:40]
    return f"{BRUTE_FORCE_KEY_PREFIX}:{digest}"


def brute_force_failure_count(*, tenant_id: int, identifier: str, ip: str | None, ttl_seconds: int) -> int:
    """Count one failure for this username and IP; the number of consecutive failures so far (0 if
    the counters are unavailable)."""
    try:
        return counter_incr(key=_brute_force_key(tenant_id, identifier, ip), ttl_seconds=ttl_seconds)
    except Exception:
        logger.warning("Brute-force failures not counted: the counters are unavailable", exc_info=True)
        return 0


def brute_force_failures_reset(*, tenant_id: int, identifier: str, ip: str | None) -> None:
    """Forget the consecutive failures for this username and IP (a success, or a block was made)."""
    try:
        counter_delete(key=_brute_force_key(tenant_id, identifier, ip))
    except Exception:
        logger.warning("Brute-force failures not reset: the counters are unavailable", exc_info=True)


def _ip_key(tenant_id: int, ip: str | None) -> str:
    return f"{tenant_id}:{ip or 'unknown'}"


def suspicious_ip_check(*, tenant_id: int, ip: str | None, policy: SuspiciousIpThrottling) -> RateLimitResult:
    """Whether this IP may still try to sign in (``allowed``), and for how long it may not
    (``retry_after``): not once ``policy.max_attempts`` failures were counted in this window."""
    return rate_limit_peek(
        scope=SUSPICIOUS_IP_SCOPE,
        key=_ip_key(tenant_id, ip),
        limit=policy.max_attempts,
        window_seconds=policy.window_seconds,
    )


def suspicious_ip_failure_count(*, tenant_id: int, ip: str | None, policy: SuspiciousIpThrottling) -> int:
    """Count one failed sign-in from this IP in the current window; the window's count so far."""
    return rate_limit_hit(
        scope=SUSPICIOUS_IP_SCOPE,
        key=_ip_key(tenant_id, ip),
        limit=policy.max_attempts,
        window_seconds=policy.window_seconds,
    ).count
