import Foundation
import Testing
import YAML

/// A small deterministic generator (SplitMix64), so a failure can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random and mutated YAML: the parser never crashes, and its errors point
/// inside the input. Each test prints its seed before it starts (a crash
/// ends the process before any message); YAML_FUZZ_SEED=<seed> replays one.
@Suite struct YAMLFuzzTests {
    static func seed(_ test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["YAML_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("YAMLFuzzTests.\(test): seed \(seed) (YAML_FUZZ_SEED=\(seed) replays it)")
        return seed
    }

    /// Parses with the fuzzing limits; an error must name a line of the input.
    static func parse(_ bytes: [UInt8], _ comment: @autoclosure () -> Comment) {
        do throws(YAMLError) {
            _ = try YAML.parseDocuments(bytes: bytes, maxDepth: 16, maxNodes: 10_000)
        } catch {
            // At most one line per byte that can end one: \n, \r, and the
            // last byte of NEL, LS and PS, which libyaml also breaks on.
            let lines = bytes.count(where: { [0x0A, 0x0D, 0x85, 0xA8, 0xA9].contains($0) }) + 1
            // libyaml ends a stream whose last line has no break with one, so
            // an error at the very end may be on the line after the last.
            #expect((1...lines + 1).contains(error.line) && error.column >= 1,
                    "\(comment()): error at line \(error.line), column \(error.column) of \(lines) lines: \(error)")
        }
    }

    static let manifest = """
        # a RouteTable
        apiVersion: routelet.dev/v1alpha1
        kind: RouteTable
        metadata:
          name: edge
          labels: {app: "routelet", tier: 'edge'}
        spec:
          nodeSelector:
            matchLabels: {routelet.dev/role: edge}
          interfaces: [eth1, "veth*"]
          defaults: &defaults
            interface: eth0
            metric: 10
          routes:
          - destination: 192.168.1.0/24
            <<: *defaults
            gateway: 192.168.1.1
          - destination: 10.0.0.0/8
            nexthops:
            - {gateway: 10.0.0.1, interface: eth1, weight: 1}
            - {gateway: 10.0.0.2, interface: eth2, weight: 0x3}
          - destination: 203.0.113.0/24
            type: !!str Blackhole
            note: |
              dropped
              on purpose
        ---
        - [1, 2, {a: ~}]
        """

    /// Bytes that mean something to YAML, to make mutations interesting.
    static let interesting: [UInt8] = Array(":-?[]{},#&*!|>'\"%@`\t\n \\.~<0x".utf8) + [0x00, 0xC3, 0xFF, 0xED]

    @Test("random bytes never crash the parser")
    func randomBytes() {
        let seed = Self.seed("randomBytes")
        var random = SplitMix64(seed: seed)
        for index in 0..<2_000 {
            let length = Int.random(in: 0..<64, using: &random)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &random) ? UInt8.random(in: 0...255, using: &random) : Self.interesting.randomElement(using: &random)!
            }
            Self.parse(bytes, "seed \(seed), input \(index)")
        }
    }

    @Test("mutations of a valid manifest never crash the parser")
    func mutatedManifests() throws {
        let original = Array(Self.manifest.utf8)
        #expect(try YAML.parseDocuments(bytes: original).count == 2)
        let seed = Self.seed("mutatedManifests")
        var random = SplitMix64(seed: seed)
        for index in 0..<3_000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[position] = Self.interesting.randomElement(using: &random)!
                case 1: bytes.insert(Self.interesting.randomElement(using: &random)!, at: position)
                case 2: bytes.remove(at: position)
                case 3: bytes[position] = UInt8.random(in: 0...255, using: &random)
                default:
                    // Duplicate a slice: repeated keys, anchors and nesting.
                    let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
                    bytes.insert(contentsOf: bytes[position..<end], at: position)
                }
                if bytes.isEmpty { bytes = original }
            }
            Self.parse(bytes, "seed \(seed), mutation \(index)")
        }
    }
}
