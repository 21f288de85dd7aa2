#!/usr/bin/env python3
"""HTTP routing benchmark: routelet gateway vs nginx and HAProxy, the same rules.

Run by bench/http-gateway.sh, which builds the namespace lab and passes it in
HB_* variables; standard library only. Rule i (0-based) matches path prefix
/svc<i> AND header X-Tenant: t<i> and routes to backend i mod 3. For every
rule count, repetition and proxy (the order rotating between repetitions, so
that the machine's drift falls on every proxy alike) the proxy is started
with that rule set, warmed up, and measured with wrk over kept-alive
connections for each request mix:

  first   every request takes rule 0
  last    every request takes rule N-1 (the worst case of a linear matcher)
  spread  the requests cycle through all N rules

Per point: requests/s, p50/p99 latency (wrk --latency), the proxy's CPU per
request (utime+stime of its processes, /proc/PID/stat, over the run /
requests) and requests/s per core-second of proxy CPU; the median over the
repetitions. "direct" is wrk straight to one backend, no proxy: the ceiling
of the load side (wrk + backends on their CPU).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

PROXIES = ("nginx", "haproxy", "routelet")
MODES = ("first", "last", "spread")
PORT = 80
BACKEND_PORT = 8080
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/http-gateway.sh",
        description="HTTP routing: routelet gateway vs nginx and HAProxy with the same rules "
                    "(path prefix /svc<i> AND header X-Tenant: t<i> -> backend i mod 3), wrk over "
                    "kept-alive connections, in network namespaces of its own. Needs root. "
                    "Writes a table to stdout and bench/results/http-gateway.json.",
        epilog="ROUTELET=path picks the routelet binary (default .build/release/routelet, else "
               ".build/debug/routelet); routelet is skipped, with the reason, when there is none or it "
               "has no `gateway` command. Full run: about 8.5 minutes with the defaults (2 cores).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="3 s runs, 1 s warm-up, 1 repetition (a smoke test; numbers are noisier)")
    parser.add_argument("--rules", default="1,100,1000", help="rule counts, comma-separated (default 1,100,1000)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="request mixes: first (rule 0), last (rule N-1), spread (all rules in turn); "
                             "at 1 rule only the first is run (default first,last,spread)")
    parser.add_argument("--proxies", default=",".join(PROXIES), help="proxies to measure (default nginx,haproxy,routelet)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per wrk run (default 10, --quick 3)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per proxy start (default 2, --quick 1)")
    parser.add_argument("--repeats", type=int, default=None, help="repetitions per point, median reported (default 3, --quick 1)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (-c), one wrk thread (default 64)")
    parser.add_argument("--proxy-cpu", default="1", help="CPU the proxy is pinned to (taskset -c; default 1)")
    parser.add_argument("--load-cpus", default="0", help="CPUs wrk and the backends are pinned to (default 0)")
    parser.add_argument("--nice", type=int, default=0,
                        help="run proxy, wrk and backends at this nice value (default 0; on a machine shared with "
                             "other work, -10 makes the others' share smaller, at their expense)")
    parser.add_argument("--out", default="bench/results/http-gateway.json", help="where the JSON goes (default bench/results/http-gateway.json)")
    parser.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    args.repeats = args.repeats or (1 if args.quick else 3)
    try:
        args.rules = [int(n) for n in args.rules.split(",") if n]
    except ValueError:
        parser.error(f"--rules: not a list of numbers: {args.rules}")
    if not args.rules or min(args.rules) < 1:
        parser.error("--rules: counts of at least 1")
    args.modes = [m for m in args.modes.split(",") if m]
    args.proxies = [p for p in args.proxies.split(",") if p]
    for value, allowed, name in ((args.modes, MODES, "--modes"), (args.proxies, PROXIES, "--proxies")):
        bad = [v for v in value if v not in allowed]
        if bad or not value:
            parser.error(f"{name}: {','.join(bad) or 'empty'}; choose from {','.join(allowed)}")
    cores = os.cpu_count() or 1
    if cores < 2:
        args.proxy_cpu = args.load_cpus = None      # nothing to pin apart
    return args


# MARK: - processes in the lab

class Lab:
    def __init__(self):
        env = os.environ
        try:
            self.client, self.gw, self.backends_ns = env["HB_NS_CLIENT"], env["HB_NS_GW"], env["HB_NS_BACKENDS"]
            self.work, self.listener = env["HB_WORK"], env["HB_LISTENER"]
            self.backends = env["HB_BACKENDS"].split()
        except KeyError as missing:
            sys.exit(f"http_gateway.py: {missing} is not set: run bench/http-gateway.sh, which builds the lab")
        self.running = []

    nice = 0

    def command(self, ns, cpus, argv):
        pin = ["taskset", "-c", cpus] if cpus is not None else []
        nice = ["nice", "-n", str(self.nice)] if self.nice else []
        return ["ip", "netns", "exec", ns] + nice + pin + argv

    def start(self, ns, cpus, argv, log):
        out = open(os.path.join(self.work, log), "wb")
        # ip netns exec and taskset exec the command: the pid is the server's.
        process = subprocess.Popen(self.command(ns, cpus, argv), stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        process.log = os.path.join(self.work, log)
        self.running.append(process)
        return process

    def stop(self, process, sig=signal.SIGTERM):
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.running:
            self.running.remove(process)

    def stop_all(self):
        for process in list(self.running):
            self.stop(process)

    def run(self, ns, cpus, argv, timeout=None):
        return subprocess.run(self.command(ns, cpus, argv), capture_output=True, text=True, timeout=timeout)

    def wait_listening(self, ns, port, process, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{' '.join(process.args)} exited ({process.returncode}): {tail(process.log)}")
            if self.run(ns, None, ["ss", "-Hltn", f"sport = :{port}"]).stdout.strip():
                return
            time.sleep(0.05)
        raise BenchError(f"nothing listens on port {port} in {ns} after {seconds} s: {tail(process.log)}")


class BenchError(Exception):
    pass


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def tree_cpu_seconds(pid):
    """utime + stime of pid and its descendants (threads included), seconds."""
    children = {}
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the name: state ppid ... utime(14) stime(15), 1-based in proc(5)
        stats[int(entry)] = int(fields[11]) + int(fields[12])
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, 0)
        todo.extend(children.get(p, []))
    return total / CLK_TCK


def cpu_times():
    """Per CPU: (busy, softirq, steal, total) jiffies from /proc/stat; busy
    counts steal (time the hypervisor gave to someone else)."""
    result = {}
    with open("/proc/stat") as f:
        for line in f:
            if re.match(r"cpu\d+ ", line):
                name, *values = line.split()
                v = [int(x) for x in values[:8]]
                total = sum(v)
                result[int(name[3:])] = (total - v[3] - v[4], v[6], v[7], total)
    return result


# MARK: - configurations

def backend_index(rule):
    return rule % 3


def backend_nginx_config(lab, prefix):
    servers = "\n".join(f"""
        server {{
            listen {address}:{BACKEND_PORT} backlog=4096;
            location / {{ return 200 "b{i + 1}\\n"; }}
        }}""" for i, address in enumerate(lab.backends))
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
{servers}
}}
"""


def nginx_config(lab, prefix, rules, connections):
    # Prefix locations: nginx finds the longest matching prefix in a static
    # tree built at start (not a linear scan); the header is then one
    # comparison. `if` holding only `return` is the safe use of if.
    upstreams = "\n".join(f"""    upstream b{i} {{
        server {address}:{BACKEND_PORT};
        keepalive {connections};
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }}""" for i, address in enumerate(lab.backends))
    locations = "\n".join(
        f'        location /svc{i} {{ if ($http_x_tenant != "t{i}") {{ return 404; }} proxy_pass http://b{backend_index(i)}; }}'
        for i in range(rules))
    return f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
{upstreams}
    server {{
        listen {lab.listener}:{PORT} backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{locations}
        location / {{ return 404; }}
    }}
}}
"""


def haproxy_config(lab, rules):
    # use_backend rules are evaluated in order: a linear matcher.
    use = "\n".join(f"    use_backend b{backend_index(i)} if {{ path_beg /svc{i} }} {{ hdr(x-tenant) -m str t{i} }}"
                    for i in range(rules))
    backends = "\n".join(f"""backend b{i}
    server s{i} {address}:{BACKEND_PORT}
""" for i, address in enumerate(lab.backends))
    return f"""global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    http-reuse always
frontend fe
    bind {lab.listener}:{PORT}
{use}
    default_backend none
backend none
    http-request return status 404 content-type text/plain string "no route"
{backends}"""


def routelet_snapshot(lab, rules):
    def rule(i):
        endpoint = f"{lab.backends[backend_index(i)]}:{BACKEND_PORT}"
        return {"index": i,
                "matches": [{"path": {"type": "PathPrefix", "value": f"/svc{i}"},
                             "headers": [{"name": "x-tenant", "type": "Exact", "value": f"t{i}"}],
                             "queryParams": []}],
                "backends": [{"name": endpoint, "weight": 1, "resolved": True, "endpoints": [endpoint]}]}
    route = {"namespace": "bench", "name": "rules", "createdAt": "2026-01-01T00:00:00Z", "hostnames": [],
             "rules": [rule(i) for i in range(rules)], "accessLogHeaders": []}
    return {"format": 1, "version": 1, "node": "bench",
            "listeners": [{"address": lab.listener, "port": PORT, "protocol": "HTTP", "routes": [route]}]}


WRK_SCRIPT = """-- bench/http_gateway.py: requests for the rules, built once at init.
local requests = {}
local n = 0
function init(args)
  local rules, mode = tonumber(args[1]), args[2]
  local function make(i)
    return wrk.format("GET", "/svc" .. i .. "/item", {["X-Tenant"] = "t" .. i})
  end
  if mode == "first" then requests[1] = make(0)
  elseif mode == "last" then requests[1] = make(rules - 1)
  else for i = 0, rules - 1 do requests[#requests + 1] = make(i) end end
end
function request()
  n = n % #requests + 1
  return requests[n]
end
"""


# MARK: - the proxies

def find_routelet():
    explicit = os.environ.get("ROUTELET")
    candidates = [explicit] if explicit else [".build/release/routelet", ".build/debug/routelet"]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path), None
    return None, (f"ROUTELET={explicit} is not an executable" if explicit else
                  "no routelet binary at .build/release/routelet or .build/debug/routelet "
                  "(swift build -c release --product routelet)")


def routelet_gateway_help(binary):
    # An unknown subcommand followed by --help prints the top-level help
    # and exits 0: the gateway's own help is the one that has --snapshot-dir.
    result = subprocess.run([binary, "gateway", "--help"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0 or "--snapshot-dir" not in result.stdout:
        return None, f"{binary} has no `gateway` command yet (`routelet gateway --help` shows no --snapshot-dir)"
    return result.stdout, None


class Proxy:
    """Starts one proxy with a rule set in gw, pinned to the proxy CPU."""

    def __init__(self, name, lab, args, routelet=None):
        self.name, self.lab, self.args = name, lab, args
        self.routelet_binary, self.routelet_help = routelet or (None, "")

    def start(self, rules):
        directory = os.path.join(self.lab.work, f"{self.name}-{rules}")
        os.makedirs(directory, exist_ok=True)
        if self.name == "nginx":
            path = os.path.join(directory, "nginx.conf")
            write(path, nginx_config(self.lab, directory, rules, self.args.connections))
            argv = ["nginx", "-e", "stderr", "-p", directory, "-c", path]
        elif self.name == "haproxy":
            path = os.path.join(directory, "haproxy.cfg")
            write(path, haproxy_config(self.lab, rules))
            argv = ["haproxy", "-db", "-f", path]
        else:
            with open(os.path.join(directory, "snapshot.json"), "w") as f:
                json.dump(routelet_snapshot(self.lab, rules), f, indent=1)
            argv = [self.routelet_binary, "gateway", "--snapshot-dir", directory]
            # Only the options this build has (the command is still being written).
            for option, value in (("--access-log", "/dev/null"), ("--metrics-addr", ""), ("--threads", "1"),
                                  ("--shutdown-grace", "1s")):
                if option in self.routelet_help:
                    argv += [option, value]
        process = self.lab.start(self.lab.gw, self.args.proxy_cpu, argv, f"{self.name}-{rules}.log")
        try:
            self.lab.wait_listening(self.lab.gw, PORT, process)
            probe(self.lab, rules, self.name)
        except BaseException:
            self.lab.stop(process)
            raise
        return process


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


PROBE = r"""
import http.client, sys, time
host, port, checks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
deadline = time.monotonic() + 20
while True:
    try:
        c = http.client.HTTPConnection(host, port, timeout=5)
        bad = []
        for check in checks:
            path, tenant, status, body = check.split("|")
            c.request("GET", path, headers={"X-Tenant": tenant})
            r = c.getresponse()
            got = r.read().decode(errors="replace")
            if r.status != int(status) or (body and got != body + "\n"):
                bad.append(f"GET {path} X-Tenant: {tenant} -> {r.status} {got!r}, wanted {status} {body!r}")
        if not bad:
            sys.exit(0)
        error = "; ".join(bad)
    except OSError as e:
        error = str(e)
    if time.monotonic() > deadline:
        sys.exit(error)
    time.sleep(0.2)
"""


def probe(lab, rules, name):
    """The rules route as they should: first, middle and last rule to their
    backend over one kept-alive connection, and a wrong tenant answered 404
    (so the header really is matched)."""
    checks = []
    for i in sorted({0, rules // 2, rules - 1}):
        checks.append(f"/svc{i}/item|t{i}|200|b{backend_index(i) + 1}")
    checks.append(f"/svc{rules - 1}/item|nobody|404|")
    result = lab.run(lab.client, None, ["python3", "-c", PROBE, lab.listener, str(PORT)] + checks, timeout=60)
    if result.returncode != 0:
        raise BenchError(f"{name} with {rules} rules does not route as configured: {result.stderr.strip()}")


# MARK: - wrk

def to_us(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[unit]


def parse_wrk(output):
    def number(pattern, default=None):
        m = re.search(pattern, output)
        return float(m.group(1)) if m else default
    result = {
        "requests": number(r"(\d+) requests in"),
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "non2xx": number(r"Non-2xx or 3xx responses: (\d+)", 0),
        "socketErrors": sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                                        (re.search(r"Socket errors:.*", output) or [""])[0])),
    }
    for percentile in ("50", "99"):
        m = re.search(rf"^\s+{percentile}%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M)
        result[f"p{percentile}Us"] = to_us(m.group(1)) if m else None
    if result["requests"] is None or result["rps"] is None:
        raise BenchError(f"wrk printed no result:\n{output}")
    return result


def run_wrk(lab, args, url, rules, mode, duration, proxy_pid=None):
    script = os.path.join(lab.work, "rules.lua")
    if not os.path.exists(script):
        write(script, WRK_SCRIPT)
    argv = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration:g}s", "--latency", "-s", script, url,
            "--", str(rules), mode]
    cpu_before = tree_cpu_seconds(proxy_pid) if proxy_pid else 0.0
    stat_before, wall_before = cpu_times(), time.monotonic()
    result = lab.run(lab.client, args.load_cpus, argv, timeout=duration + 60)
    wall = time.monotonic() - wall_before
    stat_after = cpu_times()
    cpu = (tree_cpu_seconds(proxy_pid) - cpu_before) if proxy_pid else 0.0
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip()}")
    point = parse_wrk(result.stdout)
    busy = {}
    for n in stat_after:
        b0, s0, st0, t0 = stat_before.get(n, (0, 0, 0, 0))
        b1, s1, st1, t1 = stat_after[n]
        span = max(t1 - t0, 1)
        busy[n] = {"busy": (b1 - b0) / span, "softirq": (s1 - s0) / span, "steal": (st1 - st0) / span}
    point["cpuBusy"] = {str(n): round(v["busy"], 3) for n, v in busy.items()}
    point["cpuSoftirq"] = {str(n): round(v["softirq"], 3) for n, v in busy.items()}
    point["cpuSteal"] = {str(n): round(v["steal"], 3) for n, v in busy.items()}
    if proxy_pid:
        point["proxyCpuSeconds"] = round(cpu, 3)
        point["proxyCpuUtilisation"] = round(cpu / wall, 3)
        point["cpuUsPerRequest"] = round(cpu * 1e6 / point["requests"], 3) if point["requests"] else None
        # requests/s per core-second of proxy CPU = rps / utilisation
        point["rpsPerCore"] = round(point["requests"] / cpu, 1) if cpu > 0 else None
    point["wallSeconds"] = round(wall, 3)
    return point


# MARK: - the run

def versions(routelet_binary):
    def first_line(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return ((r.stdout + r.stderr).strip().splitlines() or [""])[0]
        except OSError:
            return None
    return {"nginx": first_line(["nginx", "-v"]), "haproxy": first_line(["haproxy", "-v"]),
            "wrk": first_line(["wrk", "-v"]),
            "routelet": first_line([routelet_binary, "version"]) if routelet_binary else None}


def machine():
    def git(*argv):
        r = subprocess.run(["git", *argv], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
    return {"commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(),
            "memoryGiB": round(mem_kib / 2**20, 1), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadAverageAtStart": os.getloadavg()}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


METRICS = ("rps", "p50Us", "p99Us", "cpuUsPerRequest", "rpsPerCore", "proxyCpuUtilisation")


def summarise(samples):
    row = {m: median([s.get(m) for s in samples]) for m in METRICS}
    row["loadCpuBusy"] = median([max(s["cpuBusy"].get(c, 0) for c in load_cpu_keys(s)) for s in samples])
    row["proxyCpuBusy"] = median([s["cpuBusy"].get(PROXY_CPU_KEY, 0) for s in samples]) if PROXY_CPU_KEY else None
    row["proxyCpuSoftirq"] = median([s["cpuSoftirq"].get(PROXY_CPU_KEY, 0) for s in samples]) if PROXY_CPU_KEY else None
    row["non2xx"] = sum(s["non2xx"] for s in samples)
    row["socketErrors"] = sum(s["socketErrors"] for s in samples)
    row["samples"] = samples
    return row


PROXY_CPU_KEY = None
LOAD_CPU_KEYS = []


def load_cpu_keys(sample):
    return LOAD_CPU_KEYS or list(sample["cpuBusy"])


def cpu_list(text):
    cpus = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        cpus.extend(range(int(a), int(b or a) + 1))
    return [str(c) for c in cpus]


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def main(argv):
    global PROXY_CPU_KEY, LOAD_CPU_KEYS
    args = parse_args(argv)
    if args.check_args:
        return 0
    lab = Lab()
    lab.nice = args.nice
    if args.proxy_cpu is not None:
        PROXY_CPU_KEY = cpu_list(args.proxy_cpu)[0] if len(cpu_list(args.proxy_cpu)) == 1 else None
        LOAD_CPU_KEYS = cpu_list(args.load_cpus)

    skipped = {}
    routelet = None
    if "routelet" in args.proxies:
        binary, reason = find_routelet()
        if binary:
            help_text, reason = routelet_gateway_help(binary)
        if reason:
            skipped["routelet"] = reason
            print(f"http-gateway: routelet skipped: {reason}")
        else:
            routelet = (binary, help_text)
            if "/debug/" in binary:
                print(f"http-gateway: WARNING: {binary} is a debug build; its numbers are not comparable")
            if "--threads" not in help_text:
                print("http-gateway: note: routelet gateway has no --threads; it runs pinned to one CPU all the same")
    proxies = [p for p in args.proxies if p not in skipped]
    facts = machine()
    print(f"http-gateway: commit {facts['commit']}{' (dirty)' if facts['dirty'] else ''}, {facts['cpu']}, "
          f"{facts['cores']} cores, kernel {facts['kernel']}; proxies {','.join(proxies)}; rules "
          f"{','.join(map(str, args.rules))}; wrk -t1 -c{args.connections} -d{args.duration:g}s x {args.repeats}, "
          f"warm-up {args.warmup:g}s; proxy on CPU {args.proxy_cpu}, wrk + backends on CPU {args.load_cpus}")

    results = {"benchmark": "http-gateway", "machine": facts, "versions": versions(routelet[0] if routelet else None),
               "settings": {"quick": args.quick, "rules": args.rules, "modes": args.modes, "proxies": proxies,
                            "durationSeconds": args.duration, "warmupSeconds": args.warmup, "repeats": args.repeats,
                            "wrk": f"wrk -t1 -c{args.connections} -d{args.duration:g}s --latency -s rules.lua",
                            "proxyCpu": args.proxy_cpu, "loadCpus": args.load_cpus, "nice": args.nice,
                            "routeletBinary": routelet[0] if routelet else None},
               "skipped": skipped, "direct": None, "points": []}
    try:
        backend_dir = os.path.join(lab.work, "backends")
        os.makedirs(backend_dir)
        write(os.path.join(backend_dir, "nginx.conf"), backend_nginx_config(lab, backend_dir))
        backend = lab.start(lab.backends_ns, args.load_cpus,
                            ["nginx", "-e", "stderr", "-p", backend_dir, "-c", os.path.join(backend_dir, "nginx.conf")],
                            "backends.log")
        lab.wait_listening(lab.backends_ns, BACKEND_PORT, backend)

        # The load side's ceiling: wrk straight to one backend, no proxy.
        direct_url = f"http://{lab.backends[0]}:{BACKEND_PORT}/"
        run_wrk(lab, args, direct_url, 1, "first", args.warmup)
        direct = [run_wrk(lab, args, direct_url, 1, "first", args.duration) for _ in range(args.repeats)]
        results["direct"] = summarise(direct)
        print(f"  direct (wrk -> backend, no proxy): {results['direct']['rps']:,.0f} req/s, "
              f"load CPU busy {results['direct']['loadCpuBusy']:.0%}")

        url = f"http://{lab.listener}:{PORT}/"
        samples = {}
        for rules in args.rules:
            modes = args.modes[:1] if rules == 1 else args.modes
            for rep in range(args.repeats):
                order = proxies[rep % len(proxies):] + proxies[:rep % len(proxies)]
                for name in order:
                    if name in skipped:
                        continue
                    proxy = Proxy(name, lab, args, routelet)
                    try:
                        process = proxy.start(rules)
                    except BenchError as error:
                        if name != "routelet":
                            raise
                        # Being written: its failure must not cost the others' numbers.
                        skipped["routelet"] = f"failed to start with {rules} rules: {error}"
                        print(f"http-gateway: routelet skipped from here on: {error}", file=sys.stderr)
                        continue
                    try:
                        run_wrk(lab, args, url, rules, "spread", args.warmup, process.pid)
                        for mode in modes:
                            point = run_wrk(lab, args, url, rules, mode, args.duration, process.pid)
                            samples.setdefault((rules, mode, name), []).append(point)
                            print(f"  {rules:>5} rules {mode:<6} {name:<8} run {rep + 1}: {point['rps']:>9,.0f} req/s  "
                                  f"p50 {fmt_us(point['p50Us'])} p99 {fmt_us(point['p99Us'])}  "
                                  f"{point['cpuUsPerRequest']:.1f} us CPU/req  proxy CPU {point['proxyCpuUtilisation']:.0%}"
                                  + (f"  NON-2XX {point['non2xx']:.0f}" if point["non2xx"] else "")
                                  + (f"  socket errors {point['socketErrors']}" if point["socketErrors"] else ""),
                                  flush=True)
                    finally:
                        lab.stop(process)
        for (rules, mode, name), runs in samples.items():
            results["points"].append({"rules": rules, "mode": mode, "proxy": name, **summarise(runs)})
    finally:
        lab.stop_all()
    results["machine"]["loadAverageAtEnd"] = os.getloadavg()
    results["ratios"] = ratios(results["points"], proxies)
    print_table(results, proxies)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")
    bad = [p for p in results["points"] if p["non2xx"] or p["socketErrors"]]
    if bad:
        print("http-gateway: some runs had non-2xx answers or socket errors (see the JSON)", file=sys.stderr)
        return 1
    return 0


def ratios(points, proxies):
    by = {(p["rules"], p["mode"], p["proxy"]): p for p in points}
    out = []
    for rules, mode in sorted({(p["rules"], p["mode"]) for p in points}, key=lambda k: (k[0], MODES.index(k[1]))):
        row = {"rules": rules, "mode": mode}
        for a, b in (("routelet", "nginx"), ("routelet", "haproxy"), ("haproxy", "nginx")):
            pa, pb = by.get((rules, mode, a)), by.get((rules, mode, b))
            if not (pa and pb):
                row[f"{a}/{b}"] = None
                continue
            metrics = ("rps", "rpsPerCore", "cpuUsPerRequest", "p50Us", "p99Us")
            row[f"{a}/{b}"] = {m: ratio(pa[m], pb[m]) for m in metrics}
            # The same ratio within each repetition (the two measured minutes
            # apart at most), then the median: less sensitive to the drift.
            pairs = list(zip(pa["samples"], pb["samples"]))
            row[f"{a}/{b}"]["paired"] = {m: ratio(median([ratio(x.get(m), y.get(m)) for x, y in pairs]), 1)
                                         for m in metrics}
        out.append(row)
    return out


def fmt_ratio(value):
    return "-" if value is None else f"{value:.2f}"


def fmt_pct(value):
    return "-" if value is None else f"{value:.0%}"


def fmt_us(us):
    if us is None:
        return "-"
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} us"


def print_table(results, proxies):
    print()
    m = results["machine"]
    print(f"HTTP routing, kept-alive (commit {m['commit']}, {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}); "
          f"medians of {results['settings']['repeats']}")
    header = (f"{'rules':>5} {'mix':<6} {'proxy':<8} {'req/s':>9} {'p50':>9} {'p99':>9} {'CPU/req':>9} "
              f"{'req/s/core':>10} {'proxy':>5} {'its CPU':>7} {'load':>5} {'vs nginx':>8} {'vs haproxy':>10}")
    print(header)
    print("-" * len(header))
    d = results["direct"]
    if d:
        print(f"{'-':>5} {'direct':<6} {'(none)':<8} {d['rps']:>9,.0f} {fmt_us(d['p50Us']):>9} {fmt_us(d['p99Us']):>9} "
              f"{'':>9} {'':>10} {'':>5} {fmt_pct(d['proxyCpuBusy']):>7} {fmt_pct(d['loadCpuBusy']):>5}")
    by = {(p["rules"], p["mode"], p["proxy"]): p for p in results["points"]}
    for r in results["ratios"]:
        for name in proxies:
            p = by.get((r["rules"], r["mode"], name))
            if not p:
                continue
            vs_nginx = r.get(f"{name}/nginx") or {}
            vs_haproxy = r.get(f"{name}/haproxy") or {}
            print(f"{p['rules']:>5} {p['mode']:<6} {name:<8} {p['rps']:>9,.0f} {fmt_us(p['p50Us']):>9} "
                  f"{fmt_us(p['p99Us']):>9} {p['cpuUsPerRequest']:>6.1f} us {p['rpsPerCore']:>10,.0f} "
                  f"{fmt_pct(p['proxyCpuUtilisation']):>5} {fmt_pct(p['proxyCpuBusy']):>7} {fmt_pct(p['loadCpuBusy']):>5} "
                  f"{fmt_ratio(vs_nginx.get('rpsPerCore')):>8} {fmt_ratio(vs_haproxy.get('rpsPerCore')):>10}")
    print("CPU/req: the proxy's utime+stime per request; req/s/core: requests per second of proxy CPU; "
          "proxy: its CPU use (1.0 = one core); its CPU: how busy the proxy's CPU was, by anything; "
          "load: how busy the wrk + backends CPU was; vs nginx / vs haproxy: ratio of req/s/core (higher is better)")
    for name, reason in results["skipped"].items():
        print(f"{name}: skipped: {reason}")


if __name__ == "__main__":
    # TERM from the script's cleanup: unwind, so that what was started stops.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as error:
        sys.exit(f"http-gateway: {error}")
    except KeyboardInterrupt:
        sys.exit(130)
