"""The deployment files in deploy/, checked offline: no Docker, no cluster, no network.

- docker-compose.yml against the Compose Specification's JSON schema (compose-spec's
  ``compose-spec.json``, which the check-jsonschema package ships);
- every Kubernetes manifest against the Kubernetes OpenAPI schemas of one pinned version
  (kubernetes-validate ships them), strictly, so a misspelled field fails;
- the Dockerfile, .dockerignore, the systemd unit and .env.example by parsing them;
- and what a reviewer looks for: non-root everywhere, health checks that really answer,
  migrations before the app, PostgreSQL wherever there are replicas, no secrets.
"""

from __future__ import annotations

import configparser
import copy
import fnmatch
import http.server
import json
import re
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema.validators import validator_for
from pydantic import SecretStr, TypeAdapter
from sqlalchemy import make_url

from bot.config import Settings
from bot.scheduler import STOP_GRACE_SECONDS
from tests.schema_errors import schema_errors

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
UNIT = DEPLOY / "tiara.service"
K8S = DEPLOY / "k8s"

# The Kubernetes version the manifests are checked against: the oldest one still widely
# run. kubernetes-validate bundles several; this one must be among them.
K8S_VERSION = "1.30"
BASE_IMAGE = "python:3.12-slim"
# Variables the deploy files may name besides the fields of Settings: compose's own
# database password, and the health server's port (a setting since issue 8, when the
# field checks below cover it too; listed here so these files don't depend on it).
EXTRA_ENV_NAMES = frozenset({"POSTGRES_PASSWORD", "TIARA_HEALTH_PORT"})
# SIGTERM gives the sends under way their grace (TickScheduler.stop), then the platforms'
# connections close: every platform must wait longer before it kills the process.
MIN_STOP_SECONDS = STOP_GRACE_SECONDS + 5
# What real credentials look like, to make sure none is checked in.
REAL_LOOKING = [
    re.compile(r"xox[abposr]-\d+-"),  # Slack bot, user and legacy tokens
    re.compile(r"xapp-\d-"),  # Slack app-level tokens
    re.compile(r"\b[0-9a-f]{32}\b"),  # Slack signing secrets, client secrets
    re.compile(r"[\w-]{23,}\.[\w-]{6}\.[\w-]{27,}"),  # Discord bot tokens
    re.compile(r"[A-Za-z0-9+/_-]{32,}"),  # anything long and random-looking
]


# ---- helpers ----------------------------------------------------------------------------


def env_names() -> dict[str, str]:
    """Each Settings field's environment variable: its alias, or the prefix + its name."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {
        (field.alias or f"{prefix}{name}").upper(): name
        for name, field in Settings.model_fields.items()
    }


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # comments (and parser directives), also inside a continuation
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        pending = ""
        instructions.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continuation line"
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The build stages, each starting with its FROM."""
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            found.append([])
        assert found, f"{keyword} before the first FROM"
        found[-1].append((keyword, rest))
    return found


def healthcheck(stage: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """The stage's HEALTHCHECK: its --options and its exec-form command."""
    found = [rest for keyword, rest in stage if keyword == "HEALTHCHECK"]
    assert len(found) == 1, "the image needs exactly one HEALTHCHECK"
    options: dict[str, str] = {}
    rest = found[0]
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, value = option[2:].partition("=")
        options[name] = value
        rest = rest.lstrip()
    kind, _, command = rest.partition(" ")
    assert kind == "CMD", "HEALTHCHECK NONE disables the check"
    args = json.loads(command)  # exec form: no shell needed in the image
    assert isinstance(args, list) and all(isinstance(a, str) for a in args)
    return options, args


def seconds(value: str | int) -> float:
    """A duration such as 30, "30s", "1m30s" or "500ms", in seconds."""
    if isinstance(value, int):
        return value
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "min": 60, "sec": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|min|sec|s|m|h)?", value.strip())
    assert parts and "".join(n + (u or "") for n, u in parts) == re.sub(r"\s", "", value)
    return sum(float(n) * units[u or "s"] for n, u in parts)


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR-default}, with no variable set."""
    return re.sub(r"\$\{[A-Z0-9_]+:?-([^}]*)\}", r"\1", value)


def k8s_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                yield path.name, document


def k8s_objects(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if doc["kind"] == kind]


def the(kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in k8s_objects(kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


def k8s_errors(document: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{'/'.join(map(str, err.path)) or '<root>'}: {err.message}"]
    return []


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    """Every workload's pod spec, named kind/name."""
    return [
        (f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"])
        for _, doc in k8s_documents()
        if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    ]


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port (a number or a port name) as the container's number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == port]
    assert named, f"{container['name']} has no port named {port!r}"
    return int(named[0])


def health_port(container: dict[str, Any]) -> int:
    """Where the container serves /livez, /healthz and /metrics: beside /slack/events on
    --port in Slack's HTTP mode, otherwise on the health server's TIARA_HEALTH_PORT."""
    args = container.get("args", [])
    if "--http" in args:
        return int(args[args.index("--port") + 1])
    env = {v["name"]: v.get("value") for v in container.get("env", [])}
    default = Settings.model_fields["health_port"].default
    return int(env.get("TIARA_HEALTH_PORT") or default)


def deployments() -> list[dict[str, Any]]:
    found = k8s_objects("Deployment")
    assert found
    return found


def parse_env_example() -> tuple[dict[str, str], list[str], list[str]]:
    """.env.example's commented-out settings (name → shown value), names listed more than
    once, and any uncommented assignment."""
    listed: dict[str, str] = {}
    repeated: list[str] = []
    active: list[str] = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"#\s?([A-Z][A-Z0-9_]*)=(.*)", line.strip()):
            name, value = match.groups()
            if name in listed:
                repeated.append(name)
            listed[name] = value
        elif re.match(r"\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=", line):
            active.append(line.strip())
    return listed, repeated, active


def parse_unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(UNIT.read_text(encoding="utf-8"), source=str(UNIT))
    return unit


# ---- Dockerfile and .dockerignore -------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[list[tuple[str, str]]]:
    return stages(dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")))


def test_the_image_is_built_in_two_stages_on_slim_python(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    assert len(dockerfile) >= 2, "build in one stage, copy only the result into the next"
    for stage in dockerfile:
        assert stage[0][1].split()[0] == BASE_IMAGE
    builder, final = dockerfile[0], dockerfile[-1]
    assert re.fullmatch(r"\S+\s+AS\s+builder", builder[0][1], re.IGNORECASE)
    assert any(k == "RUN" and "pip install ." in rest for k, rest in builder)
    copies = [rest for keyword, rest in final if keyword in ("COPY", "ADD")]
    assert copies == ["--from=builder /opt/tiara /opt/tiara"], (
        "the final stage takes only the virtualenv from the builder, no sources"
    )
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PATH=/opt/tiara/bin:" in env


def test_the_image_runs_tiara_as_a_numeric_non_root_user(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    final = dockerfile[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can check it without running the image.
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]} is root or not numeric"
    entry = [json.loads(rest) for keyword, rest in final if keyword == "ENTRYPOINT"]
    cmd = [json.loads(rest) for keyword, rest in final if keyword == "CMD"]
    assert entry[-1:] == [["tiara"]], "exec form, so tiara is PID 1 and receives SIGTERM"
    assert cmd[-1:] == [["run"]]
    exposed = " ".join(rest for keyword, rest in final if keyword == "EXPOSE").split()
    assert "3000" in exposed or "3000/tcp" in exposed


def test_the_image_bakes_in_no_secret(dockerfile: list[list[tuple[str, str]]]) -> None:
    secret_names = {
        env_name
        for env_name, name in env_names().items()
        if "SecretStr" in str(Settings.model_fields[name].annotation)
    }
    assert {"SLACK_BOT_TOKEN", "DISCORD_TOKEN", "TIARA_DATABASE_URL"} <= secret_names
    for stage in dockerfile:
        for keyword, rest in stage:
            if keyword in ("ENV", "ARG"):
                names = {part.split("=")[0] for part in shlex.split(rest)}
                baked = names & (secret_names | {"POSTGRES_PASSWORD"})
                assert not baked, f"{keyword} {rest}: pass secrets at run time"
                assert not re.search(r"TOKEN|SECRET|PASSWORD", " ".join(names))
    text = DOCKERFILE.read_text(encoding="utf-8")
    for pattern in REAL_LOOKING[:4]:
        assert not pattern.search(text)


def test_the_healthcheck_uses_python_against_healthz(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    options, args = healthcheck(dockerfile[-1])
    assert args[:2] == ["python", "-c"], "slim images have no curl: use python's urllib"
    assert "urllib" in args[2] and "/healthz" in args[2]
    assert seconds(options["timeout"]) < seconds(options["interval"])
    assert seconds(options.get("start-period", "0s")) >= 10  # the app migrates on start


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Handler", (_Health,), {"status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_healthcheck_passes_only_when_healthz_answers_200(
    dockerfile: list[list[tuple[str, str]]], health_server: tuple[int, type[_Health]]
) -> None:
    _, args = healthcheck(dockerfile[-1])
    port, handler = health_server

    def check(**env: int) -> int:
        variables = {name: str(value) for name, value in env.items()}
        # A proxy in the container's environment must not swallow the local check.
        variables["http_proxy"] = variables["HTTP_PROXY"] = f"http://127.0.0.1:{closed_port()}"
        return subprocess.run(
            [sys.executable, *args[1:]], env=variables, timeout=30, check=False
        ).returncode

    # Slack over HTTP answers on TIARA_PORT, Discord and Socket Mode on TIARA_HEALTH_PORT.
    assert check(TIARA_PORT=port, TIARA_HEALTH_PORT=closed_port()) == 0
    assert check(TIARA_PORT=closed_port(), TIARA_HEALTH_PORT=port) == 0
    assert check(TIARA_PORT=closed_port(), TIARA_HEALTH_PORT=closed_port()) == 1
    handler.status = 503
    assert check(TIARA_PORT=port, TIARA_HEALTH_PORT=closed_port()) == 1


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "re-inclusions are not modelled here"
    return [p.lstrip("/").rstrip("/") for p in patterns]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the build context (a close approximation)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for candidate in prefixes:
            if fnmatch.fnmatchcase(candidate, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                candidate.split("/")[-1], pattern[3:]
            ):
                return True
    return False


def test_dockerignore_keeps_local_state_out_but_the_sources_in(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    patterns = dockerignore_patterns()
    for path in (
        ".git/config",
        ".venv/bin/python",
        "tiara.db",
        "data/tiara.db",
        ".env",
        "deploy/.env",
        ".pytest_cache/v/x",
        ".mypy_cache/x",
        ".hypothesis/examples/x",
        "bot/__pycache__/core.cpython-312.pyc",
    ):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"
    sources = [
        source
        for keyword, rest in dockerfile[0]
        if keyword == "COPY"
        for source in shlex.split(rest)[:-1]
        if not source.startswith("--")
    ]
    assert {"pyproject.toml", "README.md", "bot", "adapters", "storage"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source, patterns), f"COPY {source}, but .dockerignore drops it"
    for module in ("bot/core.py", "storage/migrations/env.py", "bot/data"):
        assert not ignored(module, patterns)


# ---- docker compose ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_validator() -> Any:
    schema = get_builtin_schema("vendor.compose-spec")
    assert schema.get("title") == "Compose Specification"
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_compose_file_follows_the_compose_specification(compose_validator: Any) -> None:
    assert schema_errors(compose_validator, load_compose()) == []


def test_the_compose_schema_really_checks(compose_validator: Any) -> None:
    broken = load_compose()
    broken["services"]["tiara"]["depends_on"]["postgres"]["condition"] = "service_ready"
    assert schema_errors(compose_validator, broken)
    broken = load_compose()
    broken["services"]["tiara"]["restart_policy"] = "always"  # belongs under deploy:
    assert schema_errors(compose_validator, broken)


def test_compose_starts_tiara_after_a_healthy_postgres_and_the_migrations() -> None:
    services = load_compose()["services"]
    postgres, migrate, tiara = services["postgres"], services["migrate"], services["tiara"]

    assert str(postgres["image"]).startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volumes = load_compose().get("volumes") or {}
    mounts = [str(v).split(":") for v in postgres["volumes"]]
    assert any(m[0] in volumes and m[1] == "/var/lib/postgresql/data" for m in mounts), (
        "the database lives in a named volume"
    )

    assert migrate["command"] == ["db", "upgrade"]
    assert migrate.get("restart", "no") == "no", "a one-shot service must not be restarted"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert tiara["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert tiara["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert migrate["image"] == tiara["image"] and migrate["build"] == tiara["build"]


def test_compose_builds_from_the_repository_and_keeps_tiara_running() -> None:
    services = load_compose()["services"]
    tiara = services["tiara"]
    build = tiara["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for name in ("tiara", "migrate"):
        env_files = services[name]["env_file"]
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files)
    assert tiara["restart"] in ("always", "unless-stopped", "on-failure")
    health = tiara["healthcheck"]
    assert not health.get("disable") and health.get("test") not in (["NONE"], "NONE")
    assert seconds(tiara["stop_grace_period"]) >= MIN_STOP_SECONDS


def test_compose_points_tiara_at_its_postgres() -> None:
    services = load_compose()["services"]
    postgres_env = services["postgres"]["environment"]
    for name in ("tiara", "migrate"):
        url = make_url(interpolate(services[name]["environment"]["TIARA_DATABASE_URL"]))
        assert url.drivername == "postgresql+asyncpg"
        assert url.host == "postgres" and url.host in services
        assert url.port in (None, 5432)
        assert url.username == postgres_env["POSTGRES_USER"]
        assert url.database == postgres_env["POSTGRES_DB"]
        assert url.password == interpolate(postgres_env["POSTGRES_PASSWORD"])


# ---- Kubernetes --------------------------------------------------------------------------


def test_the_pinned_kubernetes_version_is_bundled() -> None:
    bundled = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert K8S_VERSION in bundled, f"kubernetes-validate bundles {sorted(bundled)}"


@pytest.mark.parametrize(
    ("filename", "document"),
    list(k8s_documents()),
    ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in k8s_documents()],
)
def test_kubernetes_manifest_is_valid(filename: str, document: dict[str, Any]) -> None:
    assert k8s_errors(document) == [], filename


def test_the_kubernetes_schema_really_checks() -> None:
    deployment = copy.deepcopy(the("Deployment", "tiara"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    assert k8s_errors(deployment)
    deployment = copy.deepcopy(the("Deployment", "tiara"))
    deployment["spec"]["replicas"] = "three"
    assert k8s_errors(deployment)


def test_every_manifest_file_is_read() -> None:
    # k8s_documents() globs *.yaml: a .yml file would never be validated.
    assert not list(K8S.glob("*.yml")), "name Kubernetes manifests *.yaml"
    files = {name for name, _ in k8s_documents()}
    assert files == {path.name for path in K8S.glob("*.yaml")}, "a manifest with no object"
    assert "40-discord.yaml" in files


def test_the_manifests_cover_what_a_rollout_needs() -> None:
    kinds = {doc["kind"] for _, doc in k8s_documents()}
    assert {"Secret", "ConfigMap", "Deployment", "Service", "Job"} <= kinds
    assert {doc["metadata"]["name"] for doc in deployments()} == {"tiara", "tiara-discord"}
    namespaces = {doc["metadata"]["name"] for doc in k8s_objects("Namespace")}
    for _, doc in k8s_documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") in namespaces, doc["metadata"]["name"]


def test_the_slack_deployment_serves_http_with_replicas_and_probes() -> None:
    deployment = the("Deployment", "tiara")
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= MIN_STOP_SECONDS
    (container,) = pod["containers"]
    args = container["args"]
    assert args == ["run", "slack", "--http", "--port", "3000"]
    port = int(args[args.index("--port") + 1])
    assert port in [p["containerPort"] for p in container["ports"]]
    assert health_port(container) == port
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert container["resources"]["requests"]["memory"]


def test_liveness_never_depends_on_the_database_and_readiness_does() -> None:
    # /livez answers while the process serves requests; /healthz also asks the database
    # and the scheduler. Liveness on /healthz would restart every replica in a database
    # outage.
    for deployment in deployments():
        name = deployment["metadata"]["name"]
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            port = health_port(container)
            paths = {"livenessProbe": "/livez", "readinessProbe": "/healthz"}
            if "startupProbe" in container:
                paths["startupProbe"] = "/healthz"
            for probe, path in paths.items():
                get = container[probe]["httpGet"]
                assert get["path"] == path, f"{name}: {probe}"
                assert container_port(container, get["port"]) == port, f"{name}: {probe}"
            liveness = container["livenessProbe"]
            # Restart after about a minute of no answer, not at the first slow one.
            patience = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
            assert 30 <= patience <= 180, f"{name}: liveness waits {patience} s"
            assert liveness.get("timeoutSeconds", 1) >= 2, name


def test_the_discord_deployment_keeps_one_gateway_connection() -> None:
    deployment = the("Deployment", "tiara-discord")
    spec = deployment["spec"]
    # One gateway connection per token: no second replica, not even during a rollout.
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= MIN_STOP_SECONDS
    (container,) = pod["containers"]
    assert container["args"] == ["run", "discord"]
    assert health_port(container) == 8080
    assert 8080 in [p["containerPort"] for p in container["ports"]]
    (slack,) = the("Deployment", "tiara")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == slack["image"]
    assert container["resources"] == slack["resources"]
    assert container["securityContext"] == slack["securityContext"]
    # The Slack Service and disruption budget must not pick up the Discord pod.
    service = the("Service", "tiara")
    assert not service["spec"]["selector"].items() <= labels.items()
    for budget in k8s_objects("PodDisruptionBudget"):
        assert not budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_discord_deployment_gets_its_token_and_not_slacks() -> None:
    (container,) = the("Deployment", "tiara-discord")["spec"]["template"]["spec"]["containers"]
    names = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert names == ["tiara-discord-secrets"]
    keys = set(the("Secret", "tiara-discord-secrets")["stringData"])
    assert {"DISCORD_TOKEN", "TIARA_DATABASE_URL"} <= keys
    assert not any(key.startswith("SLACK_") for key in keys)
    assert "DISCORD_TOKEN" not in the("Secret", "tiara-secrets")["stringData"]


def test_pods_carry_prometheus_scrape_annotations_for_their_metrics_port() -> None:
    for deployment in deployments():
        name = deployment["metadata"]["name"]
        template = deployment["spec"]["template"]
        annotations = template["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        (container,) = template["spec"]["containers"]
        port = annotations.get("prometheus.io/port")
        assert isinstance(port, str), f"{name}: annotation values are strings"
        assert int(port) == health_port(container), name
        assert int(port) in [p["containerPort"] for p in container["ports"]], name


def test_every_workload_runs_non_root_and_read_only(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    image_user = int(
        [rest for keyword, rest in dockerfile[-1] if keyword == "USER"][-1].split(":")[0]
    )
    workloads = pod_specs()
    assert {name for name, _ in workloads} >= {"Deployment/tiara", "Job/tiara-migrate"}
    for name, pod in workloads:
        pod_context = pod.get("securityContext", {})
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{name}/{container['name']}"
            context = {**pod_context, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, where
            assert context.get("runAsUser", image_user) == image_user, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert "ALL" in context.get("capabilities", {}).get("drop", []), where
            if name.startswith("Deployment/"):
                assert "readinessProbe" in container and "livenessProbe" in container, where
            # matplotlib writes its cache to MPLCONFIGDIR=/tmp/matplotlib.
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            assert "/tmp" in mounts, f"{where}: /tmp must be writable"


def test_the_migration_job_runs_the_same_image_before_rollout() -> None:
    job = the("Job", "tiara-migrate")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["db", "upgrade"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    (app,) = the("Deployment", "tiara")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == app["image"]
    assert container["envFrom"] == app["envFrom"]


def test_the_service_and_budget_select_the_deployment_pods() -> None:
    deployment = the("Deployment", "tiara")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    service = the("Service", "tiara")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    assert container_port(container, port["targetPort"]) == 3000
    for budget in k8s_objects("PodDisruptionBudget"):
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_workload_settings_come_from_the_configmap_and_secret_and_are_real_settings() -> None:
    known = set(env_names()) | EXTRA_ENV_NAMES
    configmaps = {doc["metadata"]["name"]: doc for doc in k8s_objects("ConfigMap")}
    secrets = {doc["metadata"]["name"]: doc for doc in k8s_objects("Secret")}
    for name, pod in pod_specs():
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, name
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, name
            for variable in container.get("env", []):
                assert variable["name"] in known | {"MPLCONFIGDIR"}, variable["name"]
    for configmap in configmaps.values():
        assert set(configmap["data"]) <= known, "a ConfigMap key that is no setting"
    for secret in secrets.values():
        assert set(secret["stringData"]) <= known, "a Secret key that is no setting"


def test_the_secret_holds_placeholders_only() -> None:
    secrets = k8s_objects("Secret")
    assert secrets
    slack = set(the("Secret", "tiara-secrets")["stringData"])
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TIARA_DATABASE_URL"} <= slack
    for secret in secrets:
        assert "data" not in secret, "base64 data hides what is checked in: use stringData"
        values = secret["stringData"]
        for key, value in values.items():
            assert "CHANGE_ME" in value, f"{key} must be an obvious placeholder"
            for pattern in REAL_LOOKING:
                assert not pattern.search(value), f"{key} looks like a real credential"


def test_replicas_share_postgresql_never_sqlite() -> None:
    url = make_url(the("Secret", "tiara-secrets")["stringData"]["TIARA_DATABASE_URL"])
    replicas = the("Deployment", "tiara")["spec"]["replicas"]
    assert replicas == 1 or url.get_backend_name() == "postgresql", (
        "nudges are claimed with leases in PostgreSQL; SQLite can't be shared by replicas"
    )
    assert url.drivername == "postgresql+asyncpg"


def test_discord_uses_postgresql() -> None:
    discord = make_url(the("Secret", "tiara-discord-secrets")["stringData"]["TIARA_DATABASE_URL"])
    # The pod's root filesystem is read-only: no SQLite file; PostgreSQL it is. (It may be
    # the Slack replicas' database: each process sends only its own platform's reminders.)
    assert discord.drivername == "postgresql+asyncpg"


# ---- systemd -----------------------------------------------------------------------------


def test_the_systemd_unit_runs_tiara_as_its_own_user() -> None:
    unit = parse_unit()
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    assert service.get("User") and service["User"] not in ("root", "0")
    command = shlex.split(service["ExecStart"])
    assert Path(command[0]).name == "tiara" and command[0].startswith("/opt/tiara/")
    assert command[1] == "run"
    env_file = service["EnvironmentFile"].lstrip("-")
    assert env_file.startswith("/"), "EnvironmentFile takes an absolute path"
    assert service["Restart"] == "on-failure"
    assert seconds(service["TimeoutStopSec"]) >= MIN_STOP_SECONDS
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"].get("After", "")


def test_the_systemd_unit_is_hardened_and_can_write_its_sqlite_file() -> None:
    service = parse_unit()["Service"]
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    writable = service.get("ReadWritePaths", "").split()
    writable += [f"/var/lib/{d}" for d in service.get("StateDirectory", "").split()]
    # The default database, sqlite+aiosqlite:///tiara.db, is relative to the working dir.
    assert service["WorkingDirectory"] in writable
    assert all(path.startswith("/") for path in writable)


# ---- .env.example ------------------------------------------------------------------------


def test_env_example_lists_exactly_every_setting_commented_out() -> None:
    listed, repeated, active = parse_env_example()
    names = set(env_names())
    assert not active, f"settings must stay commented out (defaults shown): {active}"
    assert not repeated, f"listed twice: {repeated}"
    assert sorted(names - set(listed)) == [], "settings missing from deploy/.env.example"
    assert sorted(set(listed) - names - EXTRA_ENV_NAMES) == [], "not settings (stale?)"


def test_env_example_shows_each_settings_default() -> None:
    listed, _, _ = parse_env_example()
    for env_name, field_name in env_names().items():
        field = Settings.model_fields[field_name]
        shown = listed.get(env_name)
        assert shown is not None, env_name
        if field.default is None:
            assert shown == "", f"{env_name} has no default: show it empty"
            continue
        assert TypeAdapter(field.annotation).validate_python(shown) == field.default, (
            f"{env_name}={shown} but the default is {field.default!r}"
        )
        if isinstance(field.default, SecretStr):
            assert "@" not in shown, f"{env_name}: no credentials in the example"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for pattern in REAL_LOOKING[:4]:
        assert not pattern.search(text)
