// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "routelet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "routelet", targets: ["routelet"]),
        // For the fuzzing package in Tests/Fuzz (`make fuzz`).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries, found through pkg-config, installed by `make deps`.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev", "libelf-dev", "zlib1g-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // The map layouts shared with bpf/ (include/ links to bpf/include).
        .target(name: "CRouteletABI"),

        // Linux calls and headers Glibc does not expose (setns, rtnetlink).
        .target(name: "CRouteletSys"),

        // IPv4/IPv6 addresses and prefixes: parsing, formatting, masks.
        .target(name: "NetAddress"),

        // JSON values as the Kubernetes API delivers them.
        .target(name: "JSONValue"),

        // libyaml -> JSON values, with positions for error messages.
        .target(name: "YAML", dependencies: ["CYAML", "JSONValue"]),

        // The resources (RouteTable, ...): Codable types, validation, selectors. Pure.
        .target(name: "RouteletAPI", dependencies: ["NetAddress", "JSONValue"]),

        // The data plane's entries as plain values (routes, groups, counters, state). Pure.
        .target(name: "DataplaneModel", dependencies: ["NetAddress"]),

        // compile (tables + node facts -> desired) and diff (desired + actual -> operations). Pure.
        .target(name: "Reconciler", dependencies: ["RouteletAPI", "DataplaneModel", "NetAddress", "GatewayConfig"]),

        // The HTTP gateway's configuration (the snapshot the agent writes) and
        // its request matching and weighted choice. Pure.
        .target(name: "GatewayConfig"),

        // Access-log lines (JSON, built as bytes) and their writer thread:
        // the gateway's requests and the agent's eBPF header captures.
        .target(
            name: "AccessLog",
            dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),

        // `routelet gateway`: the HTTP/1.1 reverse proxy on SwiftNIO that serves the snapshot.
        .target(
            name: "Gateway",
            dependencies: [
                "GatewayConfig", "AccessLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // libbpf: the embedded router object, pinned maps, TC attach, actual state.
        .target(
            name: "Dataplane",
            dependencies: ["CLibbpf", "CRouteletABI", "NetAddress", "DataplaneModel"],
            plugins: [.plugin(name: "EmbedPlugin")]
        ),

        // Builds bpf/*.bpf.c with clang and embeds the objects (bpf/Makefile).
        .plugin(name: "EmbedPlugin", capability: .buildTool()),

        // rtnetlink: links and addresses of the node, and their change notifications.
        .target(name: "Netlink", dependencies: ["NetAddress", "CRouteletSys"]),

        // Objects as JSON in SQLite, with a global resourceVersion and watch history.
        .target(name: "APIStore", dependencies: ["JSONValue", .product(name: "GRDB", package: "GRDB.swift")]),

        // Structural OpenAPI v3 schemas (the CRDs'): validation, unknown fields, pruning.
        .target(name: "Schema", dependencies: ["JSONValue", "YAML"]),

        // One entry point per parser of untrusted bytes, for libFuzzer
        // (Tests/Fuzz, `make fuzz`) and the corpus replay in `make test`.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Agent", "APIServer", "APIStore", "Gateway", "GatewayConfig", "JSONValue", "KubeClient", "NetAddress", "Netlink", "RouteletAPI", "Schema", "YAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // The embedded Kubernetes-compatible API server (kubectl drives it).
        .target(
            name: "APIServer",
            dependencies: [
                "APIStore", "Schema", "JSONValue", "RouteletAPI", "YAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: [.plugin(name: "EmbedPlugin")]
        ),

        // A Kubernetes API client over libcurl: kubeconfig, requests, list+watch.
        .target(
            name: "KubeClient",
            dependencies: [
                "CCurl", "JSONValue", "YAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // The agent: sources, the reconcile loop, node facts, status.
        .target(
            name: "Agent",
            dependencies: [
                "Dataplane", "Reconciler", "RouteletAPI", "YAML", "JSONValue", "Netlink", "KubeClient", "DataplaneModel", "GatewayConfig", "CRouteletSys", "NetAddress", "AccessLog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .executableTarget(
            name: "routelet",
            dependencies: [
                "Dataplane",
                "Agent",
                "AccessLog",
                "Gateway",
                "Netlink",
                "APIServer",
                "GatewayConfig",
                "KubeClient",
                "JSONValue",
                "CRouteletSys",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // `make demo`: the namespace lab, routelet programming it, traffic.
        .executableTarget(name: "routelet-demo", dependencies: ["Dataplane", "NetLab", "NetAddress"]),
        // `make demo-cluster`: three nodes over one API server (NetLab's ClusterLab).
        .executableTarget(name: "routelet-demo-cluster", dependencies: ["NetLab"]),
        // `make soak`: the cluster under traffic and faults (NetLab's Soak).
        .executableTarget(name: "routelet-soak", dependencies: ["NetLab", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // `make bench`: routelet against the kernel's own routing.
        .executableTarget(
            name: "routelet-bench",
            dependencies: [
                "CLibbpf", "Dataplane", "DataplaneModel", "Reconciler", "NetLab", "NetAddress", "KubeClient", "JSONValue",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/routelet-bench",
            plugins: [.plugin(name: "EmbedPlugin")]
        ),

        // Network-namespace labs for tests, benchmarks and the demo.
        .target(name: "NetLab", dependencies: ["Dataplane", "DataplaneModel", "GatewayConfig", "CRouteletSys"]),

        .testTarget(name: "JSONValueTests", dependencies: ["JSONValue"]),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "GatewayConfig", "AccessLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SchemaTests", dependencies: ["Schema", "RouteletAPI", "YAML", "JSONValue"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "JSONValue"]),
        .testTarget(name: "RouteletAPITests", dependencies: ["RouteletAPI", "YAML", "NetAddress", "JSONValue"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets"]),
        .testTarget(name: "ReconcilerTests", dependencies: ["Reconciler", "GatewayConfig", "RouteletAPI", "DataplaneModel", "NetAddress", "YAML", "JSONValue"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "AccessLog", "Reconciler", "Dataplane", "NetLab", "KubeClient", "JSONValue", "RouteletAPI", "YAML", "routelet"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "NetAddress", "CRouteletSys"]),
        .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "JSONValue", "NetLab", "routelet"]),
        .testTarget(name: "APIStoreTests", dependencies: ["APIStore", "JSONValue"]),
        .testTarget(name: "APIServerTests", dependencies: ["APIServer", "APIStore", "JSONValue", "NetLab", "routelet", "Reconciler", "RouteletAPI", "NetAddress", "DataplaneModel",
                                                           .product(name: "Logging", package: "swift-log")],
                    exclude: ["python"]),
        // The benchmark's router too (rl_bench_router restores the TTL before
        // each repetition of a test run).
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "CRouteletABI", "NetLab", "Netlink", "routelet"],
                    plugins: [.plugin(name: "EmbedPlugin")]),
    ],
    swiftLanguageModes: [.v6]
)
