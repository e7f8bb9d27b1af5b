"""The reference server of ``make bench``: node oidc-provider, served beside Portcullis.

The pinned package (tests/bench/reference/package.json and its package-lock.json) is installed
by the bench itself with ``npm ci --omit=dev`` into ``var/bench-reference/`` (git-ignored, like
all of ``var/``), next to a copy of ``server.mjs``, which configures it like our demo M2M path
(its header says how). ``install`` returns why it cannot be used instead (no node, a node too
old, npm failing), and run.py then says so in one line and measures Portcullis alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import BENCH_DIR, HOST, VAR_DIR, Served, log, stop_process_group, wait_for_first_token

SOURCE_DIR = BENCH_DIR / "reference"  # what is committed: package.json, package-lock.json, server.mjs
INSTALL_DIR = VAR_DIR / "bench-reference"  # where the bench installs and runs it
LOG_PATH = VAR_DIR / "bench-reference.log"
FILES = ("package.json", "package-lock.json", "server.mjs")
STAMP = ".installed"  # the sha256 of the package.json and package-lock.json node_modules came from
PACKAGE = "oidc-provider"
NAME = "node oidc-provider"
# oidc-provider 9 parses resource indicators with URL.parse, which Node.js has from 20.18 on.
MIN_NODE = (20, 18)
NPM_TIMEOUT_SECONDS = 600
TOKEN_PATH = "/token"
JWKS_PATH = "/jwks"
SCOPE = "read:timesheets"  # the scope the demo M2M client is granted
STORED_MARK = "BENCH_STORED "  # server.mjs prints it the first time its adapter writes a model


@dataclass(frozen=True)
class Installed:
    """A usable reference: the node that runs it and the versions the report records."""

    node: str
    node_version: str  # "20.20.2"
    npm_version: str
    package_version: str  # oidc-provider's, read from the installed package

    def describe(self) -> dict[str, str]:
        return {
            "server": NAME,
            "oidc_provider": self.package_version,
            "node": self.node_version,
            "npm": self.npm_version,
        }


def install() -> Installed | str:
    """Install the pinned reference (unless already installed from the same package.json and lock).

    Returns what is installed, or one line saying why the reference cannot run here.
    ``BENCH_NODE`` names another node executable (default: ``node`` on PATH).
    """
    wanted = os.environ.get("BENCH_NODE") or "node"
    node = shutil.which(wanted)
    if node is None:
        return f"{wanted!r} not found (Node.js >= {_dotted(MIN_NODE)} runs the reference)"
    node_version = _version_of([node, "--version"]).removeprefix("v")
    if _numbers(node_version)[:2] < MIN_NODE:
        return f"node {node_version} is older than {_dotted(MIN_NODE)}, which {PACKAGE} 9 needs"
    npm = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
    if npm is None:
        return f"npm not found next to {node} (it installs {PACKAGE})"
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(SOURCE_DIR / name, INSTALL_DIR / name)
    sources_hash = hashlib.sha256(
        b"".join((SOURCE_DIR / name).read_bytes() for name in ("package.json", "package-lock.json"))
    ).hexdigest()
    stamp = INSTALL_DIR / STAMP
    if not (stamp.exists() and stamp.read_text().strip() == sources_hash):
        log(
            f"installing {PACKAGE} {_pinned_version()} with npm ci into {INSTALL_DIR.relative_to(VAR_DIR.parent)}"
        )
        stamp.unlink(missing_ok=True)
        failure = _npm_ci(npm, node)
        if failure:
            return failure
        stamp.write_text(sources_hash + "\n")
    package_json = INSTALL_DIR / "node_modules" / PACKAGE / "package.json"
    try:
        package_version = json.loads(package_json.read_text())["version"]
    except (OSError, ValueError, KeyError):
        stamp.unlink(missing_ok=True)
        return f"npm ci did not install {PACKAGE} ({package_json} is missing)"
    return Installed(
        node=node,
        node_version=node_version,
        npm_version=_version_of([npm, "--version"]),
        package_version=package_version,
    )


def _npm_ci(npm: str, node: str) -> str | None:
    """``npm ci --omit=dev`` in the install folder; None on success, else one line on why not."""
    env = os.environ | {"PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(
            command,
            cwd=INSTALL_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"npm ci did not finish within {NPM_TIMEOUT_SECONDS} s (is the npm registry reachable?)"
    if done.returncode == 0:
        return None
    return f"npm ci failed (status {done.returncode}): {_npm_reason(done.stderr + done.stdout)}"


def _npm_reason(output: str) -> str:
    """npm's error code and first message (``npm error code ECONNREFUSED``, ``npm error FetchError: ...``)."""
    errors = [
        ln.strip().removeprefix("npm error").removeprefix("npm ERR!").strip()
        for ln in output.splitlines()
        if ln.strip().startswith(("npm error", "npm ERR!"))
    ]
    code = next((e.split(None, 1)[1] for e in errors if e.startswith("code ") and " " in e), None)
    skip = ("code ", "syscall ", "errno ", "at ", "{", "}", "A complete log", "If you are behind")
    message = next((e for e in errors if e and not e.startswith(skip)), None)
    reason = "; ".join(part for part in (code, message) if part)
    if not reason:
        reason = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "no output")
    return reason[:300]


def _pinned_version() -> str:
    dependencies = json.loads((SOURCE_DIR / "package.json").read_text())["dependencies"]
    return dependencies[PACKAGE]


def _version_of(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() or "?"


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


# --- serving it ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """The reference's one client: client_credentials with client_secret_post, two APIs."""

    client_id: str
    client_secret: str
    resources: dict[str, str]  # algorithm -> resource indicator (our API identifiers)

    @classmethod
    def generate(cls, resources: dict[str, str]) -> Client:
        return cls(
            client_id=f"bench-{secrets.token_hex(8)}",
            client_secret=secrets.token_urlsafe(32),
            resources=resources,
        )

    def token_form(self, algorithm: str) -> str:
        """Ours takes ``audience`` (Auth0's), this server ``resource`` (RFC 8707, what it documents;
        it ignores ``audience`` and would then issue an opaque, stored token)."""
        return urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "resource": self.resources[algorithm],
            }
        )


def server_env(port: int, workers: int, client: Client) -> dict[str, str]:
    """server.mjs's environment: where to listen, how many workers, the client and the APIs."""
    return os.environ | {
        "NODE_ENV": "production",
        "BENCH_REF_HOST": HOST,
        "BENCH_REF_PORT": str(port),
        "BENCH_REF_WORKERS": str(workers),
        "BENCH_REF_CLIENT_ID": client.client_id,
        "BENCH_REF_CLIENT_SECRET": client.client_secret,
        "BENCH_REF_RS256_RESOURCE": client.resources["RS256"],
        "BENCH_REF_ES256_RESOURCE": client.resources["ES256"],
        "BENCH_REF_SCOPE": SCOPE,
    }


@contextlib.contextmanager
def running(installed: Installed, port: int, workers: int, client: Client) -> Iterator[Served]:
    """Serve the reference on ``port`` with ``workers`` cluster workers; yield it once it has
    issued a token; always stop its process group. Its output goes to ``LOG_PATH``."""
    base_url = f"http://{HOST}:{port}"
    with LOG_PATH.open("wb") as server_log:
        started = time.monotonic()
        proc = subprocess.Popen(
            [installed.node, "server.mjs"],
            cwd=INSTALL_DIR,
            env=server_env(port, workers, client),
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, like ours
        )
    try:
        seconds = wait_for_first_token(
            proc, base_url + TOKEN_PATH, client.token_form("RS256"), started=started
        )
        yield Served(base_url=base_url, pid=proc.pid, first_token_seconds=seconds)
    finally:
        stop_process_group(proc)


def stored_models() -> list[str]:
    """The models the reference's adapter wrote (server.mjs marks the first write of each)."""
    if not LOG_PATH.exists():
        return []
    return sorted(
        {
            line.removeprefix(STORED_MARK).strip()
            for line in LOG_PATH.read_text(errors="replace").splitlines()
            if line.startswith(STORED_MARK)
        }
    )


def log_tail(lines: int = 15) -> str:
    """The last lines the reference wrote (shown when the bench fails)."""
    if not LOG_PATH.exists():
        return ""
    return "\n".join(LOG_PATH.read_text(errors="replace").splitlines()[-lines:])


def runtime_warning() -> str | None:
    """oidc-provider's own warning about the Node.js release, if it printed one."""
    if not LOG_PATH.exists():
        return None
    return next(
        (
            line.split("WARNING:", 1)[1].strip()
            for line in LOG_PATH.read_text(errors="replace").splitlines()
            if "WARNING:" in line
        ),
        None,
    )
