import Dispatch
import Foundation
import Synchronization

/// Ctrl-C during training: the first SIGINT asks training to stop after the batch under
/// way (a checkpoint is then written); a second one quits at once (exit 130; every file
/// SwiftVAE writes is replaced atomically, so nothing is left half-written).
enum Interrupt {
    private static let requested = Atomic<Bool>(false)
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    static func install() {
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        s.setEventHandler {
            if requested.exchange(true, ordering: .relaxed) {
                _exit(130)
            }
            FileHandle.standardError.write(Data("\ninterrupted: stopping after this batch and saving a checkpoint (Ctrl-C again to quit now)\n".utf8))
        }
        s.resume()
        source = s
    }
}
