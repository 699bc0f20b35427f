/// FNV-1a, 64 bits: the ranks' agreement check (DataParallel), a compressed archive's model hash
/// and checksum (BitsBackCodec).
struct FNV64 {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    mutating func add(_ w: UInt64) {
        withUnsafeBytes(of: w.littleEndian) { add($0) }
    }
}

/// A fast 64-bit hash of long buffers (every item of a data set at each training start): four
/// lanes of 8-byte words, each multiplied and rotated, folded at the end. Not cryptographic; it
/// tells a changed file from the one a run trained on.
struct WordHash {
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344, 0xA409_3822_299F_31D0, 0x082E_FA98_EC4E_6C89)
    private var tail = FNV64()
    private var length: UInt64 = 0
    private static let k: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) private static func mix(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let x = (h ^ w) &* k
        return (x << 29) | (x >> 35)
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        let words = bytes.count / 32 * 4
        var i = 0
        while i < words {
            let o = i * 8
            lanes.0 = WordHash.mix(lanes.0, bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self))
            lanes.1 = WordHash.mix(lanes.1, bytes.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))
            lanes.2 = WordHash.mix(lanes.2, bytes.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self))
            lanes.3 = WordHash.mix(lanes.3, bytes.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self))
            i += 4
        }
        tail.add(UnsafeRawBufferPointer(rebasing: bytes[(words * 8)...]))   // the last < 32 bytes of this buffer
    }

    var value: UInt64 {
        var h = FNV64()
        for w in [lanes.0, lanes.1, lanes.2, lanes.3, tail.value, length] { h.add(w) }
        return h.value
    }
}
