"""The signing-key admin's actions: rotate and revoke, confirmed first, scoped to the user's tenants."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.auth.models import Permission
from django.test import Client

from apps.accounts.services import user_create
from apps.audit.models import AuditEvent
from apps.tenants.models import SigningKey
from apps.tenants.services import MSG_KEY_ALREADY_REVOKED, membership_add, signing_key_revoke
from tests.dashboard.conftest import admin_url

State = SigningKey.State
CHANGELIST = admin_url("tenants_signingkey_changelist")


def key_of(tenant, algorithm: str, state: str) -> SigningKey:
    return SigningKey.objects.for_tenant(tenant).get(algorithm=algorithm, state=state)


def snapshot(tenant) -> set[tuple[str, str]]:
    return set(SigningKey.objects.for_tenant(tenant).values_list("kid", "state"))


def act(client: Client, action: str, keys, *, confirm: bool):
    data = {"action": action, "_selected_action": [key.pk for key in keys], "index": 0}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data, follow=confirm)


def test_rotate_asks_first_and_shows_no_private_key_material(portal_client, alpha):
    # given alpha's current RS256 key
    key = key_of(alpha.tenant, "RS256", State.CURRENT)
    before = snapshot(alpha.tenant)
    # when the admin picks "Rotate signing keys" for it
    response = act(portal_client, "rotate_signing_keys", [key], confirm=False)
    # then a confirmation page names what will rotate, and nothing has changed yet
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "alpha-corp: RS256" in html
    assert 'name="post" value="yes"' in html
    assert "private" not in html.lower()
    for stored in SigningKey.objects.for_tenant(alpha.tenant).values_list("private_key_encrypted", flat=True):
        assert stored not in html
    assert snapshot(alpha.tenant) == before


def test_rotate_after_confirmation_rotates_that_algorithm_and_says_so(portal_client, portal_admin, alpha):
    # given
    current = key_of(alpha.tenant, "RS256", State.CURRENT)
    upcoming = key_of(alpha.tenant, "RS256", State.NEXT)
    es256 = key_of(alpha.tenant, "ES256", State.CURRENT)
    # when the admin confirms (selecting two keys of one algorithm rotates it once)
    response = act(portal_client, "rotate_signing_keys", [current, upcoming], confirm=True)
    # then
    assert response.status_code == HTTPStatus.OK
    new_next = key_of(alpha.tenant, "RS256", State.NEXT)
    assert key_of(alpha.tenant, "RS256", State.CURRENT) == upcoming
    assert key_of(alpha.tenant, "RS256", State.PREVIOUS) == current
    assert key_of(alpha.tenant, "ES256", State.CURRENT) == es256
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Rotated RS256 keys of alpha-corp: {upcoming.kid} now signs, {current.kid} is previous, "
        f"{new_next.kid} is the new next key."
    ]
    event = AuditEvent.objects.get(tenant=alpha.tenant, type=AuditEvent.Type.SIGNING_KEY_ROTATED)
    assert event.actor == portal_admin


def test_revoke_after_confirmation_revokes_and_promotes(portal_client, portal_admin, alpha):
    # given
    current = key_of(alpha.tenant, "ES256", State.CURRENT)
    upcoming = key_of(alpha.tenant, "ES256", State.NEXT)
    # when the admin asks, then confirms
    asked = act(portal_client, "revoke_keys", [current], confirm=False)
    assert f"alpha-corp: {current.kid} (ES256, current)" in asked.content.decode()
    assert SigningKey.objects.get(pk=current.pk).state == State.CURRENT
    response = act(portal_client, "revoke_keys", [current], confirm=True)
    # then
    assert SigningKey.objects.get(pk=current.pk).state == State.REVOKED
    assert key_of(alpha.tenant, "ES256", State.CURRENT) == upcoming
    assert [str(message) for message in response.context["messages"]] == [
        f"Revoked {current.kid} (ES256 of alpha-corp, was current); {upcoming.kid} now signs."
    ]
    assert AuditEvent.objects.get(type=AuditEvent.Type.SIGNING_KEY_REVOKED).actor == portal_admin


def test_revoking_a_revoked_key_is_an_error_message_and_the_others_proceed(portal_client, alpha):
    # given one revoked key and one that is not
    revoked = key_of(alpha.tenant, "RS256", State.NEXT)
    signing_key_revoke(tenant=alpha.tenant, kid=revoked.kid)
    upcoming = key_of(alpha.tenant, "ES256", State.NEXT)
    # when both are revoked
    response = act(portal_client, "revoke_keys", [revoked, upcoming], confirm=True)
    # then the revoked one is reported, the other revoked
    assert response.status_code == HTTPStatus.OK
    messages = [str(message) for message in response.context["messages"]]
    assert MSG_KEY_ALREADY_REVOKED.format(kid=revoked.kid) in messages
    assert SigningKey.objects.get(pk=upcoming.pk).state == State.REVOKED


def test_another_tenants_keys_cannot_be_rotated_or_revoked(portal_client, alpha, bravo):
    # given bravo's keys, which the portal admin of alpha does not manage
    theirs = list(SigningKey.objects.for_tenant(bravo.tenant))
    before = snapshot(bravo.tenant)
    # when their ids are posted to both actions
    act(portal_client, "rotate_signing_keys", theirs, confirm=True)
    act(portal_client, "revoke_keys", theirs, confirm=True)
    # then nothing of bravo's changed
    assert snapshot(bravo.tenant) == before
    assert not AuditEvent.objects.filter(
        tenant=bravo.tenant,
        type__in=[AuditEvent.Type.SIGNING_KEY_ROTATED, AuditEvent.Type.SIGNING_KEY_REVOKED],
    ).exists()


def test_a_user_who_may_only_view_keys_gets_no_actions(db, alpha):
    # given a staff member of alpha with the view permission only
    viewer = user_create(username="viewer", password="a long enough password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_signingkey"))
    membership_add(tenant=alpha.tenant, user=viewer)
    client = Client()
    client.force_login(viewer)
    before = snapshot(alpha.tenant)
    # when they post the actions anyway
    page = client.get(CHANGELIST)
    response = act(client, "revoke_keys", list(SigningKey.objects.for_tenant(alpha.tenant)), confirm=True)
    act(client, "rotate_signing_keys", list(SigningKey.objects.for_tenant(alpha.tenant)), confirm=True)
    # then the page offers neither, the posts are ignored, and nothing changed
    assert page.status_code == HTTPStatus.OK
    assert "rotate_signing_keys" not in page.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert snapshot(alpha.tenant) == before
