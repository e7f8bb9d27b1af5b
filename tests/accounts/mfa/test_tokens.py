"""The mfa_token: bound to tenant, user and client; tamper-evident; expires; not a JWT."""

from __future__ import annotations

import pytest
from django.core import signing

from apps.accounts.errors import (
    MFA_TOKEN_EXPIRED_MESSAGE,
    MFA_TOKEN_MALFORMED_MESSAGE,
    MfaTokenExpired,
    MfaTokenInvalid,
)
from apps.accounts.mfa.tokens import MFA_TOKEN_SALT, mfa_token_client_id, mfa_token_issue, mfa_token_read
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _issue(tenant, user, client_id="client-a"):
    return mfa_token_issue(
        tenant=tenant, user=user, client_id=client_id, audience="https://api.example", scope="openid x"
    )


def test_a_token_carries_what_the_password_grant_was_asked(tenant, end_user):
    token = _issue(tenant, end_user)

    claims = mfa_token_read(tenant=tenant, token=token, client_id="client-a")

    assert claims.user == end_user
    assert (claims.client_id, claims.audience, claims.scope) == (
        "client-a",
        "https://api.example",
        "openid x",
    )
    assert token.count(".") != 2  # never mistaken for a JWT
    assert mfa_token_client_id(token) == "client-a"


def test_expired(tenant, end_user, settings):
    token = _issue(tenant, end_user)
    settings.MFA_TOKEN_LIFETIME_SECONDS = -1
    with pytest.raises(MfaTokenExpired) as refused:
        mfa_token_read(tenant=tenant, token=token, client_id="client-a")
    assert (refused.value.code, refused.value.message) == ("expired_token", MFA_TOKEN_EXPIRED_MESSAGE)


@pytest.mark.parametrize(
    "case",
    ["tampered", "other_client", "other_tenant", "user_gone", "inactive", "other_salt", "empty", "huge"],
)
def test_invalid(tenant, end_user, case):
    # given
    token, reading_tenant, client_id = _issue(tenant, end_user), tenant, "client-a"
    if case == "tampered":
        payload, _, signature = token.rpartition(":")
        token = f"{payload}:{signature[::-1]}"
    elif case == "other_client":
        client_id = "client-b"
    elif case == "other_tenant":
        reading_tenant = TenantFactory()
    elif case == "user_gone":
        end_user.delete()
    elif case == "inactive":
        end_user.is_active = False
        end_user.save(update_fields=["is_active"])
    elif case == "other_salt":
        token = signing.dumps({"t": tenant.pk, "u": end_user.pk, "c": "client-a", "a": "", "s": ""})
    elif case == "empty":
        token = ""
    elif case == "huge":
        token = "A" * 10_000

    # when / then
    with pytest.raises(MfaTokenInvalid) as refused:
        mfa_token_read(tenant=reading_tenant, token=token, client_id=client_id)
    assert (refused.value.code, refused.value.message, refused.value.status) == (
        "invalid_grant",
        MFA_TOKEN_MALFORMED_MESSAGE,
        403,
    )


def test_a_user_of_another_tenant_with_the_same_id_space_is_not_found(tenant):
    # given a token naming a user of another tenant, signed as if for this tenant
    stranger = UserFactory(tenant=TenantFactory())
    token = signing.dumps(
        {"t": tenant.pk, "u": stranger.pk, "c": "client-a", "a": "", "s": ""},
        salt=MFA_TOKEN_SALT,
        compress=True,
    )
    with pytest.raises(MfaTokenInvalid):
        mfa_token_read(tenant=tenant, token=token, client_id="client-a")
