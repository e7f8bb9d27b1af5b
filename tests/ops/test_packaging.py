"""The container image definition and the Kubernetes manifests, without a container engine: the
Dockerfile's shape (stages, user, downloads, health check), its CMD and HEALTHCHECK run for real,
and every manifest parsed and cross-checked (names, image, probes, ports, settings)."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings
from django.urls import resolve

from tests.ops.deployfiles import (
    DEPLOY_DIR,
    dockerfile_instructions,
    dockerfile_stages,
    exec_form,
    final_stage_env,
    manifest,
    manifest_paths,
    manifests,
    secret_env,
)
from tests.ops.servers import ROOT, closed_port

BASE_IMAGE = "python:3.13-slim"
SETTINGS_SOURCES = (ROOT / "config" / "settings.py", ROOT / "config" / "serve.py")


def instructions_of(keyword: str, stage: int = -1) -> list[str]:
    return [i.arguments for i in dockerfile_stages(dockerfile_instructions())[stage] if i.keyword == keyword]


# --- Dockerfile --------------------------------------------------------------------------


def test_the_image_is_built_in_two_stages_on_python_slim():
    stages = dockerfile_stages(dockerfile_instructions())
    assert len(stages) == 2
    assert stages[0][0].arguments == f"{BASE_IMAGE} AS builder"
    assert stages[1][0].arguments == BASE_IMAGE
    # the builder makes wheels, the runtime installs only those (no index, no compiler)
    assert any(run.startswith("pip wheel --wheel-dir /wheels") for run in instructions_of("RUN", 0))
    assert instructions_of("COPY")[0] == "--from=builder /wheels /wheels"
    assert any("pip install --no-index --find-links=/wheels" in run for run in instructions_of("RUN"))


def test_the_image_downloads_from_the_package_registry_only():
    for instruction in dockerfile_instructions():
        assert instruction.keyword != "ADD", "ADD can fetch URLs; COPY only"
        if instruction.keyword == "RUN":
            assert not re.search(r"\b(curl|wget|apt-get|apt|git clone)\b", instruction.arguments), instruction
            assert "http://" not in instruction.arguments and "https://" not in instruction.arguments


def test_the_server_runs_as_a_non_root_user():
    final = dockerfile_stages(dockerfile_instructions())[-1]
    keywords = [instruction.keyword for instruction in final]
    (user,) = instructions_of("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) > 0 and int(gid) > 0
    assert keywords.index("USER") < keywords.index("CMD")
    # and the manifests ask for that same user
    for kind in ("Deployment", "Job"):
        pod = manifest(kind)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(uid)


def test_the_entry_command_is_the_one_make_run_execs():
    (cmd,) = instructions_of("CMD")
    make_run = re.search(r"^\texec \$\(PY\) (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert exec_form(cmd) == ["python", *make_run.group(1).split()]


def test_static_files_are_collected_at_build_time():
    env = final_stage_env()
    assert env["STATIC_ROOT"].startswith("/app/")
    assert env["DEBUG"] == "false" and env["HOST"] == "0.0.0.0"  # noqa: S104 - a container listens on all
    assert any("manage.py collectstatic --noinput" in run for run in instructions_of("RUN"))


def test_the_image_command_serves_the_app_with_json_logs(image_server):
    # given the server started with the image's CMD (tests/ops/conftest.py: image_server)
    # when
    response = requests.get(
        image_server.url("/health/alive"), headers={"X-Request-ID": "image-cmd"}, timeout=10
    )

    # then
    assert response.status_code == HTTPStatus.OK
    (line,) = image_server.records_of("image-cmd")
    assert line["path"] == "/health/alive" and line["status"] == 200


def _healthcheck_command() -> str:
    (healthcheck,) = instructions_of("HEALTHCHECK")
    assert "/health/alive" in healthcheck
    return healthcheck.split(" CMD ", 1)[1]


def _run_healthcheck(port: int) -> subprocess.CompletedProcess:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PORT": str(port)}
    return subprocess.run(["/bin/sh", "-c", _healthcheck_command()], env=env, capture_output=True, timeout=30)


def test_the_healthcheck_passes_on_a_live_server_and_fails_without_one(image_server):
    port = int(image_server.base_url.rsplit(":", 1)[1])
    assert _run_healthcheck(port).returncode == 0
    assert _run_healthcheck(closed_port()).returncode != 0


def test_the_build_context_leaves_out_local_state_but_not_the_source():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

    for name in (".git", ".venv", "var", "tests", ".env", "apps/core/__pycache__"):
        assert ignored(name), name
    for name in ("pyproject.toml", "README.md", "manage.py", "apps", "config", "static", "templates"):
        assert not ignored(name), name


# --- Kubernetes manifests --------------------------------------------------------------------


def test_every_manifest_parses_into_kubernetes_objects():
    documents = manifests()
    for document in documents:
        assert {"apiVersion", "kind", "metadata"} <= document.keys()
        assert document["metadata"]["name"]
    assert sorted(document["kind"] for document in documents) == [
        "ConfigMap",
        "Deployment",
        "Job",
        "Secret",
        "Service",
    ]


def test_the_kustomization_lists_every_manifest_and_names_the_image():
    kustomization = yaml.safe_load((DEPLOY_DIR / "kustomization.yaml").read_text())
    listed = sorted(kustomization["resources"])
    assert listed == sorted(path.name for path in manifest_paths() if path.name != "kustomization.yaml")
    (image,) = kustomization["images"]
    for kind in ("Deployment", "Job"):
        (container,) = manifest(kind)["spec"]["template"]["spec"]["containers"]
        assert container["image"] == image["name"]


def test_the_pods_read_the_configmap_and_the_secret():
    names = {manifest("ConfigMap")["metadata"]["name"], manifest("Secret")["metadata"]["name"]}
    for kind in ("Deployment", "Job"):
        (container,) = manifest(kind)["spec"]["template"]["spec"]["containers"]
        referenced = {
            source.get("configMapRef", source.get("secretRef"))["name"] for source in container["envFrom"]
        }
        assert referenced == names


def test_the_service_reaches_the_deployments_pods_on_the_probed_port():
    deployment, service = manifest("Deployment"), manifest("Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert port["containerPort"] == int(manifest("ConfigMap")["data"]["PORT"])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == port["name"]


@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe", "startupProbe"])
def test_the_probes_reach_the_lean_health_views(probe):
    (container,) = manifest("Deployment")["spec"]["template"]["spec"]["containers"]
    path = container[probe]["httpGet"]["path"]
    match = resolve(path, urlconf=settings.LEAN_URLCONF)
    assert match.url_name in {"health-alive", "health-ready"}


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_the_containers_are_locked_down_and_sized(kind):
    (container,) = manifest(kind)["spec"]["template"]["spec"]["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    # the only writable place is /tmp, where PORTCULLIS_VAR_DIR points in the image
    writable = "/tmp"  # noqa: S108 - an emptyDir of the pod's own, not a shared temporary directory
    assert [mount["mountPath"] for mount in container["volumeMounts"]] == [writable]
    assert final_stage_env()["PORTCULLIS_VAR_DIR"].startswith(f"{writable}/")


def test_the_migration_job_migrates_without_a_statement_timeout():
    job = manifest("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert {"name": "DB_STATEMENT_TIMEOUT_MS", "value": "0"} in container["env"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"Never", "OnFailure"}


def test_the_secret_holds_placeholders_only():
    for name, value in secret_env().items():
        assert "REPLACE_ME" in value or ".example.internal" in value, name


def test_every_setting_in_the_manifests_is_one_the_code_reads():
    sources = "\n".join(path.read_text() for path in SETTINGS_SOURCES)
    job_env = [item["name"] for item in manifest("Job")["spec"]["template"]["spec"]["containers"][0]["env"]]
    names = [*manifest("ConfigMap")["data"], *manifest("Secret")["stringData"], *job_env]
    unknown = [name for name in names if f'"{name}"' not in sources]
    assert unknown == []
