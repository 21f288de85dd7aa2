// swift-tools-version:6.0
// The libFuzzer driver of routelet's parsers (`make fuzz`). A package of its
// own so that the main build never links a binary without a `main`: this
// one gets libFuzzer's, through `-sanitize=fuzzer` (scripts/fuzz.sh).
import PackageDescription

let package = Package(
    name: "routelet-fuzz",
    dependencies: [.package(name: "routelet", path: "../..")],
    targets: [
        .executableTarget(
            name: "routelet-fuzz",
            dependencies: ["CFuzzerDriver", .product(name: "FuzzTargets", package: "routelet")]
        ),
        .target(name: "CFuzzerDriver"),
    ]
)
