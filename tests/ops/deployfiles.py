"""Reading the repository's Dockerfile and Kubernetes manifests the way the tests check them."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.ops.servers import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DEPLOY_DIR = ROOT / "deploy"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, CMD ...
    arguments: str  # continuation lines joined


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions in order; comments dropped, ``\\`` continuations joined (no parser directives used)."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def exec_form(arguments: str) -> list[str]:
    """A JSON-array (exec form) CMD/ENTRYPOINT; a shell-form one is refused."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(part, str) for part in value), arguments
    return value


def env_pairs(arguments: str) -> dict[str, str]:
    """``ENV a=1 b=2`` as a dict (the key=value form, the only one used)."""
    pairs = {}
    for item in shlex.split(arguments):
        name, sep, value = item.partition("=")
        assert sep, f"ENV in key=value form only: {arguments}"
        pairs[name] = value
    return pairs


def final_stage_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile_stages(dockerfile_instructions())[-1]:
        if instruction.keyword == "ENV":
            env |= env_pairs(instruction.arguments)
    return env


def manifest_paths() -> list[Path]:
    return sorted(DEPLOY_DIR.glob("*.yaml"))


def manifests() -> list[dict]:
    """Every Kubernetes object under deploy/ (the kustomization excluded)."""
    documents = []
    for path in manifest_paths():
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None and document.get("kind") != "Kustomization":
                documents.append(document)
    return documents


def manifest(kind: str, name: str | None = None) -> dict:
    found = [m for m in manifests() if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def configmap_env() -> dict[str, str]:
    return dict(manifest("ConfigMap")["data"])


def secret_env() -> dict[str, str]:
    return dict(manifest("Secret")["stringData"])
