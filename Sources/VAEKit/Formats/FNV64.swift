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
