import CZlib
@testable import VAEImageIO

/// A test-only PNG writer for every colour type, bit depth and interlace: packs samples into
/// scanlines, splits Adam7 passes, applies the five filters, compresses with zlib's compress2.
/// Written independently of the decoder (its own pass table and filters).
enum PNGWriter {
    /// `samples`: height × width × samplesPerPixel values at `bitDepth` bits.
    static func write(width: Int, height: Int, colorType: Int, bitDepth: Int, samples: [Int], interlace: Bool,
                      palette: [UInt8]? = nil, trns: [UInt8]? = nil, filterSeed: UInt64 = 1) -> [UInt8] {
        let spp = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]!
        precondition(samples.count == width * height * spp)
        var raw: [UInt8] = []
        let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        var seed = filterSeed
        for (x0, y0, dx, dy) in interlace ? adam7 : [(0, 0, 1, 1)] {
            let xs = Array(stride(from: x0, to: width, by: dx)), ys = Array(stride(from: y0, to: height, by: dy))
            if xs.isEmpty || ys.isEmpty { continue }
            var previous: [UInt8]? = nil
            for y in ys {
                // Pack the row, most significant bits first.
                var bits: [Int] = []
                for x in xs { for s in 0..<spp { bits.append(samples[(y * width + x) * spp + s]) } }
                var row = [UInt8](repeating: 0, count: (bits.count * bitDepth + 7) / 8)
                for (k, v) in bits.enumerated() {
                    switch bitDepth {
                    case 16: row[2 * k] = UInt8(v >> 8); row[2 * k + 1] = UInt8(v & 255)
                    case 8: row[k] = UInt8(v)
                    default: row[k * bitDepth / 8] |= UInt8(v << (8 - bitDepth - (k * bitDepth) % 8))
                    }
                }
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let type = UInt8((seed >> 33) % 5)
                raw.append(type)
                raw += filter(row, previous: previous, type: type, bpp: max(1, spp * bitDepth / 8))
                previous = row
            }
        }
        var png = PNG.signature
        var ihdr: [UInt8] = []
        PNG.appendBE32(&ihdr, UInt32(width)); PNG.appendBE32(&ihdr, UInt32(height))
        ihdr += [UInt8(bitDepth), UInt8(colorType), 0, 0, interlace ? 1 : 0]
        PNG.appendChunk(&png, "IHDR", ihdr)
        if let palette { PNG.appendChunk(&png, "PLTE", palette) }
        if let trns { PNG.appendChunk(&png, "tRNS", trns) }
        PNG.appendChunk(&png, "IDAT", PNG.zlibCompress(raw))
        PNG.appendChunk(&png, "IEND", [])
        return png
    }

    /// Filtered = x − predictor (mod 256); a = left (bpp bytes back), b = up, c = up-left.
    static func filter(_ row: [UInt8], previous: [UInt8]?, type: UInt8, bpp: Int) -> [UInt8] {
        row.indices.map { i in
            let a = Int(i >= bpp ? row[i - bpp] : 0), b = Int(previous?[i] ?? 0)
            let c = Int(i >= bpp ? (previous?[i - bpp] ?? 0) : 0)
            let predictor: Int
            switch type {
            case 0: predictor = 0
            case 1: predictor = a
            case 2: predictor = b
            case 3: predictor = (a + b) / 2
            default:
                let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
            }
            return UInt8(truncatingIfNeeded: Int(row[i]) - predictor)
        }
    }
}
