"""Ready-to-copy token requests (curl, Python, Node) for an application and an API, as the portal shows them.

Each snippet asks the token endpoint for a client-credentials token with the API as ``audience``,
authenticating the way the application is registered to (``client_secret_basic``: an HTTP Basic
header; ``client_secret_post``: the body), as discovery and DESIGN.md say snippets do. The secret
is a placeholder: Portcullis stores only its hash, and a page must never carry it.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from apps.oauth.constants import (
    FORM_CONTENT_TYPE,
    PARAM_AUDIENCE,
    PARAM_CLIENT_ID,
    PARAM_CLIENT_SECRET,
    PARAM_GRANT_TYPE,
    TOKEN_PATH,
    AuthMethod,
    GrantType,
)

SECRET_PLACEHOLDER = "YOUR_CLIENT_SECRET"


@dataclass(frozen=True, slots=True)
class Snippet:
    key: str  # stable id for the page (tabs, element ids)
    label: str
    language: str
    code: str


def _quote(value: str) -> str:
    """A string literal valid in both Python and JavaScript (JSON's escaping is a subset of both)."""
    return json.dumps(value, ensure_ascii=False)


def client_credentials_snippets(
    *, issuer: str, client_id: str, audience: str, auth_method: str
) -> list[Snippet]:
    """curl, Python (requests) and Node (fetch) requests for a client-credentials token."""
    url = f"{issuer}{TOKEN_PATH}"
    basic = auth_method == AuthMethod.CLIENT_SECRET_BASIC
    grant = GrantType.CLIENT_CREDENTIALS.value
    body = [(PARAM_GRANT_TYPE, grant)]
    if not basic:
        body += [(PARAM_CLIENT_ID, client_id), (PARAM_CLIENT_SECRET, SECRET_PLACEHOLDER)]
    body.append((PARAM_AUDIENCE, audience))

    curl = [
        "curl --request POST",
        f"  --url {shlex.quote(url)}",
        f"  --header {shlex.quote('content-type: ' + FORM_CONTENT_TYPE)}",
    ]
    if basic:
        curl.append(f"  --user {shlex.quote(f'{client_id}:{SECRET_PLACEHOLDER}')}")
    curl += [f"  --data-urlencode {shlex.quote(f'{name}={value}')}" for name, value in body]

    python_body = "\n".join(f"        {_quote(name)}: {_quote(value)}," for name, value in body)
    python_auth = f"    auth=({_quote(client_id)}, {_quote(SECRET_PLACEHOLDER)}),\n" if basic else ""
    python = (
        "import requests\n\n"
        "response = requests.post(\n"
        f"    {_quote(url)},\n"
        f"{python_auth}"
        f"    data={{\n{python_body}\n    }},\n"
        "    timeout=10,\n"
        ")\n"
        "response.raise_for_status()\n"
        'print(response.json()["access_token"])'
    )

    node_body = "\n".join(f"    {name}: {_quote(value)}," for name, value in body)
    node_auth = (
        "    authorization:\n"
        f'      "Basic " + Buffer.from({_quote(client_id + ":" + SECRET_PLACEHOLDER)}).toString("base64"),\n'
        if basic
        else ""
    )
    node = (
        "// Node.js 18 or later, in an ES module (top-level await): save as token.mjs\n"
        f"const response = await fetch({_quote(url)}, {{\n"
        '  method: "POST",\n'
        f'  headers: {{\n    "content-type": {_quote(FORM_CONTENT_TYPE)},\n{node_auth}  }},\n'
        f"  body: new URLSearchParams({{\n{node_body}\n  }}),\n"
        "});\n"
        "if (!response.ok) throw new Error(await response.text());\n"
        "const { access_token } = await response.json();\n"
        "console.log(access_token);"
    )
    return [
        Snippet("curl", "cURL", "shell", " \\\n".join(curl)),
        Snippet("python", "Python", "python", python),
        Snippet("node", "Node.js", "javascript", node),
    ]
