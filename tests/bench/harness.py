"""What every part of ``make bench`` shares: paths, errors, wrk, processes, one-token checks.

run.py measures Portcullis, reference.py serves node oidc-provider beside it and
side_by_side.py alternates the two. Every run of either server goes through ``run_wrk`` (one
wrk script, tests/bench/bench.lua, for every row and both servers); both servers are stopped
with ``stop_process_group``, timed to their first token with ``wait_for_first_token`` and
checked with ``check_one_token`` before any load.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "bench.lua"
VAR_DIR = ROOT / "var"
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0  # process start -> first token; a cold start of either server is ~1-5 s
READY_POLL_SECONDS = 0.05


class BenchError(Exception):
    """A step failed; the message says which and what to do."""


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BenchError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise BenchError(f"{name} must be at least 1, got {value}")
    return value


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- results ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One wrk run, as reported by bench.lua's done()."""

    what: str
    url: str
    concurrency: int
    seconds: int
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    unexpected: int  # responses whose status is not ``expected_status`` (or a 200 without what it must carry)
    statuses: dict[str, int]
    expected_status: int = 200
    mode: str = "static"  # bench.lua's BENCH_MODE
    lost: int = 0  # pool: codes sent but never answered (a socket error cut the connection)
    parked: int = 0  # connections parked with nothing to send (chain: starved by failed requests)
    peak_db_connections: int | None = None

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.unexpected + self.lost


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # The master may be gone while a worker lingers: make sure the whole group is.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Served:
    """A server the bench started: where it listens, its main process, how fast it came up."""

    base_url: str
    pid: int  # the main process (granian's, or node's cluster primary); its children are the workers
    first_token_seconds: float  # process start -> first 200 from the token endpoint


def wait_for_first_token(proc: subprocess.Popen, token_url: str, form: str, *, started: float) -> float:
    """Poll the token endpoint until it issues a token; the seconds since ``started``.

    This is both the readiness check and the cold-start figure (process start to first
    token, within ``READY_POLL_SECONDS``): the first token also loads whatever the server
    loads lazily (code, keys, the tenant's configuration). A 4xx answer is a configuration
    error, not a slow start, so it fails at once.
    """
    deadline = started + READY_TIMEOUT_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with status {proc.returncode} before issuing a token")
        try:
            status, body = post_form(token_url, form, timeout=5)
        except OSError as error:
            last = str(error)
        else:
            if access_token_of(status, body):
                return time.monotonic() - started
            last = f"HTTP {status} {body[:300]}"
            if 400 <= status < 500:
                raise BenchError(f"POST {token_url} did not return a token: {last}")
        time.sleep(READY_POLL_SECONDS)
    raise BenchError(
        f"no token from {token_url} within {READY_TIMEOUT_SECONDS:.0f} s of starting the server (last: {last})"
    )


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (granian's workers, node's cluster workers), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses: the fields follow the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def rss_mib(pid: int) -> float | None:
    """Resident memory of one process (VmRSS), MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def workers_rss(pid: int) -> dict[int, float]:
    """VmRSS of each worker process of the server whose main process is ``pid``: {pid: MiB}."""
    sizes = {child: rss_mib(child) for child in child_pids(pid)}
    return {child: size for child, size in sizes.items() if size is not None}


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, memory, OS."""
    cpu = "?"
    memory_gib = None
    with contextlib.suppress(OSError):
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
             if ln.startswith("model name")),
            "?",
        )  # fmt: skip
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        memory_gib = round(
            int(next(ln for ln in meminfo if ln.startswith("MemTotal:")).split()[1]) / 1024**2, 1
        )
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory_gib, "platform": platform.platform()}


# --- the load -----------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk).")
    log("wrk not found: installing Debian's package")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("could not install wrk with apt-get; install it and run make bench again.")
    return found


def post_form(url: str, form: str, *, timeout: float = 10) -> tuple[int, str]:
    """POST a form body; (status, body) for any HTTP answer, OSError when nothing answers."""
    request = urllib.request.Request(
        url,
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def access_token_of(status: int, body: str) -> str | None:
    """The ``access_token`` of a 200 token response, None for anything else."""
    if status != 200:
        return None
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        return None
    return token if isinstance(token, str) and token else None


@dataclass(frozen=True)
class CheckedToken:
    """One access token a server issued before its load, decoded."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def algorithm(self) -> str:
        return str(self.header.get("alg", "?"))


def check_one_token(
    token_url: str,
    form: str,
    *,
    algorithm: str | None = None,
    audience: str | None = None,
    jwks_url: str | None = None,
) -> CheckedToken:
    """One request before the load: it must get a 200 with an access token.

    With ``algorithm`` and ``audience`` the token must be a JWT signed with that algorithm for
    that audience; with ``jwks_url`` its signature must verify against the server's published
    keys too. Both servers of the side-by-side are checked this way, so neither can win the
    comparison by issuing something else (an opaque token, another key type, no audience).
    """
    try:
        status, body = post_form(token_url, form)
    except OSError as error:
        raise BenchError(f"POST {token_url} failed: {error}") from error
    token = access_token_of(status, body)
    if not token:
        raise BenchError(f"POST {token_url} did not return a token: HTTP {status}\n{body}")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise BenchError(
            f"POST {token_url} returned an access token that is not a JWT: {token[:40]}..."
        ) from error
    checked = CheckedToken(header=header, claims=claims)
    if algorithm is not None and checked.algorithm != algorithm:
        raise BenchError(
            f"POST {token_url}: the token is signed with {checked.algorithm}, expected {algorithm}"
        )
    if audience is not None and audience not in _as_list(claims.get("aud")):
        raise BenchError(f"POST {token_url}: the token's aud is {claims.get('aud')!r}, expected {audience!r}")
    if jwks_url is not None:
        try:
            key = jwt.PyJWKClient(jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
            jwt.decode(token, key.key, algorithms=[checked.algorithm], audience=audience)
        except jwt.PyJWTError as error:
            raise BenchError(
                f"POST {token_url}: the token does not verify against {jwks_url}: {error}"
            ) from error
    return checked


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def run_wrk(
    wrk: str,
    what: str,
    url: str,
    *,
    concurrency: int,
    seconds: int,
    threads: int,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    expect: int = 200,
    mode: str = "static",
    items: list[str] | None = None,
) -> LoadResult:
    """Drive ``url`` with wrk through bench.lua and parse the line its done() prints.

    ``mode`` is bench.lua's BENCH_MODE; ``items`` (pool: the bodies, chain: the seed refresh
    tokens) go to it through a temporary file. In pool mode ``seconds`` is only a cap: each
    wrk thread stops once its bodies are answered, we interrupt wrk when all have, and the
    rate is the requests over the span from the first request to the last response.
    """
    threads = min(threads, concurrency)
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as tmp:
        env = os.environ | {
            "BENCH_METHOD": "POST" if body is not None or mode != "static" else "GET",
            "BENCH_BODY": body or "",
            "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in (headers or {}).items()),
            "BENCH_EXPECT": str(expect),
            "BENCH_MODE": mode,
            "BENCH_THREADS": str(threads),
        }
        if items is not None:
            path = Path(tmp) / "items.txt"
            path.write_text("".join(f"{item}\n" for item in items))
            env["BENCH_FILE"] = str(path)
        command = [
            wrk,
            "--threads",
            str(threads),
            "--connections",
            str(concurrency),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "5s",
            "--latency",
            "--script",
            str(LUA_SCRIPT),
            url,
        ]
        stdout, returncode = _wrk_output(
            command, env, seconds, stop_after=threads if mode == "pool" else None
        )
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if returncode != 0 or line is None:
        raise BenchError(f"wrk failed (status {returncode}):\n{stdout}")
    stats = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = stats["errors"]
    latency = stats["latency_us"]
    duration_us = stats["span_us"] if mode == "pool" else stats["duration_us"]
    return LoadResult(
        what=what,
        url=url,
        concurrency=concurrency,
        seconds=round(duration_us / 1e6, 1) if mode == "pool" else seconds,
        requests=stats["requests"],
        rps=stats["requests"] / (max(duration_us, 1) / 1e6),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        socket_errors={k: errors[k] for k in ("connect", "read", "write", "timeout")},
        unexpected=errors["unexpected"],
        statuses=stats["statuses"],
        expected_status=expect,
        mode=mode,
        lost=max(stats["assigned"] - stats["answered"], 0) if mode == "pool" else 0,
        parked=stats["parked"] if mode == "chain" else 0,
    )


def _wrk_output(
    command: list[str], env: dict[str, str], seconds: int, *, stop_after: int | None
) -> tuple[str, int]:
    """Run wrk; with ``stop_after``, interrupt it (SIGINT: it then reports as usual) once that
    many threads have printed BENCH_THREAD_DONE, instead of idling until ``--duration`` ends."""
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    )
    timer = threading.Timer(seconds + 60, proc.kill)
    timer.start()
    lines: list[str] = []
    done_threads = 0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH_THREAD_DONE"):
                done_threads += 1
                if stop_after is not None and done_threads == stop_after:
                    proc.send_signal(signal.SIGINT)
        returncode = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return "".join(lines), returncode
