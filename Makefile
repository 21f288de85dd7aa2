# routelet: the two commands of the README, and the steps under them.
#
#   make demo    install what is missing, build, run the namespace lab demo
#   make demo-cluster  three nodes over one API server, on this machine
#   make soak    that cluster under traffic and faults (SOAK_MINUTES, default 10)
#   make test    install what is missing, build, run every test
#   make bench   benchmarks (never part of make test)
#   make fuzz    libFuzzer over every parser of untrusted bytes (FUZZ_SECONDS=N per target, default 60)
#   make image   the container image, where a container engine runs

SWIFT_BIN ?= /opt/swift/usr/bin
export PATH := $(SWIFT_BIN):$(PATH)
SWIFT ?= swift
BUILD_FLAGS ?=

.PHONY: all deps build bpf test demo demo-cluster soak bench fuzz clean validate-manifests image

all: build

deps:
	@scripts/install-deps.sh

# `swift build` compiles bpf/*.bpf.c too (Plugins/EmbedPlugin runs
# bpf/Makefile) and embeds the objects in the binary.
build: deps
	$(SWIFT) build $(BUILD_FLAGS)

# The BPF objects alone, in bpf/build/, for bpftool or tc.
bpf:
	$(MAKE) -C bpf PROGRAMS="router router_nocapture bench_router bench_gateway bench_empty bench_fib"

test: build validate-manifests
	@scripts/require-root.sh "make test"
	@scripts/debian-kubectl.sh
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	# One test at a time: many tests wait synchronously on processes and
	# packets; run side by side on 2 cores they starve the async ones.
	$(SWIFT) test --skip-build --no-parallel $(BUILD_FLAGS)

demo: build
	@scripts/require-root.sh "make demo"
	$(SWIFT) run $(BUILD_FLAGS) routelet-demo manifests/examples

# A second demo: one routelet apiserver and three agent nodes (network
# namespaces), the Lease holder killed, a label changed (docs/cluster-lab.md).
demo-cluster: build
	@scripts/require-root.sh "make demo-cluster"
	$(SWIFT) run $(BUILD_FLAGS) routelet-demo-cluster manifests/examples/cluster/tables.yaml

# Benchmarks, release build; results in bench/results/*.json. See docs/performance.md.
bench: deps
	@scripts/require-root.sh "make bench"
	@scripts/install-deps.sh iperf3 nftables conntrack wrk nginx haproxy
	$(SWIFT) build -c release --product routelet-bench
	$(SWIFT) build -c release --product routelet
	.build/release/routelet-bench lookup
	.build/release/routelet-bench converge
	.build/release/routelet-bench apply-latency
	.build/release/routelet-bench forward
	bench/router-before-after.sh
	.build/release/routelet-bench gateway
	.build/release/routelet-bench gateway-stage
	ROUTELET=.build/release/routelet bench/http-gateway.sh

# The three-node cluster under traffic while faults are injected
# (docs/soak.md); report in bench/results/soak.json. make test runs 60 s of it.
SOAK_MINUTES ?= 10
soak: build
	@scripts/require-root.sh "make soak"
	$(SWIFT) run $(BUILD_FLAGS) routelet-soak --minutes $(SOAK_MINUTES) --report bench/results/soak.json

# libFuzzer over each parser of untrusted bytes (Tests/Fuzz, docs/fuzzing.md):
# FUZZ_SECONDS per target (default 60), FUZZ_TARGETS to pick some. make test
# replays the committed corpora; this finds new inputs.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) scripts/fuzz.sh

# manifests/ and helm-chart/ against the Kubernetes schemas (docs/install.md).
validate-manifests:
	@scripts/install-validators.sh
	scripts/validate-manifests.py

# The container image (Dockerfile), where docker, podman or buildah runs.
image:
	scripts/build-image.sh $(IMAGE)

clean:
	rm -rf .build bpf/build
