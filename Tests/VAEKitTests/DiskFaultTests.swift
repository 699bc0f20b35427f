import Foundation
import XCTest
@testable import VAEKit

/// A run folder that fills up or is not writable: a clear error, and the previous checkpoint intact.
///
/// The tests run as root, where permission bits do not stop a write, so they use a tiny tmpfs that
/// they fill (ENOSPC) or remount read-only (EROFS). They skip where mounting is not permitted.
final class DiskFaultTests: XCTestCase {
    /// Mounts a tmpfs of `kilobytes` on a fresh directory; unmounted in the teardown.
    func tinyDisk(kilobytes: Int) throws -> String {
        let dir = try FormatsFixture.makeTempDirectory(self, name: "vae-tinydisk")
        guard DiskFaultTests.sh("mount -t tmpfs -o size=\(kilobytes)k tmpfs '\(dir)'") == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
        }
        addTeardownBlock { _ = DiskFaultTests.sh("umount '\(dir)'") }
        return dir
    }

    @discardableResult
    static func sh(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " 2>/dev/null"]
        do { try process.run() } catch {
            XCTFail("cannot run /bin/sh: \(error)")
            return -1
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Fills the file system that holds `dir` with a file `dir/filler`.
    func fill(_ dir: String) {
        let fd = open(dir + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let block = [UInt8](repeating: 0xAB, count: 4096)
        while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
    }

    func temporaries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
    }

    func testAtomicWriteOnAFullDiskKeepsTheOldFileAndNoTemporary() throws {
        let disk = try tinyDisk(kilobytes: 128)
        let path = disk + "/model.safetensors"
        let old = FormatsFixture.bytes(count: 8000, seed: 1)
        try AtomicFile.write(old, to: path)
        fill(disk)
        FormatsFixture.assertVAEError(["cannot write \(path)", "No space left on device", "free some disk space",
                                       "(the previous file is untouched)"]) {
            try AtomicFile.write(FormatsFixture.bytes(count: 64_000, seed: 2), to: path)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: path, maxBytes: 1 << 20), old)
        XCTAssertEqual(try temporaries(disk), [], "the temporary file was removed")
        // A new file on the full disk: no file at all, rather than an empty or partial one.
        XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 1, count: 10_000), to: disk + "/new"))
        XCTAssertFalse(AtomicFile.exists(disk + "/new"))
        XCTAssertEqual(try temporaries(disk), [])
    }

    func testTrainingOnAFullDiskStopsWithAClearErrorAndKeepsTheCheckpoint() throws {
        let disk = try tinyDisk(kilobytes: 256)
        let dir = disk + "/run"
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = 32
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])
        let data = tinyDataset()
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        let before = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24)
        fill(disk)
        XCTAssertThrowsError(try run.run()) { error in
            let message = "\(error)"
            XCTAssertTrue(error is VAEError, message)
            XCTAssertTrue(message.contains("cannot write \(dir)/"), message)
            XCTAssertTrue(message.contains("No space left on device"), message)
            XCTAssertTrue(message.contains("free some disk space"), message)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24), before)
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 0)
        XCTAssertEqual(try temporaries(dir), [])

        // Space again: the run resumes and finishes.
        try FileManager.default.removeItem(atPath: disk + "/filler")
        let resumed = try TrainingRun.resume(directory: dir, data: data)
        XCTAssertEqual(try resumed.run(), .finished)
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 2)
        XCTAssertEqual(try TrainingRun.readMetrics(dir + "/metrics.jsonl").map(\.epoch), [1, 2])
    }

    func testReadOnlyRunFolderIsAClearErrorAndKeepsTheCheckpoint() throws {
        let disk = try tinyDisk(kilobytes: 512)
        let dir = disk + "/run"
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 32
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])
        let run = try TrainingRun.start(directory: dir, model: config, options: options, data: tinyDataset())
        let before = try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24)
        // (the tmpfs mounted, so the privilege is there: a failed remount is a failure, not a skip)
        XCTAssertEqual(DiskFaultTests.sh("mount -o remount,ro '\(disk)'"), 0, "cannot remount \(disk) read-only")
        defer { DiskFaultTests.sh("mount -o remount,rw '\(disk)'") }
        XCTAssertThrowsError(try run.run()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("cannot write \(dir)/"), message)
            XCTAssertTrue(message.contains("Read-only file system"), message)
            XCTAssertTrue(message.contains("the file system is read-only (remount it writable, or choose another directory)"), message)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/model.safetensors", maxBytes: 1 << 24), before)
        XCTAssertNoThrow(try Checkpoint.load(dir))
        // A new run in a read-only place fails at once, with the same clarity.
        XCTAssertThrowsError(try TrainingRun.start(directory: disk + "/other", model: config, options: options, data: tinyDataset())) { error in
            let message = "\(error)".lowercased()
            XCTAssertTrue(message.contains("cannot create the run folder \(disk)/other"), message)
            XCTAssertTrue(message.contains("read-only") || message.contains("read only"), message)
        }
    }

    func testStaleTemporariesOfDeadWritersAreRemovedOnResume() throws {
        let dir = tempDir("stale")
        var options = TrainingOptions()
        options.epochs = 1
        options.batchSize = 32
        let config = VAEConfig(architecture: .mlp, inputShape: [1, 8, 8], latent: 3, hidden: [16])
        let data = tinyDataset()
        _ = try TrainingRun.start(directory: dir, model: config, options: options, data: data)
        // What SIGKILL during writes leaves: temporaries of a process that is gone (pid 2^22 + 1 is
        // above Linux's default pid_max of 2^22); a live process's (ours) must stay.
        let dead = Int32(1 << 22) + 1
        let stale = [".model.safetensors.tmp-\(dead)-abc", ".config.json.tmp-\(dead)-x1", ".metrics.jsonl.tmp-\(dead)-zz"]
        let live = ".model.safetensors.tmp-\(getpid())-live"
        for name in stale + [live, "notes.tmp-\(dead)-1"] { try FormatsFixture.writeFile([1, 2, 3], dir + "/" + name) }
        _ = try TrainingRun.resume(directory: dir, data: data)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        for name in stale { XCTAssertFalse(left.contains(name), "\(name) was not removed") }
        XCTAssertTrue(left.contains(live), "a live writer's temporary file must stay")
        XCTAssertTrue(left.contains("notes.tmp-\(dead)-1"), "only .NAME.tmp-PID-RANDOM files are removed")
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: dir + "/nonexistent"), 0)
    }
}
