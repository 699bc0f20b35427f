import XCTest
@testable import VAEImageIO

/// JPEG through libturbojpeg: files the test writes with the same library's tjCompress2.
final class JPEGTests: XCTestCase {
    func requireLibrary() throws {
        guard JPEG.isAvailable else { throw XCTSkip("libturbojpeg.so.0 not installed (apt-get install libturbojpeg0)") }
    }

    /// A smooth pattern (JPEG is lossy: smooth images come back within a few levels).
    func pattern(_ w: Int, _ h: Int, _ c: Int) -> [UInt8] {
        (0..<(w * h * c)).map { i in
            let p = i / c, x = p % w, y = p / w, ch = i % c
            return UInt8((x * 200 / w + y * 50 / h + ch * 20) % 256)
        }
    }

    func testRoundTripGrayAndRGB() throws {
        try requireLibrary()
        for c in [1, 3] {
            let (w, h) = (37, 23)
            let px = pattern(w, h, c)
            let jpeg = try JPEG.encode(width: w, height: h, channels: c, pixels: px, quality: 100)
            XCTAssertTrue(JPEG.looksLikeJPEG(jpeg))
            let header = try JPEG.header(jpeg)
            XCTAssertEqual([header.width, header.height, header.components], [w, h, c])
            let d = try JPEG.decode(jpeg)
            XCTAssertEqual([d.width, d.height, d.channels], [w, h, c])
            let maxError = zip(d.pixels, px).map { abs(Int($0) - Int($1)) }.max()!
            XCTAssertLessThanOrEqual(maxError, 4, "channels \(c)")
            // Gray output from an RGB file, RGB from a gray one.
            XCTAssertEqual(try JPEG.decode(jpeg, channels: 4 - c).pixels.count, w * h * (4 - c))
        }
    }

    /// A CMYK JPEG as Pillow writes one (Adobe APP14, inverted inks; 16×16, R = 16x, G = 16y, B = 200
    /// converted to CMYK): decoded to RGB as Pillow's own conversion gives it (it was refused as
    /// "Unsupported color conversion request").
    func testCMYKJPEGDecodesToRGB() throws {
        try requireLibrary()
        let jpeg = [UInt8](Data(base64Encoded: "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB/8AAFAgAEAAQBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD+b/8A4Jt/8wD/ALdv/Za/m/8A+Hbf/UA/8lv/ALGv6QK/v4r/AEAP+Cbf/MA/7dv/AGWj/h23/wBQD/yW/wDsaKK/z/8A/gm3/wAwD/t2/wDZa/0AP+Hbf/UA/wDJb/7Giiv9AD/gm3/zAP8At2/9lo/4dt/9QD/yW/8AsaKK/9k=")!)
        XCTAssertEqual(try JPEG.header(jpeg).components, 4)
        let d = try JPEG.decode(jpeg)
        XCTAssertEqual([d.width, d.height, d.channels], [16, 16, 3])
        // Pillow 9's Image.open(...).convert("RGB") at (y, x)
        let pillow: [((Int, Int), [Int])] = [((0, 0), [0, 0, 200]), ((3, 7), [112, 48, 200]), ((8, 15), [240, 128, 200]),
                                             ((15, 15), [240, 240, 200]), ((12, 2), [32, 192, 200])]
        for ((y, x), rgb) in pillow {
            let got = (0..<3).map { Int(d.pixels[(y * 16 + x) * 3 + $0]) }
            XCTAssertTrue(zip(got, rgb).allSatisfy { abs($0 - $1) <= 3 }, "(\(y), \(x)): \(got), Pillow \(rgb)")
        }
        let gray = try JPEG.decode(jpeg, channels: 1)
        XCTAssertEqual(Int(gray.pixels[3 * 16 + 7]), (299 * 112 + 587 * 48 + 114 * 200 + 500) / 1000, accuracy: 3)
    }

    func testBadJPEGsThrow() throws {
        try requireLibrary()
        let jpeg = try JPEG.encode(width: 64, height: 64, channels: 3, pixels: pattern(64, 64, 3))
        // Truncated streams: an error (libjpeg's "premature end" warning counts), never a crash.
        for n in [3, 20, 200, jpeg.count / 2, jpeg.count - 2] {
            XCTAssertThrowsError(try JPEG.decode(Array(jpeg.prefix(n))), "prefix \(n)")
        }
        XCTAssertThrowsError(try JPEG.decode([])) { XCTAssertEqual($0 as? JPEGError, .empty) }
        XCTAssertThrowsError(try JPEG.decode([0xFF, 0xD8, 0xFF] + [UInt8](repeating: 7, count: 100)))
        // A 65000×65000 frame header: refused before decoding.
        var huge = jpeg
        if let sof = (0..<(huge.count - 8)).first(where: { huge[$0] == 0xFF && huge[$0 + 1] == 0xC0 }) {
            huge[sof + 5] = 0xFD; huge[sof + 6] = 0xE8; huge[sof + 7] = 0xFD; huge[sof + 8] = 0xE8
            XCTAssertThrowsError(try JPEG.decode(huge)) {
                XCTAssertEqual($0 as? JPEGError, .tooLarge(width: 65000, height: 65000, limit: PNG.defaultMaxPixels))
            }
            // 3000×3000 declared by a 64×64 file: within the limit, refused at the first missing data.
            huge[sof + 5] = 0x0B; huge[sof + 6] = 0xB8; huge[sof + 7] = 0x0B; huge[sof + 8] = 0xB8
            XCTAssertEqual(try JPEG.header(huge).width, 3000)
            XCTAssertThrowsError(try JPEG.decode(huge)) { XCTAssertTrue("\($0)".contains("not a valid JPEG"), "\($0)") }
        } else {
            XCTFail("no SOF0 marker in the encoded JPEG")
        }
    }

    func testMissingLibraryMessageNamesThePackage() {
        XCTAssertTrue(JPEGError.libraryMissing.description.contains("apt-get install libturbojpeg0"))
    }
}
