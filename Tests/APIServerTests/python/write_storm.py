"""N writer threads create RouteTables as fast as the server takes them and
print every acknowledged write as "ACK name resourceVersion", until killed
or until the server goes away. Usage: write_storm.py KUBECONFIG WRITERS PREFIX
"""
import sys
import threading

from kubernetes import client, config

GROUP, VERSION, PLURAL = "routelet.dev", "v1alpha1", "routetables"
lock = threading.Lock()


def writer(index, prefix):
    api = client.CustomObjectsApi()
    n = 0
    while True:
        name = f"{prefix}-{index}-{n}"
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "RouteTable", "metadata": {"name": name},
                "spec": {"interfaces": ["eth0"], "routes": [{"destination": "10.0.0.0/8", "type": "Blackhole"}]}}
        try:
            created = api.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)
        except Exception:
            return  # the server is gone
        with lock:
            print("ACK", name, created["metadata"]["resourceVersion"], flush=True)
        n += 1


def main():
    config.load_kube_config(config_file=sys.argv[1])
    threads = [threading.Thread(target=writer, args=(i, sys.argv[3]), daemon=True) for i in range(int(sys.argv[2]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
