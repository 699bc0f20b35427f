#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAEImageIO

/// One image file of a folder: its kind from its first bytes (not its name), its header, its
/// pixels. Every problem is a `VAEError` naming the file.
enum ImageFile {
    struct Header {
        var width: Int, height: Int
        var isColor: Bool
    }

    /// A decoded image: `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) interleaved 8-bit samples.
    struct Decoded {
        var width: Int, height: Int, channels: Int
        var pixels: [UInt8]
    }

    /// The whole file (at most `ImageFolderOptions.maxFileBytes`): one open, fstat and read.
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VAEError("cannot read \(path): \(VAEError.errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw VAEError("cannot read \(path): \(VAEError.errnoText())") }
        let size = Int(info.st_size)
        guard size <= ImageFolderOptions.maxFileBytes else {
            throw VAEError("\(path) is \(FormatText.bytes(size)), more than the \(FormatText.bytes(ImageFolderOptions.maxFileBytes)) allowed for an image — is it an image?")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + filled, size - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw VAEError("cannot read \(path): \(VAEError.errnoText())") }
            if n == 0 { break }  // the file shrank: decode what is there (a truncated image is reported as such)
            filled += n
        }
        if filled < size { bytes.removeSubrange(filled...) }
        return bytes
    }

    static func header(_ bytes: [UInt8], path: String) throws -> Header {
        do {
            if JPEG.looksLikeJPEG(bytes) {
                let h = try JPEG.header(bytes, maxPixels: ImageFolderOptions.maxSourcePixels)
                return Header(width: h.width, height: h.height, isColor: h.components != 1)
            }
            let h = try PNG.header(try pngBytes(bytes, path: path), maxPixels: ImageFolderOptions.maxSourcePixels)
            return Header(width: h.width, height: h.height, isColor: h.isColor)
        } catch { throw wrap(error, path) }
    }

    /// Decodes a PNG or JPEG. `channels` picks JPEG's output (1 gray, 3 RGB); PNG gives its own.
    static func decode(_ bytes: [UInt8], path: String, channels: Int, maxPixels: Int = ImageFolderOptions.maxSourcePixels) throws -> Decoded {
        do {
            if JPEG.looksLikeJPEG(bytes) {
                let d = try JPEG.decode(bytes, channels: channels, maxPixels: maxPixels)
                return Decoded(width: d.width, height: d.height, channels: d.channels, pixels: d.pixels)
            }
            let d = try PNG.decodeImage(try pngBytes(bytes, path: path), maxPixels: maxPixels)
            return Decoded(width: d.width, height: d.height, channels: d.channels, pixels: d.pixels)
        } catch { throw wrap(error, path) }
    }

    /// The bytes if they start like a PNG; otherwise a message that says what the file looks like.
    static func pngBytes(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        if bytes.isEmpty { throw VAEError("\(path) is empty (0 bytes) — remove it, or pass --skip-bad-files") }
        if bytes.count >= 8 && bytes[0..<8].elementsEqual([137, 80, 78, 71, 13, 10, 26, 10]) { return bytes }
        if Array(bytes.prefix(8)) == Array([137, 80, 78, 71, 13, 10, 26, 10].prefix(bytes.count)) {
            throw VAEError("\(path) is a PNG cut short: \(bytes.count) bytes, not even its 8-byte signature — remove it, or pass --skip-bad-files")
        }
        // JPEG's start marker FF D8 and nothing after it (a JPEG is FF D8 FF …)
        if bytes.count < 3 && bytes.first == 0xFF && (bytes.count == 1 || bytes[1] == 0xD8) {
            throw VAEError("\(path) is a JPEG cut short: \(bytes.count) byte\(bytes.count == 1 ? "" : "s"), nothing after the start marker — remove it, or pass --skip-bad-files")
        }
        let head = bytes.prefix(64)
        let text = head.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32...126).contains($0) }
        let what = text ? "text" : "starts with " + head.prefix(4).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
        throw VAEError("\(path) is neither PNG nor JPEG (\(what)) — remove it, or pass --skip-bad-files")
    }

    static func wrap(_ error: Error, _ path: String) -> VAEError {
        switch error {
        case let e as VAEError: return e
        case let e as PNGError:
            if case .tooLarge = e { return VAEError.format(path, "\(e) (--skip-bad-files skips it)") }
            switch e {
            case .imageDataSize(let expected, let actual) where actual > expected:
                return VAEError.format(path, "\(e)" + " — the file is damaged (--skip-bad-files skips broken images)")
            case .truncated, .missingImageData, .imageDataSize:
                return VAEError.format(path, "\(e)" + " — is the file complete? (--skip-bad-files skips broken images)")
            default:
                return VAEError.format(path, "\(e)" + " — the file is damaged (--skip-bad-files skips broken images)")
            }
        case let e as JPEGError:
            return e == .libraryMissing ? VAEError.format(path, "\(e)") : VAEError.format(path, "\(e) (--skip-bad-files skips broken images)")
        default: return VAEError("\(path): \(error)")
        }
    }
}

@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
