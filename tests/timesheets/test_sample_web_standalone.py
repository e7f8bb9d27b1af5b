"""The sample web app is a relying party like any other: it may not reach into the server's code.

It talks to Portcullis over HTTP only (discovery, OAuth/OIDC endpoints, the Timesheets API), so
its modules import the standard library, Django, Authlib (with its JOSE library, joserfc),
requests and cryptography, their own package, and of this project only its own session table.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import apps.timesheets.webapp

WEBAPP = Path(apps.timesheets.webapp.__file__).parent
ALLOWED_TOP_LEVEL = {"django", "authlib", "joserfc", "requests", "cryptography"} | set(
    sys.stdlib_module_names
)
# Its own state store, in the sample app's Django app; never the server's models.
ALLOWED_PROJECT_IMPORTS = {("apps.timesheets.models", "SampleWebSession")}


def imports_of(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every absolute import; name is "" for ``import module``."""
    tree = ast.parse(path.read_text())
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found |= {(node.module, alias.name) for alias in node.names}
    return found


@pytest.mark.parametrize("path", sorted(WEBAPP.glob("*.py")), ids=lambda p: p.name)
def test_sample_web_app_imports_nothing_from_the_server(path):
    # given a module of the sample web app
    # when its absolute imports are listed
    imported = imports_of(path) - ALLOWED_PROJECT_IMPORTS
    # then each comes from the standard library or the client-side libraries
    assert {module.split(".")[0] for module, _ in imported} <= ALLOWED_TOP_LEVEL, imported


def test_the_check_would_catch_a_server_import(tmp_path):
    # given a module that reads the server's applications
    module = tmp_path / "bad.py"
    module.write_text("from apps.applications.models import Application\nimport apps.oauth.tokens\n")
    # when
    imported = imports_of(module) - ALLOWED_PROJECT_IMPORTS
    # then
    assert {module.split(".")[0] for module, _ in imported} - ALLOWED_TOP_LEVEL == {"apps"}
