#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A training run's claim on its folder: an exclusive `flock` on `.vae-train.lock` inside it, held
/// while the `TrainingRun` lives (the kernel drops it when the process ends, however it ends).
/// A second process that starts or resumes training in the same folder — a requeued job while
/// the first still runs — is refused with one line naming the holder's process id, instead of
/// both writing the same checkpoint. Within one process the claim is shared (a library user may
/// hold a run and resume it). A file system without locks (`ENOLCK`, `EOPNOTSUPP`) trains unguarded.
public final class RunFolderLock: @unchecked Sendable {
    public static let fileName = ".vae-train.lock"

    private static let guardLock = NSLock()
    nonisolated(unsafe) private static var held: [String: (fd: Int32, count: Int)] = [:]

    private let key: String

    private init(key: String) { self.key = key }

    /// Claims `directory` (made if missing) for this process.
    public static func acquire(_ directory: String) throws -> RunFolderLock {
        try AtomicFile.makeFolders(directory, what: "the run folder")
        let key = AtomicFile.realPath(directory) ?? directory
        guardLock.lock()
        defer { guardLock.unlock() }
        if let h = held[key] {
            held[key] = (h.fd, h.count + 1)
            return RunFolderLock(key: key)
        }
        let path = directory + "/" + fileName
        // held open read-only (flock needs no write access): a file open for writing would keep the
        // file system from being remounted read-only under a running job
        let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VAEError("cannot create \(path): \(VAEError.errnoText(errno))") }
        // a few tries: `trainer(of:)` (vae report) holds a shared lock for a moment while it looks
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0, code = errno
        for _ in 0..<5 where !locked && code == EWOULDBLOCK {
            usleep(20_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
            code = errno
        }
        if !locked {
            if code == EWOULDBLOCK {
                let pid = holderPID(fd)
                close(fd)
                throw VAEError("\(directory) is being trained by another process\(pid.map { " (pid \($0))" } ?? ""): wait for it to end, or stop it (Ctrl-C or SIGTERM saves a checkpoint) and resume then")
            }
            // no locks on this file system: train unguarded, as before
            close(fd)
            return RunFolderLock(key: "")
        }
        // the holder's pid, for the message of the next one (written through a descriptor of its own,
        // closed at once: closing it leaves the lock, which belongs to `fd`'s open file)
        let w = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        if w >= 0 {
            let text = Array("\(getpid())\n".utf8)
            _ = text.withUnsafeBytes { write(w, $0.baseAddress, $0.count) }
            close(w)
        }
        held[key] = (fd, 1)
        return RunFolderLock(key: key)
    }

    /// The process id written by the process that trains in `directory` now (another process
    /// holding its lock), else nil: for commands that write into a run folder while it trains.
    public static func trainer(of directory: String) -> String? {
        // this process's own claim is no other trainer (and its probe would conflict with it)
        guardLock.lock()
        let own = held[AtomicFile.realPath(directory) ?? directory] != nil
        guardLock.unlock()
        if own { return nil }
        let fd = open(directory + "/" + fileName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        guard errno == EWOULDBLOCK else { return nil }
        return holderPID(fd) ?? "?"
    }

    /// The process id the lock's holder wrote into the file, if it reads as one.
    private static func holderPID(_ fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, buf.count, 0)
        let pid = n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return Int(pid) != nil ? pid : nil
    }

    deinit {
        Self.guardLock.lock()
        defer { Self.guardLock.unlock() }
        guard let h = Self.held[key] else { return }
        if h.count > 1 {
            Self.held[key] = (h.fd, h.count - 1)
        } else {
            Self.held[key] = nil
            close(h.fd)   // drops the flock
        }
    }
}
