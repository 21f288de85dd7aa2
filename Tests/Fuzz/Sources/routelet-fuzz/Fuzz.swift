import CFuzzerDriver
import FuzzTargets
import Foundation

/// The target this process fuzzes: `ROUTELET_FUZZ_TARGET` (scripts/fuzz.sh
/// sets it; `routelet-fuzz -help=1` is libFuzzer's own help).
let target: FuzzTargets.Target = {
    let name = ProcessInfo.processInfo.environment["ROUTELET_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.target(named: name) else {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("routelet-fuzz: set ROUTELET_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

/// The entry point SwiftPM links an executable target's `main` to (debug
/// builds rename it so that tests can import executables): libFuzzer's driver.
@_cdecl("routelet_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
