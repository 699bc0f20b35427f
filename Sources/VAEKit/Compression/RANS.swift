/// A range asymmetric numeral system coder used as a stack (Duda 2013; the layout of Fabian
/// Giesen's ryg_rans `rans64.h`): a 64-bit state kept in [2³¹, 2⁶³) and 32-bit words moved to and
/// from a stack when it leaves that range. `push` encodes a symbol given as an interval
/// [start, start + freq) of a total 2^scaleBits; `pop` decodes the symbol at the top and needs the
/// same distribution, found with `peek` and a search over the cumulative frequencies.
///
/// Popping what was never pushed reads whatever bits are there — the heart of bits-back coding:
/// popping a latent with the posterior draws a sample and removes about −log₂ q bits. When the
/// stack runs dry the words come from `borrow`, the archive's initial bits.
public struct RANSStack {
    static let lower: UInt64 = 1 << 31
    public private(set) var state: UInt64 = RANSStack.lower
    public private(set) var words: [UInt32] = []
    /// Words taken from `borrow` when a pop found the stack empty.
    public private(set) var borrowed = 0
    /// Supplies the n-th borrowed word (n = 0, 1, …).
    let borrow: (Int) -> UInt32

    public init(borrow: @escaping (Int) -> UInt32) { self.borrow = borrow }

    /// A stack read back from an archive: the state and the words, bottom first.
    public init(state: UInt64, words: [UInt32], borrow: @escaping (Int) -> UInt32) {
        self.state = state
        self.words = words
        self.borrow = borrow
    }

    /// Encodes [start, start + freq) of 2^scaleBits (1 ≤ freq, start + freq ≤ 2^scaleBits ≤ 2³¹).
    public mutating func push(start: UInt32, freq: UInt32, scaleBits: Int) {
        precondition(freq > 0 && scaleBits <= 31 && UInt64(start) + UInt64(freq) <= UInt64(1) << scaleBits)
        let xMax = ((RANSStack.lower >> UInt64(scaleBits)) << 32) &* UInt64(freq)
        if state >= xMax {
            words.append(UInt32(truncatingIfNeeded: state))
            state >>= 32
        }
        state = ((state / UInt64(freq)) << UInt64(scaleBits)) + (state % UInt64(freq)) + UInt64(start)
    }

    /// The value in [0, 2^scaleBits) that names the symbol at the top.
    public func peek(scaleBits: Int) -> UInt32 { UInt32(truncatingIfNeeded: state & ((UInt64(1) << UInt64(scaleBits)) - 1)) }

    /// Removes the symbol [start, start + freq) found with `peek`.
    public mutating func pop(start: UInt32, freq: UInt32, scaleBits: Int) {
        let mask = (UInt64(1) << UInt64(scaleBits)) - 1
        state = UInt64(freq) &* (state >> UInt64(scaleBits)) + (state & mask) - UInt64(start)
        if state < RANSStack.lower {
            let w: UInt32
            if let last = words.popLast() { w = last } else { w = borrow(borrowed); borrowed += 1 }
            state = (state << 32) | UInt64(w)
        }
    }

    /// Bits the stack holds now: the words and the state's 64.
    public var bitCount: Int { 32 * words.count + 64 }
}
