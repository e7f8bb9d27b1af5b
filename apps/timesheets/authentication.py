"""The Timesheets API trusts the tokens ``settings.TIMESHEETS_RESOURCE_SERVER`` describes."""

from __future__ import annotations

from apps.resource_kit.authentication import JWTAccessTokenAuthentication


class TimesheetsTokenAuthentication(JWTAccessTokenAuthentication):
    settings_name = "TIMESHEETS_RESOURCE_SERVER"
