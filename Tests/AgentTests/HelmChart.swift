import Foundation
import JSONValue
import NetLab
import YAML

/// helm-chart/ rendered by the repository's own renderer, scripts/helm-render
/// (helm's template language without helm, which Debian does not package),
/// as scripts/validate-manifests.py renders it: release "routelet" in
/// namespace routelet-system.
enum HelmChart {
    static let repository = FileManager.default.currentDirectoryPath
    static let renderer = repository + "/.build/helm-render/helm-render"

    /// The objects of the chart rendered with its default values.
    static func render() throws -> [JSONValue] {
        try buildRenderer()
        let output = try Command.run([renderer, "--strict", "--namespace", "routelet-system", "--release", "routelet",
                                      repository + "/helm-chart"])
        return try YAML.parseDocuments(output).map(\.value).filter { $0.objectValue != nil }
    }

    /// Builds the renderer when it is missing or older than its source, as
    /// build_renderer() of scripts/validate-manifests.py does (Debian's Go
    /// and sprig in GOPATH mode, no network).
    static func buildRenderer() throws {
        let files = FileManager.default
        let sources = try files.contentsOfDirectory(atPath: repository + "/scripts/helm-render")
            .filter { $0.hasSuffix(".go") }.map { repository + "/scripts/helm-render/" + $0 }
        func modified(_ path: String) -> Date? { (try? files.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        if let built = modified(renderer), sources.allSatisfy({ (modified($0) ?? .distantFuture) <= built }) { return }

        let gopath = "/usr/share/gocode"
        guard (try? Command.run(["go", "version"])) != nil,
              files.fileExists(atPath: gopath + "/src/github.com/Masterminds/sprig"),
              files.fileExists(atPath: gopath + "/src/sigs.k8s.io/yaml") else {
            throw HarnessError("rendering helm-chart/ needs Go, sprig and sigs.k8s.io/yaml from Debian: run scripts/install-validators.sh (make test does)")
        }
        let cache = (renderer as NSString).deletingLastPathComponent + "/go-cache"
        try files.createDirectory(atPath: cache, withIntermediateDirectories: true)
        // A relative package path: GOPATH mode refuses an absolute one
        // (the working directory is the repository).
        try Command.run(["GO111MODULE=off", "GOPATH=\(gopath)", "GOFLAGS=", "GOCACHE=\(cache)", "CGO_ENABLED=0",
                         "go", "build", "-o", renderer, "./scripts/helm-render"])
    }
}
