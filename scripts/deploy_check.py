#!/usr/bin/env python3
"""Checks of the Kubernetes manifests (run by scripts/deploy-check.sh, part of `make test`).

For every overlay given:
  1. render it with the small kustomize subset below (the one the manifests use), and, where
     `kubectl kustomize` (or `kustomize`) exists, check that the real kustomize renders the
     same objects;
  2. validate every object against the Kubernetes schemas (kubernetes-validate, strict);
  3. apply the bank's policy: probes, resource limits, a hardened securityContext, pinned image
     tags, passwords, tokens and secrets only from Secrets, and references that resolve
     (Services, autoscalers, disruption budgets and network policies select something;
     ConfigMap and Secret keys exist unless marked optional).

`--self-test` first proves that the policy rejects what it should.

The renderer knows: `resources` (files and directories), `namespace`, `images`
(`newName`/`newTag`) and `patches` given by `path` (strategic merge, one or more documents,
matched by kind and name). `kubectl apply -k` is what deploys; this is only for checking.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

K8S_VERSION = "1.30.0"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
# Strategic-merge keys of the lists the manifests patch; other lists are replaced.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}
WRITABLE_ROOT_ANNOTATION = "policy.bank.local/writable-root-filesystem"
# Secrets created outside the manifests on purpose (never committed).
EXTERNAL_SECRETS = {"gateway-tls"}
# Settings named like this belong in a Secret: never a ConfigMap key or a literal env value.
SECRET_NAME = re.compile(r"(PASSWORD|_TOKEN|_SECRET)$")


# --- rendering ------------------------------------------------------------------------------


def load_docs(path: Path) -> list[dict]:
    with path.open() as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def strategic_merge(base, patch, field: str | None = None):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = strategic_merge(out[key], value, key)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        out = [copy.deepcopy(item) for item in base]
        for item in patch:
            match = next((i for i, old in enumerate(out) if old.get(key) == item.get(key)), None)
            if match is None:
                out.append(copy.deepcopy(item))
            else:
                out[match] = strategic_merge(out[match], item)
        return out
    return copy.deepcopy(patch)


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"].get("spec")
    if kind in WORKLOADS:
        return obj["spec"]["template"].get("spec")
    return None


def all_containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def set_image(image: str, rules: list[dict]) -> str:
    name, tag = image, None
    if "@" not in image and ":" in image.rsplit("/", 1)[-1]:
        name, tag = image.rsplit(":", 1)
    for rule in rules:
        if rule["name"] == name:
            name = rule.get("newName", name)
            tag = rule.get("newTag", tag)
    return f"{name}:{tag}" if tag else name


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        objects.extend(render(path) if path.is_dir() else load_docs(path))
    for generator in kustomization.get("configMapGenerator", []):
        data = {}
        for entry in generator.get("files", []):
            key, _, file = entry.rpartition("=")
            data[key or Path(file).name] = (directory / file).read_text()
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    for patch in kustomization.get("patches", []):
        for doc in load_docs(directory / patch["path"]):
            targets = [
                i
                for i, obj in enumerate(objects)
                if obj["kind"] == doc["kind"] and obj["metadata"]["name"] == doc["metadata"]["name"]
            ]
            if len(targets) != 1:
                raise SystemExit(f"{directory}: patch for {doc['kind']}/{doc['metadata']['name']} matches {len(targets)} objects")
            objects[targets[0]] = strategic_merge(objects[targets[0]], doc)
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    rules = kustomization.get("images", [])
    if rules:
        for obj in objects:
            spec = pod_spec(obj)
            for container in all_containers(spec or {}):
                container["image"] = set_image(container["image"], rules)
    return objects


def canonical(objects: list[dict]) -> dict:
    """Objects by kind/namespace/name, with order-free lists sorted, for comparison."""

    def norm(value, field=None):
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            if field in ("env", "volumes", "volumeMounts", "ports", "envFrom"):
                items.sort(key=lambda v: json.dumps(v, sort_keys=True))
            return items
        return value

    return {
        f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": norm(o) for o in objects
    }


def real_kustomize(directory: Path) -> list[dict] | None:
    if shutil.which("kustomize"):
        cmd = ["kustomize", "build", str(directory)]
    elif shutil.which("kubectl"):
        cmd = ["kubectl", "kustomize", str(directory)]
    else:
        return None
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


# --- policy ---------------------------------------------------------------------------------


def label_match(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr.get("values", []):
            return False
        if op == "NotIn" and value in expr.get("values", []):
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def policy_problems(objects: list[dict]) -> list[str]:
    problems: list[str] = []
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {
        o["metadata"]["name"]: {**(o.get("data") or {}), **(o.get("stringData") or {})}
        for o in objects
        if o["kind"] == "Secret"
    }
    pods = []  # (workload name, pod labels)
    by_kind_name = {(o["kind"], o["metadata"]["name"]) for o in objects}

    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        kind, name = obj["kind"], obj["metadata"]["name"]
        where = f"{kind}/{name}"
        template = obj["spec"]["jobTemplate"]["spec"]["template"] if kind == "CronJob" else obj["spec"]["template"]
        labels = template.get("metadata", {}).get("labels", {})
        annotations = template.get("metadata", {}).get("annotations", {}) or {}
        pods.append((where, labels))
        if kind in LONG_RUNNING:
            selector = obj["spec"].get("selector", {})
            if not label_match(selector, labels):
                problems.append(f"{where}: selector does not match the pod template's labels")
        pod_sc = spec.get("securityContext") or {}
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{where}: uses the host's namespaces")
        for container in all_containers(spec):
            c = f"{where} container {container['name']}"
            is_init = container in spec.get("initContainers", [])
            image = container.get("image", "")
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if "@" not in image and (not tag or tag == "latest"):
                problems.append(f"{c}: image {image!r} has no pinned tag")
            if kind in LONG_RUNNING and not is_init:
                for probe in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe):
                        problems.append(f"{c}: no {probe}")
            resources = container.get("resources") or {}
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if not (resources.get(section) or {}).get(resource):
                        problems.append(f"{c}: no {section}.{resource}")
            sc = container.get("securityContext") or {}
            run_as_non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            if run_as_non_root is not True:
                problems.append(f"{c}: runAsNonRoot is not true")
            if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
                problems.append(f"{c}: runs as user 0")
            if sc.get("privileged"):
                problems.append(f"{c}: privileged")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{c}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{c}: does not drop ALL capabilities")
            if (sc.get("capabilities") or {}).get("add"):
                problems.append(f"{c}: adds capabilities")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                problems.append(f"{c}: no RuntimeDefault seccomp profile")
            if sc.get("readOnlyRootFilesystem") is not True and not str(annotations.get(WRITABLE_ROOT_ANNOTATION, "")).strip():
                problems.append(f"{c}: root filesystem is writable (set readOnlyRootFilesystem, or annotate the pod with {WRITABLE_ROOT_ANNOTATION}: <reason>)")
            for env in container.get("env", []):
                if "value" in env and SECRET_NAME.search(env["name"]):
                    problems.append(f"{c}: env {env['name']} is a secret given as a literal value (use a secretKeyRef)")
                ref = (env.get("valueFrom") or {})
                # An optional key may be absent (the variable is then unset).
                if "secretKeyRef" in ref and not ref["secretKeyRef"].get("optional"):
                    s = ref["secretKeyRef"]
                    if s["name"] not in secrets or s["key"] not in secrets[s["name"]]:
                        problems.append(f"{c}: env {env['name']} refers to missing secret key {s['name']}/{s['key']}")
                if "configMapKeyRef" in ref and not ref["configMapKeyRef"].get("optional"):
                    m = ref["configMapKeyRef"]
                    if m["name"] not in configmaps or m["key"] not in configmaps[m["name"]]:
                        problems.append(f"{c}: env {env['name']} refers to missing ConfigMap key {m['name']}/{m['key']}")
            for source in container.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in configmaps:
                    problems.append(f"{c}: envFrom missing ConfigMap {source['configMapRef']['name']}")
                if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                    problems.append(f"{c}: envFrom missing Secret {source['secretRef']['name']}")
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                secret = volume["secret"]["secretName"]
                if secret not in secrets and secret not in EXTERNAL_SECRETS:
                    problems.append(f"{where}: volume {volume['name']} refers to missing Secret {secret}")
            if "hostPath" in volume:
                problems.append(f"{where}: volume {volume['name']} is a hostPath")

    for name, data in configmaps.items():
        for key in data or {}:
            if SECRET_NAME.search(key):
                problems.append(f"ConfigMap/{name}: key {key} is a secret (put it in a Secret)")

    def selects_a_pod(selector: dict) -> bool:
        return any(label_match(selector, labels) for _, labels in pods)

    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "Service" and obj["spec"].get("selector"):
            if not selects_a_pod({"matchLabels": obj["spec"]["selector"]}):
                problems.append(f"Service/{name}: selects no pod")
        if kind == "PodDisruptionBudget" and not selects_a_pod(obj["spec"]["selector"]):
            problems.append(f"PodDisruptionBudget/{name}: selects no pod")
        if kind == "NetworkPolicy" and obj["spec"]["podSelector"] and not selects_a_pod(obj["spec"]["podSelector"]):
            problems.append(f"NetworkPolicy/{name}: selects no pod")
        if kind == "NetworkPolicy":
            for rule in obj["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    if "podSelector" in peer and not selects_a_pod(peer["podSelector"]):
                        problems.append(f"NetworkPolicy/{name}: a source selects no pod")
        if kind == "HorizontalPodAutoscaler":
            target = obj["spec"]["scaleTargetRef"]
            if (target["kind"], target["name"]) not in by_kind_name:
                problems.append(f"HorizontalPodAutoscaler/{name}: no {target['kind']}/{target['name']}")
    # A Deployment an autoscaler sizes states no replica count: each `kubectl apply` would reset
    # the autoscaler's count to it (below a prod minimum, or above what the load needs).
    scaled = {
        (o["spec"]["scaleTargetRef"]["kind"], o["spec"]["scaleTargetRef"]["name"])
        for o in objects
        if o["kind"] == "HorizontalPodAutoscaler"
    }
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in scaled and "replicas" in obj["spec"]:
            problems.append(f"{key[0]}/{key[1]}: sets replicas, which its HorizontalPodAutoscaler owns")
    # PostgreSQL needs more shared memory than a container's default 64 MiB /dev/shm (parallel
    # queries, Citus's executor): a memory-backed volume there.
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        memory_volumes = {
            v["name"] for v in spec.get("volumes", []) if v.get("emptyDir", {}).get("medium") == "Memory"
        }
        for container in spec.get("containers", []):
            image = container.get("image", "")
            if image.split("/")[-1].startswith(("postgres:", "citus:")):
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                if mounts.get("/dev/shm") not in memory_volumes:
                    problems.append(
                        f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}: PostgreSQL without a memory-backed /dev/shm"
                    )
    # Every long-running workload of the bank is behind a disruption budget.
    budgets = [o["spec"]["selector"] for o in objects if o["kind"] == "PodDisruptionBudget"]
    for obj in objects:
        if obj["kind"] == "Deployment":
            labels = obj["spec"]["template"]["metadata"]["labels"]
            if not any(label_match(b, labels) for b in budgets):
                problems.append(f"Deployment/{obj['metadata']['name']}: no PodDisruptionBudget")
    return problems


# --- schema validation ----------------------------------------------------------------------


SUBGRAPHS = ("users", "accounts", "transactions", "notifications", "loans", "payments")


def exposure_problems(objects: list[dict]) -> list[str]:
    """Production publishes no schema: introspection and field suggestions off in every
    subgraph (bank-config) and in the router (router-config), GraphiQL off in the gateway; and
    the sandbox's switches are off (customers paying cash into their own accounts,
    back-dating)."""
    maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    wanted = [("bank-config", f"{name.upper()}_GRAPHQL_INTROSPECTION", "false") for name in SUBGRAPHS]
    wanted += [("router-config", "ROUTER_INTROSPECTION", "false"), ("gateway-config", "BANK_GRAPHIQL", "off")]
    problems = [
        f"ConfigMap {cm}: {key} must be {value!r} in production (it is {maps.get(cm, {}).get(key)!r})"
        for cm, key, value in wanted
        if str(maps.get(cm, {}).get(key)) != value
    ]
    # Money from nothing: customers' own cash deposits are a sandbox's, never production's.
    for switch in ("TRANSACTIONS_SELF_DEPOSITS", "TRANSACTIONS_BACKDATING"):
        if str(maps.get("bank-config", {}).get(switch, "false")).lower() == "true":
            problems.append(f"ConfigMap bank-config: {switch} must not be on in production")
    return problems


def database_role_problems(objects: list[dict]) -> list[str]:
    """Each service connects as its own role (bank_<service>, k8s/base/db-roles.sql), which
    reaches its own schema only, never as the database's administrator."""
    problems = []
    for obj in objects:
        if obj["kind"] != "Secret":
            continue
        for key, url in {**obj.get("stringData", {}), **obj.get("data", {})}.items():
            if not key.endswith("_DATABASE_URL") or key.split("_")[0].lower() not in SUBGRAPHS:
                continue
            service = key.split("_")[0].lower()
            user = re.match(r"^[a-z]+://([^:@/]*)", str(url))
            if obj.get("data", {}).get(key) is not None:
                continue  # base64, set by an operator: not checked here
            if not user or user.group(1) != f"bank_{service}":
                problems.append(f"Secret {obj['metadata']['name']}: {key} must connect as bank_{service}, its own role")
    return problems


def schema_problems(objects: list[dict]) -> list[str]:
    import kubernetes_validate

    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            problems.append(f"{obj['kind']}/{obj['metadata'].get('name')}: {err.message} at {'.'.join(map(str, err.path))}")
        except kubernetes_validate.SchemaNotFoundError as err:
            problems.append(f"{obj['kind']}/{obj['metadata'].get('name')}: no schema ({err})")
    return problems


# --- self-test ------------------------------------------------------------------------------

GOOD_DEPLOYMENT_TEXT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo}
spec:
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: demo
          image: example/demo:1.0
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          livenessProbe: {httpGet: {path: /healthz, port: 8080}}
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {cpu: 100m, memory: 64Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: demo}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: demo}}}
"""


def self_test() -> None:
    good = list(yaml.safe_load_all(GOOD_DEPLOYMENT_TEXT))
    assert policy_problems(good) == [], policy_problems(good)

    def broken(mutate) -> list[str]:
        objects = copy.deepcopy(good)
        mutate(objects[0]["spec"]["template"]["spec"]["containers"][0], objects[0]["spec"]["template"]["spec"], objects)
        return policy_problems(objects)

    cases = {
        "no readinessProbe": lambda c, s, o: c.pop("readinessProbe"),
        "no livenessProbe": lambda c, s, o: c.pop("livenessProbe"),
        "no limits.memory": lambda c, s, o: c["resources"]["limits"].pop("memory"),
        "runAsNonRoot is not true": lambda c, s, o: s["securityContext"].pop("runAsNonRoot"),
        "runs as user 0": lambda c, s, o: s["securityContext"].update(runAsUser=0),
        "root filesystem is writable": lambda c, s, o: c["securityContext"].update(readOnlyRootFilesystem=False),
        "allowPrivilegeEscalation is not false": lambda c, s, o: c["securityContext"].pop("allowPrivilegeEscalation"),
        "does not drop ALL capabilities": lambda c, s, o: c["securityContext"].pop("capabilities"),
        "no RuntimeDefault seccomp profile": lambda c, s, o: s["securityContext"].pop("seccompProfile"),
        "has no pinned tag": lambda c, s, o: c.update(image="example/demo:latest"),
        "no PodDisruptionBudget": lambda c, s, o: o.pop(1),
        "refers to missing secret key": lambda c, s, o: c.update(
            env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}]
        ),
        "is a secret given as a literal value": lambda c, s, o: c.update(
            env=[{"name": "X_KAFKA_SASL_PASSWORD", "value": "p"}]
        ),
        "is a secret (put it in a Secret)": lambda c, s, o: o.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"X_KAFKA_SASL_PASSWORD": "p"}}
        ),
    }
    # An autoscaled Deployment with a replica count, and PostgreSQL without /dev/shm.
    objects = copy.deepcopy(good)
    objects[0]["spec"]["replicas"] = 2
    objects.append({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": objects[0]["metadata"]["name"]}},
    })
    if not any("which its HorizontalPodAutoscaler owns" in p for p in policy_problems(objects)):
        raise SystemExit("self-test: an autoscaled Deployment with replicas was not rejected")
    objects = copy.deepcopy(good)
    objects[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "citusdata/citus:13.2.0-pg15"
    if not any("memory-backed /dev/shm" in p for p in policy_problems(objects)):
        raise SystemExit("self-test: PostgreSQL without a memory-backed /dev/shm was not rejected")
    for expected, mutate in cases.items():
        found = broken(mutate)
        if not any(expected in problem for problem in found):
            raise SystemExit(f"self-test: a manifest with '{expected}' was not rejected (got {found})")
    # A writable root filesystem is accepted only with a stated reason.
    objects = copy.deepcopy(good)
    objects[0]["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    objects[0]["spec"]["template"]["metadata"]["annotations"] = {WRITABLE_ROOT_ANNOTATION: "the image writes its config"}
    assert policy_problems(objects) == [], policy_problems(objects)
    # Jobs need no probes.
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {"template": copy.deepcopy(good[0]["spec"]["template"])},
    }
    for c in job["spec"]["template"]["spec"]["containers"]:
        c.pop("readinessProbe"), c.pop("livenessProbe")
    assert policy_problems([job]) == [], policy_problems([job])
    # A key marked optional may be missing.
    objects = copy.deepcopy(good)
    objects[0]["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}}
    ]
    assert policy_problems(objects) == [], policy_problems(objects)
    # The schema check rejects an unknown field.
    bad = copy.deepcopy(good)
    bad[0]["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    if not schema_problems(bad):
        raise SystemExit("self-test: the schema check accepted an unknown field")
    # The renderer's strategic merge keeps unpatched list items.
    merged = strategic_merge(
        {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}, {"env": [{"name": "B", "value": "3"}]}
    )
    assert merged == {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}, merged
    # Production with its schema published (the base's defaults) is rejected, and the prod
    # overlay's patch is what makes it pass.
    base = render(Path(__file__).resolve().parent.parent / "k8s" / "base")
    if len(exposure_problems(base)) != len(SUBGRAPHS) + 2:
        raise SystemExit(f"self-test: introspection left on was not rejected ({exposure_problems(base)})")
    sandbox = render(Path(__file__).resolve().parent.parent / "k8s" / "overlays" / "dev")
    for switch in ("TRANSACTIONS_SELF_DEPOSITS", "TRANSACTIONS_BACKDATING"):
        if not any(switch in p for p in exposure_problems(sandbox)):
            raise SystemExit(f"self-test: {switch} in production was not rejected")
    shared = copy.deepcopy(base)
    for obj in shared:
        if obj["kind"] == "Secret" and "USERS_DATABASE_URL" in obj.get("stringData", {}):
            obj["stringData"]["USERS_DATABASE_URL"] = "postgres://bank:p@db:5432/bank"
    if database_role_problems(base) or len(database_role_problems(shared)) != 1:
        raise SystemExit("self-test: a service connecting as the administrator was not rejected")
    print(f"    ok policy self-test ({len(cases) + 5} broken manifests rejected)")



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overlays", nargs="+", type=Path)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        self_test()
    failed = False
    for overlay in args.overlays:
        objects = render(overlay)
        real = real_kustomize(overlay)
        problems = []
        if real is None:
            note = "kustomize not installed: rendered by the checker only"
        else:
            ours, theirs = canonical(objects), canonical(real)
            for key in sorted(set(ours) | set(theirs)):
                if ours.get(key) != theirs.get(key):
                    problems.append(f"{key}: the checker's rendering differs from kustomize's")
            note = "same objects as kustomize"
        problems += schema_problems(objects)
        problems += policy_problems(objects)
        problems += database_role_problems(objects)
        if overlay.name == "prod":
            problems += exposure_problems(objects)
        if problems:
            failed = True
            print(f"    FAIL {overlay}:")
            for problem in problems:
                print(f"      - {problem}")
        else:
            kinds = sorted({o["kind"] for o in objects})
            print(f"    ok {overlay}: {len(objects)} objects valid for Kubernetes {K8S_VERSION} and policy ({note}; {', '.join(kinds)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
