"""The login page's second step over real HTTP: no session before the code; codes, recovery codes, lockout."""

from __future__ import annotations

import re
from http import HTTPStatus

import pyotp

from apps.accounts.errors import INVALID_OTP_MESSAGE, MFA_TOO_MANY_ATTEMPTS_MESSAGE
from apps.accounts.mfa.login import MFA_PENDING_SESSION_KEY
from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled
from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.accounts.sessions import AUTH_TIME_SESSION_KEY
from apps.audit.models import AuditEvent
from tests.accounts.conftest import csrf_token, session_of, sign_in
from tests.factories import TenantFactory, UserFactory

SECRET_RE = re.compile(r"<code class=\"secret\" data-secret>([A-Z2-7]+)</code>")
RECOVERY_RE = re.compile(r"<code data-recovery-code>([A-Z0-9]+)</code>")


def _signed_in(http) -> bool:
    session = session_of(http)
    return session is not None and "_auth_user_id" in session


def _post_code(http, tenant, code: str, *, next_path: str = ""):
    path = f"/t/{tenant.slug}/login/mfa"
    page = http.get(path + (f"?next={next_path}" if next_path else ""))
    assert page.status_code == HTTPStatus.OK, page.text
    data = {"csrfmiddlewaretoken": csrf_token(page), "code": code}
    if next_path:
        data["next"] = next_path
    return http.post(path, data=data, allow_redirects=False)


def test_an_enrolled_user_is_not_signed_in_until_the_code(http, tenant, enrolled):
    # when the password is right
    next_path = f"/t/{tenant.slug}/account/applications"
    response = sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password, next=next_path)

    # then the browser goes to the code step, not signed in
    assert response.status_code == HTTPStatus.FOUND
    assert (
        response.headers["Location"]
        == f"/t/{tenant.slug}/login/mfa?next=%2Ft%2F{tenant.slug}%2Faccount%2Fapplications"
    )
    assert not _signed_in(http)
    assert MFA_PENDING_SESSION_KEY in session_of(http)

    # when a wrong code, then the right one
    wrong = _post_code(
        http, tenant, "000000" if enrolled.totp.now() != "000000" else "111111", next_path=next_path
    )
    assert wrong.status_code == HTTPStatus.OK
    assert INVALID_OTP_MESSAGE in wrong.text
    assert not _signed_in(http)
    right = _post_code(http, tenant, enrolled.totp.now(), next_path=next_path)

    # then signed in, landing on next, with the sign-in recorded once
    assert right.status_code == HTTPStatus.FOUND
    assert right.headers["Location"] == next_path
    session = session_of(http)
    assert _signed_in(http) and AUTH_TIME_SESSION_KEY in session and MFA_PENDING_SESSION_KEY not in session
    assert AuditEvent.objects.filter(tenant=tenant, type=AuditEvent.Type.USER_LOGIN).count() == 1


def test_a_recovery_code_signs_in_once(http, tenant, enrolled):
    code = enrolled.association.recovery_codes[0]
    sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    assert _post_code(http, tenant, code).status_code == HTTPStatus.FOUND
    assert _signed_in(http)

    http.cookies.clear()
    sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    again = _post_code(http, tenant, code)
    assert again.status_code == HTTPStatus.OK
    assert "Invalid recovery_code." in again.text


def test_too_many_wrong_codes_show_the_block(http, tenant, enrolled, settings):
    settings.MFA_MAX_FAILED_ATTEMPTS = 3
    sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    for _ in range(3):
        _post_code(http, tenant, "000000" if enrolled.totp.now() != "000000" else "111111")
    blocked = _post_code(http, tenant, enrolled.totp.now())
    assert blocked.status_code == HTTPStatus.OK
    assert MFA_TOO_MANY_ATTEMPTS_MESSAGE in blocked.text
    assert not _signed_in(http)


def test_the_code_step_without_a_password_goes_back_to_the_login(http, tenant):
    response = http.get(f"/t/{tenant.slug}/login/mfa", allow_redirects=False)
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == f"/t/{tenant.slug}/login"


def test_the_pending_step_expires(http, tenant, enrolled, settings):
    sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    settings.MFA_TOKEN_LIFETIME_SECONDS = -1
    response = http.get(f"/t/{tenant.slug}/login/mfa", allow_redirects=False)
    assert response.status_code == HTTPStatus.FOUND
    assert not _signed_in(http)


def test_the_pending_step_of_one_tenant_means_nothing_at_another(http, tenant, enrolled):
    # given a user of tenant A half-way through signing in
    sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    other = TenantFactory()

    # when the browser opens tenant B's code step, even with A's user's right code
    page = http.get(f"/t/{other.slug}/login/mfa", allow_redirects=False)

    # then it is sent to B's sign-in
    assert page.status_code == HTTPStatus.FOUND
    assert page.headers["Location"] == f"/t/{other.slug}/login"
    assert not _signed_in(http)


def test_policy_always_enrols_a_user_at_sign_in(http, tenant, end_user):
    # given a tenant that requires MFA and a user without authenticator
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.ALWAYS, actor=None)
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # when the step shows the secret, and the user confirms with their app's code
    page = http.get(f"/t/{tenant.slug}/login/mfa")
    secret = SECRET_RE.search(page.text).group(1)
    assert "<svg" in page.text
    assert page.text.count(secret) == 1  # as text; the QR code draws it
    reload = http.get(f"/t/{tenant.slug}/login/mfa")
    assert SECRET_RE.search(reload.text).group(1) == secret  # a reload keeps the same secret
    done = _post_code(http, tenant, pyotp.TOTP(secret).now())

    # then signed in, shown ten recovery codes once
    assert done.status_code == HTTPStatus.OK
    codes = RECOVERY_RE.findall(done.text)
    assert len(codes) == 10
    assert _signed_in(http)
    assert mfa_enrolled(user=end_user)


def test_policy_never_signs_in_an_enrolled_user_with_the_password(http, tenant, enrolled):
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.NEVER, actor=None)
    response = sign_in(http, tenant, enrolled.user.username, enrolled.user.plaintext_password)
    assert response.headers["Location"] == f"/t/{tenant.slug}/account/applications"
    assert _signed_in(http)


def test_a_user_without_mfa_signs_in_with_the_password(http, tenant):
    user = UserFactory(tenant=tenant)
    response = sign_in(http, tenant, user.username, user.plaintext_password)
    assert response.headers["Location"] == f"/t/{tenant.slug}/account/applications"
    assert _signed_in(http)
