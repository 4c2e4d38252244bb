"""docker-compose.yml and the Dockerfile run the commands the service has.

Docker does not run here, so the compose file is read and its parts checked:
the command parses with the real CLI, and every variable it sets is one the
service reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from service.cli import build_parser
from service.settings import ENV_VARS

ROOT = Path(__file__).resolve().parent.parent


def compose_api() -> dict:  # type: ignore[type-arg]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api: dict = compose["services"]["api"]  # type: ignore[type-arg]
    return api


def test_compose_command_is_a_valid_serve_invocation() -> None:
    command = compose_api()["command"]
    assert command[0] == "claims-ledger"
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve"
    assert args.host == "0.0.0.0"  # noqa: S104 - inside the container
    assert args.db.startswith("/data/")


def test_compose_database_lives_on_the_volume() -> None:
    api = compose_api()
    (volume,) = api["volumes"]
    assert volume.split(":")[1] == "/data"


def test_compose_sets_only_variables_the_service_reads() -> None:
    assert set(compose_api()["environment"]) <= set(ENV_VARS)


def test_compose_healthcheck_probes_healthz() -> None:
    assert "/healthz" in " ".join(compose_api()["healthcheck"]["test"])


def test_dockerfile_runs_the_same_command_as_compose() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert yaml.safe_load(cmd) == compose_api()["command"]


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash .ci/run" in readme
    assert "pytest" in (ROOT / ".ci" / "run").read_text()
