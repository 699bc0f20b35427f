import VAECore
import RealModule

/// Fills the missing pixels of images given the observed ones.
///
/// The method is pseudo-Gibbs sampling (Rezende, Mohamed & Wierstra 2014, §5.3): start the
/// missing pixels at 0.5, then repeat  z ~ q(z | x_t),  x̂ = mean of p(x | z),  x_{t+1} =
/// observed pixels clamped, missing pixels ← x̂. The chain's states approach draws from
/// p(x_missing | x_observed).
/// - `.mean` runs `chains` chains and averages x̂ over the chains and the second half of the
///   iterations: an estimate of E[x_missing | x_observed], the best guess in squared error.
/// - `.sample` runs one chain and returns its last x̂: one plausible, sharp completion.
/// - `.singlePass` is one encode–decode with z = μ (the baseline it is compared with).
public enum Inpainting {
    public enum Fill: String, Sendable, CaseIterable { case mean, sample, singlePass = "single-pass" }

    /// - Parameters:
    ///   - x: [B, D] images (values at missing pixels are ignored)
    ///   - observed: [B, D] 1 = observed, 0 = missing
    /// - Returns: [B, D] with observed pixels unchanged and missing ones filled.
    /// - Parameter start: the first value of the missing entries (0.5 for pixels); nil keeps x's
    ///   values there (a table's encoded rows: 0, the standardised mean, as the encoder saw in training).
    public static func fill(_ model: VAE, x: Tensor, observed: Tensor, condition: Tensor? = nil, method: Fill,
                            iterations: Int = 50, chains: Int = 8, start initial: Float? = 0.5, rng: inout RNG) -> Tensor {
        let b = x.shape[0], d = model.inputSize, k = model.latent
        precondition(observed.count == b * d && x.count == b * d)
        let out = Tensor(shape: [b, d])
        func clamp(_ fillFrom: Tensor, into t: Tensor) {
            for i in 0..<(b * d) { t[i] = observed[i] != 0 ? x[i] : fillFrom[i] }
        }
        func startState() -> Tensor {
            let t = Tensor(shape: [b, d])
            if let initial { t.fill(initial); clamp(t, into: t) } else { t.pointer.update(from: x.pointer, count: b * d) }
            return t
        }
        if method == .singlePass {
            let start = startState()
            clamp(model.reconstruct(start, condition: condition), into: out)
            return out
        }
        let nChains = method == .sample ? 1 : max(1, chains)
        let acc = Tensor(shape: [b, d])
        var averaged = 0
        let eps = Tensor(shape: [b, k])
        for _ in 0..<nChains {
            let state = startState()
            var last = state
            for t in 0..<max(1, iterations) {
                let h = model.encodeRaw(state, condition: condition)
                let z = Tensor(shape: [b, k])
                rng.fillNormal(eps.pointer, count: eps.count)
                Posterior.sample(h: h.pointer, eps: eps.pointer, rows: b, latent: k, z: z.pointer, kl: nil)
                last = model.decode(z, condition: condition)
                clamp(last, into: state)
                if method == .mean && t >= iterations / 2 {
                    for i in 0..<(b * d) { acc[i] += last[i] }
                    averaged += 1
                }
            }
            if method == .sample { clamp(last, into: out); return out }
        }
        let m = Tensor(shape: [b, d])
        for i in 0..<(b * d) { m[i] = acc[i] / Float(max(averaged, 1)) }
        clamp(m, into: out)
        return out
    }

    /// PSNR in dB over the missing pixels only (observed = 0).
    public static func psnrOnMissing(_ truth: Tensor, _ filled: Tensor, observed: Tensor) -> Double {
        var s = 0.0, n = 0
        for i in 0..<truth.count where observed[i] == 0 {
            let e = Double(truth[i]) - Double(filled[i])
            s += e * e
            n += 1
        }
        guard n > 0 else { return .infinity }
        let mse = s / Double(n)
        return mse > 0 ? 10 * Double.log10(1 / mse) : .infinity
    }
}

/// Standard masks for images of shape [C, H, W]: 1 = observed, 0 = missing (the same for every
/// channel of a pixel).
public enum InpaintingMask: Equatable, Sendable {
    case center, top, bottom, left, right
    case random(Double)

    public init(parsing s: String) throws {
        switch s.lowercased() {
        case "center", "centre": self = .center
        case "top": self = .top
        case "bottom": self = .bottom
        case "left": self = .left
        case "right": self = .right
        default:
            let parts = s.split(separator: ":")
            guard parts.count == 2, parts[0].lowercased() == "random", let p = Double(parts[1]), (0...1).contains(p) else {
                throw VAEError("mask \"\(s)\" is not center, top, bottom, left, right or random:P (0 ≤ P ≤ 1), or a PNG file")
            }
            self = .random(p)
        }
    }

    /// [count, C·H·W] observed flags; random masks are drawn from `rng`, pixel by pixel.
    public func make(count: Int, shape: [Int], rng: inout RNG) -> Tensor {
        let c = shape[0], h = shape[1], w = shape[2], plane = h * w
        let m = Tensor(shape: [count, c * plane])
        for n in 0..<count {
            for y in 0..<h {
                for x in 0..<w {
                    let missing: Bool
                    switch self {
                    case .center: missing = y >= h / 4 && y < h - h / 4 && x >= w / 4 && x < w - w / 4
                    case .top: missing = y < h / 2
                    case .bottom: missing = y >= h / 2
                    case .left: missing = x < w / 2
                    case .right: missing = x >= w / 2
                    case .random(let p): missing = Double(rng.uniform()) < p
                    }
                    for ch in 0..<c { m[n * c * plane + ch * plane + y * w + x] = missing ? 0 : 1 }
                }
            }
        }
        return m
    }
}
