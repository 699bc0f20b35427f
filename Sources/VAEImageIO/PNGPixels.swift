/// From inflated, filtered PNG scanlines to 8-bit interleaved pixels: unfilters each Adam7 pass,
/// unpacks 1/2/4/16-bit samples, looks up palette entries and applies tRNS transparency.
enum PNGPixels {
    static func expand(_ raw: [UInt8], header h: PNGHeader, palette: [UInt8], transparency: [UInt8]?) throws -> PNGImage {
        var raw = raw
        let depth = h.bitDepth
        let spp = h.samplesPerPixel
        // tRNS: alpha per palette entry, or one transparent gray / RGB value (in file sample units).
        var paletteAlpha: [UInt8]? = nil
        var key: [Int]? = nil
        if let t = transparency {
            switch h.colorType {
            case 3:
                guard t.count <= palette.count / 3 else { throw PNGError.invalidHeader("tRNS has \(t.count) entries for a \(palette.count / 3)-colour palette") }
                paletteAlpha = t + [UInt8](repeating: 255, count: palette.count / 3 - t.count)
            case 0:
                guard t.count == 2 else { throw PNGError.invalidHeader("tRNS length \(t.count) for a gray image") }
                key = [Int(t[0]) << 8 | Int(t[1])]
            case 2:
                guard t.count == 6 else { throw PNGError.invalidHeader("tRNS length \(t.count) for an RGB image") }
                key = (0..<3).map { Int(t[2 * $0]) << 8 | Int(t[2 * $0 + 1]) }
            default:
                break  // colour types 4 and 6 already carry alpha; a stray tRNS is ignored
            }
        }
        let outChannels: Int
        switch h.colorType {
        case 0: outChannels = key == nil ? 1 : 2
        case 2: outChannels = key == nil ? 3 : 4
        case 3: outChannels = paletteAlpha == nil ? 3 : 4
        case 4: outChannels = 2
        default: outChannels = 4
        }
        let maxSample = (1 << depth) - 1
        // 8-bit value of a gray/colour sample: v·255/(2^depth − 1), rounded.
        let scale: (Int) -> UInt8 = depth == 8 ? { UInt8($0) } : { UInt8((($0 * 255) + maxSample / 2) / maxSample) }
        let paletteCount = palette.count / 3

        var out = [UInt8](repeating: 0, count: h.width * h.height * outChannels)
        var offset = 0
        for pass in h.passes {
            let pw = PNGHeader.passSize(h.width, pass.x0, pass.dx), ph = PNGHeader.passSize(h.height, pass.y0, pass.dy)
            if pw == 0 || ph == 0 { continue }
            let rowBytes = h.rowBytes(pw)
            try PNG.unfilter(&raw, start: offset, rows: ph, rowBytes: rowBytes, bpp: max(1, h.bitsPerPixel / 8))
            if depth == 8 && h.colorType != 3 && key == nil && pass.dx == 1 {
                // Fast path: 8-bit samples without palette or key are the output bytes already.
                for j in 0..<ph {
                    let row = offset + j * (rowBytes + 1) + 1
                    let o = (pass.y0 + j * pass.dy) * h.width * outChannels
                    out.withUnsafeMutableBufferPointer { dst in
                        raw.withUnsafeBufferPointer { src in
                            (dst.baseAddress! + o).update(from: src.baseAddress! + row, count: rowBytes)
                        }
                    }
                }
                offset += ph * (rowBytes + 1)
                continue
            }
            try raw.withUnsafeBufferPointer { src in
                try out.withUnsafeMutableBufferPointer { dst in
                    var samples = [Int](repeating: 0, count: spp)
                    for j in 0..<ph {
                        let row = offset + j * (rowBytes + 1) + 1
                        let y = pass.y0 + j * pass.dy
                        for i in 0..<pw {
                            // Sample k of the row at `depth` bits, most significant bits first.
                            for s in 0..<spp {
                                let k = i * spp + s
                                switch depth {
                                case 8: samples[s] = Int(src[row + k])
                                case 16: samples[s] = Int(src[row + 2 * k]) << 8 | Int(src[row + 2 * k + 1])
                                default:
                                    let bit = k * depth
                                    samples[s] = Int(src[row + bit >> 3] >> (8 - depth - bit & 7)) & maxSample
                                }
                            }
                            let o = ((y * h.width) + pass.x0 + i * pass.dx) * outChannels
                            if h.colorType == 3 {
                                let index = samples[0]
                                guard index < paletteCount else { throw PNGError.invalidHeader("palette index \(index) out of range (\(paletteCount) entries)") }
                                dst[o] = palette[3 * index]; dst[o + 1] = palette[3 * index + 1]; dst[o + 2] = palette[3 * index + 2]
                                if let alpha = paletteAlpha { dst[o + 3] = alpha[index] }
                                continue
                            }
                            for s in 0..<spp { dst[o + s] = scale(samples[s]) }
                            if let key {
                                dst[o + spp] = samples[0..<spp].elementsEqual(key) ? 0 : 255
                            }
                        }
                    }
                }
            }
            offset += ph * (rowBytes + 1)
        }
        return PNGImage(width: h.width, height: h.height, channels: outChannels, pixels: out)
    }
}
