import CTurboJPEG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JPEG decoding through libjpeg-turbo's TurboJPEG API, loaded at run time
/// (`libturbojpeg.so.0`, Debian/Ubuntu package `libturbojpeg0`). Without it, every call throws
/// `JPEGError.libraryMissing`, whose message names the package.
public enum JPEG {
    /// The Debian/Ubuntu package that provides the library.
    public static let package = "libturbojpeg0"

    /// True when libturbojpeg could be loaded.
    public static var isAvailable: Bool { vae_tj_available() != 0 }

    /// The loaded library's file name ("" when missing).
    public static var library: String { String(cString: vae_tj_library()) }

    /// True when `bytes` start with a JPEG SOI marker (FF D8 FF).
    public static func looksLikeJPEG(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    /// Width, height and components (1 gray, 3 colour, 4 CMYK/YCCK) from the header alone.
    public static func header(_ bytes: [UInt8], maxPixels: Int = PNG.defaultMaxPixels) throws -> (width: Int, height: Int, components: Int) {
        guard !bytes.isEmpty else { throw JPEGError.empty }
        guard looksLikeJPEG(bytes) else { throw JPEGError.invalid("it does not start with the JPEG marker FF D8 FF") }
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { vae_tj_header($0.baseAddress, UInt($0.count), &w, &h, &c, &err, Int32(err.count)) }
        try check(rc, err)
        // (the library reads 0 × 0 from a file cut before its frame header)
        guard w > 0, h > 0 else { throw JPEGError.invalid("no image size: the file ends or breaks off before its frame header (is it complete?)") }
        let (area, overflow) = Int(w).multipliedReportingOverflow(by: Int(h))
        guard !overflow, area <= maxPixels else { throw JPEGError.tooLarge(width: Int(w), height: Int(h), limit: maxPixels) }
        return (Int(w), Int(h), Int(c))
    }

    /// Decodes to 8-bit gray (`channels` 1) or RGB (3), interleaved rows. With `channels` nil: gray
    /// for a grayscale JPEG, RGB otherwise. The size is checked against `maxPixels` before decoding.
    public static func decode(_ bytes: [UInt8], channels: Int? = nil, maxPixels: Int = PNG.defaultMaxPixels) throws
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8])
    {
        let (w, h, components) = try header(bytes, maxPixels: maxPixels)
        let ch = channels ?? (components == 1 ? 1 : 3)
        precondition(ch == 1 || ch == 3, "JPEG.decode: channels must be 1 or 3")
        var pixels = [UInt8](repeating: 0, count: w * h * ch)
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                vae_tj_decode(src.baseAddress, UInt(src.count), dst.baseAddress, Int32(w), Int32(h), Int32(ch), &err, Int32(err.count))
            }
        }
        try check(rc, err)
        return (w, h, ch, pixels)
    }

    /// Encodes 8-bit gray (1) or RGB (3) pixels at `quality` (1...100), 4:4:4.
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8], quality: Int = 95) throws -> [UInt8] {
        precondition(channels == 1 || channels == 3, "JPEG.encode: channels must be 1 or 3")
        precondition(pixels.count == width * height * channels, "JPEG.encode: pixel buffer size mismatch")
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = pixels.withUnsafeBufferPointer {
            vae_tj_encode($0.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(quality), &out, &size, &err, Int32(err.count))
        }
        defer { vae_tj_free(out) }
        try check(rc, err)
        guard let out else { throw JPEGError.invalid("the encoder returned no data") }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    static func check(_ rc: Int32, _ err: [CChar]) throws {
        if rc == -1 { throw JPEGError.libraryMissing }
        if rc != 0 {
            let text = err.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw JPEGError.invalid(text)
        }
    }
}

/// Errors from `JPEG`; the descriptions are one line and read after a file name.
public enum JPEGError: Error, Equatable, Sendable, CustomStringConvertible {
    case libraryMissing
    case empty
    case tooLarge(width: Int, height: Int, limit: Int)
    case invalid(String)

    public var description: String {
        switch self {
        case .libraryMissing:
            if let p = getenv("VAE_TURBOJPEG"), p.pointee != 0 {
                return "is a JPEG, and reading JPEG needs libturbojpeg: VAE_TURBOJPEG names \(String(cString: p)), which does not load — unset VAE_TURBOJPEG to use the system's (apt-get install \(JPEG.package)), or convert the images to PNG"
            }
            return "is a JPEG, and reading JPEG needs libjpeg-turbo's libturbojpeg.so.0, which is not installed — apt-get install \(JPEG.package) (or convert the images to PNG)"
        case .empty: return "is empty (0 bytes)"
        case .tooLarge(let w, let h, let limit):
            return ImageLimit.tooLarge(w, h, limit)
        case .invalid(let m): return "is not a valid JPEG: \(m)"
        }
    }
}

/// The message of an image over the decoders' pixel limit: a real photo that large is to be
/// downscaled, and a small file that declares it has a damaged header (or is a decompression bomb).
enum ImageLimit {
    static func tooLarge(_ w: Int, _ h: Int, _ limit: Int) -> String {
        // one decimal for both: an image just over the limit read "67 megapixels, more than … (67 megapixels)"
        // the image's figure rounded up, the limit's down: never "67.1, more than 67.1"
        func mega(_ n: Double, up: Bool) -> String { let tenths = Int(up ? (n / 1e5).rounded(.up) : n / 1e5); return "\(tenths / 10).\(tenths % 10)" }
        return "declares \(w)×\(h) pixels (\(mega(Double(w) * Double(h), up: true)) megapixels), more than the \(mega(Double(limit), up: false)) megapixels (\(limit) pixels) an image may have: downscale it — or, if the file is small, its header is damaged"
    }
}
