"""The signing-key lifecycle: next -> current -> previous -> retired, and revocation from any state."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from apps.audit.models import AuditEvent
from apps.tenants.models import SigningKey
from apps.tenants.selectors import signing_key_current, signing_key_jwks, signing_key_public
from apps.tenants.services import (
    MSG_ALGORITHM_UNKNOWN,
    MSG_KEY_ALREADY_REVOKED,
    MSG_KEY_NOT_FOUND,
    SigningKeyErrorCode,
    signing_key_create,
    signing_key_revoke,
    signing_key_rotate,
)
from tests.factories import TenantFactory

State = SigningKey.State
ALGORITHMS = SigningKey.Algorithm.values


def states(tenant, algorithm: str) -> dict[str, list[str]]:
    """kids by state, oldest first."""
    result: dict[str, list[str]] = {}
    for kid, state in (
        SigningKey.objects.for_tenant(tenant).filter(algorithm=algorithm).order_by("created_at", "pk")
    ).values_list("kid", "state"):
        result.setdefault(state, []).append(kid)
    return result


def key(kid: str) -> SigningKey:
    return SigningKey.objects.get(kid=kid)


# --- creation ----------------------------------------------------------------------------------------


def test_a_new_tenant_has_a_current_and_a_published_next_key_per_algorithm(db):
    # when
    tenant = TenantFactory()
    # then
    published = {jwk["kid"] for jwk in signing_key_jwks(tenant=tenant)["keys"]}
    for algorithm in ALGORITHMS:
        by_state = states(tenant, algorithm)
        assert set(by_state) == {State.CURRENT, State.NEXT}
        assert len(by_state[State.CURRENT]) == len(by_state[State.NEXT]) == 1
        assert {*by_state[State.CURRENT], *by_state[State.NEXT]} <= published


def test_migration_publishes_a_next_key_for_tenants_that_lack_one(db):
    # given a tenant as 0001 left it: current keys only (and one that already has an RS256 next)
    tenant, complete = TenantFactory(), TenantFactory()
    SigningKey.objects.filter(tenant=tenant, state=State.NEXT).delete()
    before = set(SigningKey.objects.filter(tenant=complete).values_list("kid", flat=True))
    migration = importlib.import_module(
        "apps.tenants.migrations.0002_signing_key_retired_state_and_next_keys"
    )
    # when the data migration runs (twice: it must be idempotent)
    migration.publish_missing_next_keys(django_apps, connection.schema_editor())
    migration.publish_missing_next_keys(django_apps, connection.schema_editor())
    # then each algorithm has exactly one next key, encrypted and usable, and nothing else changed
    for algorithm in ALGORITHMS:
        assert len(states(tenant, algorithm)[State.NEXT]) == 1
    assert set(SigningKey.objects.filter(tenant=complete).values_list("kid", flat=True)) == before
    signing_key_rotate(tenant=tenant)
    assert signing_key_current(tenant_id=tenant.pk, algorithm="RS256") is not None


# --- rotation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_rotation_moves_every_key_one_step_for_that_algorithm_only(db, algorithm):
    # given a tenant rotated once, so it has next, current and previous keys
    tenant = TenantFactory()
    signing_key_rotate(tenant=tenant, algorithm=algorithm)
    before = states(tenant, algorithm)
    other = next(name for name in ALGORITHMS if name != algorithm)
    other_before = states(tenant, other)
    # when
    (rotation,) = signing_key_rotate(tenant=tenant, algorithm=algorithm)
    # then next -> current -> previous -> retired, with a fresh next key
    after = states(tenant, algorithm)
    assert after[State.RETIRED] == before[State.PREVIOUS]
    assert after[State.PREVIOUS] == before[State.CURRENT]
    assert after[State.CURRENT] == before[State.NEXT]
    assert len(after[State.NEXT]) == 1 and after[State.NEXT][0] not in before.get(State.NEXT, [])
    assert rotation.current == before[State.NEXT][0]
    assert rotation.previous == before[State.CURRENT][0]
    assert rotation.retired == tuple(before[State.PREVIOUS])
    assert rotation.next == after[State.NEXT][0]
    assert rotation.next_was_published
    # and the other algorithm is untouched
    assert states(tenant, other) == other_before


def test_rotating_every_algorithm_at_once(db):
    # given
    tenant = TenantFactory()
    currents = {algorithm: states(tenant, algorithm)[State.NEXT][0] for algorithm in ALGORITHMS}
    # when
    rotations = signing_key_rotate(tenant=tenant)
    # then
    assert {rotation.algorithm: rotation.current for rotation in rotations} == currents
    for algorithm in ALGORITHMS:
        assert states(tenant, algorithm)[State.CURRENT] == [currents[algorithm]]


def test_retired_keys_lose_their_private_half_and_leave_the_jwks(db):
    # given a key rotated all the way out
    tenant = TenantFactory()
    first = states(tenant, "RS256")[State.CURRENT][0]
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    assert key(first).state == State.PREVIOUS and key(first).private_key_encrypted
    # when
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    # then
    assert key(first).state == State.RETIRED
    assert key(first).private_key_encrypted == ""
    assert first not in {jwk["kid"] for jwk in signing_key_jwks(tenant=tenant)["keys"]}
    assert signing_key_public(tenant_id=tenant.pk, kid=first) is None


def test_rotation_is_audited_with_every_kid(db):
    # given
    tenant = TenantFactory()
    # when
    (rotation,) = signing_key_rotate(tenant=tenant, algorithm="ES256", actor=None)
    # then
    event = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.SIGNING_KEY_ROTATED)
    assert event.target == rotation.current
    assert event.data == {
        "algorithm": "ES256",
        "current": rotation.current,
        "previous": rotation.previous,
        "retired": [],
        "next": rotation.next,
        "next_was_published": True,
    }
    assert AuditEvent.objects.filter(
        tenant=tenant, type=AuditEvent.Type.SIGNING_KEY_CREATED, target=rotation.next
    ).exists()


def test_rotation_takes_effect_at_once_in_the_token_path_caches(db):
    # given the key caches warmed (as the token endpoint and our verifiers warm them)
    tenant = TenantFactory()
    old = signing_key_current(tenant_id=tenant.pk, algorithm="RS256")
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    first_previous = old.kid
    assert signing_key_public(tenant_id=tenant.pk, kid=first_previous) is not None
    # when
    (rotation,) = signing_key_rotate(tenant=tenant, algorithm="RS256")
    # then the new current key signs and the retired one verifies nothing, within the cache TTL
    assert signing_key_current(tenant_id=tenant.pk, algorithm="RS256").kid == rotation.current
    assert rotation.retired == (first_previous,)
    assert signing_key_public(tenant_id=tenant.pk, kid=first_previous) is None


def test_rotation_without_a_next_key_promotes_a_fresh_one_and_says_so(db):
    # given a tenant whose next key was removed by hand
    tenant = TenantFactory()
    SigningKey.objects.filter(tenant=tenant, algorithm="RS256", state=State.NEXT).delete()
    current = states(tenant, "RS256")[State.CURRENT][0]
    # when
    (rotation,) = signing_key_rotate(tenant=tenant, algorithm="RS256")
    # then signing goes on with a new key, the gap is reported, and a next key is published again
    assert not rotation.next_was_published
    assert rotation.previous == current
    assert states(tenant, "RS256")[State.CURRENT] == [rotation.current]
    assert states(tenant, "RS256")[State.NEXT] == [rotation.next]
    event = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.SIGNING_KEY_ROTATED)
    assert event.data["next_was_published"] is False


def test_unknown_algorithm_is_refused_and_nothing_changes(db):
    # given
    tenant = TenantFactory()
    before = {algorithm: states(tenant, algorithm) for algorithm in ALGORITHMS}
    # when
    with pytest.raises(ValidationError) as excinfo:
        signing_key_rotate(tenant=tenant, algorithm="HS256")
    # then
    assert excinfo.value.code == SigningKeyErrorCode.INVALID_ALGORITHM
    assert excinfo.value.messages == [MSG_ALGORITHM_UNKNOWN.format(algorithm="HS256", choices="RS256, ES256")]
    assert {algorithm: states(tenant, algorithm) for algorithm in ALGORITHMS} == before


def test_the_database_still_refuses_a_second_current_key(db):
    # the invariant rotation preserves is a constraint, not just a habit of the services
    tenant = TenantFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        signing_key_create(tenant=tenant, algorithm="RS256", state=State.CURRENT)


def test_concurrent_rotations_serialise(transactional_db):
    # given a tenant, and two rotations started at the same moment
    tenant = TenantFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def rotate() -> None:
        try:
            barrier.wait()
            signing_key_rotate(tenant=tenant, algorithm="ES256")
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then both applied, one after the other: two steps of the lifecycle, one key per slot
    assert errors == []
    by_state = states(tenant, "ES256")
    assert [len(by_state[state]) for state in (State.NEXT, State.CURRENT, State.PREVIOUS)] == [1, 1, 1]
    assert len(by_state[State.RETIRED]) == 1
    assert not rotation_left_unpublished_next(tenant)


def rotation_left_unpublished_next(tenant) -> bool:
    return AuditEvent.objects.filter(
        tenant=tenant, type=AuditEvent.Type.SIGNING_KEY_ROTATED, data__next_was_published=False
    ).exists()


# --- revocation --------------------------------------------------------------------------------------


def rotated_tenant():
    """A tenant with next, current, previous and retired RS256 keys."""
    tenant = TenantFactory()
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    return tenant


def test_revoking_the_current_key_promotes_the_published_next_key(db):
    # given
    tenant = rotated_tenant()
    before = states(tenant, "RS256")
    current, upcoming = before[State.CURRENT][0], before[State.NEXT][0]
    signing_key_current(tenant_id=tenant.pk, algorithm="RS256")  # warm the cache
    # when
    revocation = signing_key_revoke(tenant=tenant, kid=current)
    # then the next key signs at once, a new next key is published, previous is left alone
    after = states(tenant, "RS256")
    assert revocation.state_before == State.CURRENT
    assert revocation.promoted == upcoming
    assert after[State.CURRENT] == [upcoming]
    assert after[State.NEXT] == [revocation.generated_next]
    assert after[State.PREVIOUS] == before[State.PREVIOUS]
    assert after[State.REVOKED] == [current]
    assert key(current).private_key_encrypted == ""
    assert signing_key_current(tenant_id=tenant.pk, algorithm="RS256").kid == upcoming


def test_revoking_the_current_key_without_a_next_key_still_leaves_one_signing(db):
    # given
    tenant = TenantFactory()
    SigningKey.objects.filter(tenant=tenant, algorithm="ES256", state=State.NEXT).delete()
    current = states(tenant, "ES256")[State.CURRENT][0]
    # when
    revocation = signing_key_revoke(tenant=tenant, kid=current)
    # then
    after = states(tenant, "ES256")
    assert after[State.CURRENT] == [revocation.promoted]
    assert after[State.NEXT] == [revocation.generated_next]
    assert revocation.promoted != revocation.generated_next


def test_revoking_the_next_key_publishes_another(db):
    # given
    tenant = TenantFactory()
    upcoming = states(tenant, "RS256")[State.NEXT][0]
    # when
    revocation = signing_key_revoke(tenant=tenant, kid=upcoming)
    # then
    after = states(tenant, "RS256")
    assert revocation.promoted is None
    assert after[State.NEXT] == [revocation.generated_next]
    assert after[State.REVOKED] == [upcoming]


@pytest.mark.parametrize("state", [State.PREVIOUS, State.RETIRED])
def test_revoking_a_previous_or_retired_key_only_marks_it(db, state):
    # given
    tenant = rotated_tenant()
    kid = states(tenant, "RS256")[state][0]
    others = {s: kids for s, kids in states(tenant, "RS256").items() if s != state}
    signing_key_public(tenant_id=tenant.pk, kid=kid)  # warm the cache
    # when
    revocation = signing_key_revoke(tenant=tenant, kid=kid)
    # then
    after = states(tenant, "RS256")
    assert revocation.state_before == state
    assert (revocation.promoted, revocation.generated_next) == (None, None)
    assert after[State.REVOKED] == [kid]
    assert {s: kids for s, kids in after.items() if s != State.REVOKED} == others
    assert signing_key_public(tenant_id=tenant.pk, kid=kid) is None
    assert kid not in {jwk["kid"] for jwk in signing_key_jwks(tenant=tenant)["keys"]}


def test_revocation_is_audited(db):
    # given
    tenant = TenantFactory()
    current = states(tenant, "RS256")[State.CURRENT][0]
    # when
    revocation = signing_key_revoke(tenant=tenant, kid=current)
    # then
    event = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.SIGNING_KEY_REVOKED)
    assert event.target == current
    assert event.data == {
        "algorithm": "RS256",
        "state_before": "current",
        "promoted": revocation.promoted,
        "generated_next": revocation.generated_next,
    }


def test_revoking_a_revoked_key_is_refused(db):
    # given
    tenant = TenantFactory()
    kid = states(tenant, "RS256")[State.NEXT][0]
    signing_key_revoke(tenant=tenant, kid=kid)
    before = states(tenant, "RS256")
    # when
    with pytest.raises(ValidationError) as excinfo:
        signing_key_revoke(tenant=tenant, kid=kid)
    # then
    assert excinfo.value.code == SigningKeyErrorCode.ALREADY_REVOKED
    assert excinfo.value.messages == [MSG_KEY_ALREADY_REVOKED.format(kid=kid)]
    assert states(tenant, "RS256") == before


@pytest.mark.parametrize("whose", ["unknown", "other-tenant"])
def test_revoking_a_kid_the_tenant_does_not_have_is_not_found(db, whose):
    # given
    tenant, other = TenantFactory(), TenantFactory()
    kid = "no-such-kid" if whose == "unknown" else states(other, "RS256")[State.CURRENT][0]
    # when
    with pytest.raises(ValidationError) as excinfo:
        signing_key_revoke(tenant=tenant, kid=kid)
    # then nothing anywhere changed
    assert excinfo.value.code == SigningKeyErrorCode.NOT_FOUND
    assert excinfo.value.messages == [MSG_KEY_NOT_FOUND.format(kid=kid)]
    assert not SigningKey.objects.filter(state=State.REVOKED).exists()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.SIGNING_KEY_REVOKED).exists()
