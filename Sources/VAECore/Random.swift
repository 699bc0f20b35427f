import CVAEKernels

/// xoshiro256** seeded through SplitMix64: fast, small state, reproducible on every platform.
/// The state can be saved and restored (checkpoints resume the exact stream).
public struct RNG: Sendable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    /// A spare standard normal from the last Box–Muller pair, if any.
    private var spare: Float?

    public init(seed: UInt64) {
        var sm = seed
        state = (RNG.splitmix(&sm), RNG.splitmix(&sm), RNG.splitmix(&sm), RNG.splitmix(&sm))
        spare = nil
    }

    /// Stream `stream` of `seed`: one generator per item (a generated sequence's token draws), so
    /// that an item's draws do not depend on how many other items are drawn beside it.
    public init(seed: UInt64, stream: UInt64) {
        var sm = seed ^ 0x6A09_E667_F3BC_C908   // √2's fraction: apart from RNG(seed:)'s sequence
        var key = RNG.splitmix(&sm) &+ stream &* 0xD1B5_4A32_D192_ED03
        self.init(seed: RNG.splitmix(&key))
    }

    /// SplitMix64 of one word: a well-mixed 64-bit hash of `x` (a seed, or a hash's weakly mixed bits).
    public static func mixed(_ x: UInt64) -> UInt64 {
        var s = x
        return splitmix(&s)
    }

    private static func splitmix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The full state as 4 words plus the spare normal (for checkpoints).
    public var savedState: [UInt64] {
        [state.0, state.1, state.2, state.3, spare.map { UInt64($0.bitPattern) | (1 << 32) } ?? 0]
    }

    public init?(savedState s: [UInt64]) {
        guard s.count == 5, s[0] | s[1] | s[2] | s[3] != 0 else { return nil }
        state = (s[0], s[1], s[2], s[3])
        spare = s[4] & (1 << 32) != 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: s[4])) : nil
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always) public mutating func next() -> UInt64 {
        let result = RNG.rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = RNG.rotl(state.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always) public mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [lo, hi).
    @inline(__always) public mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * uniform()
    }

    /// Uniform integer in 0..<n (Lemire's unbiased method).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Standard normal (Box–Muller in double, both values of each pair used: the cosine's now,
    /// the sine's at the next call; the transform is `vk_box_muller`'s, shared with `fillNormal`).
    public mutating func normal() -> Float {
        if let s = spare { spare = nil; return s }
        var words = (next(), next())
        var out: Float = 0
        spare = withUnsafeMutableBytes(of: &words) { vk_box_muller($0.baseAddress!.assumingMemoryBound(to: UInt64.self), &out, 1) }
        return out
    }

    /// `count` normals, the same values as `count` calls of `normal()`: the uniforms are drawn here
    /// in order, the transform of each pair (a log, a sine and a cosine) runs in C on the kernel
    /// threads — pairs are independent, so the bits do not depend on the split.
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        if count > 0, let s = spare { p[0] = s; spare = nil; i = 1 }
        let chunk = 32_768   // even: only the last chunk can leave a spare
        let words = min(chunk, (count - i + 1) / 2 * 2)
        guard words > 0 else { return }
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { raw in
            let w = raw.baseAddress!
            while i < count {
                let n = min(chunk, count - i)
                for k in 0..<(n + 1) / 2 * 2 { w[k] = next() }
                let s = vk_box_muller(w, p + i, n)
                if n % 2 == 1 { spare = s }
                i += n
            }
        }
    }

    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, _ lo: Float, _ hi: Float) {
        for i in 0..<count { p[i] = uniform(lo, hi) }
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int32] {
        var p = (0..<n).map { Int32($0) }
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                p.swapAt(i, int(below: i + 1))
            }
        }
        return p
    }
}

