import Foundation
import JSONValue
import RouteletAPI
import YAML

/// A problem with one manifest, located as precisely as the input allows.
public struct ManifestError: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// The object ("RouteTable edge", "GatewayRoute shop/users"), when it could be read.
    public var object: String?
    public var message: String

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? "")\(object.map { " (\($0))" } ?? ""): \(message)"
    }
}

/// One object the agent reads from manifests (or the API): a kind, a
/// namespace (empty for cluster-scoped kinds) and a name.
public struct ObjectID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var kind: String
    public var namespace: String
    public var name: String

    public init(kind: String, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { namespace.isEmpty ? "\(kind) \(name)" : "\(kind) \(namespace)/\(name)" }

    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// An object of one of the kinds the agent programs from.
public enum SourceObject: Hashable, Sendable {
    case routeTable(RouteTable)
    case gatewayRoute(GatewayRoute)
    case service(KubernetesService)
    case endpointSlice(EndpointSlice)
    case secret(KubernetesSecret)

    /// The kinds read, by their `kind` field.
    static let kinds = [RouteTable.kind, GatewayRoute.kind, KubernetesService.kind, EndpointSlice.kind, KubernetesSecret.kind]

    /// Decodes and validates an object of `kind`; the failures carry field paths.
    static func decode(kind: String, from value: JSONValue) -> Result<SourceObject, InvalidObject> {
        do throws(ResourceDecodingError) {
            switch kind {
            case RouteTable.kind:
                let table = try RouteTable.decode(from: value)
                let problems = table.validate()
                return problems.isEmpty ? .success(.routeTable(table)) : .failure(InvalidObject(problems: problems))
            case GatewayRoute.kind:
                let route = try GatewayRoute.decode(from: value)
                let problems = route.validate()
                return problems.isEmpty ? .success(.gatewayRoute(route)) : .failure(InvalidObject(problems: problems))
            case KubernetesService.kind:
                return .success(.service(try KubernetesService.decode(from: value)))
            case KubernetesSecret.kind:
                return .success(.secret(try KubernetesSecret.decode(from: value)))
            default:
                return .success(.endpointSlice(try EndpointSlice.decode(from: value)))
            }
        } catch {
            return .failure(InvalidObject(problems: [FieldError(path: error.path, message: error.message)]))
        }
    }
}

/// Why an object was refused: every problem, with its field path.
struct InvalidObject: Error {
    var problems: [FieldError]
}

/// What one read of a manifest directory found.
public struct ManifestScan: Sendable {
    /// Valid objects, with the file each came from.
    public var objects: [ObjectID: (object: SourceObject, file: String)] = [:]
    /// Objects that are present but invalid.
    public var invalidObjects: Set<ObjectID> = []
    /// Files that could not be read or parsed at all.
    public var unreadableFiles: Set<String> = []
    public var errors: [ManifestError] = []
    /// Objects of other kinds, ignored: (file, kind).
    public var ignored: [(file: String, kind: String)] = []

    public init() {}

    /// The valid RouteTables by name.
    public var tables: [String: (table: RouteTable, file: String)] {
        var tables: [String: (table: RouteTable, file: String)] = [:]
        for (id, entry) in objects {
            if case .routeTable(let table) = entry.object { tables[id.name] = (table, entry.file) }
        }
        return tables
    }
}

/// Reads `*.yaml`, `*.yml` and `*.json` files of a directory (not recursive).
public enum ManifestDirectory {
    /// The largest manifest file read; bigger ones are reported and skipped.
    public static let maxFileSize = 16 << 20

    public static func files(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            .filter { !$0.hasPrefix(".") }
            .sorted()
            .map { "\(directory)/\($0)" }
    }

    /// A cheap fingerprint of the directory (names, sizes, mtimes): when it
    /// changes, the directory is read again.
    public static func fingerprint(of directory: String) -> [String] {
        ((try? files(in: directory)) ?? []).map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return path }
            return "\(path) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
        }
    }

    public static func scan(_ directory: String) throws -> ManifestScan {
        var scan = ManifestScan()
        for path in try files(in: directory) {
            let name = (path as NSString).lastPathComponent
            guard let data = FileManager.default.contents(atPath: path) else {
                scan.unreadableFiles.insert(name)
                scan.errors.append(ManifestError(file: name, message: "cannot be read"))
                continue
            }
            read(file: name, data: data, into: &scan)
        }
        return scan
    }

    /// Reads the objects of one manifest file (JSON when the name ends in
    /// `.json`, else a YAML stream) into `scan`; what is wrong goes to its
    /// errors, with the file's name and the line.
    public static func read(file name: String, data: Data, into scan: inout ManifestScan) {
        let documents: [(value: JSONValue, document: YAMLDocument?)]
        do throws(ManifestError) {
            guard data.count <= maxFileSize else {
                throw ManifestError(file: name, message: "is \(data.count) bytes; manifests larger than \(maxFileSize) bytes are not read")
            }
            if name.hasSuffix(".json") {
                do {
                    documents = [(try JSONValue(jsonData: data), nil)]
                } catch {
                    throw ManifestError(file: name, message: "is not valid JSON: \(error)")
                }
            } else {
                do {
                    documents = try YAML.parseDocuments(bytes: data).map { ($0.value, $0) }
                } catch {
                    throw ManifestError(file: name, line: error.line, message: error.message)
                }
            }
        } catch {
            scan.unreadableFiles.insert(name)
            scan.errors.append(error)
            return
        }
        for (value, document) in documents {
            read(value, document: document, file: name, into: &scan)
        }
    }

    static func read(_ value: JSONValue, document: YAMLDocument?, file: String, into scan: inout ManifestScan) {
        let kind = value["kind"]?.stringValue ?? ""
        let startLine = document?.startLine
        guard SourceObject.kinds.contains(kind) else {
            scan.ignored.append((file, kind.isEmpty ? "(no kind)" : kind))
            return
        }
        // Namespaced kinds without a namespace are in "default", as kubectl would put them.
        let namespace = kind == RouteTable.kind ? "" : value["metadata"]?["namespace"]?.stringValue ?? "default"
        let id = value["metadata"]?["name"]?.stringValue.map { ObjectID(kind: kind, namespace: namespace, name: $0) }
        func fail(_ path: String, _ message: String) {
            let line = path.isEmpty ? startLine : (document?.nearestPosition(of: PathComponent.components(of: path)).line ?? startLine)
            scan.errors.append(ManifestError(file: file, line: line, object: id?.description, message: path.isEmpty ? message : "\(path): \(message)"))
        }
        switch SourceObject.decode(kind: kind, from: value) {
        case .failure(let invalid):
            invalid.problems.forEach { fail($0.path, $0.message) }
            if let id { scan.invalidObjects.insert(id) }
        case .success(let object):
            guard let id else {
                fail("metadata.name", "is required")
                return
            }
            if let earlier = scan.objects[id] {
                fail("metadata.name", "\(id) is already defined in \(earlier.file); this one is ignored")
                return
            }
            scan.objects[id] = (object, file)
        }
    }
}

extension ManifestError: Error {
    init(file: String, line: Int? = nil, message: String) {
        self.init(file: file, line: line, object: nil, message: message)
    }
}

/// The objects the agent programs from manifests. An invalid edit never
/// takes effect: the last valid version of that object stays until the
/// edit is fixed, and so do all objects of a file that can't be parsed at all.
public struct ManifestStore: Sendable {
    struct Record: Sendable {
        var object: SourceObject
        var file: String
    }

    var records: [ObjectID: Record] = [:]
    public private(set) var errors: [ManifestError] = []

    public init() {}

    /// Every object, in a stable order (kind, namespace, name).
    public var objects: [SourceObject] { records.sorted { $0.key < $1.key }.map(\.value.object) }

    public var tables: [RouteTable] {
        objects.compactMap { if case .routeTable(let table) = $0 { table } else { nil } }
    }

    /// Takes in a new scan; returns whether the programmed objects changed.
    @discardableResult
    public mutating func update(with scan: ManifestScan) -> Bool {
        let before = objects
        var next: [ObjectID: Record] = [:]
        for (id, entry) in scan.objects {
            next[id] = Record(object: entry.object, file: entry.file)
        }
        for (id, record) in records where next[id] == nil {
            // Keep the last good version of an object whose new version is
            // invalid, or whose whole file can't be read right now.
            if scan.invalidObjects.contains(id) || scan.unreadableFiles.contains(record.file) {
                next[id] = record
            }
        }
        records = next
        errors = scan.errors
        return objects != before
    }
}
