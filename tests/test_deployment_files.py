"""The Docker deployment files, checked by structure (Docker cannot run in CI): docker-compose.yaml,
the Dockerfile, and the init SQL / demo env files they reference."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"

LONG_RUNNING = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "airflow-triggerer"]
AIRFLOW_SERVICES = [*LONG_RUNNING, "airflow-init"]
COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
# The only literal credentials the compose file may contain: the official file's documented demo defaults.
DEMO_PASSWORDS = {"airflow"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def published_container_ports(service: dict) -> set[int]:
    """Container ports a service publishes ("[ip:]host:container" with optional ranges, or long syntax)."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            target = str(entry["target"])
        else:
            target = str(entry).split("/")[0].rsplit(":", 1)[-1]
        low, _, high = target.partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def env_file_paths(service: dict) -> list[tuple[str, bool]]:
    entries = service.get("env_file", [])
    entries = [entries] if isinstance(entries, str) else entries
    return [(e, True) if isinstance(e, str) else (e["path"], e.get("required", True)) for e in entries]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def requirements_pin(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)\s*$", (ROOT / "requirements.txt").read_text(), re.MULTILINE | re.IGNORECASE)
    assert match, f"{name} is not pinned in requirements.txt"
    return match.group(1)


# --- services and the common anchor ---------------------------------------------------------------


def test_all_services_are_defined(services):
    expected = {"postgres", "redis", *AIRFLOW_SERVICES, "simulators"}
    assert expected <= set(services), f"missing services: {sorted(expected - set(services))}"


def test_common_anchor_builds_our_dockerfile(compose):
    common = compose["x-airflow-common"]
    build = common["build"]
    context = build if isinstance(build, str) else build["context"]
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE.resolve()
    assert common["image"], "the built image needs a tag so every service runs the same one"
    assert common["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_uses_common_image_and_celery(compose, services, name):
    common, service = compose["x-airflow-common"], services[name]
    assert service.get("build") == common["build"]
    assert service.get("image") == common["image"]
    env = service["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql+psycopg2://airflow:airflow@postgres/airflow"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://airflow:airflow@postgres/")
    assert env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "true"
    # All components must sign and check task tokens with one shared secret.
    assert INTERPOLATION.match(env["AIRFLOW__API_AUTH__JWT_SECRET"]), "JWT secret must come from .env"


def test_execution_api_url_points_at_the_apiserver(compose, services):
    url = compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    match = re.fullmatch(r"http://(?P<host>[\w-]+):(?P<port>\d+)/execution/", url)
    assert match, url
    assert match["host"] in services and services[match["host"]]["command"] == "api-server"
    assert int(match["port"]) in published_container_ports(services[match["host"]])


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_wait_for_init_and_healthy_backends(services, name):
    service = services[name]
    assert command_text(service) == COMMANDS[name]
    depends = service["depends_on"]
    assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert service.get("restart") == "always"


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_backends_have_healthchecks(services, name):
    assert services[name]["healthcheck"]["test"]


def test_apiserver_publishes_8080(services):
    assert 8080 in published_container_ports(services["airflow-apiserver"])


# --- airflow-init: migration and pools -------------------------------------------------------------


def test_init_migrates_the_metadata_db(services):
    init = services["airflow-init"]
    script = command_text(init)
    explicit = re.search(r"airflow db migrate\b", script)
    # Or the official pattern: the image's entrypoint migrates when _AIRFLOW_DB_MIGRATE is true.
    via_entrypoint = str(init["environment"].get("_AIRFLOW_DB_MIGRATE", "")).lower() == "true" and re.search(
        r"/entrypoint airflow\b", script)
    assert explicit or via_entrypoint, "airflow-init does not migrate the metadata database"
    assert "airflow-init" not in init.get("depends_on", {})


def test_init_imports_every_companys_pools_after_migrating(services, dockerfile, tmp_path, monkeypatch):
    """airflow-init writes the pool file from the companies file the image ships (erpbridge.companies), then
    imports it: run here as the script has it, without a companies file and with one."""
    script = command_text(services["airflow-init"])
    steps = [shlex.split(line) for line in script.splitlines() if "erpbridge.companies" in line or "pools" in line]
    write, load = [words[words.index("/entrypoint") + 1:] for words in steps if "/entrypoint" in words]
    assert write[:3] == ["python", "-m", "erpbridge.companies"] and load[:3] == ["airflow", "pools", "import"]
    dags, pool_file = write[3:]
    assert dags.rstrip("/") == _copy_destination(dockerfile, "dags").rstrip("/") and load[3:] == [pool_file]
    migrate = re.search(r"airflow db migrate\b|/entrypoint airflow\b", script)
    assert migrate and migrate.start() < script.index("erpbridge.companies"), "pools must be set after the migration"
    assert "set -e" in script, "a failed step must fail airflow-init, so nothing starts on a broken DB"

    def written(dags_folder: Path) -> dict:
        out = tmp_path / "pools.json"
        subprocess.run([sys.executable, "-m", "erpbridge.companies", str(dags_folder), str(out)], check=True)
        return json.loads(out.read_text())

    monkeypatch.delenv("ERPBRIDGE_COMPANIES_FILE", raising=False)
    assert {name: pool["slots"] for name, pool in written(ROOT / "dags").items()} == {
        "netvisor_default": 1, "standard_books_default": 1}
    shipped = tmp_path / "dags"
    shipped.mkdir()
    (shipped / "companies.yaml").write_text(yaml.safe_dump({"companies": {"acme": {"name": "Acme Oy", "flows": {
        "severa_netvisor_registers": {}, "envoice_standardbooks_purchase_documents": {}}}}}))
    pools = written(shipped)
    assert {name: pool["slots"] for name, pool in pools.items()} == {"netvisor__acme": 1, "standard_books__acme": 1}
    assert pools["netvisor__acme"]["description"] == "Netvisor accepts one request at a time per company (Acme Oy)"


# --- the ledger database ---------------------------------------------------------------------------


def test_ledger_database_is_created_and_connected(compose, services):
    from erpbridge.engine.run_context import LEDGER_CONN_ID

    postgres = services["postgres"]
    scripts = [v.split(":") for v in postgres["volumes"] if ":/docker-entrypoint-initdb.d/" in v]
    assert scripts, "postgres mounts no init script"
    created = set()
    for host, *_ in scripts:
        sql = (ROOT / host).read_text()
        created |= {m.lower() for m in re.findall(r"^\s*CREATE DATABASE\s+(\w+)", sql, re.IGNORECASE | re.MULTILINE)}

    env = compose["x-airflow-common"]["environment"]
    conn = json.loads(env[f"AIRFLOW_CONN_{LEDGER_CONN_ID.upper()}"])
    assert conn["conn_type"] == "postgres"
    assert conn["host"] == "postgres"
    assert conn["schema"].lower() in created, f"ledger database {conn['schema']} is not created by {scripts}"
    assert conn["schema"] != postgres["environment"]["POSTGRES_DB"], "the ledger must not share Airflow's database"
    assert conn["login"] == postgres["environment"]["POSTGRES_USER"]
    assert conn["password"] == postgres["environment"]["POSTGRES_PASSWORD"]


# --- simulators and their demo connections ---------------------------------------------------------


def test_simulators_service_is_optional_and_exposes_every_simulator(compose, services):
    from include.simulators import REGISTRY

    sim = services["simulators"]
    assert "simulators" in sim.get("profiles", []), "the simulators must only start with --profile simulators"
    assert sim["image"] == compose["x-airflow-common"]["image"]
    args = shlex.split(command_text(sim))
    assert args[:3] == ["python", "-m", "include.simulators"]
    assert args[args.index("--host") + 1] == "0.0.0.0", "bound to loopback, the simulators are unreachable"
    assert args[args.index("--seed") + 1] == "demo"
    ports = published_container_ports(sim)
    assert {18081, 18082} <= ports
    assert {port for _, port in REGISTRY.values()} <= ports
    for name, service in services.items():
        assert "simulators" not in service.get("depends_on", {}), f"{name} must run without the simulators"


def test_simulator_connections_are_opt_in(compose):
    common = compose["x-airflow-common"]
    assert not any(k.startswith(("AIRFLOW_CONN_NETVISOR", "AIRFLOW_CONN_SEVERA")) for k in common["environment"])
    for path, required in env_file_paths(common):
        match = INTERPOLATION.match(path)
        # Loading the simulators' connections unconditionally would shadow real ones stored in Airflow.
        assert match and match["op"] == ":-" and "simulators" not in match["arg"], path
        assert required is False, "the connections env file must be optional"
    assert env_file_paths(common), "no way to load the demo connections"


def test_simulator_connections_match_the_simulators(services):
    from include.simulators import REGISTRY, netvisor, severa

    values = read_env_file(ROOT / "include" / "config" / "simulators.env")
    nv = json.loads(values["AIRFLOW_CONN_NETVISOR_DEFAULT"])
    sv = json.loads(values["AIRFLOW_CONN_SEVERA_DEFAULT"])
    ports = published_container_ports(services["simulators"])

    assert nv["host"] == f"http://simulators:{REGISTRY['netvisor'][1]}"
    assert (nv["login"], nv["password"]) == (netvisor.DEFAULT_CONFIG["customer_id"], netvisor.DEFAULT_CONFIG["customer_key"])
    for key in ("partner_id", "partner_key", "organisation_id"):
        assert nv["extra"][key] == netvisor.DEFAULT_CONFIG[key], key

    assert sv["host"] == f"http://simulators:{REGISTRY['severa'][1]}/rest-api"
    assert (sv["login"], sv["password"]) == (severa.DEFAULT_CONFIG["client_id"], severa.DEFAULT_CONFIG["client_secret"])
    assert {REGISTRY["netvisor"][1], REGISTRY["severa"][1]} <= ports


# --- no secrets in the compose file ----------------------------------------------------------------


def secret_problems(name: str, env: dict) -> list[str]:
    problems = []
    for key, value in env.items():
        value = "" if value is None else str(value)
        for _user, password in re.findall(r"://([^:/@]*):([^@/]*)@", value):
            if password and password not in DEMO_PASSWORDS:
                problems.append(f"{name}.{key}: password in URL")
        if value.startswith("{"):
            conn = json.loads(value)
            if conn.get("password") not in (None, "", *DEMO_PASSWORDS):
                problems.append(f"{name}.{key}: connection password")
        if SECRET_NAME.search(key) and value:
            match = INTERPOLATION.match(value)
            if match:
                if match["op"] in (":-", "-") and match["arg"] not in ("", *DEMO_PASSWORDS):
                    problems.append(f"{name}.{key}: non-demo default {match['arg']!r}")
            elif value not in DEMO_PASSWORDS:
                problems.append(f"{name}.{key}: literal secret")
    return problems


def test_no_service_sets_a_real_secret(compose, services):
    problems = secret_problems("x-airflow-common", compose["x-airflow-common"]["environment"])
    for name, service in services.items():
        env = service.get("environment", {})
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        problems += secret_problems(name, env)
    assert not problems, problems


def test_required_secrets_have_no_default(compose):
    env = compose["x-airflow-common"]["environment"]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        match = INTERPOLATION.match(env[key])
        assert match and match["op"] == ":?", f"{key} must fail fast when unset, not fall back to a shared default"


# --- Dockerfile ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if line and not line.startswith("#")]


def test_dockerfile_is_the_official_image_at_the_pinned_airflow(dockerfile):
    froms = [args for instr, args in dockerfile if instr == "FROM"]
    assert len(froms) == 1, froms
    match = re.fullmatch(r"apache/airflow:(?P<version>[\d.]+)(?:-python(?P<python>[\d.]+))?", froms[0].split()[0])
    assert match, froms[0]
    assert match["version"] == requirements_pin("apache-airflow")


def _copy_destination(dockerfile, source: str) -> str:
    for instr, args in dockerfile:
        words = [w for w in args.split() if not w.startswith("--")]
        if instr in ("COPY", "ADD") and source in [w.rstrip("/") for w in words[:-1]]:
            return words[-1]
    raise AssertionError(f"{source} is not copied into the image")


def test_dockerfile_installs_requirements_then_the_provider(dockerfile):
    requirements = _copy_destination(dockerfile, "requirements.txt")
    pyproject = _copy_destination(dockerfile, "pyproject.toml")
    plugins = _copy_destination(dockerfile, "plugins")
    provider_dir = str(Path(pyproject).parent)
    assert plugins.rstrip("/") == f"{provider_dir}/plugins", "plugins/ must sit next to pyproject.toml"

    runs = [(i, args) for i, (instr, args) in enumerate(dockerfile) if instr == "RUN"]
    req_steps = [i for i, args in runs if re.search(r"\bpip install\b.*-r\s+" + re.escape(requirements) + r"\b", args)]
    provider_steps = [i for i, args in runs
                      if re.search(r"\bpip install\b(?=.*--no-deps)(?=.*\s" + re.escape(provider_dir) + r"/?(\s|$))", args)]
    assert req_steps, "requirements.txt is not pip-installed"
    assert provider_steps, "the provider is not installed with pip install --no-deps"
    assert req_steps[0] < provider_steps[0]

    users = [(i, args) for i, (instr, args) in enumerate(dockerfile) if instr == "USER"]
    for step in (req_steps[0], provider_steps[0]):
        current = [args for i, args in users if i < step]
        assert current and current[-1] == "airflow", "pip must run as the airflow user"


def test_dockerfile_ships_dags_and_include(dockerfile):
    assert _copy_destination(dockerfile, "dags").rstrip("/") == "/opt/airflow/dags"
    assert _copy_destination(dockerfile, "include").rstrip("/") == "/opt/airflow/include"


def test_dockerfile_has_no_secrets(dockerfile):
    for instr, args in dockerfile:
        if instr in ("ENV", "ARG"):
            assert not SECRET_NAME.search(args.split("=")[0]), f"{instr} {args}"
