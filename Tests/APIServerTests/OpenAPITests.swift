import Foundation
import JSONValue
import NetLab
import Testing

/// The OpenAPI v3 documents the server serves (/openapi/v3/...), as OpenAPI
/// tools read them: valid by openapi-spec-validator, with the path and query
/// parameters kube-apiserver declares.
@Suite struct OpenAPITests {
    /// Every group version the root document lists, fetched as a client does.
    static func documents(_ server: Server) async throws -> [(path: String, document: JSONValue)] {
        let root = await server.call("GET", "/openapi/v3")
        try #require(root.status == 200, "GET /openapi/v3: \(root)")
        let entries = try #require(root.body["paths"]?.objectValue, "no paths in \(root.body)")
        var documents: [(String, JSONValue)] = []
        for (name, entry) in entries {
            let url = try #require(entry["serverRelativeURL"]?.stringValue, "\(name): no serverRelativeURL")
            let path = String(url.prefix { $0 != "?" })
            let fetched = await server.call("GET", path)
            try #require(fetched.status == 200, "GET \(url): \(fetched.status)")
            documents.append((path, fetched.body))
        }
        return documents.sorted { $0.0 < $1.0 }
    }

    @Test func everyDocumentPassesOpenAPISpecValidator() async throws {
        let check = try Command.runAllowingFailure(["python3", "-c", "import openapi_spec_validator"])
        guard check.status == 0 else {
            throw ValidatorMissing(description: "openapi-spec-validator is missing for the python3 on PATH: pip install openapi-spec-validator "
                                   + "(scripts/install-validators.sh, which make test runs, installs it)\n\(check.stderr)")
        }
        let server = try Server()
        defer { server.remove() }
        let documents = try await Self.documents(server)
        #expect(documents.count >= 5, "the group versions served: \(documents.map(\.path))")
        let directory = NSTemporaryDirectory() + "rl-openapi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (path, document) in documents {
            let file = directory + "/" + path.split(separator: "/").joined(separator: "_") + ".json"
            try document.jsonData().write(to: URL(fileURLWithPath: file))
            let result = try Command.runAllowingFailure(["python3", "-m", "openapi_spec_validator", file])
            #expect(result.status == 0, "\(path) is not valid OpenAPI:\n\(result.stdout)\(result.stderr)")
        }
    }

    @Test func pathAndListParametersAreDeclaredAsKubeAPIServerDoes() async throws {
        let server = try Server()
        defer { server.remove() }
        let documents = try await Self.documents(server)
        let listParameters: Set = ["labelSelector", "fieldSelector", "resourceVersion", "watch", "allowWatchBookmarks",
                                   "timeoutSeconds", "limit", "continue"]
        var operations = 0
        for (document, spec) in documents {
            for (path, item) in spec["paths"]?.objectValue ?? [:] {
                let templated = Set(path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                let shared = item["parameters"]?.arrayValue ?? []
                for (method, operation) in item.objectValue ?? [:] where method != "parameters" {
                    operations += 1
                    let declared = shared + (operation["parameters"]?.arrayValue ?? [])
                    let inPath = Set(declared.filter { $0["in"] == "path" && $0["required"] == true }.compactMap { $0["name"]?.stringValue })
                    #expect(inPath == templated, "\(document) \(method) \(path): path parameters \(inPath.sorted()), not \(templated.sorted())")
                    if operation["x-kubernetes-action"] == "list" {
                        let query = Set(declared.filter { $0["in"] == "query" }.compactMap { $0["name"]?.stringValue })
                        #expect(listParameters.isSubset(of: query), "\(document) \(path): list without \(listParameters.subtracting(query).sorted())")
                    }
                }
            }
        }
        #expect(operations > 50, "operations in all documents: \(operations)")

        // What kubectl reads: fieldValidation on the patch of each kind (it
        // then leaves field validation to the server).
        let routelet = try #require(documents.first { $0.path == "/openapi/v3/apis/routelet.dev/v1alpha1" }?.document)
        let patch = routelet["paths"]?["/apis/routelet.dev/v1alpha1/routetables/{name}"]?["patch"]
        #expect(patch?["x-kubernetes-group-version-kind"]?["kind"] == "RouteTable")
        #expect(patch?["parameters"]?.arrayValue?.contains { $0["name"] == "fieldValidation" } == true, "\(patch ?? .null)")
        let leases = try #require(documents.first { $0.path == "/openapi/v3/apis/coordination.k8s.io/v1" }?.document)
        #expect(leases["paths"]?["/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"] != nil)
        #expect(leases["paths"]?["/apis/coordination.k8s.io/v1/leases"]?["get"] != nil, "the list across namespaces")
    }
}

struct ValidatorMissing: Error, CustomStringConvertible {
    var description: String
}
