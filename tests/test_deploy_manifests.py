"""The deployment files, validated offline (no Docker engine, no cluster, no network).

* ``docker-compose.yml``: ``docker compose config`` itself (the real Compose v2 client, built by
  ``deploy/local/compose-client.sh``; ``config`` needs no engine), the Compose Specification's
  JSON schema as vendored by check-jsonschema, then what neither can see: references between
  services, volumes, Dockerfiles, ports and the Prometheus scrape targets.  Not covered: image
  pulls and builds, which need an engine.
* ``deploy/k8s``: every object against the Kubernetes OpenAPI schemas bundled in
  kubernetes-validate (strict: unknown fields are errors), then the conventions that make the
  objects work together (selectors, probes, resources, grace periods, the HPA's target).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator

from common.settings import REPO_ROOT

K8S_DIR = REPO_ROOT / "deploy" / "k8s"
K8S_VERSION = "1.31.0"  # the oldest Kubernetes these manifests target; newer ones accept them too
WORKERS = {"sentiment-worker", "indexer", "alerts-evaluator", "alerts-dispatcher", "scheduler"}
APIS = {"ingest": 8001, "sentiment-api": 8002, "search": 8003}


# --- compose ---------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(vendored.read_text(encoding="utf-8"))
    return schema


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


def docker_compose(
    *args: str, env: dict[str, str], file: Path = REPO_ROOT / "docker-compose.yml"
) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose ARGS`` with the client that ``bin/setup --test`` built (as the
    ``docker`` CLI's plugin when that CLI is installed, else the same binary standalone)."""
    plugin_dir = REPO_ROOT / ".local-stack" / "docker"
    if not (plugin_dir / "cli-plugins" / "docker-compose").exists():
        if shutil.which("go") is None:
            pytest.skip("the docker compose client is not built and Go is missing to build it (bin/setup --test)")
        built = subprocess.run(
            [str(REPO_ROOT / "deploy" / "local" / "compose-client.sh")], capture_output=True, text=True, check=False
        )
        assert built.returncode == 0, built.stderr
    docker = shutil.which("docker")
    command = [docker, "compose"] if docker else [str(plugin_dir / "cli-plugins" / "docker-compose")]
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **env}
    full_env["DOCKER_CONFIG"] = str(plugin_dir)
    return subprocess.run(
        # an empty --env-file: a developer's .env must not satisfy or change what is checked
        [*command, "-f", str(file), "--env-file", os.devnull, *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


COMPOSE_ENV = {"RADAR_API_KEYS": "example-admin-key=northside-imaging:admin"}


def test_docker_compose_config_accepts_the_file() -> None:
    result = docker_compose("config", "--format", "json", env=COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert {"kafka", "elasticsearch", "ingest", "sentiment-worker", "search"} <= set(resolved["services"])
    # interpolation happened: the key reached every Radar service that reads it
    assert resolved["services"]["ingest"]["environment"]["RADAR_API_KEYS"] == COMPOSE_ENV["RADAR_API_KEYS"]


def test_docker_compose_config_refuses_a_missing_api_key_and_a_broken_file() -> None:
    missing = docker_compose("config", "--quiet", env={})
    assert missing.returncode != 0
    assert "RADAR_API_KEYS" in missing.stderr
    broken = REPO_ROOT / f".docker-compose-broken-{os.getpid()}.yml"  # beside the real one: same paths
    broken.write_text((REPO_ROOT / "docker-compose.yml").read_text().replace("healthcheck:", "helthcheck:", 1))
    try:
        bad = docker_compose("config", "--quiet", env=COMPOSE_ENV, file=broken)
    finally:
        broken.unlink()
    assert bad.returncode != 0
    assert "helthcheck" in bad.stderr


def schema_errors(instance: Any) -> list[str]:
    validator = Draft202012Validator(compose_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_the_compose_schema_check_is_live() -> None:
    """A misspelt key is caught, so a passing check above means something."""
    assert schema_errors({"services": {"x": {"image": "a", "helthcheck": {}}}})
    assert schema_errors({"services": {"x": {"image": "a", "healthcheck": {"test": ["CMD"], "intervall": "5s"}}}})
    assert schema_errors({"services": {"x": {"image": "a", "depends_on": {"y": {"condition": "when_ready"}}}}})


def test_compose_references_resolve(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "elasticsearch", *APIS, *WORKERS, "prometheus"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in service:
            assert (REPO_ROOT / service["build"]["dockerfile"]).is_file()
        if name not in {"kafka", "elasticsearch", "prometheus"}:
            assert service["stop_grace_period"] == "30s"
            assert float(service["environment"]["RADAR_SHUTDOWN_GRACE_S"]) < 30
    assert services["prometheus"]["profiles"] == ["monitoring"]


def test_every_radar_process_has_a_health_check_and_is_scraped(compose: dict[str, Any]) -> None:
    services = compose["services"]
    scrape = yaml.safe_load((REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    for name in WORKERS:
        env = services[name]["environment"]
        port = env["RADAR_METRICS_PORT"]
        assert env["RADAR_HEALTH_URL"] == f"http://127.0.0.1:{port}/readyz"
        assert "healthcheck" in services[name]
        assert f"{name}:{port}" in targets
    for name, port in APIS.items():
        assert f"{name}:{port}" in targets
        assert services[name]["ports"] == [f"{port}:{port}"]  # the image's HEALTHCHECK probes this port
    for name in ("kafka", "elasticsearch"):
        assert "healthcheck" in services[name] and services[name]["volumes"]


def test_dockerfiles_are_multi_stage_non_root_with_a_health_check() -> None:
    dockerfiles = sorted((REPO_ROOT / "deploy" / "docker").glob("*.Dockerfile"))
    assert {p.name for p in dockerfiles} == {f"{n}.Dockerfile" for n in ("ingest", "sentiment", "search", "alerts")}
    for path in dockerfiles:
        text = path.read_text()
        assert len(re.findall(r"^FROM ", text, re.M)) >= 2, path.name
        assert re.search(r"^USER radar$", text, re.M), path.name
        assert "HEALTHCHECK" in text, path.name
        for source in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(\S+(?: \S+)*) \S+$", text, re.M):
            for item in source.split():
                assert (REPO_ROOT / item).exists(), f"{path.name} copies missing {item}"
    sentiment = (REPO_ROOT / "deploy" / "docker" / "sentiment.Dockerfile").read_text()
    assert "COPY models/review-sentiment" in sentiment and "COPY models/topic-embedder" in sentiment
    search = (REPO_ROOT / "deploy" / "docker" / "search.Dockerfile").read_text()  # the reply guard's model
    assert "COPY models/reply-guard" in search and "COPY models/topic-embedder" in search
    for path in dockerfiles:  # Python's venv seeds setuptools 65.5 (CVE-2022-40897): upgraded first
        assert '"setuptools>=78.1.1"' in path.read_text(), path.name


# --- Kubernetes ------------------------------------------------------------------------------


def k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    objects = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objects.append((path, doc))
    return objects


@pytest.mark.parametrize("path", sorted(K8S_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_kubernetes_objects_validate_against_the_bundled_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_kubernetes_validation_is_live() -> None:
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_kubernetes_objects_fit_together() -> None:
    objects = k8s_objects()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, doc in objects:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind["Deployment"]
    assert set(deployments) == {f"radar-{n}" for n in (*APIS, *WORKERS)}
    config = by_kind["ConfigMap"]["radar-config"]["data"]
    grace = float(config["RADAR_SHUTDOWN_GRACE_S"])
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        assert pod["spec"]["terminationGracePeriodSeconds"] > grace, name
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["spec"]["containers"]
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["path"] in {"/healthz", "/readyz"}, name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert container["image"].split(":")[0].removeprefix("radar/") in {"ingest", "sentiment", "search", "alerts"}
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for kind in ("Service", "PodDisruptionBudget"):
        for name, doc in by_kind[kind].items():
            selector = doc["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert any(selector.items() <= lab.items() for lab in labels), f"{kind} {name} selects nothing"
    (hpa,) = by_kind["HorizontalPodAutoscaler"].values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "radar-sentiment-worker"
    assert hpa["spec"]["maxReplicas"] <= int(config["RADAR_TOPIC_PARTITIONS"])  # more would idle


def test_the_secret_template_holds_no_real_secret() -> None:
    (secret,) = [doc for _, doc in k8s_objects() if doc["kind"] == "Secret"]
    for name, value in secret["stringData"].items():
        assert value == "" or "REPLACE-ME" in value, name
