import CZlib

/// Errors thrown by `PNG.decode`. Decoding never traps on malformed input; it throws one of these.
public enum PNGError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case invalidSignature
    case truncated
    case badChunkCRC(chunk: String)
    case missingHeader
    case invalidHeader(String)
    case unsupported(String)
    case tooLarge(width: Int, height: Int, limit: Int)
    case missingImageData
    case compressedDataError(code: Int32)
    case imageDataSize(expected: Int, actual: Int)
    case badFilter(row: Int, type: UInt8)
    /// A chunk whose type is not four letters: damaged bytes, not a feature.
    case damagedChunk(offset: Int)

    public var description: String {
        switch self {
        case .empty: return "is empty (0 bytes)"
        case .invalidSignature: return "not a PNG file (it does not start with the PNG signature)"
        case .truncated: return "PNG data is truncated"
        case .badChunkCRC(let c): return "CRC mismatch in chunk \(c)"
        case .missingHeader: return "first chunk is not IHDR"
        case .invalidHeader(let m): return "invalid PNG: \(m)"
        case .unsupported(let m): return "unsupported PNG feature: \(m)"
        case .tooLarge(let w, let h, let limit): return ImageLimit.tooLarge(w, h, limit)
        case .missingImageData: return "no IDAT chunk"
        case .compressedDataError(let c):
            // zlib's own words ("incorrect data check"), not its number: a damaged stream
            let text = zError(c).map { String(cString: $0) } ?? "error \(c)"
            return "the image data does not decompress (zlib: \(text))"
        case .imageDataSize(let e, let a):
            // more than the size needs: inflating stops there, so `a` is a lower bound
            return a > e ? "the image data holds more than the \(e) bytes its width and height need"
                         : "image data has \(a) bytes, expected \(e)"
        case .badFilter(let r, let t): return "invalid filter type \(t) on row \(r)"
        case .damagedChunk(let o): return "PNG data is damaged: the chunk at byte \(o) has no valid type"
        }
    }
}

/// Dependency-free (besides system zlib) PNG codec: encodes 8-bit gray, gray+alpha, RGB and RGBA;
/// decodes every standard PNG (see `PNGDecoder.swift`).
public enum PNG {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    /// Default cap on width*height accepted by `decode` (16 Mpx, e.g. 4096×4096).
    public static let defaultMaxPixels = 1 << 24

    /// Encodes an 8-bit, non-interlaced PNG.
    /// - Parameters:
    ///   - channels: 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA).
    ///   - pixels: row-major, interleaved, `width*height*channels` bytes.
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
        encode(width: width, height: height, channels: channels, pixels: pixels, maxIDATSize: 1 << 20)
    }

    static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8], maxIDATSize: Int) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= 0x7fff_ffff && height <= 0x7fff_ffff,
                     "PNG dimensions must be positive")
        precondition((1...4).contains(channels), "channels must be 1, 2, 3 or 4")
        precondition(pixels.count == width * height * channels, "pixel buffer size mismatch")
        precondition(maxIDATSize > 0)

        let colorType: UInt8 = [0, 4, 2, 6][channels - 1]
        var out = signature
        var ihdr: [UInt8] = []
        appendBE32(&ihdr, UInt32(width))
        appendBE32(&ihdr, UInt32(height))
        ihdr += [8, colorType, 0, 0, 0]
        appendChunk(&out, "IHDR", ihdr)

        let raw = filterRows(width: width, height: height, bpp: channels, pixels: pixels)
        let compressed = zlibCompress(raw)
        var start = 0
        repeat {
            let end = min(compressed.count, start + maxIDATSize)
            appendChunk(&out, "IDAT", Array(compressed[start..<end]))
            start = end
        } while start < compressed.count
        appendChunk(&out, "IEND", [])
        return out
    }

    // MARK: - Filtering

    /// Adaptive filtering: per row, picks the filter with the smallest sum of absolute
    /// (signed) residuals — the standard libpng heuristic.
    static func filterRows(width: Int, height: Int, bpp: Int, pixels: [UInt8]) -> [UInt8] {
        let stride = width * bpp
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        @inline(__always) func cost(_ v: UInt8) -> Int { v < 128 ? Int(v) : 256 - Int(v) }
        pixels.withUnsafeBufferPointer { px in
            raw.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let row = y * stride, up = row - stride
                    // Pass 1: cost of all five filters at once.
                    var c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0
                    for i in 0..<stride {
                        let x = px[row + i]
                        let a = i >= bpp ? px[row + i - bpp] : 0
                        let b = y > 0 ? px[up + i] : 0
                        let c = (y > 0 && i >= bpp) ? px[up + i - bpp] : 0
                        c0 &+= cost(x)
                        c1 &+= cost(x &- a)
                        c2 &+= cost(x &- b)
                        c3 &+= cost(x &- UInt8((UInt16(a) + UInt16(b)) >> 1))
                        c4 &+= cost(x &- paeth(a, b, c))
                    }
                    var type: UInt8 = 0
                    var best = c0
                    for (t, cst) in [(UInt8(1), c1), (2, c2), (3, c3), (4, c4)] where cst < best {
                        best = cst; type = t
                    }
                    // Pass 2: write the chosen filter.
                    let dst = y * (stride + 1)
                    out[dst] = type
                    for i in 0..<stride {
                        let x = px[row + i]
                        let a = i >= bpp ? px[row + i - bpp] : 0
                        let b = y > 0 ? px[up + i] : 0
                        let c = (y > 0 && i >= bpp) ? px[up + i - bpp] : 0
                        let v: UInt8
                        switch type {
                        case 0: v = x
                        case 1: v = x &- a
                        case 2: v = x &- b
                        case 3: v = x &- UInt8((UInt16(a) + UInt16(b)) >> 1)
                        default: v = x &- paeth(a, b, c)
                        }
                        out[dst + 1 + i] = v
                    }
                }
            }
        }
        return raw
    }

    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        if pb <= pc { return b }
        return c
    }

    // MARK: - Chunks, CRC, zlib

    static func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    static func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf -> UInt32 in
            var c = crc32(0, nil, 0)
            var p = buf.baseAddress
            var left = buf.count
            while left > 0, let ptr = p {
                let n = min(left, Int(Int32.max))
                c = crc32(c, ptr, uInt(n))
                p = ptr + n
                left -= n
            }
            return UInt32(truncatingIfNeeded: c)
        }
    }

    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendBE32(&out, UInt32(data.count))
        let start = out.count
        out += Array(type.utf8)
        out += data
        appendBE32(&out, crc(out[start...]))
    }

    /// zlib's format (RFC 1950) at level 6, as in a PNG's IDAT chunk.
    public static func zlibCompress(_ input: [UInt8]) -> [UInt8] {
        var destLen = compressBound(uLong(input.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let status = input.withUnsafeBufferPointer { src in
            dest.withUnsafeMutableBufferPointer { dst in
                compress2(dst.baseAddress, &destLen, src.baseAddress, uLong(src.count), 6)
            }
        }
        precondition(status == Z_OK, "zlib compress2 failed with \(status)")
        dest.removeSubrange(Int(destLen)...)
        return dest
    }
}
