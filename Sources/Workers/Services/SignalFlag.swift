import Dispatch
import Foundation
import Synchronization

/// Set by SIGTERM or SIGINT: service loops look at it between polls and stop cleanly (a
/// second signal exits at once, for a stuck process).
public final class SignalFlag: Sendable {
    let raised = Atomic<Int>(0)
    /// Kept alive for as long as the flag (a released source stops delivering); never changed
    /// after `init`, only its handlers run, on Dispatch's queue.
    nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    public init(signals: [Int32] = [SIGTERM, SIGINT]) {
        var made: [any DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            made.append(DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
        sources = made
        for (source, number) in zip(sources, signals) {
            source.setEventHandler { [self] in
                if raised.add(1, ordering: .sequentiallyConsistent).newValue > 1 { exit(128 + number) }
            }
            source.resume()
        }
    }

    public var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) > 0 }
}
