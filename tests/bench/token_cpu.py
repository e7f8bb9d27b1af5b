"""CPU per client_credentials token, in one process, through the WSGI application itself.

``make bench`` measures tokens per second over HTTP, which on a shared 2-core machine moves
with whatever else runs. This script measures what one token costs the server's own process
in CPU time (``time.process_time``: every thread of the process, so the token log's and the
metrics' background flushes count), calling ``config.wsgi.application`` directly with the
environ granian would build, the way granian's Python side calls it
(``granian.wsgi._callback_wrapper``). What it leaves out is the HTTP parsing and socket work
in granian's Rust core and in the kernel; ``py-spy`` on a live worker shows that part.

Commands (run from the repository root with the project's Python)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portcullis_bench_cpu \\
        python tests/bench/token_cpu.py setup
    python tests/bench/token_cpu.py measure [--tokens 3000] [--repeat 3] [--alg RS256|ES256]
        [--stub-signature] [--root PATH]
    python tests/bench/token_cpu.py compare --base PATH [--rounds 5] [...measure options]

- ``setup`` recreates the database (its name must contain "bench", as ``make bench``
  requires), migrates it, creates the demo tenant and an ES256 API granted to the demo's M2M
  client (as ``make bench`` does), and writes what ``measure`` needs (the generated
  ``SECRET_KEY``, the database URL, the client's credentials) to ``var/token-cpu.json``.
- ``measure`` warms up, checks that a request returns a token, then times ``--repeat``
  batches of ``--tokens`` requests and prints each batch's CPU and wall microseconds per
  token, then one ``TOKEN_CPU {json}`` line. Each batch ends by writing its token-log events
  and applying its metrics tally (inside the timing; neither is left queued for the next
  batch, and the warm-up's are written before the first). ``--instructions`` counts
  instructions under callgrind instead (deterministic: a busy machine changes CPU time, not
  instructions), with the per-second background work switched off (see ``_CALLGRIND_SETTINGS``). ``--stub-signature`` replaces PyJWT's RSA and
  EC signing operation with a constant (the JWT is still built, encoded and base64'd): the
  rest is "everything but the signature". ``--root`` imports the project from another
  checkout (e.g. ``git archive main | tar -x -C /tmp/base``) against the same database.
- ``compare`` runs ``measure`` in fresh processes, alternating ``--base`` and this checkout
  ``--rounds`` times, so that drift of a shared machine reaches both alike, and prints the
  minimum and median of each side and their difference.

Like every file here, it does not match ``test_*.py``: pytest never collects it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATE_PATH = Path(os.environ.get("TOKEN_CPU_STATE") or ROOT / "var" / "token-cpu.json")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portcullis_bench_cpu"
ES256_AUDIENCE = "https://timesheets-es256.example.com"
WARMUP_TOKENS = 500
TOKEN_PATH = "/t/demo/oauth/token"


# --- setup --------------------------------------------------------------------------------------


def setup() -> None:
    sys.path.insert(0, str(HERE))
    import run as bench  # the bench's own database and demo set-up: one way to build it

    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    bench.recreate_database(database_url)
    env = bench.bench_env(port=8000, database_url=database_url)
    bench.manage("migrate", "--noinput", "-v0", env=env)
    demo = bench.bootstrap_demo(env)
    bench.add_es256_api(env, demo)
    STATE_PATH.parent.mkdir(exist_ok=True)
    STATE_PATH.write_text(
        json.dumps(
            {"database_url": database_url, "secret_key": env["SECRET_KEY"], "m2m": demo["m2m"]}, indent=2
        )
    )
    STATE_PATH.chmod(0o600)
    print(f"token_cpu: set up {database_url}; state in {STATE_PATH}")


# --- measure (in the process that imports the project) ------------------------------------------


def _environ_for(body: bytes) -> dict[str, Any]:
    """What granian's Rust core passes as the WSGI scope of a keep-alive POST from wrk."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": TOKEN_PATH,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
    }


class _Proto:
    """Stands in for granian's Rust protocol object: takes the response granian would send."""

    __slots__ = ("body",)

    def __init__(self) -> None:
        self.body = b""

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        self.body = body

    def response_iter(self, status: int, headers: list, body) -> None:
        # granian's ResponseIterWrap has a bound ``__next__`` and ``close``, which its core calls.
        chunks = []
        try:
            while True:
                chunks.append(body.__next__())
        except StopIteration:
            pass
        finally:
            body.close()
        self.body = b"".join(chunks)


def _stub_signatures() -> None:
    """PyJWT's RSA and EC signing operations return a constant of the right size; the rest of
    JWT encoding (header and claims JSON, base64url) still runs."""
    from jwt import algorithms

    rsa_signature, ec_signature = b"\x01" * 256, b"\x02" * 64
    algorithms.RSAAlgorithm.sign = lambda self, msg, key: rsa_signature
    algorithms.ECAlgorithm.sign = lambda self, msg, key: ec_signature


# Callgrind's client requests (valgrind/callgrind.h), for ``--instructions``: instrument only the
# measured batch, not the interpreter's start or the warm-up.
_CALLGRIND_CONTROL_C = """
#include <valgrind/callgrind.h>
void measured_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void measured_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT("measured"); }
"""
_UNDER_CALLGRIND = "TOKEN_CPU_UNDER_CALLGRIND"
# Under callgrind a token takes ~100x longer, so work that runs per second of wall time (reloading
# cached configuration every CONFIG_CACHE_SECONDS, applying the metrics tally, the expired-rows
# sweep every CLEANUP_SWEEP_SECONDS) would be charged to ~100x fewer tokens than in a server,
# and would vary with the machine's load. Those are off here; each batch ends by writing its
# token-log events and applying its metrics itself, as ``measure`` does in every mode.
_CALLGRIND_SETTINGS = {
    "CONFIG_CACHE_SECONDS": "3600",
    "METRICS_FLUSH_SECONDS": "3600",
    "TOKEN_LOG_FLUSH_SECONDS": "3600",
    "CLEANUP_SWEEP_SECONDS": "0",
}


def _callgrind_control():
    """The two client requests as a C library built on first use (gcc and valgrind's headers)."""
    import ctypes

    library = ROOT / "var" / "token-cpu-callgrind.so"
    if not library.exists():
        source = library.with_suffix(".c")
        source.write_text(_CALLGRIND_CONTROL_C)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return ctypes.CDLL(str(library))


def measure_instructions(args: argparse.Namespace) -> dict[str, Any]:
    """``measure`` under callgrind: instructions per token, which a busy machine cannot change
    (CPU time can: other processes evict caches and share the cores). About 100x slower."""
    with tempfile.TemporaryDirectory(prefix="token-cpu-callgrind-") as tmp:
        argv = [a for a in sys.argv[1:] if a != "--instructions"]
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/out",
             sys.executable, str(Path(__file__).resolve()), *argv],
            env=os.environ | {_UNDER_CALLGRIND: "1", **_CALLGRIND_SETTINGS},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("TOKEN_CPU ")), None)
        if done.returncode != 0 or line is None:
            raise SystemExit(f"token_cpu: callgrind run failed:\n{done.stdout}{done.stderr[-3000:]}")
        result = json.loads(line.removeprefix("TOKEN_CPU "))
        dumps = [path for path in Path(tmp).iterdir() if path.name.startswith("out")]
        # The dump at ``measured_stop`` holds the batches; the one at exit holds nothing (the
        # instrumentation is off again), so the largest total is the measured one.
        totals = [
            int(ln.split()[1])
            for path in dumps
            for ln in path.read_text().splitlines()
            if ln.startswith(("totals:", "summary:"))
        ]
        if not totals:
            raise SystemExit(f"token_cpu: no callgrind dump in {tmp}: {[p.name for p in dumps]}")
        tokens = args.tokens * args.repeat
        result["instructions_per_token"] = max(totals) / tokens
        print(f"token_cpu: {result['instructions_per_token']:,.0f} instructions per token", file=sys.stderr)
        return result


def measure(args: argparse.Namespace) -> dict[str, Any]:
    state = json.loads(STATE_PATH.read_text())
    root = Path(args.root).resolve()
    os.chdir(root)
    sys.path.insert(0, str(root))
    metrics_dir = tempfile.mkdtemp(prefix="token-cpu-metrics-")
    os.environ.pop("DEBUG", None)
    os.environ.update(
        DATABASE_URL=state["database_url"],
        SECRET_KEY=state["secret_key"],
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,  # as config.serve sets it for the workers
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    from config.wsgi import application

    try:
        from granian.wsgi import _callback_wrapper

        runner = _callback_wrapper(application, {})
    except ImportError:  # a granian without it: the same merge of os.environ and the scope

        def runner(proto, scope):
            from granian.wsgi import Response

            response = Response()
            result = application(dict(os.environ) | scope, response)
            proto.response_iter(response.status, response.headers, iter(result))

    if args.stub_signature:
        _stub_signatures()
    m2m = state["m2m"]
    audience = ES256_AUDIENCE if args.alg == "ES256" else m2m["audience"]
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": m2m["client_id"],
            "client_secret": m2m["client_secret"],
            "audience": audience,
        }
    ).encode()

    def one() -> bytes:
        proto = _Proto()
        runner(proto, _environ_for(body))
        return proto.body

    answer = json.loads(one())
    if "access_token" not in answer:
        raise SystemExit(f"token_cpu: no token: {answer}")
    header = json.loads(_b64(answer["access_token"].split(".")[0]))
    if header["alg"] != args.alg:
        raise SystemExit(f"token_cpu: expected {args.alg}, got {header}")
    for _ in range(WARMUP_TOKENS):
        one()
    from apps.audit import token_log
    from apps.core import metrics

    # Each batch pays for writing its own token-log events and applying its own metrics, once:
    # nothing queued by the warm-up, and nothing left queued after it (module docstring).
    token_log.flush()
    metrics.flush()
    control = _callgrind_control() if os.environ.get(_UNDER_CALLGRIND) else None
    if control is not None:
        control.measured_start()
    batches = []
    for _ in range(args.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.tokens):
            one()
        token_log.flush()
        metrics.flush()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        batches.append({"cpu_us": cpu / args.tokens * 1e6, "wall_us": wall / args.tokens * 1e6})
        print(
            f"token_cpu: {args.tokens} tokens: {batches[-1]['cpu_us']:.1f} us CPU, "
            f"{batches[-1]['wall_us']:.1f} us wall per token",
            file=sys.stderr,
        )
    if control is not None:
        control.measured_stop()
    cpu = [b["cpu_us"] for b in batches]
    return {
        "root": str(root),
        "alg": args.alg,
        "stub_signature": args.stub_signature,
        "tokens": args.tokens,
        "cpu_us": cpu,
        "cpu_us_min": min(cpu),
        "cpu_us_median": statistics.median(cpu),
        "loadavg": os.getloadavg()[0],
    }


def _b64(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# --- compare ------------------------------------------------------------------------------------


def compare(args: argparse.Namespace) -> None:
    sides = {"base": Path(args.base).resolve(), "this": Path(args.this).resolve()}
    results: dict[str, list[float]] = {"base": [], "this": []}
    passthrough = ["--tokens", str(args.tokens), "--repeat", str(args.repeat), "--alg", args.alg]
    if args.stub_signature:
        passthrough.append("--stub-signature")
    if args.instructions:
        passthrough.append("--instructions")
    figure, unit = (
        ("instructions_per_token", "instructions") if args.instructions else ("cpu_us_min", "us CPU")
    )
    loads = []
    for round_ in range(args.rounds):
        for side, root in sides.items():
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "measure", "--root", str(root), *passthrough],
                capture_output=True,
                text=True,
                check=False,
            )
            line = next((ln for ln in done.stdout.splitlines() if ln.startswith("TOKEN_CPU ")), None)
            if done.returncode != 0 or line is None:
                raise SystemExit(f"token_cpu: measure failed for {side}:\n{done.stdout}{done.stderr}")
            result = json.loads(line.removeprefix("TOKEN_CPU "))
            results[side].append(result[figure])
            loads.append(result["loadavg"])
            print(f"round {round_ + 1} {side:>4}: {result[figure]:,.1f} {unit} per token", flush=True)
    summary = {
        side: {"min": min(values), "median": statistics.median(values), "runs": values}
        for side, values in results.items()
    }
    for side, figures in summary.items():
        print(f"{side:>4}: min {figures['min']:,.1f}, median {figures['median']:,.1f} {unit} per token")
    base, this = summary["base"]["median"], summary["this"]["median"]
    print(
        f"this - base: min {summary['this']['min'] - summary['base']['min']:+,.1f}, "
        f"median {this - base:+,.1f} {unit} per token ({(this - base) / base:+.1%}) "
        f"({args.alg}{', signature stubbed' if args.stub_signature else ''}; "
        f"load average {min(loads):.1f}-{max(loads):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup")
    for name in ("measure", "compare"):
        command = commands.add_parser(name)
        command.add_argument("--tokens", type=int, default=3000)
        command.add_argument("--repeat", type=int, default=3)
        command.add_argument("--alg", choices=("RS256", "ES256"), default="RS256")
        command.add_argument("--stub-signature", action="store_true")
        command.add_argument("--instructions", action="store_true", help="count instructions (callgrind)")
        if name == "measure":
            command.add_argument("--root", default=str(ROOT))
        else:
            command.add_argument("--base", required=True)
            command.add_argument("--this", default=str(ROOT), help="the checkout to compare (this one)")
            command.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.command == "setup":
        setup()
    elif args.command == "measure":
        result = measure_instructions(args) if args.instructions else measure(args)
        print("TOKEN_CPU " + json.dumps(result), flush=True)
    else:
        compare(args)


if __name__ == "__main__":
    main()
