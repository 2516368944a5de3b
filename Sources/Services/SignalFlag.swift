import Dispatch
import Foundation
import Synchronization

/// Set by SIGTERM or SIGINT: service loops look at it between polls and stop cleanly (a
/// second signal exits at once, for a stuck process).
public final class SignalFlag: Sendable {
    let raised = Atomic<Int>(0)
    nonisolated(unsafe) var sources: [DispatchSourceSignal] = []

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                if raised.add(1, ordering: .sequentiallyConsistent).newValue > 1 { exit(128 + number) }
            }
            source.resume()
            sources.append(source)
        }
    }

    public var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) > 0 }
}
