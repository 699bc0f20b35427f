import CZlib

extension PNG {
    /// Decodes an 8-bit, non-interlaced gray / gray+alpha / RGB / RGBA PNG.
    ///
    /// Hostile input is rejected with a `PNGError`: chunk lengths are bounds-checked,
    /// CRCs verified, and `width*height` must not exceed `maxPixels` (checked before any
    /// pixel buffer is allocated; the inflate output is capped at the expected size).
    public static func decode(_ bytes: [UInt8], maxPixels: Int = PNG.defaultMaxPixels) throws
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8])
    {
        guard bytes.count >= 8 else { throw PNGError.truncated }
        guard Array(bytes[0..<8]) == signature else { throw PNGError.invalidSignature }

        var pos = 8
        var header: (width: Int, height: Int, channels: Int)?
        var idat: [UInt8] = []
        var sawIEND = false

        while pos < bytes.count {
            guard bytes.count - pos >= 12 else { throw PNGError.truncated }
            let length = Int(readBE32(bytes, pos))
            guard length <= 0x7fff_ffff, bytes.count - pos - 12 >= length else { throw PNGError.truncated }
            let typeBytes = Array(bytes[(pos + 4)..<(pos + 8)])
            let type = String(decoding: typeBytes, as: UTF8.self)
            let dataStart = pos + 8
            let dataEnd = dataStart + length
            let stored = readBE32(bytes, dataEnd)
            guard crc(bytes[(pos + 4)..<dataEnd]) == stored else { throw PNGError.badChunkCRC(chunk: type) }
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw PNGError.unsupported("invalid chunk type")
            }
            let data = bytes[dataStart..<dataEnd]
            pos = dataEnd + 4

            if header == nil && type != "IHDR" { throw PNGError.missingHeader }
            switch type {
            case "IHDR":
                guard header == nil else { throw PNGError.invalidHeader("duplicate IHDR") }
                header = try parseHeader(Array(data), maxPixels: maxPixels)
            case "IDAT":
                idat.append(contentsOf: data)
            case "IEND":
                sawIEND = true
            case "PLTE":
                throw PNGError.unsupported("palette images")
            default:
                // Ancillary chunks (lower-case first letter) are skipped; unknown critical ones are not.
                if typeBytes[0] & 0x20 == 0 { throw PNGError.unsupported("critical chunk \(type)") }
            }
            if sawIEND { break }
        }
        guard sawIEND, let hdr = header else { throw PNGError.truncated }
        guard !idat.isEmpty else { throw PNGError.missingImageData }

        let stride = hdr.width * hdr.channels
        let expected = hdr.height * (stride + 1)
        let raw = try inflate(idat, expectedSize: expected)
        let pixels = try unfilter(raw, width: hdr.width, height: hdr.height, bpp: hdr.channels)
        return (hdr.width, hdr.height, hdr.channels, pixels)
    }

    static func parseHeader(_ d: [UInt8], maxPixels: Int) throws -> (width: Int, height: Int, channels: Int) {
        guard d.count == 13 else { throw PNGError.invalidHeader("IHDR length \(d.count)") }
        let w = Int(readBE32(d, 0)), h = Int(readBE32(d, 4))
        guard w > 0, h > 0, w <= 0x7fff_ffff, h <= 0x7fff_ffff else {
            throw PNGError.invalidHeader("dimensions \(w)x\(h)")
        }
        let bitDepth = d[8], colorType = d[9]
        guard d[10] == 0 else { throw PNGError.invalidHeader("compression method \(d[10])") }
        guard d[11] == 0 else { throw PNGError.invalidHeader("filter method \(d[11])") }
        guard d[12] == 0 else { throw PNGError.unsupported("interlaced images") }
        guard bitDepth == 8 else { throw PNGError.unsupported("bit depth \(bitDepth)") }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 4: channels = 2
        case 2: channels = 3
        case 6: channels = 4
        default: throw PNGError.unsupported("color type \(colorType)")
        }
        let (area, o1) = w.multipliedReportingOverflow(by: h)
        guard !o1, area <= maxPixels else { throw PNGError.tooLarge(width: w, height: h) }
        let (bytes, o2) = area.multipliedReportingOverflow(by: channels)
        guard !o2, bytes + h <= Int(Int32.max) else { throw PNGError.tooLarge(width: w, height: h) }
        return (w, h, channels)
    }

    /// Inflates a zlib stream, requiring exactly `expectedSize` bytes of output.
    static func inflate(_ input: [UInt8], expectedSize: Int) throws -> [UInt8] {
        guard input.count < Int(UInt32.max) else { throw PNGError.unsupported("image data over 4 GiB") }
        var stream = z_stream()
        var status = inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw PNGError.compressedDataError(code: status) }
        defer { inflateEnd(&stream) }

        // Output grows only as real data arrives, so a tiny file that merely *declares* a
        // large image costs no large allocation; more than `expectedSize` bytes is an error.
        var out: [UInt8] = []
        out.reserveCapacity(min(expectedSize, 1 << 20))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
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

    static func unfilter(_ raw: [UInt8], width: Int, height: Int, bpp: Int) throws -> [UInt8] {
        let stride = width * bpp
        var px = [UInt8](repeating: 0, count: stride * height)
        try raw.withUnsafeBufferPointer { src in
            try px.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let s = y * (stride + 1)
                    let type = src[s]
                    let row = y * stride
                    let prev = row - stride
                    switch type {
                    case 0:
                        for i in 0..<stride { dst[row + i] = src[s + 1 + i] }
                    case 1:
                        for i in 0..<stride {
                            let a = i >= bpp ? dst[row + i - bpp] : 0
                            dst[row + i] = src[s + 1 + i] &+ a
                        }
                    case 2:
                        for i in 0..<stride {
                            let b = y > 0 ? dst[prev + i] : 0
                            dst[row + i] = src[s + 1 + i] &+ b
                        }
                    case 3:
                        for i in 0..<stride {
                            let a = i >= bpp ? Int(dst[row + i - bpp]) : 0
                            let b = y > 0 ? Int(dst[prev + i]) : 0
                            dst[row + i] = src[s + 1 + i] &+ UInt8((a + b) / 2)
                        }
                    case 4:
                        for i in 0..<stride {
                            let a = i >= bpp ? dst[row + i - bpp] : 0
                            let b = y > 0 ? dst[prev + i] : 0
                            let c = (y > 0 && i >= bpp) ? dst[prev + i - bpp] : 0
                            dst[row + i] = src[s + 1 + i] &+ paeth(a, b, c)
                        }
                    default:
                        throw PNGError.badFilter(row: y, type: type)
                    }
                }
            }
        }
        return px
    }
}
