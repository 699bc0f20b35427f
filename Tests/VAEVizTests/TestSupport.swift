import Foundation
@testable import VAEViz

/// When VAEVIZ_DUMP is set to a directory, tests write sample outputs there for a human to look at.
func dump(_ name: String, _ bytes: [UInt8]) {
    guard let dir = ProcessInfo.processInfo.environment["VAEVIZ_DUMP"], !dir.isEmpty else { return }
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(bytes))
}

func dump(_ name: String, _ text: String) { dump(name, Array(text.utf8)) }

/// Deterministic pseudo-random bytes (xorshift).
func pseudoRandomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var s = seed | 1
    return (0..<n).map { _ in
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        return UInt8(truncatingIfNeeded: s >> 24)
    }
}

/// A smooth-ish test image that exercises all filter heuristics.
func gradientPixels(width: Int, height: Int, channels: Int) -> [UInt8] {
    var p = [UInt8](repeating: 0, count: width * height * channels)
    let noise = pseudoRandomBytes(p.count, seed: 42)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels {
                let i = (y * width + x) * channels + c
                p[i] = UInt8(truncatingIfNeeded: x * 7 + y * 3 + c * 50) &+ (x % 5 == 0 ? noise[i] : 0)
            }
        }
    }
    return p
}

struct PNGChunk {
    var type: String
    var data: [UInt8]
    var crc: UInt32
}

/// Straightforward chunk splitter for tests (assumes well-formed input).
func chunks(_ png: [UInt8]) -> [PNGChunk] {
    var out: [PNGChunk] = []
    var pos = 8
    func be32(_ i: Int) -> UInt32 {
        UInt32(png[i]) << 24 | UInt32(png[i + 1]) << 16 | UInt32(png[i + 2]) << 8 | UInt32(png[i + 3])
    }
    while pos + 12 <= png.count {
        let len = Int(be32(pos))
        let type = String(decoding: png[(pos + 4)..<(pos + 8)], as: UTF8.self)
        out.append(PNGChunk(type: type, data: Array(png[(pos + 8)..<(pos + 8 + len)]), crc: be32(pos + 8 + len)))
        pos += 12 + len
    }
    return out
}
