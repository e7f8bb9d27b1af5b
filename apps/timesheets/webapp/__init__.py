"""The sample "Timesheets web" relying party, served under ``/sample/``.

It is written as an application on another host would be: an OAuth 2.0 / OpenID Connect
client built on Authlib that knows Portcullis only through HTTP — the issuer's discovery
document, its authorization, token, userinfo and end-session endpoints, its JWKS — and calls
the Timesheets API with the access token it obtained. Nothing here imports the server's code
or reads its tables (``tests/timesheets/test_sample_web_standalone.py`` keeps it so), and it
keeps its own per-browser state (``store.py``) instead of Django's session.
"""
