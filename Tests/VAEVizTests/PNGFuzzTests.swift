import CZlib
import Foundation
import XCTest
@testable import VAEViz
@testable import VAEImageIO

/// The short, in-process version of the PNG fuzzing in fuzz/run.sh: seeded random mutations of
/// valid PNGs; in half of them the chunk CRCs are repaired afterwards so that the mutations reach
/// the header, zlib and filter code. Every input must decode or throw a `PNGError`.
final class PNGFuzzTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    static let interesting: [UInt32] = [0, 1, 2, 3, 4, 6, 8, 16, 0xFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 12, 1 << 24]

    /// Recomputes every chunk's CRC that it can find, so that corrupt contents get past the CRC check.
    static func repairCRCs(_ bytes: inout [UInt8]) {
        var pos = 8
        while pos + 12 <= bytes.count {
            let length = Int(UInt32(bytes[pos]) << 24 | UInt32(bytes[pos + 1]) << 16 | UInt32(bytes[pos + 2]) << 8 | UInt32(bytes[pos + 3]))
            guard length <= bytes.count - pos - 12 else { return }
            let crc = bytes[(pos + 4)..<(pos + 8 + length)].withContiguousStorageIfAvailable {
                UInt32(crc32(0, $0.baseAddress, uInt($0.count)))
            } ?? Array(bytes[(pos + 4)..<(pos + 8 + length)]).withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            let at = pos + 8 + length
            bytes[at] = UInt8(crc >> 24); bytes[at + 1] = UInt8((crc >> 16) & 0xFF)
            bytes[at + 2] = UInt8((crc >> 8) & 0xFF); bytes[at + 3] = UInt8(crc & 0xFF)
            pos = at + 4
        }
    }

    func testMutatedPNGsNeverCrash() {
        var seeds: [[UInt8]] = []
        for channels in 1...4 {
            seeds.append(PNG.encode(width: 5, height: 4, channels: channels, pixels: pseudoRandomBytes(5 * 4 * channels, seed: UInt64(channels))))
        }
        seeds.append(PNG.encode(width: 9, height: 3, channels: 3, pixels: gradientPixels(width: 9, height: 3, channels: 3), maxIDATSize: 7))
        for seed in seeds { XCTAssertNoThrow(try PNG.decode(seed)) }

        var rng = Rng(state: 42)
        var decoded = 0
        for iteration in 0..<10000 {
            var bytes = seeds[iteration % seeds.count]
            for _ in 0...rng.below(3) {
                switch rng.below(6) {
                case 0: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
                case 1: bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
                case 2: bytes = Array(bytes.prefix(rng.below(bytes.count + 1)))
                case 3:
                    let count = 1 + rng.below(12)
                    bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: rng.below(bytes.count + 1))
                default:
                    // A 32-bit field (chunk length, width, height) set to an interesting value.
                    guard bytes.count >= 4 else { continue }
                    let at = rng.below(bytes.count - 3)
                    let value = PNGFuzzTests.interesting[rng.below(PNGFuzzTests.interesting.count)]
                    bytes[at] = UInt8(value >> 24); bytes[at + 1] = UInt8((value >> 16) & 0xFF)
                    bytes[at + 2] = UInt8((value >> 8) & 0xFF); bytes[at + 3] = UInt8(value & 0xFF)
                }
                if bytes.isEmpty { break }
            }
            if iteration % 2 == 0 { PNGFuzzTests.repairCRCs(&bytes) }
            do {
                let image = try PNG.decode(bytes, maxPixels: 1 << 16)
                XCTAssertEqual(image.pixels.count, image.width * image.height * image.channels)
                decoded += 1
            } catch is PNGError {
            } catch {
                XCTFail("iteration \(iteration): \(type(of: error)) is not a PNGError: \(error)")
            }
        }
        print("PNG.decode: 10000 mutated inputs, \(decoded) decoded")
        XCTAssertGreaterThan(decoded, 0, "no mutation decoded; the CRC repair does not work")
    }
}
