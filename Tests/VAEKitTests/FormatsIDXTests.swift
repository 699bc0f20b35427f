import XCTest
@testable import VAEKit

final class FormatsTestsIDX: XCTestCase {
    func testImageRoundTrip() throws {
        let pixels = FormatsFixture.bytes(count: 3 * 4 * 5, seed: 1)
        let bytes = try IDX.encodeImages(pixels, count: 3, rows: 4, cols: 5)
        XCTAssertEqual(Array(bytes.prefix(16)), [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5])
        let images = try IDX.parseImages(bytes)
        XCTAssertEqual(images, IDX.Images(count: 3, rows: 4, cols: 5, pixels: pixels))
        let labels: [UInt8] = [0, 9, 4]
        let labelBytes = IDX.encodeLabels(labels)
        XCTAssertEqual(Array(labelBytes.prefix(8)), [0, 0, 8, 1, 0, 0, 0, 3])
        XCTAssertEqual(try IDX.parseLabels(labelBytes), labels)
        XCTAssertNil(IDX.encode(dims: [2, 2], data: [1, 2, 3]))
        XCTAssertThrowsError(try IDX.encodeImages([1, 2], count: 1, rows: 1, cols: 1))
    }

    func testWrongMagic() throws {
        let labels = IDX.encodeLabels([1, 2, 3])
        FormatsFixture.assertVAEError(["labels.idx", "not an IDX image file", "0x00000801", "expected 0x00000803", "swapped"]) {
            try IDX.parseImages(labels, source: "labels.idx")
        }
        FormatsFixture.assertVAEError(["not an IDX label file", "expected 0x00000801"]) {
            try IDX.parseLabels(try IDX.encodeImages([1], count: 1, rows: 1, cols: 1))
        }
        FormatsFixture.assertVAEError(["not an IDX image file", "0x89504e47"]) {
            try IDX.parseImages([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0], source: "x.png")
        }
        FormatsFixture.assertVAEError(["too short"]) { try IDX.parseImages([0, 0, 8]) }
        // a 4-dimensional file is no swapped label file (the hint said so)
        let four = try XCTUnwrap(IDX.encode(dims: [1, 1, 2, 2], data: [1, 2, 3, 4]))
        FormatsFixture.assertVAEError(["4 dimensions", "reads 3-dimensional IDX images"]) { try IDX.parseImages(four, source: "d4.idx") }
    }

    func testOtherDataTypesRejected() {
        // 32-bit float images: magic 0x00000D03.
        FormatsFixture.assertVAEError(["32-bit float", "0x00000d03", "unsigned-byte"]) {
            try IDX.parseImages([0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])
        }
        FormatsFixture.assertVAEError(["unknown data type 0x42"]) { try IDX.parseImages([0, 0, 0x42, 3]) }
    }

    func testDoubleGzipMessage() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let idx = try IDX.encodeImages([1, 2, 3, 4], count: 1, rows: 2, cols: 2)
        let path = dir + "/train-images-idx3-ubyte.gz"
        try FormatsFixture.writeFile(Gzip.compress(Gzip.compress(idx)), path)
        // Dataset files are decompressed once; the second layer is reported, not silently undone.
        FormatsFixture.assertVAEError([path, "is not an IDX image file (magic 0x1f8b08", "expected 0x00000803", "gzip-compressed twice"]) {
            try IDX.parseImages(Dataset.readMaybeGzip(path), source: path)
        }
    }

    func testTruncatedAndTrailing() throws {
        let bytes = try IDX.encodeImages(FormatsFixture.bytes(count: 2 * 28 * 28, seed: 5), count: 2, rows: 28, cols: 28)
        FormatsFixture.assertVAEError(["t.idx", "truncated", "1,568 bytes", "1,567 bytes"]) {
            try IDX.parseImages(Array(bytes.dropLast()), source: "t.idx")
        }
        FormatsFixture.assertVAEError(["truncated inside its header"]) { try IDX.parseImages(Array(bytes.prefix(10))) }
        FormatsFixture.assertVAEError(["3 bytes of trailing data", "1,568 bytes", "1,571 bytes"]) {
            try IDX.parseImages(bytes + [0, 0, 0])
        }
        FormatsFixture.assertVAEError(["trailing"]) { try IDX.parseLabels(IDX.encodeLabels([1, 2]) + [3]) }
    }

    func testDimsOverflowAndHugeDimsWithoutData() {
        // [2^32-1, 2^32-1, 2^32-1]: the product overflows Int64.
        let overflow: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)
        FormatsFixture.assertVAEError(["overflows"]) { try IDX.parseImages(overflow) }
        // Huge but representable: must be reported as truncated without allocating anything large.
        let huge: [UInt8] = [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x10, 0, 0, 0, 0x10, 0]
        FormatsFixture.assertVAEError(["truncated"]) { try IDX.parseImages(huge) }
        // Zero images with huge dims: no overflow (0 × anything), no data: an empty set.
        let empty: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertEqual(try IDX.parseImages(empty).count, 0)
    }

    /// Corrupted files parse or are rejected with a `VAEError` that says why; nothing else.
    func testRandomBytesParseOrThrowAVAEError() {
        let valid = try! IDX.encodeImages(FormatsFixture.bytes(count: 12, seed: 2), count: 3, rows: 2, cols: 2)
        var rejected = 0, parsed = 0
        func check(_ seed: Int, _ parse: () throws -> Void) {
            if FormatsFixture.parsesOrRejects("seed \(seed)", parse) { parsed += 1 } else { rejected += 1 }
        }
        for seed in 0..<2000 {
            var bytes = valid
            let noise = FormatsFixture.bytes(count: 3, seed: UInt64(seed))
            bytes[Int(noise[0]) % bytes.count] = noise[1]
            bytes = Array(bytes.prefix(Int(noise[2]) % (bytes.count + 4)))
            check(seed) { _ = try IDX.parseImages(bytes) }
            check(seed) { _ = try IDX.parseLabels(bytes) }
        }
        // both outcomes happen: the inputs reach past the first check
        XCTAssertGreaterThan(rejected, 1000)
        XCTAssertGreaterThan(parsed, 0)
    }
}
