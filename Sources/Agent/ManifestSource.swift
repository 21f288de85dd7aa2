import Foundation
import JSONValue
import RouteletAPI
import YAML

/// A problem with one manifest, located as precisely as the input allows.
public struct ManifestError: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    /// The object's name, when it could be read.
    public var object: String?
    public var message: String

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? "")\(object.map { " (RouteTable \($0))" } ?? ""): \(message)"
    }
}

/// What one read of a manifest directory found.
public struct ManifestScan: Sendable {
    /// Valid RouteTables by name, with the file each came from.
    public var tables: [String: (table: RouteTable, file: String)] = [:]
    /// Objects (by name) that are present but invalid.
    public var invalidObjects: Set<String> = []
    /// Files that could not be read or parsed at all.
    public var unreadableFiles: Set<String> = []
    public var errors: [ManifestError] = []
    /// Objects of other kinds, ignored: (file, kind).
    public var ignored: [(file: String, kind: String)] = []
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
            let documents: [(value: JSONValue, document: YAMLDocument?)]
            do {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ManifestError(file: name, message: "cannot be read")
                }
                guard data.count <= maxFileSize else {
                    throw ManifestError(file: name, message: "is \(data.count) bytes; manifests larger than \(maxFileSize) bytes are not read")
                }
                if path.hasSuffix(".json") {
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
            } catch let error as ManifestError {
                scan.unreadableFiles.insert(name)
                scan.errors.append(error)
                continue
            }
            for (value, document) in documents {
                read(value, document: document, file: name, into: &scan)
            }
        }
        return scan
    }

    static func read(_ value: JSONValue, document: YAMLDocument?, file: String, into scan: inout ManifestScan) {
        let kind = value["kind"]?.stringValue ?? ""
        let objectName = value["metadata"]?["name"]?.stringValue
        let startLine = document?.startLine
        guard kind == RouteTable.kind else {
            scan.ignored.append((file, kind.isEmpty ? "(no kind)" : kind))
            return
        }
        func fail(_ path: String, _ message: String) {
            let line = path.isEmpty ? startLine : (document?.nearestPosition(of: PathComponent.components(of: path)).line ?? startLine)
            scan.errors.append(ManifestError(file: file, line: line, object: objectName, message: path.isEmpty ? message : "\(path): \(message)"))
        }
        let table: RouteTable
        do {
            table = try RouteTable.decode(from: value)
        } catch {
            fail(error.path, error.message)
            if let objectName { scan.invalidObjects.insert(objectName) }
            return
        }
        let problems = table.validate()
        guard problems.isEmpty, let name = table.metadata.name else {
            problems.forEach { fail($0.path, $0.message) }
            if let objectName { scan.invalidObjects.insert(objectName) }
            return
        }
        if let earlier = scan.tables[name] {
            fail("metadata.name", "RouteTable \(name) is already defined in \(earlier.file); this one is ignored")
            return
        }
        scan.tables[name] = (table, file)
    }
}

extension ManifestError: Error {
    init(file: String, line: Int? = nil, message: String) {
        self.init(file: file, line: line, object: nil, message: message)
    }
}

/// The RouteTables the agent programs. An invalid edit never takes effect:
/// the last valid version of that object stays until the edit is fixed,
/// and so do all objects of a file that can't be parsed at all.
public struct TableStore: Sendable {
    struct Record: Sendable {
        var table: RouteTable?
        var file: String
    }

    var records: [String: Record] = [:]
    public private(set) var errors: [ManifestError] = []

    public init() {}

    public var tables: [RouteTable] { records.values.compactMap(\.table).sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") } }

    /// Takes in a new scan; returns whether the programmed tables changed.
    @discardableResult
    public mutating func update(with scan: ManifestScan) -> Bool {
        let before = tables
        var next: [String: Record] = [:]
        for (name, entry) in scan.tables {
            next[name] = Record(table: entry.table, file: entry.file)
        }
        for (name, record) in records where next[name] == nil {
            // Keep the last good version of an object whose new version is
            // invalid, or whose whole file can't be read right now.
            if scan.invalidObjects.contains(name) || scan.unreadableFiles.contains(record.file) {
                next[name] = record
            }
        }
        records = next
        errors = scan.errors
        return tables != before
    }
}
