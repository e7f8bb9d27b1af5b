"""Which applications an API's "Machine to Machine Applications" tab lists (``client_grant_candidates``)."""

from __future__ import annotations

from apps.applications.models import Application
from apps.grants.models import ClientGrant
from apps.grants.selectors import client_grant_candidates
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory

AppType, GrantType, AuthMethod = Application.AppType, Application.GrantType, Application.AuthMethod


def test_candidates_are_the_tenants_apps_that_can_use_client_credentials_or_hold_a_grant(
    db, django_assert_num_queries
):
    # given a tenant's applications of every kind, and another tenant's M2M application
    tenant = TenantFactory()
    api = ApiFactory(tenant=tenant)
    m2m = ApplicationFactory(tenant=tenant, name="M2M")
    web = ApplicationFactory(tenant=tenant, name="Web", app_type=AppType.REGULAR_WEB)
    ApplicationFactory(tenant=tenant, name="SPA", app_type=AppType.SPA)
    ApplicationFactory(tenant=tenant, name="Native", app_type=AppType.NATIVE)
    # a row saved before the application rules refused this combination
    public = ApplicationFactory(
        tenant=tenant, name="Public with client credentials", app_type=AppType.REGULAR_WEB
    )
    Application.objects.filter(pk=public.pk).update(
        token_endpoint_auth_method=AuthMethod.NONE, client_type="public"
    )
    legacy = ApplicationFactory(
        tenant=tenant, name="Legacy", app_type=AppType.REGULAR_WEB, grant_types=[GrantType.AUTHORIZATION_CODE]
    )
    ClientGrant.objects.create(tenant=tenant, application=legacy, api=api, scopes=[])
    grant = ClientGrantFactory(application=m2m, api=api)
    ClientGrantFactory(application=m2m, api=ApiFactory(tenant=tenant))  # another API's grant
    ApplicationFactory(tenant=TenantFactory(), name="Elsewhere")
    # when the candidates are listed
    with django_assert_num_queries(2):
        candidates = client_grant_candidates(api=api)
    # then: confidential apps allowed client credentials, and any app holding a grant for this API,
    # by name, each with its grant for this API (not another API's)
    assert [app.name for app in candidates] == ["Legacy", "M2M", "Web"]
    assert [app.api_grant for app in candidates] == [legacy.client_grants.get(), grant, None]
    assert web in candidates
