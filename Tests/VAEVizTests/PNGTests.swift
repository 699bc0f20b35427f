import CZlib
import Foundation
import XCTest
@testable import VAEViz
@testable import VAEImageIO

final class PNGTests: XCTestCase {
    let sizes: [(Int, Int)] = [(1, 1), (3, 5), (5, 3), (257, 3), (16, 16)]

    func testRoundTripAllChannelCounts() throws {
        for channels in 1...4 {
            for (w, h) in sizes {
                let px = gradientPixels(width: w, height: h, channels: channels)
                let png = PNG.encode(width: w, height: h, channels: channels, pixels: px)
                let d = try PNG.decode(png)
                XCTAssertEqual(d.width, w)
                XCTAssertEqual(d.height, h)
                XCTAssertEqual(d.channels, channels)
                XCTAssertEqual(d.pixels, px, "channels \(channels) size \(w)x\(h)")
            }
        }
    }

    func testRandomNoiseRoundTrip() throws {
        let px = pseudoRandomBytes(31 * 17 * 3, seed: 7)
        XCTAssertEqual(try PNG.decode(PNG.encode(width: 31, height: 17, channels: 3, pixels: px)).pixels, px)
    }

    /// A chunk type that is not four letters is damage, said as such (it read "unsupported PNG
    /// feature: invalid chunk type", as if the file were valid but exotic).
    func testDamagedChunkTypeIsDamage() throws {
        var png = PNG.encode(width: 4, height: 3, channels: 1, pixels: [UInt8](repeating: 7, count: 12))
        png[8 + 25 + 4] = 0x01   // the type of the chunk after IHDR (signature 8, IHDR 25 bytes)
        XCTAssertThrowsError(try PNG.decode(png)) { e in
            XCTAssertEqual("\(e)", "PNG data is damaged: the chunk at byte 33 has no valid type")
        }
    }

    func testSignatureAndChunkLayout() {
        let png = PNG.encode(width: 3, height: 5, channels: 3, pixels: gradientPixels(width: 3, height: 5, channels: 3))
        XCTAssertEqual(Array(png.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10])
        let cs = chunks(png)
        XCTAssertEqual(cs.first?.type, "IHDR")
        XCTAssertEqual(cs.last?.type, "IEND")
        XCTAssertEqual(cs.last?.data.count, 0)
        XCTAssertEqual(cs[0].data, [0, 0, 0, 3, 0, 0, 0, 5, 8, 2, 0, 0, 0])
        XCTAssertTrue(cs.dropFirst().dropLast().allSatisfy { $0.type == "IDAT" })
        for c in cs {
            let body = Array(c.type.utf8) + c.data
            let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            XCTAssertEqual(crc, c.crc, c.type)
        }
        // Colour types for gray / gray+alpha / RGBA.
        for (ch, ct) in [(1, 0), (2, 4), (4, 6)] {
            let p = PNG.encode(width: 2, height: 2, channels: ch, pixels: [UInt8](repeating: 9, count: 4 * ch))
            XCTAssertEqual(chunks(p)[0].data[9], UInt8(ct))
        }
    }

    /// Inflates the IDAT stream with zlib's own `uncompress` and unfilters it with an
    /// independent (test-local) implementation.
    func testIDATDecompressesWithZlibUncompress() {
        for channels in [1, 3, 4] {
            let (w, h) = (257, 3)
            let px = gradientPixels(width: w, height: h, channels: channels)
            let png = PNG.encode(width: w, height: h, channels: channels, pixels: px)
            let idat = chunks(png).filter { $0.type == "IDAT" }.flatMap(\.data)
            let expected = h * (1 + w * channels)
            var out = [UInt8](repeating: 0, count: expected + 16)
            var outLen = uLongf(out.count)
            let rc = idat.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    uncompress(dst.baseAddress, &outLen, src.baseAddress, uLong(src.count))
                }
            }
            XCTAssertEqual(rc, Z_OK)
            XCTAssertEqual(Int(outLen), expected)
            XCTAssertEqual(referenceUnfilter(Array(out.prefix(expected)), width: w, height: h, bpp: channels), px)
        }
    }

    func testMultipleIDATChunks() throws {
        let px = gradientPixels(width: 40, height: 30, channels: 3)
        let png = PNG.encode(width: 40, height: 30, channels: 3, pixels: px, maxIDATSize: 50)
        XCTAssertGreaterThan(chunks(png).filter { $0.type == "IDAT" }.count, 3)
        XCTAssertEqual(try PNG.decode(png).pixels, px)
    }

    /// Builds PNGs where every row uses one fixed filter type (0–4) and checks decode.
    func testAllFilterTypesDecode() throws {
        let (w, h, bpp) = (7, 6, 3)
        let px = gradientPixels(width: w, height: h, channels: bpp)
        for type in UInt8(0)...4 {
            let raw = referenceFilter(px, width: w, height: h, bpp: bpp, types: [UInt8](repeating: type, count: h))
            let png = makePNG(width: w, height: h, colorType: 2, raw: raw)
            XCTAssertEqual(try PNG.decode(png).pixels, px, "filter \(type)")
        }
        // Mixed filter types per row.
        let raw = referenceFilter(px, width: w, height: h, bpp: bpp, types: [4, 3, 2, 1, 0, 4])
        XCTAssertEqual(try PNG.decode(makePNG(width: w, height: h, colorType: 2, raw: raw)).pixels, px)
    }

    func testPythonIndependentCheck() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("python3 not found at \(python)")
        }
        let (w, h) = (257, 3)
        let px = gradientPixels(width: w, height: h, channels: 4)
        let png = PNG.encode(width: w, height: h, channels: 4, pixels: px)
        let path = NSTemporaryDirectory() + "vaeviz-\(UUID().uuidString).png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(png))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
        import struct, sys, zlib
        b = open(sys.argv[1], 'rb').read()
        assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
        pos, idat = 8, b''
        while pos < len(b):
            n, = struct.unpack('>I', b[pos:pos+4]); t = b[pos+4:pos+8]; d = b[pos+8:pos+8+n]
            crc, = struct.unpack('>I', b[pos+8+n:pos+12+n])
            assert zlib.crc32(t + d) & 0xffffffff == crc, t
            if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', d[:10])
            if t == b'IDAT': idat += d
            pos += 12 + n
        ch = {0: 1, 4: 2, 2: 3, 6: 4}[ct]
        raw = zlib.decompress(idat); stride = w * ch
        assert len(raw) == h * (stride + 1), len(raw)
        prev = bytearray(stride); total = 0
        for y in range(h):
            f = raw[y*(stride+1)]; row = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
            for i in range(stride):
                a = row[i-ch] if i >= ch else 0; up = prev[i]; c = prev[i-ch] if i >= ch else 0
                if f == 1: row[i] = (row[i] + a) & 255
                elif f == 2: row[i] = (row[i] + up) & 255
                elif f == 3: row[i] = (row[i] + (a + up) // 2) & 255
                elif f == 4:
                    p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                    row[i] = (row[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
                else: assert f == 0, f
            total += sum(row); prev = row
        print(w, h, ch, total)
        """
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: python)
        proc.arguments = ["-c", script, path]
        let pipe = Pipe()
        proc.standardOutput = pipe
        try proc.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        proc.waitUntilExit()
        XCTAssertEqual(proc.terminationStatus, 0)
        let sum = px.reduce(0) { $0 + Int($1) }
        XCTAssertEqual(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                       "\(w) \(h) 4 \(sum)")
    }

    // MARK: Hostile input

    func testTruncatedInputsThrow() {
        let png = PNG.encode(width: 9, height: 9, channels: 3, pixels: gradientPixels(width: 9, height: 9, channels: 3))
        for n in [0, 4, 8, 12, 20, 33, png.count / 2, png.count - 13, png.count - 1] {
            XCTAssertThrowsError(try PNG.decode(Array(png.prefix(n))), "prefix \(n)")
        }
        XCTAssertThrowsError(try PNG.decode([UInt8](repeating: 0, count: 100))) {
            XCTAssertEqual($0 as? PNGError, .invalidSignature)
        }
        // without its IEND chunk alone (12 bytes) the image is whole: read, as libpng and Pillow do
        XCTAssertEqual(try PNG.decode(Array(png.prefix(png.count - 12))).pixels, try PNG.decode(png).pixels)
        // cut between two IDAT chunks (the zlib stream unfinished): truncated
        let pixels = [UInt8](repeating: 7, count: 300 * 300)
        var split = PNG.signature
        let whole = PNG.encode(width: 300, height: 300, channels: 1, pixels: pixels)
        let idat = chunks(whole).filter { $0.type == "IDAT" }.flatMap(\.data)
        PNG.appendChunk(&split, "IHDR", chunks(whole)[0].data)
        PNG.appendChunk(&split, "IDAT", Array(idat.prefix(idat.count / 2)))
        XCTAssertThrowsError(try PNG.decode(split)) { XCTAssertEqual($0 as? PNGError, .truncated) }
    }

    func testBadCRCThrows() {
        var png = PNG.encode(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 128, count: 16))
        png[20] ^= 0x01  // inside IHDR data
        XCTAssertThrowsError(try PNG.decode(png)) { XCTAssertEqual($0 as? PNGError, .badChunkCRC(chunk: "IHDR")) }
    }

    func testHugeDimensionsRejectedWithoutAllocating() {
        for (w, h) in [(0x7fff_ffff, 0x7fff_ffff), (100_000, 100_000), (1 << 20, 1 << 20)] {
            let png = makePNG(width: w, height: h, colorType: 6, raw: [0, 0, 0, 0, 0])
            XCTAssertThrowsError(try PNG.decode(png)) {
                XCTAssertEqual(($0 as? PNGError).map { if case .tooLarge(let a, let b, _) = $0 { return [a, b] } else { return [] } }, [w, h])
            }
        }
        // Zero width and > 2^31 sizes are header errors.
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 0, height: 5, colorType: 0, raw: [0])))
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 0x8000_0000, height: 1, colorType: 0, raw: [0])))
        // Declared size fits the limit but the data does not match it.
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 4000, height: 4000, colorType: 0, raw: [0, 1, 2])))
    }

    func testDecompressionBombIsCutShort() {
        // ~16 MB of zeros compresses to ~16 KB; declared image is 10x10, so decode must stop early.
        let bomb = PNG.zlibCompress([UInt8](repeating: 0, count: 16 << 20))
        XCTAssertLessThan(bomb.count, 100_000)
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 10, height: 10, colorType: 0, raw: [], idat: bomb))) {
            guard case .imageDataSize(let expected, let actual)? = $0 as? PNGError else {
                return XCTFail("unexpected error \($0)")
            }
            XCTAssertEqual(expected, 110)
            XCTAssertLessThan(actual, 1 << 17)
        }
    }

    func testBadFilterByteThrows() {
        var raw = referenceFilter([1, 2, 3, 4, 5, 6], width: 3, height: 2, bpp: 1, types: [0, 0])
        raw[4] = 9  // filter byte of row 1
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 0, raw: raw))) {
            XCTAssertEqual($0 as? PNGError, .badFilter(row: 1, type: 9))
        }
    }

    func testOtherMalformedInputs() {
        let raw = [UInt8](repeating: 0, count: 2 * 4)
        // Too much / too little image data, palette, 16-bit, interlace, garbage zlib.
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 0, raw: raw + [0, 0])))
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 0, raw: Array(raw.prefix(5)))))
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 3, raw: raw)))
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 0, raw: raw, bitDepth: 16)))
        XCTAssertThrowsError(try PNG.decode(makePNG(width: 3, height: 2, colorType: 0, raw: raw, interlace: 1)))
        var garbage = PNG.signature
        PNG.appendChunk(&garbage, "IHDR", [0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0])
        PNG.appendChunk(&garbage, "IDAT", [1, 2, 3, 4, 5, 6, 7])
        PNG.appendChunk(&garbage, "IEND", [])
        XCTAssertThrowsError(try PNG.decode(garbage))
        // Random bytes after a valid signature never crash.
        for seed in 1...200 {
            let junk = PNG.signature + pseudoRandomBytes(Int(seed) * 3, seed: UInt64(seed))
            XCTAssertThrowsError(try PNG.decode(junk))
        }
        // Single-byte corruptions of a valid file either decode or throw a PNGError that says
        // why; they never trap or throw anything else. (Every chunk has a CRC, so a flipped byte
        // is caught: only the bytes no check covers, if any, decode.)
        let good = PNG.encode(width: 5, height: 4, channels: 3, pixels: gradientPixels(width: 5, height: 4, channels: 3))
        var rejected = 0
        for i in 8..<good.count {
            var bad = good
            bad[i] = ~bad[i]
            do {
                _ = try PNG.decode(bad)
            } catch let e as PNGError {
                XCTAssertFalse(String(describing: e).isEmpty, "byte \(i): a PNGError without a message")
                rejected += 1
            } catch {
                XCTFail("byte \(i): threw \(type(of: error)), not a PNGError: \(error)")
            }
        }
        XCTAssertEqual(rejected, good.count - 8, "a corrupted byte decoded without an error")
    }

    func testAncillaryChunksAreSkipped() throws {
        var png = PNG.signature
        PNG.appendChunk(&png, "IHDR", [0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0])
        PNG.appendChunk(&png, "tEXt", Array("Comment\u{0}hi".utf8))
        PNG.appendChunk(&png, "IDAT", PNG.zlibCompress([0, 10, 20]))
        PNG.appendChunk(&png, "IEND", [])
        XCTAssertEqual(try PNG.decode(png).pixels, [10, 20])
    }

    // MARK: helpers

    func makePNG(width: Int, height: Int, colorType: UInt8, raw: [UInt8], bitDepth: UInt8 = 8,
                 interlace: UInt8 = 0, idat: [UInt8]? = nil) -> [UInt8] {
        var png = PNG.signature
        var ihdr: [UInt8] = []
        PNG.appendBE32(&ihdr, UInt32(truncatingIfNeeded: width))
        PNG.appendBE32(&ihdr, UInt32(truncatingIfNeeded: height))
        ihdr += [bitDepth, colorType, 0, 0, interlace]
        PNG.appendChunk(&png, "IHDR", ihdr)
        PNG.appendChunk(&png, "IDAT", idat ?? PNG.zlibCompress(raw))
        PNG.appendChunk(&png, "IEND", [])
        return png
    }

    func refPaeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
    }

    func referenceFilter(_ px: [UInt8], width: Int, height: Int, bpp: Int, types: [UInt8]) -> [UInt8] {
        let stride = width * bpp
        var out: [UInt8] = []
        for y in 0..<height {
            out.append(types[y])
            for i in 0..<stride {
                let x = Int(px[y * stride + i])
                let a = i >= bpp ? Int(px[y * stride + i - bpp]) : 0
                let b = y > 0 ? Int(px[(y - 1) * stride + i]) : 0
                let c = (i >= bpp && y > 0) ? Int(px[(y - 1) * stride + i - bpp]) : 0
                let pred = [0, a, b, (a + b) / 2, refPaeth(a, b, c)][Int(types[y])]
                out.append(UInt8((x - pred + 256) % 256))
            }
        }
        return out
    }

    func referenceUnfilter(_ raw: [UInt8], width: Int, height: Int, bpp: Int) -> [UInt8] {
        let stride = width * bpp
        var px = [Int](repeating: 0, count: stride * height)
        for y in 0..<height {
            let f = Int(raw[y * (stride + 1)])
            for i in 0..<stride {
                let a = i >= bpp ? px[y * stride + i - bpp] : 0
                let b = y > 0 ? px[(y - 1) * stride + i] : 0
                let c = (i >= bpp && y > 0) ? px[(y - 1) * stride + i - bpp] : 0
                let pred = [0, a, b, (a + b) / 2, refPaeth(a, b, c)][f]
                px[y * stride + i] = (Int(raw[y * (stride + 1) + 1 + i]) + pred) % 256
            }
        }
        return px.map { UInt8($0) }
    }
}
