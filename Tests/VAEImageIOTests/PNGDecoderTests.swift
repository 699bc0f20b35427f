import XCTest
@testable import VAEImageIO

/// Every colour type × bit depth × interlace, written by the test's own writer, decoded and
/// compared with the expected 8-bit samples.
final class PNGDecoderTests: XCTestCase {
    struct Rand {
        var s: UInt64
        mutating func next(_ n: Int) -> Int {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Int((s >> 33) % UInt64(n))
        }
    }

    /// 8-bit value of a `depth`-bit sample: round(v·255/(2^depth − 1)).
    func to8(_ v: Int, _ depth: Int) -> UInt8 {
        let m = (1 << depth) - 1
        return UInt8((Double(v) * 255 / Double(m)).rounded())
    }

    func testEveryColorTypeBitDepthAndInterlace() throws {
        let combos: [(Int, [Int])] = [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])]
        var rand = Rand(s: 42)
        for (colorType, depths) in combos {
            for depth in depths {
                for interlace in [false, true] {
                    for (w, h) in [(1, 1), (3, 2), (9, 10), (17, 5)] {
                        let spp = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]!
                        let entries = colorType == 3 ? min(1 << depth, 7) : 0
                        let maxV = colorType == 3 ? entries : 1 << depth
                        let samples = (0..<(w * h * spp)).map { _ in rand.next(maxV) }
                        let palette = colorType == 3 ? (0..<(entries * 3)).map { _ in UInt8(rand.next(256)) } : nil
                        let png = PNGWriter.write(width: w, height: h, colorType: colorType, bitDepth: depth, samples: samples,
                                                  interlace: interlace, palette: palette, filterSeed: UInt64(w * 31 + h))
                        let what = "type \(colorType) depth \(depth) interlace \(interlace) \(w)x\(h)"
                        let image = try PNG.decodeImage(png)
                        XCTAssertEqual([image.width, image.height], [w, h], what)
                        var expected: [UInt8] = []
                        if colorType == 3 {
                            for v in samples { expected += palette![(3 * v)..<(3 * v + 3)] }
                        } else {
                            expected = samples.map { to8($0, depth) }
                        }
                        XCTAssertEqual(image.channels, colorType == 3 ? 3 : spp, what)
                        XCTAssertEqual(image.pixels, expected, what)
                        let header = try PNG.header(png)
                        XCTAssertEqual([header.bitDepth, header.colorType], [depth, colorType])
                        XCTAssertEqual(header.interlaced, interlace)
                    }
                }
            }
        }
    }

    func testTransparencyChunks() throws {
        // Palette with alpha for the first two entries only → RGBA.
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let png = PNGWriter.write(width: 3, height: 1, colorType: 3, bitDepth: 2, samples: [0, 1, 2], interlace: false,
                                  palette: palette, trns: [0, 128])
        let image = try PNG.decodeImage(png)
        XCTAssertEqual(image.channels, 4)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255])
        // Gray 16-bit with a transparent key → gray+alpha.
        let gray = PNGWriter.write(width: 2, height: 1, colorType: 0, bitDepth: 16, samples: [1000, 65535], interlace: true,
                                   trns: [0x03, 0xE8])
        XCTAssertEqual(try PNG.decodeImage(gray).pixels, [4, 0, 255, 255])
        // RGB 8-bit key.
        let rgb = PNGWriter.write(width: 2, height: 1, colorType: 2, bitDepth: 8, samples: [1, 2, 3, 4, 5, 6], interlace: false,
                                  trns: [0, 4, 0, 5, 0, 6])
        XCTAssertEqual(try PNG.decodeImage(rgb).pixels, [1, 2, 3, 255, 4, 5, 6, 0])
    }

    func testMalformedPalettesAndHeaders() {
        // Index past the palette, missing PLTE, bad depth for the colour type, too many tRNS entries.
        let palette: [UInt8] = [1, 2, 3]
        XCTAssertThrowsError(try PNG.decodeImage(PNGWriter.write(width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 5],
                                                                 interlace: false, palette: palette)))
        XCTAssertThrowsError(try PNG.decodeImage(PNGWriter.write(width: 2, height: 1, colorType: 3, bitDepth: 8, samples: [0, 0],
                                                                 interlace: false)))
        XCTAssertThrowsError(try PNG.decodeImage(PNGWriter.write(width: 1, height: 1, colorType: 3, bitDepth: 8, samples: [0],
                                                                 interlace: false, palette: palette, trns: [1, 2])))
        var bad = PNGWriter.write(width: 1, height: 1, colorType: 2, bitDepth: 8, samples: [1, 2, 3], interlace: false)
        bad[24] = 4  // RGB at 4 bits per sample is not allowed
        XCTAssertThrowsError(try PNG.header(bad))
        XCTAssertThrowsError(try PNG.decodeImage([])) { XCTAssertEqual($0 as? PNGError, .empty) }
        XCTAssertThrowsError(try PNG.decodeImage(Array("hello, I am text\n".utf8))) { XCTAssertEqual($0 as? PNGError, .invalidSignature) }
    }

    /// A 100000×100000 header is refused from IHDR alone, and a bomb (a tiny stream that inflates to
    /// far more than the header's size) stops at the declared size.
    func testHugeHeaderAndBomb() {
        var png = PNG.signature
        PNG.appendChunk(&png, "IHDR", [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 0, 0, 0, 0])
        PNG.appendChunk(&png, "IDAT", PNG.zlibCompress([0, 0, 0]))
        PNG.appendChunk(&png, "IEND", [])
        XCTAssertThrowsError(try PNG.header(png)) { XCTAssertEqual($0 as? PNGError, .tooLarge(width: 100_000, height: 100_000, limit: PNG.defaultMaxPixels)) }
        // a real photo that large is to be downscaled: the message says so and gives the limit
        XCTAssertEqual("\(PNGError.tooLarge(width: 9000, height: 8000, limit: 1 << 26))",
                       "declares 9000×8000 pixels (72.0 megapixels), more than the 67.1 megapixels (67108864 pixels) an image may have: downscale it — or, if the file is small, its header is damaged")
        XCTAssertThrowsError(try PNG.decodeImage(png)) { XCTAssertEqual($0 as? PNGError, .tooLarge(width: 100_000, height: 100_000, limit: PNG.defaultMaxPixels)) }
        let zeros = [UInt8](repeating: 0, count: 64 << 20)  // 64 MiB of zeros compress to ~64 KiB
        var bomb = PNG.signature
        PNG.appendChunk(&bomb, "IHDR", [0, 0, 0, 16, 0, 0, 0, 16, 8, 0, 0, 0, 0])
        PNG.appendChunk(&bomb, "IDAT", PNG.zlibCompress(zeros))
        PNG.appendChunk(&bomb, "IEND", [])
        XCTAssertLessThan(bomb.count, 1 << 18)
        XCTAssertThrowsError(try PNG.decodeImage(bomb)) {
            guard case .imageDataSize(let expected, let actual)? = $0 as? PNGError else { return XCTFail("\($0)") }
            XCTAssertEqual(expected, 16 * 17)
            XCTAssertLessThanOrEqual(actual, expected + (1 << 16))
        }
    }
}
