import Foundation

/// Ctrl-C and SIGTERM for the demos: `cleanUp` runs, then the process exits
/// with status 130. Keep the returned sources alive as long as the demo runs.
public func onInterrupt(_ cleanUp: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { cleanUp(); exit(130) }
        source.resume()
        return source
    }
}
