"""``manage.py rotate_keys``, ``revoke_key`` and ``reencrypt_keys``."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from apps.accounts.mfa.services import totp_associate
from apps.tenants.management.commands.reencrypt_keys import MSG_UNDECRYPTABLE
from apps.tenants.management.commands.rotate_keys import MSG_TENANT_UNKNOWN
from apps.tenants.models import SigningKey
from apps.tenants.services import MSG_KEY_ALREADY_REVOKED, MSG_KEY_NOT_FOUND
from tests.factories import ApiFactory, TenantFactory, UserFactory

State = SigningKey.State


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def kid_of(tenant, algorithm: str, state: str) -> str:
    return SigningKey.objects.for_tenant(tenant).get(algorithm=algorithm, state=state).kid


def test_rotate_keys_rotates_every_algorithm_and_prints_the_kids(db):
    # given
    tenant = TenantFactory(slug="acme")
    upcoming = {algorithm: kid_of(tenant, algorithm, State.NEXT) for algorithm in SigningKey.Algorithm.values}
    current = {
        algorithm: kid_of(tenant, algorithm, State.CURRENT) for algorithm in SigningKey.Algorithm.values
    }
    # when
    out, err = run("rotate_keys", "acme")
    # then
    for algorithm in SigningKey.Algorithm.values:
        assert kid_of(tenant, algorithm, State.CURRENT) == upcoming[algorithm]
        assert (
            f"acme {algorithm}: current {upcoming[algorithm]}, previous {current[algorithm]}, "
            f"next {kid_of(tenant, algorithm, State.NEXT)}, retired none"
        ) in out
    assert err == ""


def test_rotate_keys_for_one_algorithm(db):
    # given
    tenant = TenantFactory(slug="acme")
    es256 = kid_of(tenant, "ES256", State.CURRENT)
    # when
    out, _ = run("rotate_keys", "acme", "--algorithm", "RS256")
    # then
    assert kid_of(tenant, "ES256", State.CURRENT) == es256
    assert out.startswith("acme RS256: ") and "ES256" not in out


def test_rotate_keys_warns_when_no_next_key_was_published(db):
    tenant = TenantFactory(slug="acme")
    SigningKey.objects.filter(tenant=tenant, algorithm="ES256", state=State.NEXT).delete()
    _, err = run("rotate_keys", "acme", "--algorithm", "ES256")
    assert "had no published next ES256 key" in err


def test_rotate_keys_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError) as excinfo:
        run("rotate_keys", "nobody")
    assert str(excinfo.value) == MSG_TENANT_UNKNOWN.format(slug="nobody")
    assert excinfo.value.returncode == 1


def test_rotate_keys_refuses_an_unknown_algorithm(db):
    tenant = TenantFactory(slug="acme")
    before = set(SigningKey.objects.for_tenant(tenant).values_list("kid", "state"))
    with pytest.raises(CommandError, match="invalid choice: 'HS256'"):
        run("rotate_keys", "acme", "--algorithm", "HS256")
    assert set(SigningKey.objects.for_tenant(tenant).values_list("kid", "state")) == before


def test_revoke_key_revokes_and_reports_the_replacement(db):
    # given
    tenant = TenantFactory(slug="acme")
    current, upcoming = kid_of(tenant, "RS256", State.CURRENT), kid_of(tenant, "RS256", State.NEXT)
    # when
    out, _ = run("revoke_key", "acme", current)
    # then
    assert SigningKey.objects.get(kid=current).state == State.REVOKED
    new_next = kid_of(tenant, "RS256", State.NEXT)
    assert out.strip() == (
        f"acme RS256: revoked {current} (was current); {upcoming} now signs; new next key {new_next}"
    )


@pytest.mark.parametrize(
    ("kid", "extra"),
    [
        ("-5kkBP1-dash-first-thumbprint", []),
        ("--two-dashes-first-thumbprint", []),
        ("-vlooks-like-a-verbosity-flag", ["-v", "0"]),
        ("-hlooks-like-the-help-flag", ["--verbosity=0"]),
    ],
)
def test_revoke_key_takes_a_kid_that_starts_with_a_dash(db, kid, extra):
    # given: a thumbprint kid is base64url, so about one in 64 starts with '-'
    tenant = TenantFactory(slug="acme")
    SigningKey.objects.filter(tenant=tenant, algorithm="RS256", state=State.CURRENT).update(kid=kid)
    # when
    out, _ = run("revoke_key", "acme", kid, *extra)
    # then
    assert SigningKey.objects.get(kid=kid).state == State.REVOKED
    assert out.startswith(f"acme RS256: revoked {kid} (was current)")


def test_revoke_key_still_reads_options_given_before_the_positionals(db):
    tenant = TenantFactory(slug="acme")
    current = kid_of(tenant, "ES256", State.CURRENT)
    out, _ = run("revoke_key", "--verbosity", "1", "acme", "--", current)
    assert SigningKey.objects.get(kid=current).state == State.REVOKED
    assert out.startswith(f"acme ES256: revoked {current}")


@pytest.mark.parametrize(
    ("tenant_slug", "kid", "expected"),
    [
        ("nobody", "some-kid", MSG_TENANT_UNKNOWN.format(slug="nobody")),
        ("acme", "no-such-kid", MSG_KEY_NOT_FOUND.format(kid="no-such-kid")),
    ],
)
def test_revoke_key_refuses_unknown_tenants_and_kids(db, tenant_slug, kid, expected):
    TenantFactory(slug="acme")
    with pytest.raises(CommandError) as excinfo:
        run("revoke_key", tenant_slug, kid)
    assert str(excinfo.value) == expected
    assert not SigningKey.objects.filter(state=State.REVOKED).exists()


def test_revoke_key_refuses_another_tenants_kid_and_a_revoked_key(db):
    # given
    TenantFactory(slug="acme")
    other = TenantFactory(slug="other")
    foreign = kid_of(other, "RS256", State.CURRENT)
    # when / then: another tenant's kid is not found, and stays as it was
    with pytest.raises(CommandError) as excinfo:
        run("revoke_key", "acme", foreign)
    assert str(excinfo.value) == MSG_KEY_NOT_FOUND.format(kid=foreign)
    assert SigningKey.objects.get(kid=foreign).state == State.CURRENT
    # and a key revoked twice is refused the second time
    run("revoke_key", "other", foreign)
    with pytest.raises(CommandError) as excinfo:
        run("revoke_key", "other", foreign)
    assert str(excinfo.value) == MSG_KEY_ALREADY_REVOKED.format(kid=foreign)


def test_reencrypt_keys_reports_counts_and_is_idempotent(db, settings):
    # given values under an old key, and a new key prepended
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KEY_ENCRYPTION_KEYS = [old]
    tenant = TenantFactory()
    ApiFactory(signing_alg="HS256")  # its own tenant: 8 signing keys in all
    totp_associate(tenant=tenant, user=UserFactory(tenant=tenant))  # an MFA secret
    settings.KEY_ENCRYPTION_KEYS = [new, old]
    # when
    first, _ = run("reencrypt_keys")
    second, _ = run("reencrypt_keys")
    # then
    assert first.splitlines() == [
        "tenants.SigningKey.private_key_encrypted: 8 re-encrypted, 0 already under the first key, 0 undecryptable",
        "apis.Api.signing_secret_encrypted: 1 re-encrypted, 0 already under the first key, 0 undecryptable",
        "accounts.MfaAuthenticator.secret_encrypted: 1 re-encrypted, 0 already under the first key, 0 undecryptable",
    ]
    assert second.splitlines() == [
        "tenants.SigningKey.private_key_encrypted: 0 re-encrypted, 8 already under the first key, 0 undecryptable",
        "apis.Api.signing_secret_encrypted: 0 re-encrypted, 1 already under the first key, 0 undecryptable",
        "accounts.MfaAuthenticator.secret_encrypted: 0 re-encrypted, 1 already under the first key, 0 undecryptable",
    ]


def test_reencrypt_keys_fails_when_a_value_cannot_be_decrypted(db, settings):
    # given an API secret under a key that is no longer configured
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    api = ApiFactory(signing_alg="HS256")
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    # when / then
    with pytest.raises(CommandError) as excinfo:
        run("reencrypt_keys")
    assert str(excinfo.value) == MSG_UNDECRYPTABLE.format(
        count=5,
        where=(
            "tenants.SigningKey.private_key_encrypted pk "
            + ", ".join(str(pk) for pk in SigningKey.objects.order_by("pk").values_list("pk", flat=True))
            + f"; apis.Api.signing_secret_encrypted pk {api.pk}"
        ),
    )
