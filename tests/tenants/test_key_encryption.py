"""Key material at rest: re-encryption under a new KEY_ENCRYPTION_KEYS key, and the settings check."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apps.accounts.mfa.services import totp_associate
from apps.accounts.models import MfaAuthenticator
from apps.apis.models import Api
from apps.apis.services import api_signing_secret
from apps.audit.models import AuditEvent
from apps.tenants import crypto, keys
from apps.tenants.checks import key_encryption_keys_check
from apps.tenants.models import SigningKey
from apps.tenants.services import encrypted_values_reencrypt, signing_key_rotate
from tests.factories import ApiFactory, TenantFactory, UserFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def by_column(counts) -> dict[str, tuple[int, int, list]]:
    return {count.column: (count.reencrypted, count.unchanged, count.undecryptable) for count in counts}


@pytest.fixture
def under_old_key(db, settings):
    """Two tenants' keys (one retired and so erased), an HS256 API secret and an MFA secret, under OLD_KEY."""
    settings.KEY_ENCRYPTION_KEYS = [OLD_KEY]
    tenant = TenantFactory()
    TenantFactory()
    signing_key_rotate(tenant=tenant, algorithm="RS256")
    signing_key_rotate(tenant=tenant, algorithm="RS256")  # retires one key: nothing left to encrypt
    api = ApiFactory(tenant=tenant, signing_alg="HS256")
    ApiFactory(tenant=tenant)  # RS256: no secret
    totp_associate(tenant=tenant, user=UserFactory(tenant=tenant))
    return api


def test_every_encrypted_column_is_declared_for_reencryption():
    # A new *_encrypted column that is not in ENCRYPTED_FIELDS would survive a key rotation
    # under the old key, and break when the operator drops it.
    found = {
        (model._meta.label, field.name)
        for model in django_apps.get_models()
        for field in model._meta.concrete_fields
        if field.name.endswith("_encrypted")
    }
    assert found == set(crypto.ENCRYPTED_FIELDS)


def test_reencryption_moves_everything_under_the_first_key(under_old_key, settings):
    # given the operator prepended a new key
    secret = api_signing_secret(api=under_old_key)
    stored_keys = SigningKey.objects.exclude(private_key_encrypted="").count()
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    # when
    counts = encrypted_values_reencrypt()
    # then every value was rewritten, and decrypts once the old key is dropped
    assert by_column(counts) == {
        "tenants.SigningKey.private_key_encrypted": (stored_keys, 0, []),
        "apis.Api.signing_secret_encrypted": (1, 0, []),
        "accounts.MfaAuthenticator.secret_encrypted": (1, 0, []),
    }
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY]
    for encrypted in SigningKey.objects.exclude(private_key_encrypted="").values_list(
        "private_key_encrypted", flat=True
    ):
        keys.load_private_key(encrypted)
    assert api_signing_secret(api=Api.objects.get(pk=under_old_key.pk)) == secret
    assert len(crypto.decrypt(MfaAuthenticator.objects.get().secret_encrypted)) == 32


def test_reencryption_is_idempotent_and_audited(under_old_key, settings):
    # given one run already done
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    encrypted_values_reencrypt()
    snapshot = list(SigningKey.objects.order_by("pk").values_list("private_key_encrypted", flat=True))
    # when it runs again
    counts = encrypted_values_reencrypt()
    # then nothing is written
    assert all(reencrypted == 0 and unchanged > 0 for reencrypted, unchanged, _ in by_column(counts).values())
    assert list(SigningKey.objects.order_by("pk").values_list("private_key_encrypted", flat=True)) == snapshot
    last = AuditEvent.objects.filter(type=AuditEvent.Type.KEY_MATERIAL_REENCRYPTED).order_by("-pk").first()
    assert last.tenant is None
    assert last.data["apis.Api.signing_secret_encrypted"] == {
        "reencrypted": 0,
        "unchanged": 1,
        "undecryptable": 0,
    }


def test_values_no_key_decrypts_are_reported_and_left_alone(under_old_key, settings):
    # given the old key was dropped before re-encrypting
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY]
    before = Api.objects.get(pk=under_old_key.pk).signing_secret_encrypted
    # when
    counts = by_column(encrypted_values_reencrypt())
    # then
    assert counts["apis.Api.signing_secret_encrypted"] == (0, 0, [under_old_key.pk])
    assert Api.objects.get(pk=under_old_key.pk).signing_secret_encrypted == before


def test_reencrypt_returns_none_for_a_value_already_under_the_first_key(settings):
    settings.KEY_ENCRYPTION_KEYS = [OLD_KEY]
    token = crypto.encrypt(b"material")
    assert crypto.reencrypt(token) is None
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    rotated = crypto.reencrypt(token)
    assert rotated is not None and Fernet(NEW_KEY.encode()).decrypt(rotated.encode()) == b"material"
    settings.KEY_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(crypto.UndecryptableError):
        crypto.reencrypt(token)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ([OLD_KEY], []),
        ([NEW_KEY, OLD_KEY], []),
        ([], ["KEY_ENCRYPTION_KEYS is empty: at least one Fernet key is needed."]),
        (
            [NEW_KEY, "not-a-fernet-key"],
            [
                "KEY_ENCRYPTION_KEYS item 2 is not a Fernet key (32 url-safe base64-encoded bytes; "
                "generate one with Fernet.generate_key())."
            ],
        ),
    ],
)
def test_system_check_refuses_malformed_key_encryption_keys(settings, configured, expected):
    settings.KEY_ENCRYPTION_KEYS = configured
    errors = key_encryption_keys_check()
    assert [error.msg for error in errors] == expected
    assert all(error.id == "tenants.E001" for error in errors)


def test_reencrypt_command_stops_on_a_malformed_key_before_writing(under_old_key, settings):
    # given a typo in the new key
    settings.KEY_ENCRYPTION_KEYS = ["typo", OLD_KEY]
    before = Api.objects.get(pk=under_old_key.pk).signing_secret_encrypted
    # when / then the system check stops the command (as on the command line, where checks run)
    with pytest.raises(SystemCheckError, match=r"tenants\.E001"):
        call_command("reencrypt_keys", skip_checks=False)
    assert Api.objects.get(pk=under_old_key.pk).signing_secret_encrypted == before
