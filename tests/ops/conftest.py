"""Fixtures of the operations tests: the documented production environment, and a server started
the way the container image starts it (its collectstatic step, then its CMD)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.ops.deployfiles import configmap_env, dockerfile_instructions, exec_form, final_stage_env
from tests.ops.servers import ROOT, RunningServer, database_url, running_server, server_env

# The Redis database these tests may use (never db 0).
OPS_TEST_REDIS_URL = "redis://127.0.0.1:6379/10"
PUBLIC_HOST = "auth.example.com"
# What the ingress in front of the pods adds to every request (deploy/configmap.yaml: BEHIND_PROXY).
VIA_INGRESS = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="session")
def production_env(django_db_setup) -> dict[str, str]:
    """deploy/configmap.yaml's settings, with the secrets a real deployment would hold pointing at
    the test database and Redis db 10; the keys are the test process's own, so rows made by
    factories (hashed client secrets, encrypted signing keys) are readable by the server."""
    return configmap_env() | {
        "SECRET_KEY": settings.SECRET_KEY,
        "CLIENT_SECRET_HASH_KEY": settings.CLIENT_SECRET_HASH_KEY,
        "KEY_ENCRYPTION_KEYS": ",".join(settings.KEY_ENCRYPTION_KEYS),
        "DATABASE_URL": database_url(),
        "REDIS_URL": OPS_TEST_REDIS_URL,
    }


@pytest.fixture(scope="session")
def image_server(production_env, tmp_path_factory) -> Iterator[RunningServer]:
    """The container image's steps, without a container engine: the Dockerfile's collectstatic RUN
    and its environment, then its CMD, here with the production environment of deploy/."""
    workdir = tmp_path_factory.mktemp("image")
    static_root = workdir / "staticfiles"
    image_env = final_stage_env() | {"STATIC_ROOT": str(static_root)}
    collectstatic = next(
        i.arguments
        for i in dockerfile_instructions()
        if i.keyword == "RUN" and "collectstatic" in i.arguments
    )
    # The image's `python` is its only interpreter; here, this one's.
    env = server_env(image_env) | {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    subprocess.run(["/bin/sh", "-c", collectstatic], cwd=ROOT, env=env, check=True, timeout=120)
    cmd = exec_form(next(i.arguments for i in dockerfile_instructions() if i.keyword == "CMD"))
    # HOST stays the test's loopback address (the image listens on 0.0.0.0).
    server_overrides = image_env | production_env | {"HOST": "127.0.0.1", "PORT": ""}
    with running_server(workdir / "server.log", server_overrides, argv=cmd) as server:
        yield server
