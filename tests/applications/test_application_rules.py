"""What each application type gets and may use: Auth0's defaults, and grant types refused with codes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.applications import rules
from apps.applications.models import Application
from apps.applications.services import AppType, application_create, application_update
from tests.factories import ApplicationFactory, TenantFactory

GrantType = Application.GrantType
AuthMethod = Application.AuthMethod
ALL_GRANT_TYPES = list(GrantType.values)
USER_GRANT_TYPES = [value for value in GrantType.values if value != "client_credentials"]


def refusal_codes(raised: pytest.ExceptionInfo[ValidationError], field: str) -> list[str | None]:
    return [error.code for error in raised.value.error_dict[field]]


@pytest.mark.parametrize(
    ("app_type", "grant_types", "auth_method", "client_type"),
    [
        (
            AppType.REGULAR_WEB,
            ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "client_secret_post",
            "confidential",
        ),
        (AppType.SPA, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
        (AppType.NATIVE, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
        (AppType.MACHINE_TO_MACHINE, ["client_credentials"], "client_secret_post", "confidential"),
    ],
)
def test_each_type_gets_auth0s_defaults(db, app_type, grant_types, auth_method, client_type):
    # given the table the service and the Management API both read
    defaults = rules.app_type_defaults(app_type)
    assert (list(defaults.grant_types), defaults.token_endpoint_auth_method, defaults.client_type) == (
        grant_types,
        auth_method,
        client_type,
    )
    # when an application of the type is created with nothing but a name
    application = application_create(tenant=TenantFactory(), name="App", app_type=app_type).application
    # then it has exactly those defaults, first party
    application.refresh_from_db()
    assert application.grant_types == grant_types
    assert application.token_endpoint_auth_method == auth_method
    assert application.client_type == client_type
    assert application.is_first_party is True


def test_an_unknown_type_is_refused_with_its_code(db):
    with pytest.raises(ValidationError) as raised:
        application_create(tenant=TenantFactory(), name="App", app_type="robot")
    assert refusal_codes(raised, "app_type") == [rules.CODE_UNKNOWN_APP_TYPE]
    assert not Application.objects.filter(name="App").exists()


@pytest.mark.parametrize(
    ("app_type", "offered"),
    [
        (AppType.REGULAR_WEB, ALL_GRANT_TYPES),
        (AppType.SPA, USER_GRANT_TYPES),
        (AppType.NATIVE, USER_GRANT_TYPES),
        (AppType.MACHINE_TO_MACHINE, ["client_credentials"]),
    ],
)
def test_grant_types_for_each_type(app_type, offered):
    assert list(rules.grant_types_for(app_type)) == offered


@pytest.mark.parametrize(
    ("app_type", "grant_types", "extra", "code", "message"),
    [
        pytest.param(
            AppType.SPA,
            ["authorization_code", "client_credentials"],
            {},
            rules.CODE_GRANT_TYPE_NOT_FOR_APP_TYPE,
            "The Client credentials grant is not available to a single-page application: it is a public "
            "client, which cannot keep the secret that client credentials need.",
            id="spa-client-credentials",
        ),
        pytest.param(
            AppType.NATIVE,
            ["client_credentials"],
            {},
            rules.CODE_GRANT_TYPE_NOT_FOR_APP_TYPE,
            "The Client credentials grant is not available to a native application: it is a public "
            "client, which cannot keep the secret that client credentials need.",
            id="native-client-credentials",
        ),
        pytest.param(
            AppType.MACHINE_TO_MACHINE,
            ["client_credentials", "authorization_code"],
            {},
            rules.CODE_GRANT_TYPE_NOT_FOR_APP_TYPE,
            "The Authorization code grant is not available to a machine-to-machine application: it acts "
            "as itself, for no user, and gets tokens with client credentials.",
            id="m2m-authorization-code",
        ),
        pytest.param(
            AppType.REGULAR_WEB,
            ["authorization_code", "client_credentials"],
            {"token_endpoint_auth_method": AuthMethod.NONE},
            rules.CODE_CLIENT_CREDENTIALS_NEEDS_SECRET,
            rules.MSG_CLIENT_CREDENTIALS_NEEDS_SECRET,
            id="public-web-client-credentials",
        ),
        pytest.param(
            AppType.REGULAR_WEB,
            ["password"],
            {"is_first_party": False},
            rules.CODE_GRANT_TYPE_NEEDS_FIRST_PARTY,
            "The Password grant is only for first-party applications: with it, the application handles "
            "the user's password or MFA code.",
            id="third-party-password",
        ),
        pytest.param(
            AppType.NATIVE,
            ["authorization_code", "http://auth0.com/oauth/grant-type/mfa-otp"],
            {"is_first_party": False},
            rules.CODE_GRANT_TYPE_NEEDS_FIRST_PARTY,
            "The MFA OTP grant is only for first-party applications: with it, the application handles "
            "the user's password or MFA code.",
            id="third-party-mfa-otp",
        ),
    ],
)
def test_grant_types_that_do_not_fit_are_refused_with_their_code(
    db, app_type, grant_types, extra, code, message
):
    # when an application is created with a grant type that does not fit it
    with pytest.raises(ValidationError) as raised:
        application_create(
            tenant=TenantFactory(), name="Misfit", app_type=app_type, grant_types=grant_types, **extra
        )
    # then the service refuses it, on grant_types, with the rule's code and words; nothing is saved
    assert refusal_codes(raised, "grant_types") == [code]
    assert raised.value.error_dict["grant_types"][0].messages == [message]
    assert not Application.objects.filter(name="Misfit").exists()


def test_every_misfit_grant_type_gets_its_own_message(db):
    with pytest.raises(ValidationError) as raised:
        application_create(
            tenant=TenantFactory(),
            name="M2M",
            app_type=AppType.MACHINE_TO_MACHINE,
            grant_types=["client_credentials", "implicit", "refresh_token"],
        )
    assert refusal_codes(raised, "grant_types") == [rules.CODE_GRANT_TYPE_NOT_FOR_APP_TYPE] * 2
    assert "Implicit grant" in raised.value.error_dict["grant_types"][0].messages[0]
    assert "Refresh token grant" in raised.value.error_dict["grant_types"][1].messages[0]


@pytest.mark.parametrize(
    ("app_type", "grant_types", "extra"),
    [
        (AppType.REGULAR_WEB, ALL_GRANT_TYPES, {}),
        (AppType.SPA, USER_GRANT_TYPES, {}),
        (AppType.NATIVE, ["authorization_code", "password", "refresh_token"], {}),
        (AppType.REGULAR_WEB, ["authorization_code", "refresh_token"], {"is_first_party": False}),
        (AppType.REGULAR_WEB, ["authorization_code"], {"token_endpoint_auth_method": AuthMethod.NONE}),
        (
            AppType.MACHINE_TO_MACHINE,
            ["client_credentials"],
            {"token_endpoint_auth_method": "client_secret_basic"},
        ),
    ],
)
def test_grant_types_that_fit_are_accepted(db, app_type, grant_types, extra):
    application = application_create(
        tenant=TenantFactory(), name="Fits", app_type=app_type, grant_types=grant_types, **extra
    ).application
    application.refresh_from_db()
    assert application.grant_types == grant_types


def test_making_a_client_credentials_client_public_is_refused(db):
    # given an M2M application (client_credentials)
    application = ApplicationFactory()
    # when its authentication method is set to none
    with pytest.raises(ValidationError) as raised:
        application_update(application=application, token_endpoint_auth_method=AuthMethod.NONE)
    # then the grant rule refuses it, and the row keeps its method
    assert refusal_codes(raised, "grant_types") == [rules.CODE_CLIENT_CREDENTIALS_NEEDS_SECRET]
    assert Application.objects.get(pk=application.pk).token_endpoint_auth_method == "client_secret_post"


def test_making_a_password_client_third_party_is_refused(db):
    application = ApplicationFactory(
        app_type=AppType.REGULAR_WEB, grant_types=["authorization_code", "password"]
    )
    with pytest.raises(ValidationError) as raised:
        application_update(application=application, is_first_party=False)
    assert refusal_codes(raised, "grant_types") == [rules.CODE_GRANT_TYPE_NEEDS_FIRST_PARTY]
    assert Application.objects.get(pk=application.pk).is_first_party is True


def test_an_older_row_that_breaks_a_rule_can_still_be_renamed(db):
    # given an M2M application stored with a user grant type before the rule existed
    application = ApplicationFactory()
    Application.objects.filter(pk=application.pk).update(grant_types=["client_credentials", "implicit"])
    application.refresh_from_db()
    # when it is only renamed, then that works
    application_update(application=application, name="Renamed")
    assert Application.objects.get(pk=application.pk).name == "Renamed"
    # and when its grant types are edited, the rule applies
    with pytest.raises(ValidationError) as raised:
        application_update(application=application, grant_types=["client_credentials", "implicit"])
    assert refusal_codes(raised, "grant_types") == [rules.CODE_GRANT_TYPE_NOT_FOR_APP_TYPE]
