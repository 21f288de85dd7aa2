import Foundation
import Testing
@testable import GatewayConfig

@Suite struct SnapshotTests {
    @Test func aWrittenSnapshotReadsBackEqual() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try GatewaySnapshot.load(from: directory) == nil)
        let snapshot = GatewaySnapshot(version: 3, node: "n1", listeners: [
            HTTPListenerConfig(address: "198.51.100.10", port: 80, routes: [
                HTTPRouteConfig(namespace: "shop", name: "users", hostnames: ["api.example.com"], rules: [
                    HTTPRuleConfig(index: 0, matches: [HTTPRequestMatch(path: .init(type: "PathPrefix", value: "/users"),
                                                                        headers: [.init(name: "x-user-role", value: "admin")])],
                                   backends: [HTTPBackendConfig(name: "service user-service:8080", weight: 1, endpoints: ["10.0.0.1:8080"])]),
                ], accessLogHeaders: ["X-User-Role"]),
            ]),
        ])
        try snapshot.write(to: directory)
        #expect(try GatewaySnapshot.load(from: directory) == snapshot)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == [GatewaySnapshot.fileName])
    }

    @Test func aNewerFormatIsRefusedWithAClearError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try GatewaySnapshot(format: 99).write(to: directory)
        #expect(throws: SnapshotError.newerFormat(99, supported: GatewaySnapshot.currentFormat)) {
            try GatewaySnapshot.load(from: directory)
        }
    }

    @Test func garbageIsAnErrorNotACrash() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for bytes in ["", "{", "[]", "{\"format\": \"x\"}", String(repeating: "[", count: 10000)] {
            try Data(bytes.utf8).write(to: directory.appendingPathComponent(GatewaySnapshot.fileName))
            #expect(throws: (any Error).self) { try GatewaySnapshot.load(from: directory) }
        }
    }
}
