"""deploy/k8s: the manifests against the Kubernetes API schemas (kubernetes-validate, offline),
and the Helm values against what the platform runs. No cluster, no chart download."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from btc_platform.cli import cli
from btc_platform.settings import Settings

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
KUBERNETES = "1.33.0"


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict]:
    documents = yaml.safe_load_all((K8S / "platform.yaml").read_text())
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}


def test_every_manifest_is_valid_for_the_kubernetes_api(manifests) -> None:
    for (kind, name), manifest in manifests.items():
        try:
            kubernetes_validate.validate(manifest, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{kind}/{name}: {error.message} at {list(error.path)}")
    broken = dict(manifests[("Deployment", "drain")], spec={"replicas": "two"})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_the_workloads_run_commands_that_exist_with_settings_the_platform_reads(manifests):
    runner = CliRunner()
    for name in ("ingest", "drain"):
        container = manifests[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][0] == "btc-platform"
        answer = runner.invoke(cli, [*container["command"][1:], "--help"])
        assert answer.exit_code == 0, f"{name}: {answer.output}"
    env = manifests[("ConfigMap", "btc-platform-env")]["data"]
    fields = {f"BTC_{name.upper()}" for name in Settings.model_fields}
    unknown = {k for k in env if k.startswith("BTC_") and k not in fields}
    assert not unknown, f"settings the platform does not read: {unknown}"
    assert env["BTC_STORE_DATA_PATH"].startswith("s3://")
    assert manifests[("Deployment", "drain")]["spec"]["replicas"] >= 2


def test_the_prediction_replicas_sit_behind_a_service_that_selects_them(manifests) -> None:
    deployment = manifests[("Deployment", "predictor")]
    service = manifests[("Service", "predictor")]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2
    assert service["spec"]["selector"].items() <= labels.items()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    ports = {p["name"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in ports


def test_dagster_runs_pods_with_the_platform_image_and_environment(manifests) -> None:
    values = yaml.safe_load((K8S / "dagster-values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["image"]["repository"] == "btc-platform"
    workspace = yaml.safe_load((K8S.parents[1] / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert {"name": "btc-platform-env"} in launcher["envConfigMaps"]
    assert ("ConfigMap", "btc-platform-env") in manifests
    redpanda = yaml.safe_load((K8S / "redpanda-values.yaml").read_text())
    bootstrap = manifests[("ConfigMap", "btc-platform-env")]["data"]["BTC_KAFKA_BOOTSTRAP"]
    assert (
        bootstrap.startswith("redpanda.redpanda.svc") and redpanda["statefulset"]["replicas"] >= 3
    )
