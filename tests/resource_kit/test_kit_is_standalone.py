"""The kit must stay copyable: only the standard library, Django, DRF and PyJWT, relative imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import apps.resource_kit

KIT = Path(apps.resource_kit.__file__).parent
ALLOWED_TOP_LEVEL = {"django", "rest_framework", "jwt"} | set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", sorted(KIT.glob("*.py")), ids=lambda p: p.name)
def test_kit_imports_nothing_from_portcullis(path):
    # given a module of the kit
    tree = ast.parse(path.read_text())
    # when its absolute imports are listed
    imported = {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    # then each comes from the standard library, Django, DRF or PyJWT
    assert {name.split(".")[0] for name in imported} <= ALLOWED_TOP_LEVEL, imported


def test_kit_has_its_documentation():
    # given the kit's directory
    # when its README is read
    readme = (KIT / "README.md").read_text()
    # then it explains the setting, the RFCs it follows, and revocation: the deny list's window
    # and its trade-off against introspection
    assert "TIMESHEETS_RESOURCE_SERVER" in readme
    assert "RFC 9068" in readme
    assert "RFC 6750" in readme
    for key in ("DENY_LIST", "DENY_LIST_URI", "DENY_LIST_REFRESH", "DENY_LIST_FAIL_CLOSED"):
        assert f"| `{key}` |" in readme
    assert "### Polling the feed or introspecting every request?" in readme
    assert "RFC 7662" in readme
