"""The Helm chart (deploy/helm/loandesk), rendered as ``helm template`` renders it and checked
against the Kubernetes schemas and against the code (settings, CLI commands, health routes).

No helm binary is available here: deploy/helm/render is a small Go program on Debian's Go,
Sprig and sigs.k8s.io/yaml that renders the chart with Helm 3's template functions (its
docstring says what it covers). It is built once per run; without Go the tests skip (CI
installs it, .ci/run). The manifests are validated with kubernetes-validate (the OpenAPI
schemas of each Kubernetes version, bundled, offline), strictly: an unknown field fails. Like
every deployment check they run in the SQLite pass only (tests/deploy/conftest.py).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from loandesk.app import create_app
from loandesk.jobs.runtime import jobs
from loandesk.settings import Settings
from tests.deploy.test_compose import resolve_command, setting_names

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "loandesk"
RENDERER = ROOT / "deploy" / "helm" / "render"
INLINE = CHART / "ci" / "inline-secrets-values.yaml"
EXTERNAL = CHART / "ci" / "external-values.yaml"
GOPATH = Path("/usr/share/gocode")
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest the
# validator knows.
KUBE_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())

# The settings that are secret: never in the ConfigMap, always from a Secret.
SECRET_SETTINGS = {
    "LOANDESK_SECRET_KEY",
    "LOANDESK_MASTER_KEY",
    "LOANDESK_PREVIOUS_MASTER_KEYS",
    "LOANDESK_DATABASE_URL",
    "LOANDESK_MIGRATION_DATABASE_URL",
    "LOANDESK_REDIS_URL",
    "LOANDESK_METRICS_TOKEN",
    "LOANDESK_S3_ACCESS_KEY",
    "LOANDESK_S3_SECRET_KEY",
}
# Set by the chart itself (the image's paths, production mode), not through values.
CHART_SETTINGS = {"LOANDESK_ENV", "LOANDESK_INSTANCE_PATH", "LOANDESK_TEMPLATES_PATH"}
# The one variable a pod gets that is not a LoanDesk setting: prometheus_client's.
OTHER_ENV = {"PROMETHEUS_MULTIPROC_DIR"}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/github.com/Masterminds/sprig").is_dir():
        pytest.skip(
            "needs Go and Debian's golang-github-masterminds-sprig-dev and "
            "golang-k8s-sigs-yaml-dev (.ci/run installs them) to build deploy/helm/render"
        )
    binary = tmp_path_factory.mktemp("helm") / "render"
    env = os.environ | {
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(tmp_path_factory.mktemp("gocache")),
        "GOFLAGS": "",
    }
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=RENDERER,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return binary


def run(renderer: Path, *args: str, chart: Path = CHART) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(renderer), "--name", "ld", "--namespace", "lending", *args, str(chart)],
        capture_output=True,
        text=True,
        check=False,
    )


def render(renderer: Path, *args: str, chart: Path = CHART) -> list[Manifest]:
    result = run(renderer, *args, chart=chart)
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert docs and all(isinstance(doc, dict) for doc in docs)
    return docs


def values(renderer: Path, *args: str) -> dict[str, Any]:
    result = run(renderer, "-show-values", *args)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def schema() -> dict[str, Any]:
    loaded = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_templates(docs: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def decoded(secret: Manifest) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def inline_values() -> dict[str, Any]:
    loaded = yaml.safe_load(INLINE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def inline(renderer: Path) -> list[Manifest]:
    """The chart's defaults with the secrets given inline (the chart makes the Secrets)."""
    return render(renderer, "-f", str(INLINE))


@pytest.fixture(scope="module")
def external(renderer: Path) -> list[Manifest]:
    """Managed PostgreSQL/Redis via an existing Secret, s3, no autoscaling, metrics on."""
    return render(renderer, "-f", str(EXTERNAL))


# --- values and their schema ----------------------------------------------------------------


def test_values_files_match_the_schema(renderer: Path) -> None:
    """What Helm checks before it renders: the values the templates see, against the schema."""
    for args in ([], ["-f", str(INLINE)], ["-f", str(EXTERNAL)]):
        jsonschema.validate(values(renderer, *args), schema())


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        (
            {"settings": {"LOANDESK_BASE_URL": "https://x.cn", "LOANDESK_NOPE": "1"}},
            "LOANDESK_NOPE",
        ),
        # a secret setting belongs under secrets, never in the ConfigMap
        ({"settings": {"LOANDESK_BASE_URL": "https://x.cn", "LOANDESK_MASTER_KEY": "k"}}, "MASTER"),
        # a number would reach the ConfigMap as Helm prints a YAML number: 1.048576e+07
        ({"settings": {"LOANDESK_ATTACHMENT_MAX_SIZE": 10485760}}, "10485760"),
        ({"settings": {"LOANDESK_STORAGE_BACKEND": "ftp"}}, "ftp"),
        ({"web": {"autoscaling": {"minReplicas": 0}}}, "less than the minimum of 1"),
        ({"secrets": {"redisUrl": "http://redis"}}, "http://redis"),
        ({"replicas": 3}, "replicas"),
        # a worker group serves the queues it names
        ({"workerGroups": [{"name": "cob"}]}, "'queues' is a required property"),
        ({"workerGroups": [{"name": "COB", "queues": ["cob"]}]}, "COB"),
    ],
)
def test_schema_refuses_wrong_values(
    renderer: Path, tmp_path: Path, override: dict[str, Any], complaint: str
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    with pytest.raises(jsonschema.ValidationError, match=complaint):
        jsonschema.validate(values(renderer, "-f", str(INLINE), "-f", str(path)), schema())


def test_schema_names_every_non_secret_setting_and_no_other() -> None:
    names = set(schema()["properties"]["settings"]["propertyNames"]["enum"])
    assert setting_names() >= SECRET_SETTINGS | CHART_SETTINGS
    assert names == setting_names() - SECRET_SETTINGS - CHART_SETTINGS


# --- the manifests against the Kubernetes schemas -------------------------------------------


@pytest.mark.parametrize("values_file", [INLINE, EXTERNAL], ids=["inline", "external"])
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_validates(renderer: Path, values_file: Path, kube_version: str) -> None:
    docs = render(renderer, "-f", str(values_file), "--kube-version", f"v{kube_version}")
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            first = str(exc).splitlines()[0]
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} on {kube_version}: {first}")


def test_validator_and_renderer_refuse_broken_manifests(
    renderer: Path, inline: list[Manifest], tmp_path: Path
) -> None:
    web = one(inline, "Deployment", "ld-loandesk-web")
    pod = web["spec"]["template"]["spec"]
    broken = yaml.safe_load(yaml.safe_dump(web))
    broken["spec"]["template"]["spec"]["containres"] = broken["spec"]["template"]["spec"].pop(
        "containers"
    )
    with pytest.raises(kubernetes_validate.ValidationError, match="containers"):
        kubernetes_validate.validate(broken, KUBE_VERSIONS[0], strict=True)
    typo = yaml.safe_load(yaml.safe_dump(web))
    typo["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = pod["containers"][0][
        "readinessProbe"
    ]
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessprobe"):
        kubernetes_validate.validate(typo, KUBE_VERSIONS[0], strict=True)
    wrong_type = yaml.safe_load(yaml.safe_dump(web))
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError, match="two"):
        kubernetes_validate.validate(wrong_type, KUBE_VERSIONS[0], strict=True)

    # a template whose output is not YAML fails the render, as helm does
    chart = tmp_path / "loandesk"
    shutil.copytree(CHART, chart)
    service = chart / "templates" / "service.yaml"
    service.write_text(service.read_text().replace("  ports:", "   ports:"), encoding="utf-8")
    result = run(renderer, "-f", str(INLINE), chart=chart)
    assert result.returncode == 1
    assert "YAML parse error on loandesk/templates/service.yaml" in result.stderr


def test_chart_refuses_an_incomplete_install(renderer: Path, tmp_path: Path) -> None:
    missing = run(renderer)
    assert missing.returncode == 1
    assert "secrets.secretKey is required (or secrets.existingSecret)" in missing.stderr

    no_files = run(renderer, "-f", str(INLINE), "--set", "persistence.enabled=false")
    assert no_files.returncode == 1
    assert "uploaded files would be lost" in no_files.stderr
    on_s3 = run(
        renderer,
        "-f",
        str(INLINE),
        "--set",
        "persistence.enabled=false,settings.LOANDESK_STORAGE_BACKEND=s3",
    )
    assert on_s3.returncode == 0, on_s3.stderr

    no_token = run(renderer, "-f", str(INLINE), "--set", "metrics.enabled=true")
    assert no_token.returncode == 1
    assert "metrics.enabled needs secrets.metricsToken" in no_token.stderr

    old = run(renderer, "-f", str(INLINE), "--kube-version", "v1.24.9")
    assert old.returncode == 1
    assert "incompatible with Kubernetes v1.24.9" in old.stderr


# --- what the manifests mean ----------------------------------------------------------------


def test_migration_runs_before_install_and_upgrade_with_the_owner_url(
    inline: list[Manifest], external: list[Manifest]
) -> None:
    secrets = inline_values()["secrets"]
    job = one(inline, "Job", "ld-loandesk-migrate")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert set(hooks) == {"pre-install", "pre-upgrade"}
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["db", "upgrade"]
    resolve_command(container["args"])
    env = {e["name"]: e for e in container["env"]}
    ref = env["LOANDESK_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert "optional" not in ref
    # its Secret is a hook too, made before the Job (a pre-install hook runs before the
    # release's own Secret exists), holding the owner's URL
    hook_secret = one(inline, "Secret", ref["name"])
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    data = decoded(hook_secret)
    assert data["LOANDESK_MIGRATION_DATABASE_URL"] == secrets["migrationDatabaseUrl"]
    assert data["LOANDESK_DATABASE_URL"] == secrets["databaseUrl"]  # the role it grants to
    # the Job's settings are enough for `loandesk db upgrade` in production mode
    job_env = {n: e["value"] for n, e in env.items() if "value" in e} | data
    settings = Settings.from_env(job_env)
    assert settings.owner_database_url == secrets["migrationDatabaseUrl"]
    assert not settings.is_embedded

    # with an existing Secret, the Job reads the owner URL from it
    job = one(external, "Job", "ld-loandesk-migrate")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["LOANDESK_MIGRATION_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "loandesk-settings", "key": "LOANDESK_MIGRATION_DATABASE_URL"}
    assert not [d for d in external if d["kind"] == "Secret"]

    # no long-running pod ever gets the owner's URL
    for docs in (inline, external):
        for name, pod in pod_templates(docs):
            if name.startswith("Deployment/"):
                names = {e["name"] for c in pod["containers"] for e in c.get("env", [])}
                assert "LOANDESK_MIGRATION_DATABASE_URL" not in names, name
    app_secret = decoded(one(inline, "Secret", "ld-loandesk"))
    assert "LOANDESK_MIGRATION_DATABASE_URL" not in app_secret


@pytest.mark.slow
def test_migration_job_environment_runs_db_upgrade(inline: list[Manifest], tmp_path: Path) -> None:
    """`loandesk db upgrade` starts in production mode with the Job's environment and nothing
    else: its variables and its hook Secret's, the database URLs pointed at a SQLite file and
    the image's paths at this checkout."""
    job = one(inline, "Job", "ld-loandesk-migrate")
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env |= decoded(one(inline, "Secret", "ld-loandesk-migration"))
    database = f"sqlite:///{tmp_path / 'loandesk.sqlite3'}"
    env |= {
        "LOANDESK_DATABASE_URL": database,
        "LOANDESK_MIGRATION_DATABASE_URL": database,
        "LOANDESK_INSTANCE_PATH": str(tmp_path),
        "LOANDESK_TEMPLATES_PATH": str(ROOT / "templates"),
    }
    loandesk = Path(sys.executable).parent / "loandesk"
    result = subprocess.run(
        [str(loandesk), *container["args"]],
        env=env | {"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at ")


def test_web_and_worker_scale_the_scheduler_does_not(
    inline: list[Manifest], external: list[Manifest]
) -> None:
    hpas = {
        d["spec"]["scaleTargetRef"]["name"]: d
        for d in inline
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert set(hpas) == {"ld-loandesk-web", "ld-loandesk-worker"}
    for target, hpa in hpas.items():
        deployment = one(inline, "Deployment", target)
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert "replicas" not in deployment["spec"]  # the autoscaler owns the count
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        pdb = one(inline, "PodDisruptionBudget", target)
        assert (
            pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        )

    assert not [d for d in external if d["kind"] == "HorizontalPodAutoscaler"]
    assert one(external, "Deployment", "ld-loandesk-web")["spec"]["replicas"] == 3
    worker = one(external, "Deployment", "ld-loandesk-worker")
    assert worker["spec"]["replicas"] == 4
    args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:5] == ["worker", "--queue", "default", "--queue", "events"]
    resolve_command(args)
    # a worker group: its own values over worker's
    cob = one(external, "Deployment", "ld-loandesk-worker-cob")
    assert cob["spec"]["replicas"] == 2
    assert cob["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 3600
    assert cob["spec"]["template"]["spec"]["containers"][0]["args"][:3] == [
        "worker",
        "--queue",
        "cob",
    ]
    assert cob["spec"]["selector"]["matchLabels"] != worker["spec"]["selector"]["matchLabels"]
    pdb = one(external, "PodDisruptionBudget", "ld-loandesk-worker-cob")
    assert pdb["spec"]["selector"]["matchLabels"] == cob["spec"]["selector"]["matchLabels"]

    for docs in (inline, external):
        scheduler = one(docs, "Deployment", "ld-loandesk-scheduler")
        assert scheduler["spec"]["replicas"] == 1
        assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
        container = scheduler["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["scheduler"]
        resolve_command(container["args"])
        assert not [
            d
            for d in docs
            if d["kind"] in ("HorizontalPodAutoscaler", "PodDisruptionBudget")
            and "scheduler" in d["metadata"]["name"]
        ]


def test_every_queue_has_a_worker(
    inline: list[Manifest], external: list[Manifest], tmp_path: Path
) -> None:
    """Named queues leave the others to worker groups: together they serve every queue."""
    app = create_app(Settings(instance_path=tmp_path))
    with app.app_context():
        queues = set(jobs().queues)
    assert {"default", "events", "cob"} <= queues
    for docs in (inline, external):
        served: set[str] = set()
        for _, pod in pod_templates(docs):
            args = pod["containers"][0]["args"]
            if args[0] != "worker":
                continue
            resolve_command(args)
            named = {args[i + 1] for i, arg in enumerate(args) if arg == "--queue"}
            served |= named or queues
        assert served == queues


def test_worker_groups_autoscale_like_the_worker(renderer: Path, tmp_path: Path) -> None:
    groups = tmp_path / "groups.yaml"
    groups.write_text(
        yaml.safe_dump({"workerGroups": [{"name": "cob", "queues": ["cob"]}]}), encoding="utf-8"
    )
    docs = render(renderer, "-f", str(INLINE), "-f", str(groups))
    hpa = one(docs, "HorizontalPodAutoscaler", "ld-loandesk-worker-cob")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "ld-loandesk-worker-cob"
    assert "replicas" not in one(docs, "Deployment", "ld-loandesk-worker-cob")["spec"]
    jsonschema.validate(values(renderer, "-f", str(INLINE), "-f", str(groups)), schema())


def test_set_overrides_values_as_helm_does(renderer: Path) -> None:
    docs = render(renderer, "-f", str(INLINE), "--set", "worker.autoscaling.enabled=false")
    hpas = [d["metadata"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpas == ["ld-loandesk-web"]
    assert one(docs, "Deployment", "ld-loandesk-worker")["spec"]["replicas"] == 2


def test_large_numbers_render_as_integers(renderer: Path, tmp_path: Path) -> None:
    """Helm reads values as floats and prints 10000000 as 1e+07: the templates say `int`."""
    big = tmp_path / "big.yaml"
    big.write_text(
        yaml.safe_dump(
            {
                "migration": {"activeDeadlineSeconds": 10_000_000},
                "worker": {"terminationGracePeriodSeconds": 1_000_000},
            }
        ),
        encoding="utf-8",
    )
    docs = render(renderer, "-f", str(INLINE), "-f", str(big))
    job = one(docs, "Job", "ld-loandesk-migrate")
    assert job["spec"]["activeDeadlineSeconds"] == 10_000_000
    worker = one(docs, "Deployment", "ld-loandesk-worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] == 1_000_000


def test_pods_get_only_loandesk_settings(inline: list[Manifest], external: list[Manifest]) -> None:
    for docs, existing in ((inline, None), (external, "loandesk-settings")):
        config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
        secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
        for name, pod in pod_templates(docs):
            for container in pod["containers"]:
                names: list[str] = []
                for source in container.get("envFrom", []):
                    assert set(source) == {"configMapRef"}, f"{name}: only the ConfigMap"
                    names += config_maps[source["configMapRef"]["name"]]["data"]
                for entry in container.get("env", []):
                    names.append(entry["name"])
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref is not None:
                        assert ref["key"] == entry["name"], name
                        assert ref["name"] in secrets or ref["name"] == existing, name
                        if ref["name"] in secrets and not ref.get("optional"):
                            assert ref["key"] in secrets[ref["name"]]["data"], name
                unknown = set(names) - setting_names() - OTHER_ENV
                assert unknown == set(), f"{name}: not LoanDesk settings"
                assert len(names) == len(set(names)), f"{name}: a variable set twice"


def test_web_pod_settings_start_production_mode(inline: list[Manifest]) -> None:
    """The web pod's environment, as Kubernetes would assemble it, is read by the settings."""
    config = one(inline, "ConfigMap", "ld-loandesk")["data"]
    secret = decoded(one(inline, "Secret", "ld-loandesk"))
    settings = Settings.from_env(config | secret)
    assert settings.env == "production"
    assert settings.base_url == "https://loans.example.cn"
    assert settings.trusted_proxies == 1
    assert settings.redis_url == inline_values()["secrets"]["redisUrl"]
    assert str(settings.instance_path) == "/var/lib/loandesk"


def test_no_secret_in_the_config_map(inline: list[Manifest], external: list[Manifest]) -> None:
    secret_values = [v for v in inline_values()["secrets"].values() if v]
    for docs in (inline, external):
        data = one(docs, "ConfigMap", "ld-loandesk")["data"]
        assert set(data) & SECRET_SETTINGS == set()
        text = yaml.safe_dump(data)
        assert not [v for v in secret_values if v in text]
    # nor in plain sight anywhere but the Secrets (base64 there)
    for doc in inline:
        if doc["kind"] != "Secret":
            text = yaml.safe_dump(doc)
            assert not [v for v in secret_values if v in text], doc["metadata"]["name"]


def test_probes_ask_the_health_routes(inline: list[Manifest], tmp_path: Path) -> None:
    routes = {
        rule.rule for rule in create_app(Settings(instance_path=tmp_path)).url_map.iter_rules()
    }
    web = one(inline, "Deployment", "ld-loandesk-web")["spec"]["template"]["spec"]
    container = web["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/healthz", "/readyz"} <= routes
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    args = container["args"]
    resolve_command(args)
    assert args[args.index("--port") + 1] == "8000"
    service = one(inline, "Service", "ld-loandesk")
    assert (
        service["spec"]["selector"]
        == one(inline, "Deployment", "ld-loandesk-web")["spec"]["selector"]["matchLabels"]
    )
    ingress = one(inline, "Ingress", "ld-loandesk")
    assert ingress["spec"]["rules"][0]["host"] == "loans.example.cn"  # from LOANDESK_BASE_URL
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "ld-loandesk", "port": {"name": "http"}}


def test_metrics_are_scraped_from_web_and_worker_pods(external: list[Manifest]) -> None:
    web = one(external, "Deployment", "ld-loandesk-web")["spec"]["template"]
    annotations = web["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == "8000"
    container = web["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOANDESK_METRICS_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "loandesk-settings"
    folder = env["PROMETHEUS_MULTIPROC_DIR"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in web["spec"]["volumes"] if v["name"] == mounts[folder])
    assert volume["emptyDir"]["medium"] == "Memory"
    # workers count the jobs' metrics and answer /metrics themselves
    for name in ("ld-loandesk-worker", "ld-loandesk-worker-cob"):
        worker = one(external, "Deployment", name)["spec"]["template"]
        container = worker["spec"]["containers"][0]
        resolve_command(container["args"])
        port = container["args"][container["args"].index("--metrics-port") + 1]
        assert worker["metadata"]["annotations"]["prometheus.io/port"] == port
        assert worker["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
        assert container["ports"] == [
            {"name": "metrics", "containerPort": int(port), "protocol": "TCP"}
        ]
        env = {e["name"] for e in container["env"]}
        assert "LOANDESK_METRICS_TOKEN" in env
        assert "PROMETHEUS_MULTIPROC_DIR" not in env  # one process: its own registry


def test_no_metrics_address_unless_asked(inline: list[Manifest]) -> None:
    for _, pod in pod_templates(inline):
        for container in pod["containers"]:
            assert "--metrics-port" not in container["args"]
            assert all(p["name"] != "metrics" for p in container.get("ports", []))


def test_pods_run_unprivileged_with_limits(
    inline: list[Manifest], external: list[Manifest]
) -> None:
    for docs in (inline, external):
        for name, pod in pod_templates(docs):
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert pod["securityContext"]["runAsUser"] == 10001, name  # the image's user
            assert pod["automountServiceAccountToken"] is False, name
            volumes = {v["name"] for v in pod["volumes"]}
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] is True, name
                assert security["allowPrivilegeEscalation"] is False, name
                assert set(container["resources"]) == {"requests", "limits"}, name
                # the places the app writes are volumes: the instance folder and /tmp
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert {"/var/lib/loandesk", "/tmp"} <= set(mounts), name
                assert set(mounts.values()) <= volumes, name
