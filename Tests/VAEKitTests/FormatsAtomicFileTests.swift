import Foundation
import XCTest
@testable import VAEKit

final class FormatsTestsAtomicFile: XCTestCase {
    func contents(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// Makes a FIFO at `path`, reads it on a thread while `write` runs, and returns what was read.
    func readingFIFO(_ path: String, _ write: () throws -> Void) throws -> String {
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        final class Box: @unchecked Sendable { let lock = NSLock(); var data = Data() }
        let got = Box()
        let reader = Thread {
            let d = FileHandle(forReadingAtPath: path)!.readDataToEndOfFile()
            got.lock.lock(); got.data = d; got.lock.unlock()
        }
        reader.start()
        try write()
        var text = ""
        for _ in 0..<200 where text.isEmpty {
            usleep(10_000)
            got.lock.lock(); text = String(decoding: got.data, as: UTF8.self); got.lock.unlock()
        }
        return text
    }

    /// A hidden folder being filled (vae export's copy) is removed with its files when a signal
    /// ends the process (`removeTemporariesNow` is what the handler runs); one forgotten (renamed
    /// whole) is not; a symbolic link registered as one is not followed.
    func testRegisteredFolderIsRemovedWithItsFiles() throws {
        #if !os(Linux)
        throw XCTSkip("the signal handler lists a folder with Linux's getdents64; elsewhere it removes only an empty one")
        #endif
        let root = NSTemporaryDirectory() + "swiftvae-tmpfolder-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let filled = root + "/.copy.tmp-1-a", kept = root + "/.other.tmp-1-b", real = root + "/real"
        for dir in [filled, kept, real] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // many files: more than one getdents64 buffer of names
            for i in 0..<300 { try AtomicFile.write([UInt8(i & 255)], to: dir + "/file-\(i)-with-a-long-name-to-fill-the-buffer.bin") }
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: real)
        let a = AtomicFile.removeOnSignal(folder: filled), b = AtomicFile.removeOnSignal(folder: kept), c = AtomicFile.removeOnSignal(folder: root + "/link")
        XCTAssertTrue(a >= 0 && b >= 0 && c >= 0)
        AtomicFile.forgetTemporaryFolder(b)
        AtomicFile.removeTemporariesNow()
        AtomicFile.forgetTemporaryFolder(a)
        AtomicFile.forgetTemporaryFolder(c)
        XCTAssertFalse(AtomicFile.exists(filled), "the registered folder is still there")
        XCTAssertEqual(try contents(kept).count, 300)
        XCTAssertEqual(try contents(real).count, 300, "the link was followed")
        XCTAssertTrue(AtomicFile.isSymbolicLink(root + "/link"))
    }

    func testWriteReplaceAndNoTempFilesLeft() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/model.safetensors"
        try AtomicFile.write([1, 2, 3], to: path)
        XCTAssertEqual(try AtomicFile.readAll(path: path, maxBytes: 100), [1, 2, 3])
        let big = FormatsFixture.bytes(count: 3_000_000, seed: 4)
        try AtomicFile.write(big, to: path)
        XCTAssertEqual(try AtomicFile.readAll(path: path, maxBytes: 1 << 30), big)
        try AtomicFile.write("héllo\n", to: dir + "/notes.txt")
        XCTAssertEqual(try String(contentsOfFile: dir + "/notes.txt", encoding: .utf8), "héllo\n")
        try AtomicFile.write([], to: dir + "/empty")
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/empty", maxBytes: 0), [])
        XCTAssertEqual(try contents(dir), ["empty", "model.safetensors", "notes.txt"])
        // names up to the 255 bytes Linux allows (the temporary name is cut to fit; it was not: 231+ failed)
        for length in [230, 231, 250, 255] {
            let name = String(repeating: "é", count: (length - 4) / 2) + String(repeating: "n", count: (length - 4) % 2) + ".png"
            XCTAssertEqual(name.utf8.count, length)
            try AtomicFile.write([UInt8(length & 0xFF)], to: dir + "/" + name)
            XCTAssertEqual(try AtomicFile.readAll(path: dir + "/" + name, maxBytes: 10), [UInt8(length & 0xFF)])
            try FileManager.default.removeItem(atPath: dir + "/" + name)
        }
        XCTAssertLessThanOrEqual(AtomicFile.temporaryName(for: String(repeating: "é", count: 127)).utf8.count, 255)
        XCTAssertEqual(try contents(dir), ["empty", "model.safetensors", "notes.txt"])
    }

    /// A file written in pieces: the pieces in order; a throw part-way leaves the old file as it
    /// was and no temporary file behind; a FIFO gets the pieces too.
    func testWriteInPieces() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/latents.csv"
        try AtomicFile.write(to: path) { emit in
            try emit(Array("a,b\n".utf8))
            for i in 0..<1000 { try emit(Array("\(i),\(i * i)\n".utf8)) }
            try emit([])
        }
        let expected = "a,b\n" + (0..<1000).map { "\($0),\($0 * $0)\n" }.joined()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), expected)
        struct Stop: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: path) { emit in
            try emit(Array("half".utf8))
            throw Stop()
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), expected)
        XCTAssertEqual(try contents(dir), ["latents.csv"])
        XCTAssertEqual(try readingFIFO(dir + "/fifo") {
            try AtomicFile.write(to: dir + "/fifo") { emit in for w in ["in ", "pieces"] { try emit(Array(w.utf8)) } }
        }, "in pieces")
    }

    /// A symbolic link is followed (its target replaced, the link kept; a dangling link's target
    /// made); a FIFO is written through (replacing it left its reader hanging).
    func testLinksAndPipesAreWrittenThrough() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try AtomicFile.write("old", to: dir + "/target.txt")
        XCTAssertEqual(symlink("target.txt", dir + "/link.csv"), 0)
        try AtomicFile.write("new", to: dir + "/link.csv")
        XCTAssertEqual(try String(contentsOfFile: dir + "/target.txt", encoding: .utf8), "new")
        var info = stat()
        XCTAssertEqual(lstat(dir + "/link.csv", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFLNK, "the link was replaced by a file")
        XCTAssertEqual(symlink("made.txt", dir + "/dangling.csv"), 0)
        try AtomicFile.write("made", to: dir + "/dangling.csv")
        XCTAssertEqual(try String(contentsOfFile: dir + "/made.txt", encoding: .utf8), "made")
        // two links naming each other: followed once (no endless loop); the file lands where a points
        XCTAssertEqual(symlink("b", dir + "/a"), 0)
        XCTAssertEqual(symlink("a", dir + "/b"), 0)
        try AtomicFile.write("x", to: dir + "/a")
        XCTAssertEqual(try String(contentsOfFile: dir + "/a", encoding: .utf8), "x")
        // a FIFO: its reader gets the bytes
        XCTAssertEqual(try readingFIFO(dir + "/fifo") { try AtomicFile.write("through", to: dir + "/fifo") }, "through")
        XCTAssertEqual(stat(dir + "/fifo", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO)
    }

    func testReplacingKeepsPermissions() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/secret.json"
        try AtomicFile.write("{}", to: path)
        XCTAssertEqual(chmod(path, 0o600), 0)
        try AtomicFile.write("{\"a\": 1}", to: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"a\": 1}")
    }

    func testRelativePath() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try AtomicFile.write([9], to: "plain.bin")
        try AtomicFile.write([8], to: "./dotted.bin")
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/plain.bin", maxBytes: 1), [9])
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/dotted.bin", maxBytes: 1), [8])
        XCTAssertEqual(try contents(dir), ["dotted.bin", "plain.bin"])
    }

    func testMissingDirectory() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/runs/x/model.safetensors"
        FormatsFixture.assertVAEError(["cannot write \(path)", "No such file or directory", "does not exist"]) {
            try AtomicFile.write([1], to: path)
        }
        XCTAssertEqual(try contents(dir), [])
    }

    func testDirectoryUnderARegularFile() throws {
        // Tests run as root, so permissions cannot make a directory unwritable; a path below a file can.
        let dir = try FormatsFixture.makeTempDirectory(self)
        try FormatsFixture.writeFile([1], dir + "/file")
        FormatsFixture.assertVAEError(["cannot write \(dir)/file/x", "Not a directory"]) {
            try AtomicFile.write([1], to: dir + "/file/x")
        }
        FormatsFixture.assertVAEError(["cannot write /etc/hostname/x", "Not a directory"]) {
            try AtomicFile.write([1], to: "/etc/hostname/x")
        }
    }

    func testFailedReplaceLeavesOldFileIntact() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        // The target is a non-empty directory: the temp file is written, the rename fails.
        let target = dir + "/model.safetensors"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        try FormatsFixture.writeFile([7, 7, 7], target + "/keep")
        FormatsFixture.assertVAEError(["cannot write \(target)", "(the previous file is untouched)"]) {
            try AtomicFile.write([1, 2], to: target)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: target + "/keep", maxBytes: 10), [7, 7, 7])
        XCTAssertEqual(try contents(dir), ["model.safetensors"], "the temporary file was removed")
    }

    /// /dev/full fails every write with ENOSPC: AtomicFile writes a device through (it cannot be
    /// replaced by a renamed file), and the failure is one line naming it (a tiny tmpfs, in
    /// DiskFaultTests, covers the renamed file's path).
    func testWritingToAFullDeviceIsAClearError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full on this system") }
        XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 1, count: 10), to: "/dev/full")) { error in
            XCTAssertTrue(error is VAEError, "\(error)")
            XCTAssertTrue("\(error)".contains("/dev/full") && "\(error)".contains("No space left on device"), "\(error)")
        }
        XCTAssertEqual(VAEError.errnoText(ENOSPC), "No space left on device")
    }

    func testReadAllErrors() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        FormatsFixture.assertVAEError(["cannot read \(dir)/nope", "No such file or directory"]) {
            try AtomicFile.readAll(path: dir + "/nope", maxBytes: 10)
        }
        FormatsFixture.assertVAEError(["cannot read \(dir)", "is a directory"]) { try AtomicFile.readAll(path: dir, maxBytes: 10) }
        try FormatsFixture.writeFile([UInt8](repeating: 0, count: 11), dir + "/eleven")
        FormatsFixture.assertVAEError(["11 bytes", "more than the 10 bytes allowed"]) {
            try AtomicFile.readAll(path: dir + "/eleven", maxBytes: 10)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/eleven", maxBytes: 11).count, 11)
        // A file whose size fstat does not know (procfs) is read in chunks, still bounded.
        XCTAssertFalse(try AtomicFile.readAll(path: "/proc/self/status", maxBytes: 1 << 20).isEmpty)
        FormatsFixture.assertVAEError(["more than the 10 bytes allowed"]) {
            try AtomicFile.readAll(path: "/proc/self/status", maxBytes: 10)
        }
    }

    func testErrorMessagesAreOneLine() {
        XCTAssertEqual(VAEError("a\nb").message, "a b")
        XCTAssertEqual("\(VAEError("x"))", "x")
        XCTAssertEqual(VAEError("x").localizedDescription, "x")
    }
}
