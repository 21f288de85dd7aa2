import Foundation
import NetLab

/// Facts about the machine and the code, recorded with every result.
struct MachineFacts: Codable {
    var cpu: String
    var cores: Int
    var memoryGiB: Double
    var kernel: String
    var commit: String
    var date: String

    static func current() -> MachineFacts {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown"
        let kernel = (try? Command.run(["uname", "-r"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        let commit = (try? Command.run(["git", "rev-parse", "--short", "HEAD"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        return MachineFacts(cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                            memoryGiB: Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30),
                            kernel: kernel, commit: commit, date: Date().formatted(.iso8601))
    }
}

/// Writes `bench/results/<name>.json`.
func writeResult<T: Encodable>(_ value: T, name: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let directory = FileManager.default.currentDirectoryPath + "/bench/results"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = "\(directory)/\(name).json"
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    print("wrote \(path)")
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
