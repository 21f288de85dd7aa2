#!/usr/bin/env python3
"""Checks routelet's cluster packaging without a cluster.

- manifests/: `kubectl kustomize` renders it; every object is validated
  against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: an
  unknown field is an error) of the oldest Kubernetes the CRDs support and
  the newest the package knows; then the rules of docs/install.md (RBAC
  without wildcards, references that resolve, a DaemonSet that is not
  privileged, ...).
- manifests/examples/: every RouteTable against the CRD's openAPIV3Schema
  (jsonschema) and routelet's own rules (Sources/RouteletAPI/
  RouteTable+Validation.swift and the CRD's CEL rules: canonical CIDRs,
  gateway families, ...); none but lab.yaml may select the demo's node.
- helm-chart/: values against values.schema.json; every .Values reference
  exists; crds/ are symlinks to the top-level crds/; then the chart is
  rendered with scripts/helm-render (Go text/template + sprig, as helm) with
  the default values and with ci/override-values.yaml, validated like the
  manifests, and the default rendering must equal manifests/ (no drift).
- self-checks: each validator must reject a broken copy of a good object,
  so a validator that accepts everything cannot pass unnoticed.

Prints one line per object checked, then "N passed, M failed"; exits 1 on
any failure, with the file, the object and the field. Needs what
scripts/install-validators.sh installs.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "manifests"
EXAMPLES = MANIFESTS / "examples"
CRDS = REPO / "crds"
CHART = REPO / "helm-chart"
RENDERER_SOURCE = REPO / "scripts" / "helm-render"
RENDERER = REPO / ".build" / "helm-render" / "helm-render"
NAMESPACE = "routelet-system"
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

# Labels helm adds and manifests/ does not have; ignored when comparing.
HELM_ONLY_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart"}
# The node of `make demo` (Sources/routelet-demo): only lab.yaml may select it.
DEMO_NODE_LABELS = {"role": "router", "kubernetes.io/hostname": "demo-router", "kubernetes.io/os": "linux"}

try:
    import jsonschema
    import kubernetes_validate
    import yaml
except ImportError as error:
    sys.exit(f"validate-manifests: {error.name} is missing: run scripts/install-validators.sh")

# The CRDs' CEL rules use the IP and CIDR library, new in 1.31: the oldest
# Kubernetes they support. And the newest schemas kubernetes-validate has.
KUBERNETES_VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]


class Results:
    """Counts checks and prints one line each."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def ok(self, line: str) -> None:
        self.passed += 1
        print(f"ok    {line}")

    def fail(self, line: str) -> None:
        self.failures.append(line)
        print(f"FAIL  {line}")

    def check(self, what: str, problems: list[str]) -> None:
        """One line for `what`: ok, or FAIL with every problem."""
        if problems:
            self.fail(f"{what}: " + "; ".join(problems))
        else:
            self.ok(what)


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def describe(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "?")
    if meta.get("namespace"):
        name = f"{meta['namespace']}/{name}"
    return f"{obj.get('kind', '?')} {name}"


def key(obj: dict) -> tuple:
    meta = obj.get("metadata") or {}
    return (obj.get("kind"), meta.get("namespace"), meta.get("name"))


def field_path(parts) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the object)"


def load_yaml_documents(text: str, where: str) -> list[dict]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise SystemExit(f"validate-manifests: {where}: not valid YAML: {error}")


# --- Kubernetes schemas -----------------------------------------------------

def kubernetes_problems(obj: dict) -> list[str]:
    """Problems of `obj` under the Kubernetes schemas of every version checked."""
    problems = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{field_path(error.absolute_path)}: {error.message} (Kubernetes {error.version} schema)")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(error.message)
    return problems


def validate_objects(results: Results, objects: list[tuple[dict, str]], label: str) -> None:
    for obj, source in objects:
        versions = ", ".join(v.rsplit(".", 1)[0] for v in KUBERNETES_VERSIONS)
        results.check(f"{label:<9} {source}: {describe(obj)} (Kubernetes {versions}, strict)", kubernetes_problems(obj))


# --- Rules for the rendered objects (docs/install.md) ----------------------

def policy_problems(objects: list[dict]) -> list[str]:
    """What RBAC, references and the DaemonSet's security must be."""
    try:
        return unchecked_policy_problems(objects)
    except (TypeError, AttributeError, KeyError) as error:
        return [f"the rules could not run ({error!r}): fix the schema errors first"]


def unchecked_policy_problems(objects: list[dict]) -> list[str]:
    problems = []
    by_key = {key(o): o for o in objects}
    for obj in objects:
        what = describe(obj)
        kind = obj.get("kind")
        if kind in ("Role", "ClusterRole"):
            for index, rule in enumerate(obj.get("rules") or []):
                for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                    if "*" in (rule.get(field) or []):
                        problems.append(f"{what}: rules[{index}].{field}: a wildcard; list exactly what the agent calls")
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj["roleRef"]
            namespace = obj["metadata"].get("namespace") if ref["kind"] == "Role" else None
            if (ref["kind"], namespace, ref["name"]) not in by_key:
                problems.append(f"{what}: roleRef: {ref['kind']} {ref['name']} is not among the objects")
            for index, subject in enumerate(obj.get("subjects") or []):
                if subject["kind"] == "ServiceAccount" and ("ServiceAccount", subject.get("namespace"), subject["name"]) not in by_key:
                    problems.append(f"{what}: subjects[{index}]: ServiceAccount {subject.get('namespace')}/{subject['name']} is not among the objects")
        if kind == "DaemonSet":
            problems += daemonset_problems(obj, by_key)
    return problems


def daemonset_problems(ds: dict, by_key: dict) -> list[str]:
    what = describe(ds)
    problems = []
    namespace = ds["metadata"].get("namespace")
    pod = ds["spec"]["template"]["spec"]
    strategy = ds["spec"].get("updateStrategy", {}).get("rollingUpdate", {})
    if strategy.get("maxSurge", 0) not in (0, "0", "0%"):
        problems.append(f"{what}: spec.updateStrategy.rollingUpdate.maxSurge: must be 0 (two agents on one node fight)")
    account = pod.get("serviceAccountName")
    if ("ServiceAccount", namespace, account) not in by_key:
        problems.append(f"{what}: spec.template.spec.serviceAccountName: ServiceAccount {namespace}/{account} is not among the objects")
    if ("Role", namespace, "routelet-aggregator") not in by_key:
        problems.append(f"{what}: the Role routelet-aggregator must be in the agent's namespace {namespace} (the Lease is in $POD_NAMESPACE)")
    for field in ("hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{what}: spec.template.spec.{field}: the agent needs only the host network")
    volumes = {v["name"] for v in pod.get("volumes") or []}
    for index, container in enumerate(pod["containers"]):
        at = f"spec.template.spec.containers[{index}]"
        security = container.get("securityContext") or {}
        if security.get("privileged"):
            problems.append(f"{what}: {at}.securityContext.privileged: must not be privileged; add capabilities instead")
        if security.get("allowPrivilegeEscalation", True):
            problems.append(f"{what}: {at}.securityContext.allowPrivilegeEscalation: must be false")
        capabilities = security.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{what}: {at}.securityContext.capabilities.drop: must drop ALL")
        # The agent programs BPF; the gateway binds listener addresses and ports.
        allowed = {"gateway": {"NET_ADMIN", "NET_BIND_SERVICE"}}.get(container.get("name"), {"BPF", "NET_ADMIN", "PERFMON"})
        extra = set(capabilities.get("add") or []) - allowed
        if extra:
            problems.append(f"{what}: {at}.securityContext.capabilities.add: {sorted(extra)} beyond {', '.join(sorted(allowed))} (docs/install.md says why those)")
        if not security.get("readOnlyRootFilesystem"):
            problems.append(f"{what}: {at}.securityContext.readOnlyRootFilesystem: must be true")
        ports = {p.get("name") for p in container.get("ports") or []}
        for probe in ("livenessProbe", "readinessProbe"):
            port = ((container.get(probe) or {}).get("httpGet") or {}).get("port")
            if port is None:
                problems.append(f"{what}: {at}.{probe}: missing")
            elif isinstance(port, str) and port not in ports:
                problems.append(f"{what}: {at}.{probe}.httpGet.port: no container port named {port!r}")
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in volumes:
                problems.append(f"{what}: {at}.volumeMounts: volume {mount['name']!r} is not in spec.template.spec.volumes")
    return problems


# --- manifests/ through kustomize -------------------------------------------

def kustomize_sources(directory: Path) -> dict[tuple, str]:
    """(kind, namespace, name) -> the file an object comes from, for messages."""
    sources = {}
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).exists():
            kustomization = yaml.safe_load((directory / name).read_text())
            break
    else:
        return sources
    namespace = kustomization.get("namespace")
    for resource in kustomization.get("resources") or []:
        path = (directory / resource).resolve()
        if path.is_dir():
            sources.update(kustomize_sources(path))
            continue
        for doc in load_yaml_documents(path.read_text(), rel(path)):
            meta = doc.get("metadata") or {}
            ns = meta.get("namespace") or (namespace if doc.get("kind") not in CLUSTER_SCOPED else None)
            sources[(doc.get("kind"), ns, meta.get("name"))] = rel(path)
    return sources



def render_kustomize(results: Results) -> list[dict] | None:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        results.fail("kustomize manifests/: kubectl not found (scripts/install-deps.sh installs it)")
        return None
    # kustomize before v4 (kubectl 1.20, Debian's) cannot take ../crds as a resource directory.
    version = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
    try:
        minor = int(re.sub(r"\D", "", json.loads(version.stdout)["clientVersion"]["minor"]))
    except (ValueError, KeyError):
        minor = 0
    if minor < 21:
        results.fail(f"kustomize manifests/: {kubectl} is kubectl 1.{minor}; manifests/ needs kubectl 1.21 or later (kustomize v4+)")
        return None
    run = subprocess.run([kubectl, "kustomize", str(MANIFESTS)], capture_output=True, text=True)
    if run.returncode != 0:
        results.fail(f"kustomize manifests/: kubectl kustomize failed: {run.stderr.strip()}")
        return None
    objects = load_yaml_documents(run.stdout, "kubectl kustomize manifests/")
    results.ok(f"kustomize manifests/: {len(objects)} objects")
    return objects


def check_manifests(results: Results) -> list[dict] | None:
    objects = render_kustomize(results)
    if objects is None:
        return None
    sources = kustomize_sources(MANIFESTS)
    validate_objects(results, [(o, sources.get(key(o), "manifests/")) for o in objects], "manifests")
    results.check("manifests RBAC, references, DaemonSet security (docs/install.md)", policy_problems(objects))
    wrong = [describe(o) for o in objects
             if o["kind"] not in CLUSTER_SCOPED and o["metadata"].get("namespace") != NAMESPACE]
    results.check(f"manifests every namespaced object in {NAMESPACE}", [f"{w}: not in {NAMESPACE}" for w in wrong])
    # The CRDs must come out of kustomize exactly as crds/ has them.
    rendered = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CustomResourceDefinition"}
    problems = []
    for file in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(file.read_text())
        if rendered.get(crd["metadata"]["name"]) != crd:
            problems.append(f"{rel(file)}: CustomResourceDefinition {crd['metadata']['name']} missing or changed in the kustomize output")
    results.check("manifests CRDs identical to crds/*.yaml", problems)
    return objects


# --- RouteTables: the CRD's schema and routelet's rules ----------------------

def crd_schema(crd: dict) -> dict:
    """The storage version's openAPIV3Schema as JSON Schema: x-kubernetes-*
    dropped, and unknown fields refused like kubectl's strict validation."""
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    return structural_to_json_schema(version["schema"]["openAPIV3Schema"])


def structural_to_json_schema(schema: dict) -> dict:
    out = {}
    for name, value in schema.items():
        if name.startswith("x-kubernetes-") or name == "nullable":
            continue
        if name == "properties":
            out[name] = {p: structural_to_json_schema(s) for p, s in value.items()}
        elif name in ("items", "not") or (name == "additionalProperties" and isinstance(value, dict)):
            out[name] = structural_to_json_schema(value)
        elif name in ("allOf", "anyOf", "oneOf"):
            out[name] = [structural_to_json_schema(s) for s in value]
        else:
            out[name] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
INTERFACE_FORBIDDEN = re.compile(r"[/:\x00-\x20\x7f]")
GLOB_CHARACTERS = re.compile(r"[*?\[\]]")


def label_key_problem(text: str) -> str | None:
    prefix, _, name = text.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return f"{text!r}: the prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        return f"{text!r}: the name must be 1-63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"
    return None


def label_value_problem(text: str) -> str | None:
    if len(text) > 63 or not LABEL_NAME.match(text):
        return f"{text!r} is not a valid label value"
    return None


def selector_problems(selector: dict, at: str) -> list[str]:
    problems = []
    for label, value in (selector.get("matchLabels") or {}).items():
        for problem in (label_key_problem(label), label_value_problem(str(value))):
            if problem:
                problems.append(f"{at}.matchLabels: {problem}")
    for index, requirement in enumerate(selector.get("matchExpressions") or []):
        here = f"{at}.matchExpressions[{index}]"
        problem = label_key_problem(requirement.get("key", ""))
        if problem:
            problems.append(f"{here}.key: {problem}")
        values = requirement.get("values") or []
        operator = requirement.get("operator")
        if operator in ("In", "NotIn") and not values:
            problems.append(f"{here}.values: operator {operator} needs at least one value")
        elif operator in ("Exists", "DoesNotExist") and values:
            problems.append(f"{here}.values: operator {operator} takes no values")
        for value_index, value in enumerate(values):
            problem = label_value_problem(str(value))
            if problem:
                problems.append(f"{here}.values[{value_index}]: {problem}")
    return problems


def selects(selector: dict | None, labels: dict) -> bool:
    """Whether a label selector matches a node with `labels` (omitted: every node)."""
    if selector is None:
        return True
    for label, value in (selector.get("matchLabels") or {}).items():
        if labels.get(label) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        label, operator, values = requirement["key"], requirement["operator"], requirement.get("values") or []
        if operator == "In" and labels.get(label) not in values:
            return False
        if operator == "NotIn" and label in labels and labels[label] in values:
            return False
        if operator == "Exists" and label not in labels:
            return False
        if operator == "DoesNotExist" and label in labels:
            return False
    return True


def interface_problem(text: str, exact: bool) -> str | None:
    if not text:
        return "an interface name is required"
    if len(text.encode()) > 15:
        return f"{text!r} is longer than 15 bytes"
    if text in (".", ".."):
        return f"{text!r} is not an interface name"
    if INTERFACE_FORBIDDEN.search(text):
        return f"{text!r} has a character interface names cannot have ('/', ':', space or control)"
    if exact and GLOB_CHARACTERS.search(text):
        return f"{text!r}: an egress interface is an exact name, not a glob"
    return None


def address_family_problem(gateway: str, destination: ipaddress._BaseNetwork | None) -> str | None:
    try:
        address = ipaddress.ip_address(gateway)
    except ValueError:
        return f"{gateway!r} is not a valid IP address"
    if destination is not None and address.version != destination.version:
        return f"{gateway!r} is IPv{address.version} but the destination is IPv{destination.version}"
    return None


def parse_destination(text: str) -> tuple[ipaddress._BaseNetwork | None, str | None]:
    """The destination's network (when its address parses) and its problem."""
    if "/" not in text:
        return None, f'"{text}" has no prefix length (expected address/length, like "10.0.0.0/8")'
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None, f'"{text}" is not a valid CIDR (expected address/length, like "10.0.0.0/8")'
        return network, f'"{text}" has host bits set; did you mean "{network}"?'
    if str(network) != text:
        return network, f'write "{text}" as "{network}" (canonical form)'
    return network, None


def route_table_problems(table: dict) -> list[str]:
    """routelet's rules (RouteTable+Validation.swift and the CRD's CEL rules),
    plus one of style: CIDRs and addresses written in canonical form."""
    problems = []
    name = (table.get("metadata") or {}).get("name") or ""
    if not name or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        problems.append(f"metadata.name: {name!r} is not a valid name (a DNS subdomain)")
    for label, value in ((table.get("metadata") or {}).get("labels") or {}).items():
        for problem in (label_key_problem(label), label_value_problem(str(value))):
            if problem:
                problems.append(f"metadata.labels: {problem}")
    spec = table.get("spec") or {}
    if spec.get("nodeSelector") is not None:
        problems += selector_problems(spec["nodeSelector"], "spec.nodeSelector")
    interfaces = spec.get("interfaces") or []
    if not 1 <= len(interfaces) <= 64:
        problems.append(f"spec.interfaces: 1 to 64 interfaces, not {len(interfaces)}")
    for index, interface in enumerate(interfaces):
        problem = interface_problem(interface, exact=False)
        if problem:
            problems.append(f"spec.interfaces[{index}]: {problem}")
        elif interfaces.index(interface) != index:
            problems.append(f"spec.interfaces[{index}]: {interface!r} is already listed at spec.interfaces[{interfaces.index(interface)}]")
    owners: dict[tuple, int] = {}
    for index, route in enumerate(spec.get("routes") or []):
        at = f"spec.routes[{index}]"
        destination, problem = parse_destination(route.get("destination", ""))
        if problem:
            problems.append(f"{at}.destination: {problem}")
        route_type = route.get("type", "Unicast")
        gateway, interface, nexthops = route.get("gateway"), route.get("interface"), route.get("nexthops")
        if gateway is not None:
            problem = address_family_problem(gateway, destination)
            if problem:
                problems.append(f"{at}.gateway: {problem}")
            elif str(ipaddress.ip_address(gateway)) != gateway:
                problems.append(f'{at}.gateway: write "{gateway}" as "{ipaddress.ip_address(gateway)}" (canonical form)')
        if interface is not None:
            problem = interface_problem(interface, exact=True)
            if problem:
                problems.append(f"{at}.interface: {problem}")
        hops: list[str] = []
        if route_type not in ("Unicast", "Blackhole", "Local"):
            problems.append(f'{at}.type: "{route_type}" is not a route type (expected "Unicast", "Blackhole" or "Local")')
        elif route_type == "Unicast":
            if nexthops is not None and (gateway is not None or interface is not None):
                problems.append(f'{at}: "gateway" and "interface" cannot be used together with "nexthops"')
            elif nexthops is None and interface is None:
                problems.append(f'{at}: a Unicast route needs "interface" or "nexthops"')
            if nexthops is not None:
                if not 1 <= len(nexthops) <= 16:
                    problems.append(f"{at}.nexthops: 1 to 16 next hops, not {len(nexthops)}")
                for hop_index, hop in enumerate(nexthops):
                    hop_at = f"{at}.nexthops[{hop_index}]"
                    if hop.get("gateway") is not None:
                        problem = address_family_problem(hop["gateway"], destination)
                        if problem:
                            problems.append(f"{hop_at}.gateway: {problem}")
                    problem = interface_problem(hop.get("interface", ""), exact=True)
                    if problem:
                        problems.append(f"{hop_at}.interface: {problem}")
                    if not 1 <= hop.get("weight", 1) <= 256:
                        problems.append(f"{hop_at}.weight: {hop['weight']} is out of range (1-256)")
                    hop_key = f"{hop.get('gateway', 'on-link')} dev {hop.get('interface')}"
                    if hop_key in hops:
                        problems.append(f"{hop_at}: duplicates {at}.nexthops[{hops.index(hop_key)}] (same gateway and interface)")
                    hops.append(hop_key)
            elif interface is not None:
                hops = [f"{gateway or 'on-link'} dev {interface}"]
        else:
            for field in ("gateway", "interface", "nexthops"):
                if route.get(field) is not None:
                    problems.append(f'{at}.{field}: a {route_type} route cannot have "{field}"; remove it or use type Unicast')
            hops = [route_type]
        if destination is not None:
            for hop in hops:
                identity = (destination, route.get("metric", 0), hop)
                if identity in owners and owners[identity] != index:
                    problems.append(f"{at}: duplicates spec.routes[{owners[identity]}] (same destination, metric and next hop)")
                    break
                owners.setdefault(identity, index)
    return problems


def check_gateway_examples(results: Results) -> None:
    """examples/gateway/: GatewayRoutes against their CRD's schema (the agent's
    own rules run on them in AgentTests), each with a nodeSelector but lab.yaml."""
    crd = next(yaml.safe_load(f.read_text()) for f in CRDS.glob("*.yaml")
               if yaml.safe_load(f.read_text())["spec"]["names"]["kind"] == "GatewayRoute")
    schema = crd_schema(crd)
    for file in sorted((EXAMPLES / "gateway").glob("*.yaml")):
        for route in load_yaml_documents(file.read_text(), rel(file)):
            what = f"examples  {rel(file)}: {describe(route)}"
            if route.get("kind") in ("Service", "EndpointSlice") and file.name.endswith("lab.yaml"):
                continue  # what a lab's backends resolve through; kubectl and the agent check them
            if route.get("kind") != "GatewayRoute":
                results.fail(f"{what}: only GatewayRoutes (and, in a lab file, their Services and EndpointSlices) belong in examples/gateway/")
                continue
            validator = jsonschema.Draft7Validator(schema)
            problems = [f"{field_path(e.absolute_path)}: {e.message} (CRD schema)"
                        for e in sorted(validator.iter_errors(route), key=lambda e: list(e.absolute_path))]
            selector = (route.get("spec") or {}).get("nodeSelector")
            if not file.name.endswith("lab.yaml") and (selector is None or selects(selector, DEMO_NODE_LABELS) or selects(selector, {})):
                problems.append("spec.nodeSelector: an example must select only nodes labelled for it")
            results.check(f"{what} (CRD schema, selector)", problems)


def check_examples(results: Results) -> None:
    crds = {yaml.safe_load(f.read_text())["spec"]["names"]["kind"]: yaml.safe_load(f.read_text()) for f in CRDS.glob("*.yaml")}
    schema = crd_schema(crds["RouteTable"])
    group_version = f"{crds['RouteTable']['spec']['group']}/{next(v['name'] for v in crds['RouteTable']['spec']['versions'] if v.get('storage'))}"
    files = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yml")) + sorted(EXAMPLES.glob("*.json"))
    # The cluster demo's tables (make demo-cluster): its nodes, not the demo's.
    files += sorted((EXAMPLES / "cluster").glob("*.yaml"))
    names: dict[str, str] = {}
    for file in files:
        for table in load_yaml_documents(file.read_text(), rel(file)):
            what = f"examples  {rel(file)}: {describe(table)}"
            if table.get("kind") != "RouteTable":
                results.fail(f"{what}: only RouteTables belong in examples/")
                continue
            problems = []
            if table.get("apiVersion") != group_version:
                problems.append(f'apiVersion: "{table.get("apiVersion")}" (expected "{group_version}")')
            validator = jsonschema.Draft7Validator(schema)
            for error in sorted(validator.iter_errors(table), key=lambda e: list(e.absolute_path)):
                problems.append(f"{field_path(error.absolute_path)}: {error.message} (CRD schema)")
            try:
                problems += route_table_problems(table)
            except (TypeError, AttributeError, KeyError, ValueError) as error:
                problems.append(f"routelet's rules could not run ({error!r}): fix the schema errors first")
            name = (table.get("metadata") or {}).get("name")
            if name in names:
                problems.append(f"metadata.name: {name!r} is also the name of a table in {names[name]}: one would replace the other")
            names[name] = rel(file)
            selector = (table.get("spec") or {}).get("nodeSelector")
            if file.name != "lab.yaml" and file.parent.name != "cluster":
                if selector is None:
                    problems.append("spec.nodeSelector: an example needs one, so that applying examples/ programs no node by accident")
                elif selects(selector, DEMO_NODE_LABELS) or selects(selector, {}):
                    problems.append(f"spec.nodeSelector: selects the demo's node ({DEMO_NODE_LABELS}) or any unlabelled node")
            results.check(f"{what} (CRD schema, routelet rules, selector)", problems)


# --- The Helm chart ---------------------------------------------------------

VALUES_REFERENCE = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def coalesce(override: dict, base: dict) -> dict:
    """Helm's merge of values files: maps key by key, null removes."""
    merged = dict(base)
    for name, value in override.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = coalesce(value, merged[name])
        else:
            merged[name] = value
    return merged


def check_chart_files(results: Results) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    problems = [f"Chart.yaml: {field} must be {want!r}, not {chart.get(field)!r}"
                for field, want in (("apiVersion", "v2"), ("name", "routelet")) if chart.get(field) != want]
    for field in ("version", "appVersion"):
        if not re.match(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", str(chart.get(field, ""))):
            problems.append(f"Chart.yaml: {field} {chart.get(field)!r} is not a semantic version")
    results.check("chart     helm-chart/Chart.yaml", problems)

    # values.yaml, and each ci/ override merged over it (as helm validates).
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for name, values in [("helm-chart/values.yaml", defaults)] + [
            (rel(f), coalesce(yaml.safe_load(f.read_text()) or {}, defaults)) for f in sorted((CHART / "ci").glob("*.yaml"))]:
        errors = jsonschema.Draft7Validator(schema).iter_errors(values)
        results.check(f"chart     {name} against values.schema.json",
                      [f"{field_path(e.absolute_path)}: {e.message}" for e in errors])

    # Every .Values.a.b in a template exists in values.yaml (the check that
    # remains when nothing can render the chart).
    problems = []
    for template in sorted((CHART / "templates").rglob("*")):
        if not template.is_file():
            continue
        for number, line in enumerate(template.read_text().splitlines(), 1):
            for match in VALUES_REFERENCE.finditer(line):
                node = defaults
                for part in match.group(1).strip(".").split("."):
                    if not isinstance(node, dict) or part not in node:
                        problems.append(f"{rel(template)}:{number}: .Values{match.group(1)} is not in values.yaml")
                        break
                    node = node[part]
    results.check("chart     every .Values reference in templates/ is in values.yaml", problems)

    # crds/: symlinks to the top-level crds/, one file each, nothing else.
    problems = []
    linked = {p.name for p in (CHART / "crds").iterdir()}
    wanted = {p.name for p in CRDS.glob("*.yaml")}
    for missing in sorted(wanted - linked):
        problems.append(f"helm-chart/crds/{missing}: missing (ln -s ../../crds/{missing} helm-chart/crds/)")
    for extra in sorted(linked - wanted):
        problems.append(f"helm-chart/crds/{extra}: not in crds/")
    for name in sorted(linked & wanted):
        link = CHART / "crds" / name
        if not link.is_symlink():
            problems.append(f"helm-chart/crds/{name}: a copy, not a symlink to ../../crds/{name}: it can drift")
        elif link.resolve() != (CRDS / name).resolve():
            problems.append(f"helm-chart/crds/{name}: points to {os.readlink(link)}, not ../../crds/{name}")
        elif link.read_bytes() != (CRDS / name).read_bytes():
            problems.append(f"helm-chart/crds/{name}: content differs from crds/{name}")
    results.check("chart     helm-chart/crds/* are symlinks to crds/* with the same bytes", problems)


def build_renderer() -> str | None:
    """Builds scripts/helm-render with Debian's Go and sprig (GOPATH mode,
    no network); returns why it can't, or None."""
    go = shutil.which("go")
    gopath = Path("/usr/share/gocode")
    if not go or not (gopath / "src/github.com/Masterminds/sprig").is_dir() or not (gopath / "src/sigs.k8s.io/yaml").is_dir():
        return "rendering needs Go, sprig and sigs.k8s.io/yaml from Debian: run scripts/install-validators.sh"
    sources = list(RENDERER_SOURCE.glob("*.go"))
    if RENDERER.exists() and all(s.stat().st_mtime <= RENDERER.stat().st_mtime for s in sources):
        return None
    RENDERER.parent.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ, GO111MODULE="off", GOPATH=str(gopath), GOFLAGS="",
                       GOCACHE=str(RENDERER.parent / "go-cache"), CGO_ENABLED="0")
    build = subprocess.run([go, "build", "-o", str(RENDERER), "."], cwd=RENDERER_SOURCE,
                           capture_output=True, text=True, env=environment)
    if build.returncode != 0:
        return f"go build scripts/helm-render failed: {build.stderr.strip()}"
    return None


def render_chart(chart: Path, *arguments: str) -> tuple[list[tuple[dict, str]] | str, str]:
    """(objects with their template, or the error) and the raw output."""
    run = subprocess.run([str(RENDERER), "--strict", "--namespace", NAMESPACE, "--release", "routelet", *arguments, str(chart)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return run.stderr.strip(), ""
    if "--notes" in arguments:
        return [], run.stdout
    objects = []
    source = "helm-chart"
    # A template may hold several documents; "# Source:" starts each template.
    for document in run.stdout.split("\n---\n"):
        found = re.search(r"^# Source: [^/]+/(.*)$", document, re.M)
        if found:
            source = f"helm-chart/{found.group(1)}"
        objects += [(obj, source) for obj in load_yaml_documents(document, source)]
    return objects, run.stdout


def strip_helm_labels(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    for meta in (obj.get("metadata"), ((obj.get("spec") or {}).get("template") or {}).get("metadata")):
        if meta and meta.get("labels"):
            for label in HELM_ONLY_LABELS:
                meta["labels"].pop(label, None)
    return obj


def differences(a, b, at: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for name in sorted(set(a) | set(b)):
            here = f"{at}.{name}" if at else name
            if name not in a:
                found.append(f"{here}: only in the chart")
            elif name not in b:
                found.append(f"{here}: only in manifests/")
            else:
                found += differences(a[name], b[name], here)
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{at}[{i}]")]
    return [] if a == b else [f"{at}: manifests/ has {a!r}, the chart {b!r}"]


def check_chart_rendering(results: Results, kustomized: list[dict] | None) -> None:
    why_not = build_renderer()
    if why_not:
        results.fail(f"render    helm-chart: {why_not}")
        return
    results.ok("render    scripts/helm-render built (Go text/template + sprig + helm's functions)")

    # Default values: valid objects, the same as manifests/ apart from the
    # Namespace (helm's --create-namespace makes it) and helm's labels.
    objects, _ = render_chart(CHART)
    if isinstance(objects, str):
        results.fail(f"render    helm-chart with values.yaml: {objects}")
    else:
        results.ok(f"render    helm-chart with values.yaml: {len(objects)} objects")
        validate_objects(results, objects, "chart")
        results.check("chart     RBAC, references, DaemonSet security (docs/install.md)", policy_problems([o for o, _ in objects]))
    if kustomized is not None and not isinstance(objects, str):
        ours = {key(o): strip_helm_labels(o) for o, _ in objects}
        theirs = {key(o): o for o in kustomized if o["kind"] not in ("Namespace", "CustomResourceDefinition")}
        problems = [f"{k[0]} {k[2]}: only in manifests/" for k in sorted(set(theirs) - set(ours), key=str)]
        problems += [f"{k[0]} {k[2]}: only in the chart" for k in sorted(set(ours) - set(theirs), key=str)]
        for k in sorted(set(ours) & set(theirs), key=str):
            problems += [f"{k[0]} {k[2]}: {d}" for d in differences(theirs[k], ours[k])]
        results.check("chart     default rendering equals manifests/ (apart from helm's labels and the Namespace)", problems)

    # Every value changed: still valid, and each change shows.
    for override in sorted((CHART / "ci").glob("*.yaml")):
        objects, _ = render_chart(CHART, "-f", str(override))
        if isinstance(objects, str):
            results.fail(f"render    helm-chart with {rel(override)}: {objects}")
            continue
        results.ok(f"render    helm-chart with {rel(override)}: {len(objects)} objects")
        validate_objects(results, objects, "chart")
        values = coalesce(yaml.safe_load(override.read_text()) or {}, yaml.safe_load((CHART / "values.yaml").read_text()))
        results.check(f"chart     {rel(override)} shows in the DaemonSet", override_problems(objects, values))

    notes, text = render_chart(CHART, "--notes")
    problems = [notes] if isinstance(notes, str) else [
        f"NOTES.txt: {want!r} missing" for want in ("kubectl get rn", "kubectl get rt", "logs", "port-forward") if want not in text]
    results.check("chart     templates/NOTES.txt renders and says how to check", problems)


def override_problems(objects: list[tuple[dict, str]], values: dict) -> list[str]:
    ds = next((o for o, _ in objects if o["kind"] == "DaemonSet"), None)
    if ds is None:
        return ["no DaemonSet rendered"]
    pod = ds["spec"]["template"]["spec"]
    container = pod["containers"][0]
    want = {
        "image": f"{values['image']['repository']}:{values['image']['tag'] or '0.1.0'}",
        "imagePullPolicy": values["image"]["pullPolicy"],
        "resources": values["resources"],
        "nodeSelector": values["nodeSelector"],
        "tolerations": values["tolerations"],
        "containerPort": values["metricsPort"],
        "priorityClassName": values["priorityClassName"] or None,
        "annotations": values["podAnnotations"] or None,
    }
    have = {
        "image": container["image"], "imagePullPolicy": container["imagePullPolicy"],
        "resources": container.get("resources"), "nodeSelector": pod.get("nodeSelector"),
        "tolerations": pod.get("tolerations"), "containerPort": container["ports"][0]["containerPort"],
        "priorityClassName": pod.get("priorityClassName"), "annotations": ds["spec"]["template"]["metadata"].get("annotations"),
    }
    problems = [f"{name}: expected {want[name]!r}, rendered {have[name]!r}" for name in want if want[name] != have[name]]
    args = container.get("args") or []
    for flag in (f"--log-format={values['logFormat']}", f"--log-level={values['logLevel']}",
                 f"--resync-period={values['resyncPeriod']}", f"--lease-duration={values['leaseDuration']}",
                 f"--metrics-addr=:{values['metricsPort']}", *values["extraArgs"]):
        if flag not in args:
            problems.append(f"args: {flag!r} missing from {args}")
    return problems


# --- Self-checks: each validator rejects a broken object ---------------------

def self_checks(results: Results, kustomized: list[dict] | None) -> None:
    problems = []
    if kustomized:
        ds = copy.deepcopy(next(o for o in kustomized if o["kind"] == "DaemonSet"))
        ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privilegd"] = True
        if not kubernetes_problems(ds):
            problems.append("kubernetes-validate accepted an unknown field (securityContext.privilegd)")
        ds = copy.deepcopy(next(o for o in kustomized if o["kind"] == "DaemonSet"))
        ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
        if not policy_problems([ds]):
            problems.append("the policy check accepted a privileged DaemonSet")
    table = yaml.safe_load((EXAMPLES / "lab.yaml").read_text())
    crd = next(yaml.safe_load(f.read_text()) for f in CRDS.glob("*.yaml") if "routetables" in f.name)
    broken = copy.deepcopy(table)
    broken["spec"]["routes"][0]["destinaton"] = broken["spec"]["routes"][0].pop("destination")
    if not list(jsonschema.Draft7Validator(crd_schema(crd)).iter_errors(broken)):
        problems.append("the CRD schema accepted a misspelt field (destinaton)")
    broken = copy.deepcopy(table)
    broken["spec"]["routes"][0]["destination"] = "198.18.1.1/24"
    if not any("host bits" in p for p in route_table_problems(broken)):
        problems.append("routelet's rules accepted a CIDR with host bits set")
    if not RENDERER.exists():
        problems.append("helm-render was not built, so its strict mode was not checked")
    else:
        with tempfile.TemporaryDirectory() as scratch:
            chart = Path(scratch) / "routelet"
            shutil.copytree(CHART, chart, symlinks=True)
            (chart / "templates" / "typo.yaml").write_text("value: {{ .Values.logFormatt }}\n")
            objects, _ = render_chart(chart)
            if not isinstance(objects, str):
                problems.append("helm-render --strict accepted a missing value (.Values.logFormatt)")
    results.check("self-check each validator rejects a broken copy of a good object", problems)


def check_docs(results: Results) -> None:
    """The Kubernetes objects shown in docs/install.md (the cleanup Job)."""
    doc = REPO / "docs" / "install.md"
    for block in re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S):
        for obj in load_yaml_documents(textwrap.dedent(block), rel(doc)):
            if "apiVersion" in obj and "kind" in obj and not obj["kind"].startswith("Kustomization"):
                results.check(f"docs      {rel(doc)}: {describe(obj)} (Kubernetes, strict)", kubernetes_problems(obj))


def main() -> int:
    results = Results()
    kustomized = check_manifests(results)
    check_examples(results)
    check_gateway_examples(results)
    check_docs(results)
    check_chart_files(results)
    check_chart_rendering(results, kustomized)
    self_checks(results, kustomized)
    if results.failures:
        print("\nFailures:", file=sys.stderr)
        for failure in results.failures:
            print(f"  {failure}", file=sys.stderr)
    print(f"validate-manifests: {results.passed} passed, {len(results.failures)} failed")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
