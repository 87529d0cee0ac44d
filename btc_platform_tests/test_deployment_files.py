"""docker-compose.yml, the Dockerfile and .env.example: checked as far as no Docker engine
allows here (`docker compose config` too, where the compose plugin is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from btc_platform.cli import cli
from btc_platform.store.store_location import StoreLocation

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_SERVICES = {  # run from the platform's own image
    "mlflow",
    "topics",
    "ingest",
    "drain",
    "dagster-webserver",
    "dagster-daemon",
    "predictor",
}
SERVICES = {
    "redpanda",
    "redpanda-console",
    "postgres",
    "minio",
    "lake-bucket",
    "prometheus",
    "grafana",
    *PLATFORM_SERVICES,
}
EXPORTERS = ("btc_platform/serving/service_metrics.py", "btc_platform/ingest/ingest_metrics.py")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_names_every_service_and_only_declared_volumes(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name} mounts undeclared {source}"
            else:
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    platform = [n for n, s in services.items() if s.get("image") == "btc-platform:latest"]
    assert set(platform) == PLATFORM_SERVICES
    assert services["dagster-webserver"]["environment"]["BTC_KAFKA_BOOTSTRAP"] == "redpanda:9092"
    assert services["predictor"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_the_platform_commands_in_the_compose_file_exist(compose):
    runner = CliRunner()
    for name in ("topics", "ingest", "drain"):
        command = compose["services"][name]["command"]
        assert command[0] == "btc-platform"
        answer = runner.invoke(cli, [*command[1:], "--help"])
        assert answer.exit_code == 0, f"{name}: {answer.output}"


def test_the_dockerfile_copies_files_that_exist_and_the_env_example_holds_the_secrets():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert "--extra deploy" in dockerfile
    example = (ROOT / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in example and "BTC_PAIRS=" in example
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    assert instance["storage"]["postgres"]["postgres_db"]["db_name"] == "dagster"
    assert instance["concurrency"]["pools"]["default_limit"] > 1  # a DuckLake: several writers
    embedded = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert embedded["concurrency"]["pools"]["default_limit"] == 1  # the DuckDB file: one


def test_prometheus_scrapes_both_exporters_and_grafana_queries_only_what_they_export(compose):
    services = compose["services"]
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]
    jobs = {job["job_name"]: job for job in scrape}
    assert jobs["predictor"]["static_configs"][0]["targets"] == ["predictor:3000"]
    assert jobs["predictor"]["authorization"]["credentials_file"] == "/tmp/api_token"
    assert "/tmp/api_token" in services["prometheus"]["command"][0]
    ingest_port = services["ingest"]["environment"]["BTC_INGEST_METRICS_PORT"]
    assert jobs["ingest"]["static_configs"][0]["targets"] == [f"ingest:{ingest_port}"]
    board = json.loads((ROOT / "deploy/grafana/dashboards/btc-platform.json").read_text())
    queries = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())["groups"][0]["rules"]
    queries += [rule["expr"] for rule in rules]
    exported = " ".join((ROOT / path).read_text() for path in EXPORTERS)
    used = {re.sub(r"_total$", "", name) for q in queries for name in re.findall(r"btc_\w+", q)}
    assert used and all(f'"{name}' in exported for name in used), used
    titles = {panel["title"] for panel in board["panels"]}
    assert {"Price vs the band forecast for it", "Errors"} <= titles
    assert "Live p10-p90 band coverage (nominal 80%)" in titles
    provisioning = ROOT / "deploy/grafana/provisioning"
    source = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def compose_command() -> list[str] | None:
    """`docker compose` (the plugin) or `docker-compose` (Debian's v1), whichever runs here."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path):
    command = compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed here")
    for name in ("docker-compose.yml", "deploy"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    checked = subprocess.run(
        [*command, "config"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    rendered = yaml.safe_load(checked.stdout)
    assert set(rendered["services"]) == SERVICES
    assert rendered["services"]["ingest"]["environment"]["BTC_PAIRS"] == "BTC/USD"
    predictor = rendered["services"]["predictor"]["environment"]
    assert predictor["BTC_API_TOKEN"] == "change-me-to-a-long-random-token"
    assert predictor["BTC_KAFKA_BOOTSTRAP"] == "redpanda:9092"  # the shared settings stay
    drain = rendered["services"]["drain"]
    assert drain["deploy"]["replicas"] == 2
    store = StoreLocation.of(
        drain["environment"]["BTC_STORE_URL"],
        Path("unused"),
        drain["environment"]["BTC_STORE_DATA_PATH"],
    )
    assert (store.catalog, store.data_path) == ("postgres", "s3://btc-lake/store/")
    assert "dbname=ducklake" in str(store.lake) and "password=change-me" in str(store.lake)
    assert drain["environment"]["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert (
        "mc mb --ignore-existing lake/btc-lake" in rendered["services"]["lake-bucket"]["command"][0]
    )

    without_token = (tmp_path / ".env").read_text().replace("BTC_API_TOKEN=", "# BTC_API_TOKEN=")
    (tmp_path / ".env").write_text(without_token)
    unset = subprocess.run(
        [*command, "config"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert unset.returncode != 0 and "set BTC_API_TOKEN in .env" in unset.stderr
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")

    broken = (
        (tmp_path / "docker-compose.yml")
        .read_text()
        .replace(
            "redpanda: {condition: service_healthy}", "redpanda-x: {condition: service_healthy}"
        )
    )
    (tmp_path / "docker-compose.yml").write_text(broken)
    refused = subprocess.run(
        [*command, "config"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "redpanda-x" in refused.stderr
