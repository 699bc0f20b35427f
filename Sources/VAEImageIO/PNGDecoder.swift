import CZlib

/// What IHDR (and PLTE / tRNS) say about a PNG, before any pixel data is inflated.
public struct PNGHeader: Equatable, Sendable {
    public var width: Int, height: Int
    public var bitDepth: Int
    /// 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    public var colorType: Int
    public var interlaced: Bool

    /// Samples per pixel in the file: 1, 3, 1, 2, 4 for colour types 0, 2, 3, 4, 6.
    public var samplesPerPixel: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType] ?? 1 }
    public var bitsPerPixel: Int { samplesPerPixel * bitDepth }
    /// True for colour types 2, 3 and 6 (RGB, palette, RGBA).
    public var isColor: Bool { colorType == 2 || colorType == 3 || colorType == 6 }
    /// Bytes of one unfiltered row of `w` pixels (without the filter byte).
    func rowBytes(_ w: Int) -> Int { (w * bitsPerPixel + 7) / 8 }

    /// The seven Adam7 passes (start x, start y, step x, step y); one full pass when not interlaced.
    var passes: [(x0: Int, y0: Int, dx: Int, dy: Int)] {
        interlaced ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
                   : [(0, 0, 1, 1)]
    }

    /// Pixels of a pass along an axis of `size` pixels starting at `start` with step `step`.
    static func passSize(_ size: Int, _ start: Int, _ step: Int) -> Int { size > start ? (size - start + step - 1) / step : 0 }

    /// Bytes the zlib stream must inflate to: every pass's rows, each a filter byte + its pixels.
    var inflatedSize: Int {
        passes.reduce(0) { total, p in
            let pw = PNGHeader.passSize(width, p.x0, p.dx), ph = PNGHeader.passSize(height, p.y0, p.dy)
            return pw == 0 || ph == 0 ? total : total + ph * (1 + rowBytes(pw))
        }
    }
}

/// A decoded PNG: 8 bits per sample, interleaved rows.
public struct PNGImage: Sendable {
    public var width: Int, height: Int
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette → RGB, or RGBA with tRNS; tRNS adds alpha to gray / RGB).
    public var channels: Int
    public var pixels: [UInt8]
}

extension PNG {
    /// Decodes any standard PNG: colour types 0, 2, 3, 4, 6 at every allowed bit depth
    /// (1, 2, 4, 8, 16), Adam7 interlaced or not, tRNS transparency. Samples come out as 8 bits
    /// (16-bit: round(v·255/65535); 1/2/4-bit gray scaled to 0…255; palette entries looked up).
    ///
    /// Hostile input is rejected with a `PNGError`: chunk lengths are bounds-checked, CRCs
    /// verified, width×height must not exceed `maxPixels` and the inflated size is computed from
    /// the header and checked before inflating; inflate output never exceeds that size.
    public static func decode(_ bytes: [UInt8], maxPixels: Int = PNG.defaultMaxPixels) throws
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8])
    {
        let image = try decodeImage(bytes, maxPixels: maxPixels)
        return (image.width, image.height, image.channels, image.pixels)
    }

    /// The header of a PNG (IHDR, checked against `maxPixels`) without inflating anything.
    public static func header(_ bytes: [UInt8], maxPixels: Int = PNG.defaultMaxPixels) throws -> PNGHeader {
        guard bytes.count >= 8 else { throw bytes.isEmpty ? PNGError.empty : PNGError.truncated }
        guard bytes[0..<8].elementsEqual(signature) else { throw PNGError.invalidSignature }
        guard bytes.count >= 33 else { throw PNGError.truncated }
        guard Array(bytes[12..<16]) == Array("IHDR".utf8) else { throw PNGError.missingHeader }
        guard readBE32(bytes, 8) == 13 else { throw PNGError.invalidHeader("IHDR length \(readBE32(bytes, 8))") }
        guard crc(bytes[12..<29]) == readBE32(bytes, 29) else { throw PNGError.badChunkCRC(chunk: "IHDR") }
        return try parseHeader(Array(bytes[16..<29]), maxPixels: maxPixels)
    }

    public static func decodeImage(_ bytes: [UInt8], maxPixels: Int = PNG.defaultMaxPixels) throws -> PNGImage {
        guard bytes.count >= 8 else { throw bytes.isEmpty ? PNGError.empty : PNGError.truncated }
        guard bytes[0..<8].elementsEqual(signature) else { throw PNGError.invalidSignature }

        var pos = 8
        var header: PNGHeader?
        var palette: [UInt8] = []
        var transparency: [UInt8]?
        var idat: [UInt8] = []
        var sawIEND = false

        while pos < bytes.count {
            guard bytes.count - pos >= 12 else { throw PNGError.truncated }
            let length = Int(readBE32(bytes, pos))
            guard length <= 0x7fff_ffff, bytes.count - pos - 12 >= length else { throw PNGError.truncated }
            let typeBytes = Array(bytes[(pos + 4)..<(pos + 8)])
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw PNGError.damagedChunk(offset: pos)
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            let dataStart = pos + 8
            let dataEnd = dataStart + length
            guard crc(bytes[(pos + 4)..<dataEnd]) == readBE32(bytes, dataEnd) else { throw PNGError.badChunkCRC(chunk: type) }
            let data = bytes[dataStart..<dataEnd]
            pos = dataEnd + 4

            if header == nil && type != "IHDR" { throw PNGError.missingHeader }
            switch type {
            case "IHDR":
                guard header == nil else { throw PNGError.invalidHeader("duplicate IHDR") }
                header = try parseHeader(Array(data), maxPixels: maxPixels)
            case "PLTE":
                guard palette.isEmpty, idat.isEmpty else { throw PNGError.invalidHeader("PLTE out of place") }
                guard length % 3 == 0, (3...768).contains(length) else { throw PNGError.invalidHeader("PLTE length \(length)") }
                palette = Array(data)
            case "tRNS":
                guard transparency == nil, idat.isEmpty else { throw PNGError.invalidHeader("tRNS out of place") }
                transparency = Array(data)
            case "IDAT":
                idat.append(contentsOf: data)
            case "IEND":
                sawIEND = true
            default:
                // Ancillary chunks (lower-case first letter) are skipped; unknown critical ones are not.
                if typeBytes[0] & 0x20 == 0 { throw PNGError.unsupported("critical chunk \(type)") }
            }
            if sawIEND { break }
        }
        // A file that ends at a chunk boundary without IEND (a writer that never closed it) is read,
        // as libpng and Pillow read it, when its image data inflates whole; cut inside a chunk or
        // inside the zlib stream, it is truncated.
        guard sawIEND || pos == bytes.count, let hdr = header else { throw PNGError.truncated }
        guard !idat.isEmpty else { throw PNGError.missingImageData }
        if hdr.colorType == 3 && palette.isEmpty { throw PNGError.invalidHeader("palette image without PLTE") }

        let raw = try inflate(idat, expectedSize: hdr.inflatedSize)
        return try PNGPixels.expand(raw, header: hdr, palette: palette, transparency: transparency)
    }

    static func parseHeader(_ d: [UInt8], maxPixels: Int) throws -> PNGHeader {
        guard d.count == 13 else { throw PNGError.invalidHeader("IHDR length \(d.count)") }
        let w = Int(readBE32(d, 0)), h = Int(readBE32(d, 4))
        guard w > 0, h > 0, w <= 0x7fff_ffff, h <= 0x7fff_ffff else {
            throw PNGError.invalidHeader("IHDR dimensions \(w)x\(h)")
        }
        let bitDepth = Int(d[8]), colorType = Int(d[9])
        guard d[10] == 0 else { throw PNGError.invalidHeader("IHDR compression method \(d[10])") }
        guard d[11] == 0 else { throw PNGError.invalidHeader("IHDR filter method \(d[11])") }
        guard d[12] <= 1 else { throw PNGError.invalidHeader("IHDR interlace method \(d[12])") }
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[colorType] else { throw PNGError.invalidHeader("IHDR color type \(colorType)") }
        guard depths.contains(bitDepth) else {
            throw PNGError.invalidHeader("IHDR bit depth \(bitDepth) for color type \(colorType)")
        }
        // Checked before any buffer is sized from the header: a 100000×100000 header is refused here.
        let (area, o1) = w.multipliedReportingOverflow(by: h)
        guard !o1, area <= maxPixels else { throw PNGError.tooLarge(width: w, height: h, limit: maxPixels) }
        let header = PNGHeader(width: w, height: h, bitDepth: bitDepth, colorType: colorType, interlaced: d[12] == 1)
        guard header.inflatedSize + area * 4 <= Int(Int32.max) else { throw PNGError.tooLarge(width: w, height: h, limit: min(maxPixels, Int(Int32.max) / 4)) }
        return header
    }

    /// Inflates a zlib stream, requiring exactly `expectedSize` bytes of output.
    static func inflate(_ input: [UInt8], expectedSize: Int) throws -> [UInt8] {
        guard input.count < Int(UInt32.max) else { throw PNGError.unsupported("image data over 4 GiB") }
        var stream = z_stream()
        var status = inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw PNGError.compressedDataError(code: status) }
        defer { inflateEnd(&stream) }

        // Output grows only as real data arrives, so a tiny file that merely *declares* a
        // large image costs no large allocation; more than `expectedSize` bytes is an error
        // (a decompression bomb stops one 64 KiB chunk past the size its header promised).
        var out: [UInt8] = []
        out.reserveCapacity(min(expectedSize, 1 << 20))
        var chunk = [UInt8](repeating: 0, count: min(1 << 16, max(expectedSize + 1, 1024)))
        var inputCopy = input
        status = Z_OK
        inputCopy.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            while status == Z_OK && out.count <= expectedSize {
                let produced = chunk.withUnsafeMutableBufferPointer { buf -> Int in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = uInt(buf.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return buf.count - Int(stream.avail_out)
                }
                out.append(contentsOf: chunk[0..<produced])
                if produced == 0 && status == Z_OK { status = Z_BUF_ERROR }  // no progress
            }
        }
        if out.count > expectedSize {
            throw PNGError.imageDataSize(expected: expectedSize, actual: out.count)
        }
        switch status {
        case Z_STREAM_END:
            guard out.count == expectedSize else {
                throw PNGError.imageDataSize(expected: expectedSize, actual: out.count)
            }
            return out
        case Z_OK, Z_BUF_ERROR:
            throw PNGError.truncated  // input ended before the end of the zlib stream
        default:
            throw PNGError.compressedDataError(code: status)
        }
    }

    /// Reverses the PNG filters in place. `raw` holds `rows` rows of (filter byte + `rowBytes`)
    /// from `start`; `bpp` is the filter's byte distance (bytes per pixel, at least 1).
    /// Each byte: x = filtered + predictor(a = left, b = up, c = up-left), mod 256.
    static func unfilter(_ raw: inout [UInt8], start: Int, rows: Int, rowBytes: Int, bpp: Int, firstRow: Int = 0) throws {
        let stride = rowBytes + 1
        try raw.withUnsafeMutableBufferPointer { buf in
            for y in 0..<rows {
                let s = start + y * stride
                let type = buf[s]
                let row = s + 1
                let prev = row - stride
                switch type {
                case 0:
                    break
                case 1:
                    for i in bpp..<max(bpp, rowBytes) { buf[row + i] = buf[row + i] &+ buf[row + i - bpp] }
                case 2:
                    if y > 0 { for i in 0..<rowBytes { buf[row + i] = buf[row + i] &+ buf[prev + i] } }
                case 3:
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? Int(buf[row + i - bpp]) : 0
                        let b = y > 0 ? Int(buf[prev + i]) : 0
                        buf[row + i] = buf[row + i] &+ UInt8((a + b) / 2)
                    }
                case 4:
                    for i in 0..<rowBytes {
                        let a = i >= bpp ? buf[row + i - bpp] : 0
                        let b = y > 0 ? buf[prev + i] : 0
                        let c = (y > 0 && i >= bpp) ? buf[prev + i - bpp] : 0
                        buf[row + i] = buf[row + i] &+ paeth(a, b, c)
                    }
                default:
                    throw PNGError.badFilter(row: firstRow + y, type: type)
                }
            }
        }
    }
}
