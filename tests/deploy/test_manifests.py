"""Deployment artefacts: the Kubernetes manifests, the Dockerfile and .dockerignore.

No cluster and no Docker engine are needed: every file is parsed and the invariants that make
the deployment work are checked against each other (ports, probe paths, labels, the non-root
user, the Secret, the shutdown timing) and against the build (CMakeLists.txt,
scripts/install-deps.sh, src/cli/config.c).
"""

import fnmatch
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# Manifests kept beside the kustomization but applied on their own (see kustomization.yaml).
NOT_IN_KUSTOMIZATION = {"migrate-job.yaml"}

# pkg-config modules / CMake packages -> (Debian build package, Debian runtime package).
# None: not linked into the server binary (tests only) or nothing to install.
LIBRARIES = {
    "libmicrohttpd": ("libmicrohttpd-dev", "libmicrohttpd12"),
    "jansson": ("libjansson-dev", "libjansson4"),
    "sqlite3": ("libsqlite3-dev", "libsqlite3-0"),
    "libzstd": ("libzstd-dev", "libzstd1"),
    "libpq": ("libpq-dev", "libpq5"),
    "PostgreSQL": ("libpq-dev", "libpq5"),
    "libcurl": ("libcurl4-openssl-dev", "libcurl4"),
    "CURL": ("libcurl4-openssl-dev", "libcurl4"),
    "openssl": ("libssl-dev", "libssl3"),
    "libssl": ("libssl-dev", "libssl3"),
    "libcrypto": ("libssl-dev", "libssl3"),
    "OpenSSL": ("libssl-dev", "libssl3"),
    "ZLIB": ("zlib1g-dev", "zlib1g"),
    "zlib": ("zlib1g-dev", "zlib1g"),
    "cmocka": None,
    "Threads": None,
    "PkgConfig": None,
}


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def manifest_files():
    return sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_docs(name):
    with open(K8S / name, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


@pytest.fixture(scope="module")
def objects():
    """Every Kubernetes object of deploy/kubernetes, by kind (one object per kind expected)."""
    by_kind = {}
    for name in manifest_files():
        for doc in load_docs(name):
            assert doc["kind"] not in by_kind, f"two objects of kind {doc['kind']}"
            by_kind[doc["kind"]] = doc
    return by_kind


@pytest.fixture(scope="module")
def deployment(objects):
    return objects["Deployment"]


@pytest.fixture(scope="module")
def pod(deployment):
    return deployment["spec"]["template"]


@pytest.fixture(scope="module")
def container(pod):
    containers = pod["spec"]["containers"]
    assert len(containers) == 1, "one serac container per pod"
    return containers[0]


@pytest.fixture(scope="module")
def config(objects):
    return objects["ConfigMap"]["data"]


def resolve_port(container, port):
    """The container port number a probe or a Service targetPort names (number or name)."""
    for p in container["ports"]:
        if port in (p["containerPort"], p.get("name")):
            return p["containerPort"]
    raise AssertionError(f"port {port!r} is not a port of container {container['name']}")


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


# ---------------------------------------------------------------------------------------------
# Dockerfile parsing
# ---------------------------------------------------------------------------------------------

def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def dockerfile_stages():
    """A list of stages, each {'from': image, 'name': alias, 'instructions': [...]}."""
    stages = []
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            parts = rest.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"from": parts[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((word, rest))
    return stages


def apt_packages(stage):
    """Packages installed by `apt-get install` in a stage's RUN instructions."""
    pkgs = set()
    for word, rest in stage["instructions"]:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            tokens = shlex.split(command)
            if len(tokens) >= 2 and tokens[0] == "apt-get" and "install" in tokens:
                after = tokens[tokens.index("install") + 1:]
                pkgs.update(t for t in after if not t.startswith("-"))
    return pkgs


def last(stage, word):
    values = [rest for w, rest in stage["instructions"] if w == word]
    return values[-1] if values else None


def cmake_libraries():
    """Names of the libraries CMakeLists.txt looks for (pkg-config modules, find_package)."""
    text = re.sub(r"#.*", "", (ROOT / "CMakeLists.txt").read_text(encoding="utf-8"))
    names = set()
    for args in re.findall(r"pkg_check_modules\s*\(([^)]*)\)", text, re.I):
        tokens = args.split()[1:]  # the first token is the variable prefix
        for t in tokens:
            if t.isupper():  # REQUIRED, IMPORTED_TARGET, QUIET, ...
                continue
            names.add(re.split(r"[<>=]", t)[0])
    for args in re.findall(r"find_package\s*\(([^)]*)\)", text, re.I):
        names.add(args.split()[0])
    return names


# ---------------------------------------------------------------------------------------------
# Kubernetes: the set of manifests
# ---------------------------------------------------------------------------------------------

def test_kustomization_lists_every_manifest():
    kust = load_docs("kustomization.yaml")[0]
    assert kust["kind"] == "Kustomization"
    listed = kust["resources"]
    assert len(listed) == len(set(listed)), "a manifest is listed twice"
    for name in listed:
        assert (K8S / name).is_file(), f"kustomization.yaml lists missing {name}"
    assert set(listed) == set(manifest_files()) - NOT_IN_KUSTOMIZATION
    for name in NOT_IN_KUSTOMIZATION:
        assert name not in listed


def test_kustomization_image_names_the_container_image(container):
    kust = load_docs("kustomization.yaml")[0]
    names = {i["name"] for i in kust.get("images", [])}
    assert container["image"].split(":")[0] in names


@pytest.mark.parametrize("name", manifest_files())
def test_manifest_is_namespace_agnostic(name):
    docs = load_docs(name)
    assert docs, f"{name} holds no object"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), name
        meta = doc["metadata"]
        assert meta.get("name"), f"{name}: an object without a name"
        assert "namespace" not in meta, f"{name}: {doc['kind']} names a namespace"
        assert meta.get("labels", {}).get("app.kubernetes.io/name") == "serac"


# ---------------------------------------------------------------------------------------------
# Deployment
# ---------------------------------------------------------------------------------------------

def test_deployment_runs_three_replicas_of_its_own_pods(deployment, pod):
    spec = deployment["spec"]
    assert deployment["apiVersion"] == "apps/v1"
    assert spec["replicas"] == 3
    assert selects(spec["selector"]["matchLabels"], pod["metadata"]["labels"])
    # A rolling update never drops below the ready count.
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_container_serves_on_the_configured_port(container, config):
    (port,) = container["ports"]
    assert port["containerPort"] == 8181
    assert int(config["SERAC_PORT"]) == port["containerPort"]
    assert config["SERAC_HOST"] == "0.0.0.0"
    assert container["args"][0] == "serve"


def test_probes_hit_the_health_endpoints_on_the_container_port(container):
    live, ready = container["livenessProbe"], container["readinessProbe"]
    assert live["httpGet"]["path"] == "/health/live"
    assert ready["httpGet"]["path"] == "/health/ready"
    for probe in (live, ready, container.get("startupProbe")):
        if probe is None:
            continue
        assert resolve_port(container, probe["httpGet"]["port"]) == 8181
    # The startup probe (migrations run before the server listens) must not depend on the
    # store, or a slow database would restart pods in a loop.
    if "startupProbe" in container:
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_every_container_has_requests_and_limits(container):
    res = container["resources"]
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(res[part]), f"resources.{part} needs cpu and memory"


def test_pod_runs_as_non_root_with_a_read_only_root(pod, container):
    psc = pod["spec"]["securityContext"]
    csc = container["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] != 0
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert "ALL" in csc["capabilities"]["drop"]
    assert csc.get("privileged", False) is False


def test_tmp_is_a_writable_empty_dir(pod, container):
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts, "a read-only root needs a writable /tmp"
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert not mounts["/tmp"].get("readOnly", False)


def test_termination_grace_covers_pre_stop_and_drain(pod, container, config):
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    assert pre_stop > 0
    drain = int(config["SERAC_SHUTDOWN_GRACE_MS"]) / 1000
    assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop + drain


def test_deployment_takes_its_settings_from_the_config_map(container, objects):
    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
    assert objects["ConfigMap"]["metadata"]["name"] in refs


def test_deployment_reads_the_store_url_from_the_secret(container, objects):
    secret = objects["Secret"]
    name = secret["metadata"]["name"]
    keys = set(secret["stringData"])
    from_env = [e for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
    from_env_from = [e for e in container.get("envFrom", []) if "secretRef" in e]
    ok = any(e["name"] == "SERAC_STORE" and e["valueFrom"]["secretKeyRef"]["name"] == name and
             e["valueFrom"]["secretKeyRef"]["key"] in keys for e in from_env)
    ok = ok or any(e["secretRef"]["name"] == name and "SERAC_STORE" in keys
                   for e in from_env_from)
    assert ok, "SERAC_STORE must come from the Secret"


# ---------------------------------------------------------------------------------------------
# ConfigMap and Secret
# ---------------------------------------------------------------------------------------------

def known_settings():
    text = (ROOT / "src" / "cli" / "config.c").read_text(encoding="utf-8")
    return set(re.findall(r'"(SERAC_[A-Z_]+)"', text))


def test_config_map_holds_only_real_settings(config):
    settings = known_settings()
    assert settings, "no SERAC_* names found in src/cli/config.c"
    for key, value in config.items():
        assert key in settings, f"{key} is not a serac setting (see `serac help`)"
        assert isinstance(value, str), f"{key}: ConfigMap values must be strings"
    assert "SERAC_STORE" not in config, "the store URL carries a password: Secret only"


def test_config_map_sizes_workers_explicitly(config):
    # The default (4 per CPU) counts the node's CPUs, not the container's limit, and every
    # worker holds a database connection.
    assert int(config["SERAC_WORKERS"]) > 0


def test_secret_is_a_marked_postgres_placeholder(objects):
    secret = objects["Secret"]
    assert secret.get("type", "Opaque") == "Opaque"
    url = secret["stringData"]["SERAC_STORE"]
    assert urlparse(url).scheme in ("postgres", "postgresql")
    assert "REPLACE" in url.upper()
    assert "replace me" in (K8S / "secret.yaml").read_text(encoding="utf-8").lower()


# ---------------------------------------------------------------------------------------------
# Service, PodDisruptionBudget, HorizontalPodAutoscaler, warehouse volume, migrate Job
# ---------------------------------------------------------------------------------------------

def test_service_targets_the_container_port(objects, pod, container):
    svc = objects["Service"]["spec"]
    assert svc.get("type", "ClusterIP") == "ClusterIP"
    assert selects(svc["selector"], pod["metadata"]["labels"])
    (port,) = svc["ports"]
    assert port["port"] == 8181
    assert resolve_port(container, port["targetPort"]) == 8181


def test_service_does_not_select_the_migrate_job():
    job = load_docs("migrate-job.yaml")[0]
    svc = load_docs("service.yaml")[0]
    assert not selects(svc["spec"]["selector"], job["spec"]["template"]["metadata"]["labels"])


def test_pdb_selects_the_deployment_pods(objects, deployment, pod):
    pdb = objects["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    spec = pdb["spec"]
    assert selects(spec["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert spec.get("minAvailable") == 2 or spec.get("maxUnavailable") == 1
    if "minAvailable" in spec:
        assert spec["minAvailable"] < deployment["spec"]["replicas"], "drains would block"


def test_hpa_scales_the_deployment_on_cpu(objects, deployment, container):
    hpa = objects["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    ref = spec["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == (
        "apps/v1", "Deployment", deployment["metadata"]["name"])
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10)
    assert spec["minReplicas"] <= deployment["spec"]["replicas"]
    (metric,) = spec["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    # Utilization is a share of the request: without a CPU request the HPA cannot scale.
    assert "cpu" in container["resources"]["requests"]


def test_warehouse_is_one_shared_volume_at_the_configured_location(objects, pod, container,
                                                                   config):
    location = urlparse(config["SERAC_WAREHOUSE_LOCATION"])
    if location.scheme != "file":
        return  # object storage: no volume needed
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v}
    pvc = objects["PersistentVolumeClaim"]
    names = [n for n, claim in claims.items() if claim == pvc["metadata"]["name"]]
    assert names, "the Deployment does not mount the warehouse claim"
    assert location.path.rstrip("/") == mounts[names[0]].rstrip("/")
    # Several pods write the same files at once.
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]


def test_migrate_job_matches_the_deployment(container, pod):
    job = load_docs("migrate-job.yaml")[0]
    assert job["kind"] == "Job"
    spec = job["spec"]["template"]["spec"]
    (mig,) = spec["containers"]
    assert mig["args"] == ["migrate"]
    assert mig["image"] == container["image"]
    assert mig["envFrom"] == container["envFrom"]
    assert mig["env"] == container["env"]
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == pod["spec"]["securityContext"]["runAsUser"]
    assert mig["securityContext"]["readOnlyRootFilesystem"] is True


# ---------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore
# ---------------------------------------------------------------------------------------------

def test_dockerfile_has_a_build_and_a_slim_runtime_stage():
    stages = dockerfile_stages()
    assert len(stages) == 2
    build, runtime = stages
    assert build["from"] == "debian:bookworm"
    assert runtime["from"] == "debian:bookworm-slim"
    copies = [rest for w, rest in runtime["instructions"] if w == "COPY"]
    assert any(f"--from={build['name']}" in c for c in copies), "runtime copies the build output"


def test_dockerfile_builds_release_without_tests():
    build = dockerfile_stages()[0]
    runs = " ".join(rest for w, rest in build["instructions"] if w == "RUN")
    assert "-DCMAKE_BUILD_TYPE=Release" in runs
    assert "-DSERAC_TESTS=OFF" in runs


def test_dockerfile_runtime_user_is_not_root(pod):
    runtime = dockerfile_stages()[-1]
    user = last(runtime, "USER")
    assert user, "the runtime stage sets no USER (it would run as root)"
    uid = user.split(":")[0]
    assert uid not in ("0", "root")
    # Numeric, so Kubernetes' runAsNonRoot can verify it, and the one the pods run as.
    assert uid.isdigit()
    assert int(uid) == pod["spec"]["securityContext"]["runAsUser"]


def test_dockerfile_installs_what_the_build_links():
    build, runtime = dockerfile_stages()
    build_pkgs, runtime_pkgs = apt_packages(build), apt_packages(runtime)
    # The minimal list of scripts/install-deps.sh, without the unit-test framework.
    script = (ROOT / "scripts" / "install-deps.sh").read_text(encoding="utf-8")
    minimal = re.search(r'SERAC_MINIMAL_DEPS.*?PACKAGES=\(([^)]*)\)', script, re.S).group(1)
    for pkg in minimal.split():
        if pkg != "libcmocka-dev":
            assert pkg in build_pkgs, f"build stage lacks {pkg} (install-deps.sh minimal list)"
    for lib in cmake_libraries():
        assert lib in LIBRARIES, f"CMakeLists.txt looks for {lib}: map it in this test and " \
                                 f"install its packages in the Dockerfile"
        if LIBRARIES[lib] is None:
            continue
        dev, rt = LIBRARIES[lib]
        assert dev in build_pkgs, f"build stage lacks {dev} for {lib}"
        assert rt in runtime_pkgs, f"runtime stage lacks {rt} for {lib}"
    # The multi-node deployment runs on PostgreSQL, whatever the build currently links.
    assert "libpq-dev" in build_pkgs and "libpq5" in runtime_pkgs
    assert "ca-certificates" in runtime_pkgs
    for pkg in runtime_pkgs:
        assert not pkg.endswith("-dev") and pkg not in ("build-essential", "cmake", "gcc"), \
            f"runtime stage installs build tool {pkg}"


def test_dockerfile_exposes_and_serves_on_all_addresses(container):
    runtime = dockerfile_stages()[-1]
    assert last(runtime, "EXPOSE").split("/")[0] == str(container["ports"][0]["containerPort"])
    argv = json.loads(last(runtime, "ENTRYPOINT")) + json.loads(last(runtime, "CMD"))
    assert argv[:2] == ["serac", "serve"]
    assert "--host" in argv and argv[argv.index("--host") + 1] == "0.0.0.0"


def test_dockerfile_healthcheck_uses_an_installed_tool():
    runtime = dockerfile_stages()[-1]
    check = last(runtime, "HEALTHCHECK")
    if check is None:
        return  # allowed, as long as the Dockerfile says why
    assert "/health/ready" in check
    if "curl" in check:
        assert "curl" in apt_packages(runtime), "HEALTHCHECK runs curl, which slim lacks"


def test_dockerignore_keeps_the_build_inputs_and_drops_local_state():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions are not checked here"

    def ignored(path):
        parts = path.split("/")
        return any(fnmatch.fnmatch("/".join(parts[:i]), p.rstrip("/"))
                   for p in patterns for i in range(1, len(parts) + 1))

    build = dockerfile_stages()[0]
    for w, rest in build["instructions"]:
        if w == "COPY" and "--from" not in rest:
            for src in rest.split()[:-1]:
                assert not ignored(src.rstrip("/")), f".dockerignore drops {src}, which COPY needs"
                assert (ROOT / src).exists(), f"COPY {src}: no such path in the repository"
    for path in (".git", ".venv", "build", "build-asan", "serac-data", "tests/rck/target"):
        assert ignored(path), f"{path} would be sent to the Docker daemon"
