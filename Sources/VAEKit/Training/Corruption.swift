import VAECore

/// How a denoising VAE corrupts the encoder's input (Im et al. 2017): the loss still compares
/// the decoder's output with the clean x. Redrawn for every batch from the training generator.
/// Written `gaussian:σ`, `saltpepper:p` or `mask:p` (`--corrupt`).
public enum Corruption: Equatable, Sendable, Codable, CustomStringConvertible {
    /// x + N(0, σ²), clipped to [0, 1]
    case gaussian(Double)
    /// each value set to 0 or 1 (half each) with probability p
    case saltPepper(Double)
    /// each value set to 0 with probability p
    case mask(Double)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let v = Double(parts[1]), v.isFinite, v >= 0 else {
            throw VAEError("corruption \"\(text)\" is not one of gaussian:σ, saltpepper:p, mask:p (e.g. gaussian:0.3)")
        }
        switch parts[0].lowercased() {
        case "gaussian": self = .gaussian(v)
        case "saltpepper", "salt-pepper", "sp": self = .saltPepper(v)
        case "mask": self = .mask(v)
        default: throw VAEError("corruption \"\(parts[0])\" is not gaussian, saltpepper or mask (e.g. --corrupt gaussian:0.3)")
        }
        if case .gaussian = self {} else if v > 1 {
            throw VAEError("the probability in --corrupt \(text) must be between 0 and 1")
        }
    }

    public var description: String {
        switch self {
        case .gaussian(let s): return "gaussian:\(s)"
        case .saltPepper(let p): return "saltpepper:\(p)"
        case .mask(let p): return "mask:\(p)"
        }
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: s)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// out = corrupt(x), n values, drawn from `rng` in order.
    public func apply(_ x: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Float>, rng: inout RNG) {
        switch self {
        case .gaussian(let s):
            let sd = Float(s)
            for i in 0..<n { out[i] = min(1, max(0, x[i] + sd * rng.normal())) }
        case .saltPepper(let p):
            for i in 0..<n {
                let u = Double(rng.uniform())
                out[i] = u < p ? (u < p / 2 ? 0 : 1) : x[i]
            }
        case .mask(let p):
            for i in 0..<n { out[i] = Double(rng.uniform()) < p ? 0 : x[i] }
        }
    }
}
