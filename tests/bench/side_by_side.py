"""Portcullis and node oidc-provider side by side: alternating runs and the one table comparing them.

For each signing algorithm and concurrency, the bench runs ours, then theirs, then ours, then
theirs... (``BENCH_PAIRS`` pairs), each for ``BENCH_SECONDS`` with the same wrk script and the
same request shape, so that drift of a shared machine reaches both sides alike. A pair's
ratio compares two back-to-back runs; the table gives the median of each figure over the runs
and its range. Without the reference (no node, npm failing) the same runs measure ours alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness import LoadResult, log

OURS = "Portcullis"
THEIRS = "oidc-provider"
ALGORITHMS = ("RS256", "ES256")
EN_DASH = "\u2013"  # ranges read like the README's: 1,090\u20131,193
MEMORY_TARGET_MIB = 150  # issue 11: under 150 MB per worker, and no growth after warm-up


@dataclass(frozen=True)
class Target:
    """One server's token endpoint and, per signing algorithm, the form body naming its API."""

    name: str
    token_url: str
    forms: dict[str, str]


@dataclass
class Cell:
    """One algorithm at one concurrency: every alternating run of each side, in order."""

    algorithm: str
    concurrency: int
    ours: list[LoadResult] = field(default_factory=list)
    theirs: list[LoadResult] = field(default_factory=list)

    def ratios(self) -> list[float]:
        """ours / theirs tokens per second, one per pair of back-to-back runs."""
        return [o.rps / t.rps for o, t in zip(self.ours, self.theirs, strict=False) if t.rps]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in (*self.ours, *self.theirs))

    def median_ours(self) -> LoadResult:
        """Our run with the median rate (the lower middle one for an even count)."""
        ranked = sorted(self.ours, key=lambda r: r.rps)
        return ranked[(len(ranked) - 1) // 2]


@dataclass(frozen=True)
class Spread:
    """The median of a figure over the runs, and its lowest and highest value."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        values = list(values)
        if not values:
            return None
        return cls(median=statistics.median(values), low=min(values), high=max(values))

    def format(self, spec: str) -> str:
        if self.low == self.high:
            return format(self.median, spec)
        return f"{self.median:{spec}} ({self.low:{spec}}{EN_DASH}{self.high:{spec}})"


@dataclass
class Memory:
    """VmRSS of a server's worker processes after its warm-up and again ``tokens`` tokens later."""

    after_warmup: dict[int, float]  # worker pid -> MiB
    after: dict[int, float] = field(default_factory=dict)
    tokens: int = 0

    def growth(self) -> dict[int, float]:
        return {pid: self.after[pid] - size for pid, size in self.after_warmup.items() if pid in self.after}


@dataclass
class SideBySide:
    """Everything the side-by-side section of the report shows."""

    pairs: int
    seconds: int
    cells: list[Cell] = field(default_factory=list)
    reference: dict[str, str] | None = None  # versions; None when the reference did not run
    unavailable: str | None = None  # why it did not
    runtime_warning: str | None = None  # what oidc-provider says about the Node.js release
    stored: list[str] = field(default_factory=list)  # models the reference's adapter wrote
    claims: dict[str, list[str]] = field(default_factory=dict)  # side -> claims of its checked token
    first_token_seconds: dict[str, float] = field(default_factory=dict)  # side -> process start -> token
    setup_seconds: dict[str, float] = field(default_factory=dict)  # make run's steps before serving
    memory: dict[str, Memory] = field(default_factory=dict)  # side -> RSS per worker

    def cell(self, algorithm: str, concurrency: int) -> Cell | None:
        return next((c for c in self.cells if (c.algorithm, c.concurrency) == (algorithm, concurrency)), None)

    @property
    def errors(self) -> int:
        return sum(c.errors for c in self.cells)


Measure = Callable[[Target, str, int], LoadResult]  # (target, algorithm, concurrency) -> one run


def alternate(
    ours: Target,
    theirs: Target | None,
    *,
    concurrencies: Iterable[int],
    pairs: int,
    measure: Measure,
    algorithms: Iterable[str] = ALGORITHMS,
) -> list[Cell]:
    """ours, theirs, ours, theirs... ``pairs`` times for each algorithm and concurrency.

    A cell's pairs run back to back (rather than a round over all cells per pair), so each
    pair's ratio compares two runs a few seconds apart.
    """
    cells = []
    concurrencies = list(concurrencies)
    for algorithm in algorithms:
        for concurrency in concurrencies:
            cell = Cell(algorithm=algorithm, concurrency=concurrency)
            for pair in range(1, pairs + 1):
                for target, runs in ((ours, cell.ours), (theirs, cell.theirs)):
                    if target is None:
                        continue
                    log(f"side by side: {target.name}, {algorithm}, c{concurrency}, run {pair} of {pairs}")
                    runs.append(measure(target, algorithm, concurrency))
            cells.append(cell)
    return cells


# --- the report ---------------------------------------------------------------------------------


def markdown(sbs: SideBySide, machine: dict[str, Any]) -> list[str]:
    """The side-by-side table and its notes: versions, machine, memory, cold start."""
    theirs_label = THEIRS if sbs.reference else f"{THEIRS} (not measured)"
    lines = [
        f"| signing | concurrency | {OURS} tokens/s | p50 ms | p99 ms | {theirs_label} tokens/s | p50 ms "
        f"| p99 ms | {OURS} / {THEIRS} | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in sbs.cells:
        ratio = Spread.of(cell.ratios())
        lines.append(
            f"| {cell.algorithm} | {cell.concurrency} | {_figures(cell.ours)} | {_figures(cell.theirs)} "
            f"| {'**' + ratio.format('.2f') + '**' if ratio else '-'} | {cell.errors} |"
        )
    lines.append("")
    lines += [f"- {note}" for note in notes(sbs, machine)]
    return lines


def _figures(runs: list[LoadResult]) -> str:
    """'tokens/s | p50 | p99' cells: medians over the runs, ranges in brackets."""
    if not runs:
        return "- | - | -"
    rate, p50, p99 = (Spread.of(getattr(r, name) for r in runs) for name in ("rps", "p50_ms", "p99_ms"))
    assert rate and p50 and p99
    return f"{rate.format(',.0f')} | {p50.format('.2f')} | {p99.format('.2f')}"


def notes(sbs: SideBySide, machine: dict[str, Any]) -> list[str]:
    if sbs.reference is None:
        lines = [
            f"{OURS} alone: each figure is the median of {sbs.pairs} runs of {sbs.seconds} s (range in brackets)",
            f"{THEIRS} not measured: {sbs.unavailable}",
        ]
    else:
        ref = sbs.reference
        lines = [
            f"each figure is the median of {sbs.pairs} runs of {sbs.seconds} s per side (range in brackets); "
            f"runs alternate {OURS}, {THEIRS}, {OURS}, {THEIRS}... with the same wrk script, connections "
            "and threads, and the ratio is the median of the per-pair ratios (tokens/s of two "
            "back-to-back runs)",
            f"reference: **{ref['server']} {ref['oidc_provider']}** on Node.js {ref['node']} (npm {ref['npm']}), "
            f"a {ref.get('workers', '?')}-worker cluster on the same cores, one client_credentials client "
            "with client_secret_post, one API per algorithm (RFC 8707 resource indicators) with JWT access "
            "tokens (RSA-2048 / P-256 keys, 24 h); the request names the API with `resource`, ours with "
            "`audience`",
            "nothing stored per token: the reference's adapter saw no write during the run"
            if not sbs.stored
            else f"WARNING: the reference's adapter stored {', '.join(sbs.stored)}: not like for like",
        ]
        if sbs.runtime_warning:
            lines.append(f"{THEIRS} printed: \u201c{sbs.runtime_warning}\u201d")
    for side, claims in sbs.claims.items():
        lines.append(f"{side}'s RS256 access token carries: {' '.join(claims)}")
    lines.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['platform']}; wrk, Postgres and {'both servers' if sbs.reference else 'the server'} share it"
    )
    if sbs.first_token_seconds:
        setup = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in sbs.setup_seconds.items())
        lines.append(
            "process start → first token (first 200 from the token endpoint): "
            + ", ".join(f"{side} **{seconds:.2f} s**" for side, seconds in sbs.first_token_seconds.items())
            + (f" ({OURS}'s `make run` first runs {setup} on a fresh database)" if setup else "")
        )
    for side, memory in sbs.memory.items():
        lines.append(memory_note(side, memory))
    return lines


def memory_note(side: str, memory: Memory) -> str:
    def sizes(values: dict[int, float]) -> str:
        return ", ".join(f"{size:.1f}" for _, size in sorted(values.items())) or "?"

    note = f"{side} RSS per worker (VmRSS, MiB): {sizes(memory.after_warmup)} after warm-up"
    if memory.after:
        growth = ", ".join(f"{delta:+.1f}" for _, delta in sorted(memory.growth().items()))
        note += f", {sizes(memory.after)} after {memory.tokens:,} more tokens (growth {growth or '?'})"
        gone = set(memory.after_warmup) - set(memory.after)
        if gone:
            note += f"; WARNING: worker(s) {sorted(gone)} were replaced during the run"
    if side == OURS:
        note += f" (target: no growth after warm-up, under {MEMORY_TARGET_MIB} MiB)"
    return note


def as_json(sbs: SideBySide) -> dict[str, Any]:
    def side(runs: list[LoadResult]) -> dict[str, Any] | None:
        if not runs:
            return None
        return {
            "runs": [asdict(r) | {"errors": r.errors} for r in runs],
            **{
                name: asdict(spread)
                for name in ("rps", "p50_ms", "p99_ms")
                if (spread := Spread.of(getattr(r, name) for r in runs))
            },
        }

    return {
        "pairs": sbs.pairs,
        "seconds": sbs.seconds,
        "reference": sbs.reference,
        "reference_unavailable": sbs.unavailable,
        "reference_runtime_warning": sbs.runtime_warning,
        "reference_stored": sbs.stored,
        "claims": sbs.claims,
        "first_token_seconds": sbs.first_token_seconds,
        "setup_seconds": sbs.setup_seconds,
        "memory": {
            name: asdict(memory) | {"growth": memory.growth(), "target_mib": MEMORY_TARGET_MIB}
            for name, memory in sbs.memory.items()
        },
        "cells": [
            {
                "algorithm": cell.algorithm,
                "concurrency": cell.concurrency,
                "ours": side(cell.ours),
                "theirs": side(cell.theirs),
                "ratio": asdict(ratio) if (ratio := Spread.of(cell.ratios())) else None,
                "ratios": cell.ratios(),
            }
            for cell in sbs.cells
        ],
    }
