import VAECore

/// How a denoising VAE corrupts the encoder's input (Im et al. 2017): the loss still compares
/// the decoder's output with the clean x. Redrawn for every batch from the training generator.
/// Written `gaussian:σ`, `saltpepper:p`, `mask:p` or `box:p` (`--corrupt`).
public enum Corruption: Equatable, Sendable, Codable, CustomStringConvertible {
    /// x + N(0, σ²), clipped to [0, 1]
    case gaussian(Double)
    /// each value set to 0 or 1 (half each) with probability p
    case saltPepper(Double)
    /// each value set to 0 with probability p
    case mask(Double)
    /// with probability p, a random rectangle of the image (each side ¼ to all of the image's,
    /// anywhere, every channel) set to 0 — a model for inpainting: its encoder learns to read
    /// images with a hole (`vae inpaint` then starts the missing pixels at 0, as in training)
    case box(Double)

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let v = Double(parts[1]), v.isFinite, v >= 0 else {
            throw VAEError("corruption \"\(text)\" is not one of gaussian:σ, saltpepper:p, mask:p, box:p (e.g. gaussian:0.3)")
        }
        switch parts[0].lowercased() {
        case "gaussian": self = .gaussian(v)
        case "saltpepper", "salt-pepper", "sp": self = .saltPepper(v)
        case "mask": self = .mask(v)
        case "box": self = .box(v)
        default: throw VAEError("corruption \"\(parts[0])\" is not gaussian, saltpepper, mask or box (e.g. --corrupt gaussian:0.3)")
        }
        try validate()
    }

    /// σ finite and ≥ 0; a probability between 0 and 1 (a run stored with another value could
    /// not be loaded again).
    public func validate() throws {
        switch self {
        case .gaussian(let s):
            guard s.isFinite && s >= 0 else { throw VAEError("the noise level in corruption \(description) must be a finite number ≥ 0") }
        case .saltPepper(let p), .mask(let p), .box(let p):
            guard p >= 0 && p <= 1 else { throw VAEError("the probability in corruption \(description) must be between 0 and 1") }
        }
    }

    /// mask:p, the one corruption that means the same for a table's encoded row as for pixels.
    public var isMask: Bool { if case .mask = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .gaussian(let s): return "gaussian:\(s)"
        case .saltPepper(let p): return "saltpepper:\(p)"
        case .mask(let p): return "mask:\(p)"
        case .box(let p): return "box:\(p)"
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

    /// Whether the encoder saw missing values as 0 in training (`vae inpaint` starts holes at 0 then).
    public var hidesWithZero: Bool {
        switch self {
        case .mask, .box: return true
        case .gaussian, .saltPepper: return false
        }
    }

    /// out = corrupt(x), n values, drawn from `rng` in order; `shape` is one item's [C, H, W]
    /// (`box` needs it; a table row is [D], one line).
    public func apply(_ x: UnsafePointer<Float>, count n: Int, shape: [Int], into out: UnsafeMutablePointer<Float>,
                      rng: inout RNG) {
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
        case .box(let p):
            out.update(from: x, count: n)
            let c = shape.count == 3 ? shape[0] : 1, h = shape.count == 3 ? shape[1] : 1, w = shape.last ?? n
            let d = c * h * w
            guard d > 0 else { return }
            func side(_ len: Int, _ rng: inout RNG) -> (start: Int, length: Int) {
                let lo = max(1, (len + 3) / 4)
                let length = lo + Int(rng.uniform() * Float(len - lo + 1)) % (len - lo + 1)
                let start = Int(rng.uniform() * Float(len - length + 1)) % (len - length + 1)
                return (start, length)
            }
            for item in 0..<(n / d) where Double(rng.uniform()) < p {
                let (y0, bh) = side(h, &rng), (x0, bw) = side(w, &rng)
                for ch in 0..<c {
                    for y in y0..<(y0 + bh) {
                        let row = out + item * d + ch * h * w + y * w
                        for xx in x0..<(x0 + bw) { row[xx] = 0 }
                    }
                }
            }
        }
    }
}
