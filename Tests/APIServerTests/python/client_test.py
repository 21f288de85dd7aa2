"""The official Kubernetes Python client (Debian's python3-kubernetes)
against routelet's API server: list, watch from a resourceVersion, a stale
update getting 409, a watch from a compacted revision getting 410.

Usage: client_test.py KUBECONFIG COMPACT_URL_TOKEN_FILE
Prints one "ok: ..." line per check; exits non-zero on the first failure.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "routelet.dev", "v1alpha1", "routetables"


def table(name, destination="10.0.0.0/8"):
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "RouteTable", "metadata": {"name": name},
        "spec": {"interfaces": ["eth0"], "routes": [{"destination": destination, "type": "Blackhole"}]},
    }


def main():
    kubeconfig = sys.argv[1]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CustomObjectsApi()
    core = client.CoreV1Api()

    names = [n.metadata.name for n in core.list_namespace().items]
    assert "default" in names, names
    print("ok: core list namespaces", names)

    for name in ("py-a", "py-b"):
        api.create_cluster_custom_object(GROUP, VERSION, PLURAL, table(name))
    listed = api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    got = sorted(i["metadata"]["name"] for i in listed["items"])
    assert {"py-a", "py-b"} <= set(got), got
    list_rv = listed["metadata"]["resourceVersion"]
    print("ok: list", got, "at", list_rv)

    # Watch from the list's resourceVersion sees exactly the later changes.
    api.patch_cluster_custom_object(GROUP, VERSION, PLURAL, "py-a", {"spec": {"routes": [{"destination": "10.1.0.0/16", "type": "Blackhole"}]}})
    api.delete_cluster_custom_object(GROUP, VERSION, PLURAL, "py-b")
    seen = []
    w = watch.Watch()
    for event in w.stream(api.list_cluster_custom_object, GROUP, VERSION, PLURAL, resource_version=list_rv, timeout_seconds=3):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if len(seen) == 2:
            w.stop()
    assert seen == [("MODIFIED", "py-a"), ("DELETED", "py-b")], seen
    print("ok: watch from resourceVersion", list_rv, seen)

    # A stale update: 409 Conflict.
    current = api.get_cluster_custom_object(GROUP, VERSION, PLURAL, "py-a")
    stale = dict(current)
    api.patch_cluster_custom_object(GROUP, VERSION, PLURAL, "py-a", {"metadata": {"labels": {"touched": "yes"}}})
    try:
        api.replace_cluster_custom_object(GROUP, VERSION, PLURAL, "py-a", stale)
        raise AssertionError("a stale update was accepted")
    except ApiException as error:
        assert error.status == 409, (error.status, error.body)
        print("ok: stale update gets", error.status, error.reason)

    # Status is its own subresource: the main resource ignores it.
    current = api.get_cluster_custom_object(GROUP, VERSION, PLURAL, "py-a")
    current["status"] = {"routes": 1}
    updated = api.replace_cluster_custom_object_status(GROUP, VERSION, PLURAL, "py-a", current)
    assert updated["status"]["routes"] == 1, updated
    print("ok: status written through /status")

    # A watch from a compacted revision: 410 Gone / Expired.
    try:
        for event in watch.Watch().stream(api.list_cluster_custom_object, GROUP, VERSION, PLURAL, resource_version="1", timeout_seconds=3):
            raise AssertionError(f"expected 410, got an event {event['type']}")
        raise AssertionError("expected 410, the watch ended quietly")
    except ApiException as error:
        assert error.status == 410, (error.status, error.body)
        print("ok: watch from a compacted revision gets", error.status)


if __name__ == "__main__":
    main()
