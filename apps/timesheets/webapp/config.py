"""Where the sample web app finds its client registration: ``settings.SAMPLE_WEB`` or ``var/demo.json``.

``settings.SAMPLE_WEB`` (a dict) wins when set. Otherwise ``bootstrap_demo``'s output file is
read on every request: it is small, and it changes whenever the demo is bootstrapped again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

DEFAULT_AUDIENCE = "https://timesheets.example.com"
DEFAULT_SCOPE = "openid profile email read:timesheets offline_access"
DEFAULT_AUTH_METHOD = "client_secret_post"  # how bootstrap_demo registers the web app


@dataclass(frozen=True, slots=True)
class RelyingPartyConfig:
    """The sample web app's registration at the authorization server, and the API it calls."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    post_logout_redirect_uri: str
    audience: str = DEFAULT_AUDIENCE
    scope: str = DEFAULT_SCOPE
    timesheets_url: str = ""
    token_endpoint_auth_method: str = DEFAULT_AUTH_METHOD

    @property
    def origin(self) -> str:
        """Where this app lives (the redirect URI's scheme and host): its cookie belongs there."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def api_url(self) -> str:
        """The Timesheets API: configured, or ``/sample/timesheets/`` on the issuer's host."""
        if self.timesheets_url:
            return self.timesheets_url
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}/sample/timesheets/"


def _from_settings(values: dict[str, Any]) -> RelyingPartyConfig:
    return RelyingPartyConfig(
        issuer=values["ISSUER"],
        client_id=values["CLIENT_ID"],
        client_secret=values.get("CLIENT_SECRET", ""),
        redirect_uri=values["REDIRECT_URI"],
        post_logout_redirect_uri=values["POST_LOGOUT_REDIRECT_URI"],
        audience=values.get("AUDIENCE") or DEFAULT_AUDIENCE,
        scope=values.get("SCOPE") or DEFAULT_SCOPE,
        timesheets_url=values.get("TIMESHEETS_URL", ""),
        token_endpoint_auth_method=values.get("TOKEN_ENDPOINT_AUTH_METHOD") or DEFAULT_AUTH_METHOD,
    )


def _from_demo_file(path: Path) -> RelyingPartyConfig | None:
    try:
        demo = json.loads(path.read_text())
        web = demo["web"]
        redirect_uri = web["redirect_uri"]
        sample_url = demo.get("sample_url") or redirect_uri.rsplit("/", 1)[0] + "/"
        return RelyingPartyConfig(
            issuer=demo["issuer"],
            client_id=web["client_id"],
            client_secret=web.get("client_secret", ""),
            redirect_uri=redirect_uri,
            post_logout_redirect_uri=web.get("post_logout_redirect_uri") or sample_url,
            audience=(demo.get("m2m") or {}).get("audience") or DEFAULT_AUDIENCE,
            timesheets_url=demo.get("timesheets_url", ""),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no file yet, or one this app cannot use: the page says to run `make run`


def load_config() -> RelyingPartyConfig | None:
    """The configuration in force for this request, or ``None`` when there is none."""
    values = getattr(settings, "SAMPLE_WEB", None)
    if values:
        return _from_settings(values)
    return _from_demo_file(Path(settings.VAR_DIR) / "demo.json")
