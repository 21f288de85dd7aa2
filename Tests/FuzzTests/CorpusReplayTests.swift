import Foundation
import FuzzTargets
import Testing

/// Every input of the fuzzing corpora (Tests/Fuzz/Corpus/<target>/: the
/// seeds, and every input that once crashed a target, kept as a regression)
/// runs through its target. A crash fails `make test` the way it failed the
/// fuzzer.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func inputs(of target: String) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func everyInputOfTheCorpusRuns(_ name: String) throws {
        let target = try #require(FuzzTargets.target(named: name))
        let inputs = try Self.inputs(of: name)
        #expect(inputs.count >= 3, "\(name): at least three seeds in Tests/Fuzz/Corpus/\(name), found \(inputs.count)")
        let start = Date()
        for input in inputs {
            target.run(Array(try Data(contentsOf: input)))
        }
        print("fuzz corpus \(name): \(inputs.count) inputs replayed in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }

    @Test func everyCorpusDirectoryBelongsToATarget() throws {
        let directories = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { !$0.hasPrefix(".") }
        #expect(Set(directories) == Set(FuzzTargets.all.map(\.name)), "\(directories.sorted())")
    }
}
