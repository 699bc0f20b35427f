import XCTest
@testable import VAEKit

final class FormatsTestsGzip: XCTestCase {
    func testRoundTrip() throws {
        for count in [0, 1, 100, 300_000] {
            let input = FormatsFixture.bytes(count: count, seed: UInt64(count))
            let compressed = Gzip.compress(input)
            XCTAssertTrue(Gzip.isGzip(compressed))
            XCTAssertEqual(try Gzip.decompress(compressed, maxOutput: count), input, "count \(count)")
        }
        // Compressible data and every level.
        let text = Array(String(repeating: "SwiftVAE ", count: 10_000).utf8)
        for level: Int32 in [-1, 0, 1, 6, 9, 42] {
            let compressed = Gzip.compress(text, level: level)
            XCTAssertEqual(try Gzip.decompress(compressed, maxOutput: text.count), text)
        }
        XCTAssertLessThan(Gzip.compress(text, level: 9).count, text.count / 50)
    }

    func testIsGzip() {
        XCTAssertFalse(Gzip.isGzip([]))
        XCTAssertFalse(Gzip.isGzip([0x1f]))
        XCTAssertTrue(Gzip.isGzip([0x1f, 0x8b]))
        XCTAssertFalse(Gzip.isGzip([0, 0, 8, 3]))
    }

    func testConcatenatedMembers() throws {
        let a = Array("hello, ".utf8), b = Array("world".utf8), c = FormatsFixture.bytes(count: 70_000, seed: 3)
        let joined = Gzip.compress(a) + Gzip.compress(b) + Gzip.compress(c)
        XCTAssertEqual(try Gzip.decompress(joined, maxOutput: 1 << 20), a + b + c)
        // Zero padding after the last member is tolerated, like gzip(1) does.
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(a) + [0, 0, 0, 0], maxOutput: 100), a)
    }

    func testZlibStreamAutoDetected() throws {
        // A zlib-wrapped stream (78 9c ...) of "abc", as made by Python's zlib.compress(b"abc").
        let zlib: [UInt8] = [0x78, 0x9c, 0x4b, 0x4c, 0x4a, 0x06, 0x00, 0x02, 0x4d, 0x01, 0x27]
        XCTAssertEqual(try Gzip.decompress(zlib, maxOutput: 10), Array("abc".utf8))
    }

    func testTruncatedInput() {
        let compressed = Gzip.compress(FormatsFixture.bytes(count: 50_000, seed: 1))
        for cut in [1, 10, compressed.count / 2, compressed.count - 1] {
            FormatsFixture.assertVAEError(["truncated"]) {
                try Gzip.decompress(Array(compressed.prefix(cut)), maxOutput: 1 << 20, source: "x.gz")
            }
        }
        FormatsFixture.assertVAEError(["empty"]) { try Gzip.decompress([], maxOutput: 10) }
    }

    func testCorruptInput() {
        var compressed = Gzip.compress(Array(String(repeating: "abcdefgh", count: 1000).utf8))
        // Damage the CRC32 trailer: a data error.
        compressed[compressed.count - 6] ^= 0xFF
        FormatsFixture.assertVAEError(["x.gz", "corrupt"]) { try Gzip.decompress(compressed, maxOutput: 1 << 20, source: "x.gz") }
        // Not compressed at all.
        FormatsFixture.assertVAEError(["corrupt"]) { try Gzip.decompress(Array("plain text!".utf8), maxOutput: 100) }
        // Trailing garbage after a valid member.
        FormatsFixture.assertVAEError(["trailing"]) { try Gzip.decompress(Gzip.compress([1, 2, 3]) + [7, 7], maxOutput: 100) }
        // Random flips anywhere decompress or are rejected with a VAEError (the CRC catches them).
        let original = Gzip.compress(FormatsFixture.bytes(count: 5000, seed: 9))
        var rejected = 0, tried = 0
        for index in stride(from: 0, to: original.count, by: 7) {
            var damaged = original
            damaged[index] ^= 0x5A
            tried += 1
            if !FormatsFixture.parsesOrRejects("flip at \(index)", { _ = try Gzip.decompress(damaged, maxOutput: 10_000) }) { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, tried / 2, "most flips must be caught")
    }

    func testBombLimit() throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        let bomb = Gzip.compress(zeros, level: 9)
        XCTAssertLessThan(bomb.count, 20_000)
        FormatsFixture.assertVAEError(["bomb.gz", "more than 1,048,576 bytes"]) {
            try Gzip.decompress(bomb, maxOutput: 1 << 20, source: "bomb.gz")
        }
        // Exactly at the limit is fine.
        XCTAssertEqual(try Gzip.decompress(bomb, maxOutput: 8 << 20).count, 8 << 20)
        FormatsFixture.assertVAEError(["more than"]) { try Gzip.decompress(bomb, maxOutput: (8 << 20) - 1) }
    }

    /// The writer that gzips piece by piece (`vae encode --out x.csv.gz`): pieces of every size, more
    /// than one output chunk, one gzip member that reads back whole; a name without .gz unchanged.
    func testStreamingWriterMatchesTheInput() throws {
        var rng = RNG(seed: 3)
        var pieces: [[UInt8]] = []
        for n in [0, 1, 7, 70_000, 300_000, 5] {
            // (half random bytes: an output larger than one 256 KB chunk)
            pieces.append((0..<n).map { $0 % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8($0 % 251) })
        }
        var out: [UInt8] = []
        try Gzip.writing("codes.csv.GZ", to: { out += $0 }) { write in for p in pieces { try write(p) } }
        XCTAssertTrue(Gzip.isGzip(out))
        XCTAssertGreaterThan(out.count, 256 * 1024)
        XCTAssertEqual(try Gzip.decompress(out, maxOutput: 1 << 22), Array(pieces.joined()))
        var plain: [UInt8] = []
        try Gzip.writing("codes.csv", to: { plain += $0 }) { write in for p in pieces { try write(p) } }
        XCTAssertEqual(plain, Array(pieces.joined()))
    }
}
