import CVAEKernels
import Foundation

/// A decoded image folder on disk, memory-mapped by later runs.
///
/// Layout: a 4096-byte header page (magic `SVAEIMG1`, then little-endian UInt64 JSON offset and
/// JSON length), the training images' pixels (CHW bytes, one image after another), the test
/// images' pixels, the training labels, the test labels (one byte each when labelled), and the
/// JSON description (`Meta`). Written to a temporary name and renamed into place.
enum ImageFolderCache {
    static let magic = Array("SVAEIMG1".utf8)
    static let pixelOffset = 4096
    static let fileExtension = "svimg"

    struct Meta: Codable, Equatable {
        var format = "swiftvae-image-cache-1"
        /// The 128-bit hash of the key (folder, files, sizes, mtimes, labels, split, options).
        var key: String
        var directory: String
        var trainCount: Int, testCount: Int
        var channels: Int, height: Int, width: Int
        var classNames: [String]
        var labelled: Bool
        var skipped: [String]
        /// Each image's file, relative to the folder, in set order (`ImageSet.names`).
        var trainFiles: [String]? = nil
        var testFiles: [String]? = nil
        var pixelsPerImage: Int { channels * height * width }
    }

    /// $XDG_CACHE_HOME/swiftvae, else ~/.cache/swiftvae.
    static func defaultDirectory() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let x = env["XDG_CACHE_HOME"], x.hasPrefix("/") { return x + "/swiftvae" }
        if let home = env["HOME"], !home.isEmpty { return home + "/.cache/swiftvae" }
        return nil
    }

    /// Opens a cache file; nil when it is missing, damaged or for another key (hash).
    static func open(_ path: String, key: String) -> (Meta, MappedFile)? {
        guard AtomicFile.exists(path), let file = try? MappedFile(path: path), file.length >= pixelOffset else { return nil }
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.length)
        guard bytes.prefix(8).elementsEqual(magic) else { return nil }
        let jsonOffset = Int(clamping: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        let jsonLength = Int(clamping: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian)
        guard jsonOffset >= pixelOffset, jsonLength > 0, jsonOffset <= file.length, jsonLength <= file.length - jsonOffset,
              let meta = try? JSONDecoder().decode(Meta.self, from: Data(bytes[jsonOffset..<(jsonOffset + jsonLength)])),
              meta.key == key, meta.trainCount >= 0, meta.testCount >= 0, meta.pixelsPerImage > 0,
              meta.trainFiles.map({ $0.count == meta.trainCount }) != false,
              meta.testFiles.map({ $0.count == meta.testCount }) != false else { return nil }
        let images = meta.trainCount + meta.testCount
        let (pixelBytes, overflow) = images.multipliedReportingOverflow(by: meta.pixelsPerImage)
        guard !overflow, pixelOffset + pixelBytes + (meta.labelled ? images : 0) == jsonOffset else { return nil }
        return (meta, file)
    }

    /// The data set a cache file holds (pixels mapped, labels copied).
    static func dataset(_ meta: Meta, _ file: MappedFile, name: String, directory: String) -> Dataset {
        let d = meta.pixelsPerImage
        file.adviseForRandomReads()
        let labelsAt = pixelOffset + (meta.trainCount + meta.testCount) * d
        func labels(_ from: Int, _ count: Int) -> [UInt8] {
            meta.labelled ? Array(UnsafeBufferPointer(start: file.base.assumingMemoryBound(to: UInt8.self) + from, count: count)) : []
        }
        var train = ImageSet(pixels: Pixels(mapped: file, offset: pixelOffset, count: meta.trainCount * d),
                             labels: labels(labelsAt, meta.trainCount), count: meta.trainCount,
                             channels: meta.channels, height: meta.height, width: meta.width)
        var test = ImageSet(pixels: Pixels(mapped: file, offset: pixelOffset + meta.trainCount * d, count: meta.testCount * d),
                            labels: labels(labelsAt + meta.trainCount, meta.testCount), count: meta.testCount,
                            channels: meta.channels, height: meta.height, width: meta.width)
        train.names = meta.trainFiles
        test.names = meta.testFiles
        return Dataset(name: name, directory: directory, train: train, test: test, classNames: meta.classNames)
    }

    /// Streams pixels into a temporary file next to `path`; `finish` renames it into place.
    final class Writer {
        let path: String, tempPath: String
        let fd: Int32
        var buffer: [UInt8] = []
        var finished = false
        /// The temporary file's slot in the table a signal's cleanup removes (Ctrl-C while a
        /// folder is decoded left it until the next cache write).
        var slot: Int32 = -1

        init(path: String) throws {
            self.path = path
            let (directory, name) = AtomicFile.split(path)
            tempPath = directory + "/" + AtomicFile.temporaryName(for: name)
            slot = vk_temp_register(tempPath)   // before it exists: no moment a signal leaves it behind
            fd = Foundation.open(tempPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let text = VAEError.errnoText()
                vk_temp_unregister(slot)
                slot = -1
                throw VAEError("cannot write the image cache \(tempPath): \(text)")
            }
            buffer.reserveCapacity(4 << 20)
            buffer += [UInt8](repeating: 0, count: ImageFolderCache.pixelOffset)  // the header page, filled in by finish
        }

        deinit {
            if !finished { close(fd); unlink(tempPath) }
            vk_temp_unregister(slot)
        }

        func append(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            buffer.append(contentsOf: bytes)
            if buffer.count >= 4 << 20 { try flush() }
        }

        func flush() throws {
            var done = 0
            while done < buffer.count {
                let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let hint = errno == ENOSPC ? " — free some disk space, or set XDG_CACHE_HOME to a bigger disk" : ""
                    throw VAEError("cannot write the image cache \(tempPath): \(VAEError.errnoText())\(hint)")
                }
                done += n
            }
            buffer.removeAll(keepingCapacity: true)
        }

        /// Writes the labels and the description, fills in the header, syncs and renames.
        func finish(meta: Meta, trainLabels: [UInt8], testLabels: [UInt8]) throws {
            if meta.labelled { buffer += trainLabels; buffer += testLabels }
            try flush()
            let jsonOffset = lseek(fd, 0, SEEK_CUR)
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            buffer = Array(try enc.encode(meta))
            let jsonLength = buffer.count
            try flush()
            var header = ImageFolderCache.magic
            withUnsafeBytes(of: UInt64(jsonOffset).littleEndian) { header += $0 }
            withUnsafeBytes(of: UInt64(jsonLength).littleEndian) { header += $0 }
            guard header.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, $0.count, 0) }) == header.count else {
                throw VAEError("cannot write the image cache \(tempPath): \(VAEError.errnoText())")
            }
            guard fsync(fd) == 0, close(fd) == 0 else { throw VAEError("cannot write the image cache \(tempPath): \(VAEError.errnoText())") }
            finished = true
            guard rename(tempPath, path) == 0 else {
                unlink(tempPath)
                throw VAEError("cannot write the image cache \(path): \(VAEError.errnoText())")
            }
        }
    }

    /// 128-bit hash of a key, as 32 hex digits (two FNV-1a 64 streams with different bases, mixed).
    static func hash(_ text: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x84222325_cbf29ce4
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 ^ (b >> 29)
        }
        func hex(_ x: UInt64) -> String { let s = String(x, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
        return hex(RNG.mixed(a)) + hex(RNG.mixed(b))
    }

    /// mkdir -p
    static func makeDirectories(_ path: String) -> Bool {
        if AtomicFile.isDirectory(path) { return true }
        let parent = AtomicFile.split(path).directory
        if parent != path && !AtomicFile.isDirectory(parent) && !makeDirectories(parent) { return false }
        return mkdir(path, 0o755) == 0 || AtomicFile.isDirectory(path)
    }
}
