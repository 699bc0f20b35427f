// POSIX (open, read, write, fsync, rename, unlink, …), not maths (maths comes from RealModule).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CVAEKernels
import Synchronization

/// Crash-safe file writes and bounded file reads with POSIX calls.
///
/// `write` puts the bytes in a temporary file next to the target (`.NAME.tmp-PID-RANDOM`), fsyncs it,
/// renames it over the target and fsyncs the directory: a reader sees the old file or the new one,
/// never a half-written one, even after a crash or a full disk.
public enum AtomicFile {
    public static func write(_ string: String, to path: String) throws {
        try write(Array(string.utf8), to: path)
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path, followLinks: true) { emit in try emit(bytes) }
    }

    /// The same for a file produced in pieces (every CSV line of 200,000 items, say): `produce`
    /// hands each piece to `emit`, which writes it to the temporary file at once, so that the
    /// whole file is never held in memory. A throw from `produce` leaves the target untouched.
    public static func write(to path: String, _ produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
        try write(to: path, followLinks: true, produce)
    }

    static func write(to path: String, followLinks: Bool, _ produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
        guard !path.isEmpty else { throw VAEError("cannot write a file with an empty path") }
        // A pipe, a terminal or another device (/dev/stdout, a FIFO) is written to as it is: it
        // cannot be replaced by a renamed file. A symbolic link is followed: the file it names is
        // replaced, the link stays (renaming over the link replaced the link itself).
        var info = stat(), linkInfo = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG, (info.st_mode & S_IFMT) != S_IFDIR {
            return try writeThrough(to: path, produce)
        }
        if followLinks, lstat(path, &linkInfo) == 0, (linkInfo.st_mode & S_IFMT) == S_IFLNK {
            if let target = realPath(path) { return try write(to: target, followLinks: false, produce) }
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink(path, &buffer, buffer.count - 1)
            if n > 0 {
                let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return try write(to: link.hasPrefix("/") ? link : split(path).directory + "/" + link, followLinks: false, produce)
            }
        }
        let (directory, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw VAEError("cannot write \(path): the path names a directory, not a file")
        }
        let existed = access(path, F_OK) == 0
        let untouched = existed ? " (the previous file is untouched)" : ""
        func failure(_ what: String, _ code: Int32) -> VAEError {
            var hint = ""
            if code == ENOENT {
                // (/proc exists and makes no new files: it said "does not exist")
                hint = isDirectory(directory) ? " — \(directory) takes no new files (a system folder?); write elsewhere"
                                              : " — the directory \(directory) does not exist; create it first"
            }
            if code == ENOTDIR { hint = " — a part of \(directory) is a file, not a directory" }
            if code == ENOSPC { hint = " — free some disk space and try again" }
            if code == EACCES || code == EPERM { hint = " — choose a directory you can write to" }
            if code == EROFS { hint = " — the file system is read-only (remount it writable, or choose another directory)" }
            return VAEError("cannot write \(path): \(what)\(VAEError.errnoText(code))\(hint)\(untouched)")
        }

        let prefix = directory == "/" ? "/" : (directory == "." && !path.hasPrefix("./") ? "" : directory + "/")
        removeLeftTemporaries(in: directory)
        let tempPath = prefix + temporaryName(for: name)
        // registered before it exists (removed if a signal ends the process meanwhile): a signal
        // between the open and a registration after it left the file (a test's Ctrl-C met it)
        let slot = vk_temp_register(tempPath)
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { let code = errno; vk_temp_unregister(slot); throw failure("", code) }
        var fdOpen = true
        var keepTemp = false
        defer {
            if fdOpen { close(fd) }
            if !keepTemp { unlink(tempPath) }
            vk_temp_unregister(slot)
        }
        // Replacing a file keeps its permission bits (a private 0600 file stays private).
        var previous = stat()
        if existed && stat(path, &previous) == 0 && (previous.st_mode & S_IFMT) == S_IFREG {
            _ = fchmod(fd, previous.st_mode & 0o7777)
        }

        try produce { bytes in
            if let code = writeAll(fd, bytes) { throw failure("", code) }
        }
        while fsync(fd) != 0 {
            if errno != EINTR { throw failure("fsync failed: ", errno) }
        }
        fdOpen = false
        if close(fd) != 0 && errno != EINTR { throw failure("close failed: ", errno) }
        if rename(tempPath, path) != 0 { throw failure("", errno) }
        keepTemp = true  // it is the target now
        syncDirectory(directory)
    }

    /// Makes SIGINT, SIGTERM and SIGHUP (where their action is still the default) remove the
    /// temporary files of the writes under way before the process ends by the signal: a Ctrl-C
    /// during `vae decompress` left a partial `.NAME.tmp-…` beside the output for good.
    public static func removeTemporariesOnSignal() { vk_temp_install_signal_cleanup() }

    /// A progress count is on the terminal's last line: a signal that ends the command ends that
    /// line first (the shell's prompt came after "compressing 1077/3000  ").
    public static func setProgressLineOpen(_ open: Bool) { vk_temp_set_line_open(open ? 1 : 0) }

    /// Registers a hidden folder being filled (`vae export`'s copy before its rename): a signal
    /// that ends the process removes its files and it, as the temporary files of atomic writes
    /// (one left by Ctrl-C stayed for an hour, until the next export's sweep). Returns the slot
    /// for `forgetTemporaryFolder`.
    public static func removeOnSignal(folder path: String) -> Int32 { vk_temp_register_folder(path) }

    /// The folder of `removeOnSignal(folder:)` is whole (renamed) or removed already.
    public static func forgetTemporaryFolder(_ slot: Int32) { vk_temp_unregister(slot) }

    /// Removes the temporary files of the writes under way (async-signal-safe): for a process
    /// about to `_exit` from its own signal handling.
    public static func removeTemporariesNow() { vk_temp_remove_all() }

    /// `.NAME.tmp-PID-RANDOM`, with NAME cut (at a character) so that the whole stays within the
    /// 255 bytes a file name may have: a target name of 231–255 bytes is writable too.
    public static func temporaryName(for name: String) -> String {
        let tail = ".tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let room = 255 - 1 - tail.utf8.count
        var kept = Substring(name)
        while kept.utf8.count > room { kept = kept.dropLast() }
        return "." + kept + tail
    }

    /// Whether `name` is a temporary name (`.NAME.tmp-PID-RANDOM`) whose writing process no longer
    /// exists on this machine (a live process, ours included, may be writing it; ESRCH: it is gone).
    public static func writerIsGone(temporary name: String) -> Bool {
        // the part after the last ".tmp-" is PID-RANDOM
        let parts = name.split(separator: ".tmp-", omittingEmptySubsequences: false)
        guard name.hasPrefix("."), parts.count >= 2, let tail = parts.last else { return false }
        let fields = tail.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, !fields[1].isEmpty else { return false }
        return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// The folders whose left temporaries this process has looked for (once each).
    private static let lookedIn = Mutex<Set<String>>([])

    /// Before a process's first write into a folder: the temporary files that a killed `vae`
    /// command left there (SIGKILL, a power cut: `.e.csv.tmp-…` stayed for good beside e.csv) —
    /// of a process gone from this machine, and untouched for an hour (a writer on another machine
    /// sharing the folder, whose process is not seen here, may pause between its writes).
    static func removeLeftTemporaries(in directory: String) {
        guard lookedIn.withLock({ $0.insert(directory).inserted }) else { return }
        removeStaleTemporaries(in: directory, untouchedFor: 3600)
    }

    /// Removes the temporary files (`.NAME.tmp-PID-RANDOM`) that a killed `write` left in `directory`:
    /// those of processes that no longer exist. A missing directory is not an error. Returns how many
    /// were removed.
    /// `untouchedFor`: only those not modified for that many seconds (0: any).
    @discardableResult
    public static func removeStaleTemporaries(in directory: String, untouchedFor seconds: Int = 0) -> Int {
        guard let dir = opendir(directory) else { return 0 }
        defer { closedir(dir) }
        var removed = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard writerIsGone(temporary: name) else { continue }
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if seconds > 0 && Int(time(nil)) - Int(info.st_mtim.tv_sec) < seconds { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    /// The first `count` bytes of a file (fewer when it is shorter): a format's header, read
    /// before deciding how much of the file to read.
    public static func readPrefix(path: String, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw VAEError("cannot read \(path): \(VAEError.errnoText(code))\(code == ENOENT ? " — check the path" : "")")
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            throw VAEError("cannot read \(path): it is a directory, not a file")
        }
        var result = [UInt8](repeating: 0, count: max(0, count))
        var filled = 0
        while filled < result.count {
            let got = result.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw VAEError("cannot read \(path): \(VAEError.errnoText(errno))")
            }
            if got == 0 { break }
            filled += got
        }
        result.removeSubrange(filled...)
        return result
    }

    /// True when `path` is a named pipe (FIFO).
    public static func isPipe(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
    }

    /// Whether `path` itself is a symbolic link (to anything, or dangling).
    public static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The size of a regular file (nil for a pipe, a device or a missing file).
    public static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(clamping: info.st_size)
    }

    /// Reads a whole regular file, refusing files over `maxBytes`. Never allocates more than the file
    /// holds (or `maxBytes`, whichever is less).
    public static func readAll(path: String, maxBytes: Int) throws -> [UInt8] {
        let maxBytes = max(0, maxBytes)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let hint = code == ENOENT ? " — check the path" : ""
            throw VAEError("cannot read \(path): \(VAEError.errnoText(code))\(hint)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw VAEError("cannot read \(path): \(VAEError.errnoText(errno))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw VAEError("cannot read \(path): it is a directory, not a file")
        }
        let size = Int(clamping: info.st_size)
        if size > maxBytes {
            throw VAEError("cannot read \(path): it is \(FormatText.bytes(size)), more than the \(FormatText.bytes(maxBytes)) allowed for this kind of file — is it the right file?")
        }
        // Regular files report their size; pipes and /proc files report 0 and are read in chunks.
        var result = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < result.count {
            let got = result.withUnsafeMutableBytes { buffer in
                Glibc_read(fd, buffer.baseAddress! + filled, min(buffer.count - filled, 1 << 30))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw VAEError("cannot read \(path): \(VAEError.errnoText(errno))")
            }
            if got == 0 { break }
            filled += got
        }
        if filled == result.count {
            // More than fstat promised (a growing file, or a special file): read on in bounded chunks.
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let got = chunk.withUnsafeMutableBytes { Glibc_read(fd, $0.baseAddress!, $0.count) }
                if got < 0 {
                    if errno == EINTR { continue }
                    throw VAEError("cannot read \(path): \(VAEError.errnoText(errno))")
                }
                if got == 0 { break }
                if got > maxBytes - result.count {
                    throw VAEError("cannot read \(path): it is more than the \(FormatText.bytes(maxBytes)) allowed for this kind of file — is it the right file?")
                }
                result.append(contentsOf: chunk[0..<got])
                filled += got
            }
        }
        if filled < result.count { result.removeSubrange(filled...) }
        return result
    }

    /// True when `path` exists (file or directory).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// True when both paths exist and name the same file (device and inode: `./a` and `a`, an
    /// absolute path, a link).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// A path a run recorded, from here: the absolute path recorded beside it when that leads
    /// somewhere — where the run read — written as given when the given path leads to the same
    /// place (for messages); else as given (the run and its data moved together, or, when that
    /// leads nowhere either, for the message that says it is missing). A relative path that leads
    /// elsewhere from another folder (a folder of the same name there) is not the run's data.
    public static func resolve(_ given: String, absolute: String?) -> String {
        if let a = absolute, exists(a) {
            return exists(given) && sameFile(given, a) ? given : a
        }
        return given
    }

    /// The absolute path of an existing file or folder, links resolved; nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Writes to a pipe or device in place (no temporary file: it cannot be renamed over).
    static func writeThrough(to path: String, _ produce: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VAEError("cannot write \(path): \(VAEError.errnoText(errno))") }
        defer { close(fd) }
        try produce { bytes in
            if let code = writeAll(fd, bytes) { throw VAEError("cannot write \(path): \(VAEError.errnoText(code))") }
        }
    }

    /// All of `bytes` to `fd` (in pieces of at most 1 GiB, again after EINTR); the errno of a
    /// failure (EIO for a write that wrote nothing), nil when all were written.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBytes { buffer -> Int32? in
            guard let base = buffer.baseAddress else { return nil }
            var written = 0
            while written < buffer.count {
                let result = Glibc_write(fd, base + written, min(buffer.count - written, 1 << 30))
                if result < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if result == 0 { return EIO }
                written += result
            }
            return nil
        }
    }

    /// `mkdir -p`: the folder and any missing parents; one line naming the part in the way
    /// (`what`: "--out-dir", "the run folder") when it cannot.
    public static func makeFolders(_ path: String, what: String) throws {
        if isDirectory(path) { return }
        // the part in the way named with the folder asked for ("the run folder afile/run: afile is a
        // file"; it said "the run folder afile is a file")
        try checkFolderPath(path, what: what)
        let parent = split(path).directory
        if parent != path && !isDirectory(parent) { try makeFolders(parent, what: what) }
        if mkdir(path, 0o755) != 0 && !(errno == EEXIST && isDirectory(path)) {
            throw VAEError("cannot create \(what) \(path): \(VAEError.errnoText(errno))")
        }
    }

    /// Whether `makeFolders` could make `path` as far as the paths go (no file in the way; the
    /// first existing part a folder), without making anything.
    public static func checkFolderPath(_ path: String, what: String) throws {
        guard !path.isEmpty else { throw VAEError("\(what) is empty: give a folder") }
        var p = path
        while !exists(p) {
            let parent = split(p).directory
            if parent == p { return }
            p = parent
        }
        guard isDirectory(p) else {
            throw VAEError("\(what) \(p == path ? path : path + ": " + p) is a file, not a folder: give a folder (it is made if missing)")
        }
    }

    /// The absolute path of `path`, links resolved as far as it exists (the missing rest appended
    /// as given); nil when not even its first folder exists.
    public static func absolutePath(_ path: String) -> String? {
        if let real = realPath(path) { return real }
        let (parent, name) = split(path)
        guard parent != path, let base = absolutePath(parent) else { return nil }
        return (base == "/" ? "" : base) + "/" + name
    }

    /// True when `path` is an existing directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Splits "a/b/c" into ("a/b", "c"); "c" into (".", "c"); "/c" into ("/", "c").
    public static func split(_ path: String) -> (directory: String, name: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
        let directory = trimmed[..<slash]
        return (directory.isEmpty ? "/" : String(directory), String(trimmed[trimmed.index(after: slash)...]))
    }

    /// Makes the rename durable. Some file systems cannot fsync a directory; that is not an error.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard fd >= 0 else { return }
        while fsync(fd) != 0 && errno == EINTR {}
        close(fd)
    }
}

// `write` and `read` are shadowed by the static methods above; reach the C functions explicitly.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}

@inline(__always)
private func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
