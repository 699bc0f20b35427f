import VAECore
import RealModule

/// Fills the missing pixels of images (or cells of table rows) given the observed ones.
///
/// - `.mean` (the default): Metropolis-within-Gibbs (Mattei & Frellsen 2018), a chain on
///   (z, x_missing) whose stationary law is p(z, x_missing | x_observed) under the model; the
///   average of the decoder's means over the second half of the steps of `chains` chains estimates
///   E[x_missing | x_observed], the best guess in squared error.
/// - `.pseudoGibbs`: pseudo-Gibbs sampling (Rezende, Mohamed & Wierstra 2014, §5.3): start the
///   missing pixels at `start`, then repeat z ~ q(z | x_t), missing ← the mean of p(x | z),
///   observed pixels clamped; the average of the second half of the iterations of `chains` chains.
///   It need not converge to the model's conditional.
/// - `.sample` is one pseudo-Gibbs chain's last state: one plausible, sharp completion;
/// - `.importance`: importance resampling (Mattei & Frellsen 2019) from a short pseudo-Gibbs
///   chain's state x̃: z_j ~ a proposal twice as wide as q(z | x̃), weights
///   p(x_observed | z_j) p(z_j) / proposal(z_j), the weighted mean of the decoder's means;
/// - `.singlePass`: one encode–decode with z = μ (the baseline).
///
/// A VAE trained on whole images reads an image with a hole as a strange image; one trained with
/// `--corrupt box:p` (holes hidden as 0 during training, the loss on the whole image) learns
/// q(z | x_observed) and inpaints far better (`start(trainedWith:)` then starts holes at 0).
public enum Inpainting {
    /// How ``fill(_:x:observed:condition:method:iterations:chains:start:rng:)`` fills the missing
    /// entries (`vae inpaint --fill`).
    public enum Fill: String, Sendable, CaseIterable {
        /// Metropolis-within-Gibbs: the mean of the chains' decoder means
        case mean
        /// pseudo-Gibbs: the mean of the chains' states
        case pseudoGibbs = "pseudo-gibbs"
        /// pseudo-Gibbs: one chain's last state
        case sample
        /// importance resampling from a pseudo-Gibbs first guess: the weighted mean
        case importance
        /// one encode–decode with z = μ (the baseline)
        case singlePass = "single-pass"
    }

    /// The value the missing pixels start at: 0 for a model trained with `--corrupt mask:p|box:p`
    /// (its encoder saw holes as 0), else 0.5.
    public static func start(trainedWith corruption: Corruption?) -> Float {
        corruption?.hidesWithZero == true ? 0 : 0.5
    }

    /// Fills the missing entries of `x` with `method`.
    ///
    /// - Parameters:
    ///   - model: the trained VAE
    ///   - x: [B, D] images (values at missing pixels are ignored)
    ///   - observed: [B, D] 1 = observed, 0 = missing
    ///   - condition: [B, L] each item's one-hot class, for a conditional model
    ///   - method: how to fill (see ``Fill``)
    ///   - iterations: steps per chain (`.importance` draws max(chains × iterations, 64) samples)
    ///   - chains: chains averaged by `.mean` and `.pseudoGibbs`
    ///   - initial: the first value of the missing entries (`start:`; 0.5 for pixels); nil keeps
    ///     x's values there (a table's encoded rows: 0, the standardised mean, as the encoder saw
    ///     in training)
    ///   - rng: the random-number generator of the chains
    /// - Returns: [B, D] with observed pixels unchanged and missing ones filled.
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
        if method == .importance {
            // a pseudo-Gibbs state as the proposal's input, then importance resampling
            let state = fill(model, x: x, observed: observed, condition: condition, method: .sample,
                             iterations: max(1, iterations / 5), chains: 1, start: initial, rng: &rng)
            return importanceFill(model, x: x, observed: observed, proposalInput: state, condition: condition,
                                  samples: max(chains * iterations, 64), draw: false, rng: &rng)
        }
        if method == .mean {
            return metropolisFill(model, x: x, observed: observed, condition: condition, iterations: iterations,
                                  chains: chains, start: initial, rng: &rng)
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
                if method == .pseudoGibbs && t >= iterations / 2 {
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

    /// Metropolis-within-Gibbs (Mattei & Frellsen 2018, "Leveraging the exact likelihood of deep
    /// latent variable models", §4): a Markov chain on (z, x_missing) whose stationary law is
    /// p(z, x_missing | x_observed) — unlike pseudo-Gibbs, which need not converge to it. Each step:
    /// z' ~ q(z | x̂) (x̂ the observed pixels with the current missing ones), accepted with probability
    ///   min(1, p(x̂ | z') p(z') q(z | x̂) / (p(x̂ | z) p(z) q(z' | x̂))),
    /// then x_missing ~ p(x_missing | z). The estimate is the average of the decoder's means of the
    /// missing pixels over the second half of the steps of `chains` chains (E[x_missing | x_observed]).
    static func metropolisFill(_ model: VAE, x: Tensor, observed: Tensor, condition: Tensor?, iterations: Int,
                               chains: Int, start initial: Float?, rng: inout RNG) -> Tensor {
        let b = x.shape[0], d = model.inputSize, kz = model.latent
        let lik = model.likelihood, ow = lik.outputWidth
        let steps = max(2, iterations)
        let acc = Tensor(shape: [b, d]), mean = Tensor(shape: [b, d]), draw = Tensor(shape: [b, d])
        let state = Tensor(shape: [b, d])
        let z = Tensor(shape: [b, kz]), zp = Tensor(shape: [b, kz]), eps = Tensor(shape: [b, kz])
        let current = Tensor(shape: [b, ow])
        var nllCur = [Double](repeating: 0, count: b), nllNew = [Double](repeating: 0, count: b)
        var averaged = 0
        /// log p(z) − log q(z | μ, log σ²) without the 2π terms (they cancel)
        func logRatio(_ zr: UnsafePointer<Float>, _ mu: UnsafePointer<Float>, _ lv: UnsafePointer<Float>) -> Double {
            var s = 0.0
            for j in 0..<kz {
                let zj = Double(zr[j]), e = (zj - Double(mu[j])) * Double.exp(-0.5 * Double(lv[j]))
                s += -0.5 * zj * zj + 0.5 * (e * e + Double(lv[j]))
            }
            return s
        }
        for _ in 0..<max(1, chains) {
            for i in 0..<(b * d) { state[i] = observed[i] != 0 ? x[i] : (initial ?? x[i]) }
            // the chain's first z: a draw from q(z | x̂₀)
            let h0 = model.encodeRaw(state, condition: condition)
            rng.fillNormal(eps.pointer, count: b * kz)
            Posterior.sample(h: h0.pointer, eps: eps.pointer, rows: b, latent: kz, z: z.pointer, kl: nil)
            current.pointer.update(from: model.decodeLogits(z, condition: condition).pointer, count: b * ow)
            for t in 0..<steps {
                let h = model.encodeRaw(state, condition: condition)   // a view; only the decoder runs before it is read
                rng.fillNormal(eps.pointer, count: b * kz)
                Posterior.sample(h: h.pointer, eps: eps.pointer, rows: b, latent: kz, z: zp.pointer, kl: nil)
                let proposed = model.decodeLogits(zp, condition: condition)
                for r in 0..<b { nllCur[r] = 0; nllNew[r] = 0 }
                nllCur.withUnsafeMutableBufferPointer { np in
                    lik.negLogLikelihood(LikelihoodArguments(rows: b, out: current.pointer, outStride: ow, x: state.pointer,
                                                             xStride: d, nll: np.baseAddress!))
                }
                nllNew.withUnsafeMutableBufferPointer { np in
                    lik.negLogLikelihood(LikelihoodArguments(rows: b, out: proposed.pointer, outStride: ow, x: state.pointer,
                                                             xStride: d, nll: np.baseAddress!))
                }
                for r in 0..<b {
                    let mu = h.pointer + r * 2 * kz, lv = mu + kz
                    let logA = (-nllNew[r] + logRatio(zp.pointer + r * kz, mu, lv))
                        - (-nllCur[r] + logRatio(z.pointer + r * kz, mu, lv))
                    if logA >= 0 || Double.log(Double(rng.uniform())) < logA {
                        (z.pointer + r * kz).update(from: zp.pointer + r * kz, count: kz)
                        (current.pointer + r * ow).update(from: proposed.pointer + r * ow, count: ow)
                    }
                }
                lik.sample(current.pointer, outStride: ow, rows: b, into: draw.pointer, stride: d, rng: &rng)
                for i in 0..<(b * d) where observed[i] == 0 { state[i] = draw[i] }
                if t >= steps / 2 {
                    lik.mean(current.pointer, outStride: ow, rows: b, into: mean.pointer, stride: d)
                    for i in 0..<(b * d) { acc[i] += mean[i] }
                    averaged += 1
                }
            }
        }
        let out = Tensor(shape: [b, d])
        for i in 0..<(b * d) { out[i] = observed[i] != 0 ? x[i] : acc[i] / Float(max(averaged, 1)) }
        return out
    }

    /// Importance resampling (Mattei & Frellsen 2019): z_j ~ (q(z | x̃) widened) for j = 1…K, with x̃ the
    /// observed pixels and a first guess of the missing ones; weights
    ///   w_j ∝ p(x_observed | z_j) p(z_j) / q(z_j | x̃)
    /// (the likelihood over the observed pixels only). The missing pixels are Σ w_j·mean(x | z_j)
    /// — E[x_missing | x_observed] under the model — or, with `draw`, the mean of p(x | z) at one
    /// z drawn by the weights: one plausible completion.
    static func importanceFill(_ model: VAE, x: Tensor, observed: Tensor, proposalInput: Tensor, condition: Tensor?,
                               samples k: Int, draw: Bool, rng: inout RNG) -> Tensor {
        let b = x.shape[0], d = model.inputSize, kz = model.latent, l = model.config.conditionSize
        let h = model.encodeRaw(proposalInput, condition: condition).copy()
        // a proposal twice as wide as q(z | x̃): the posterior given part of an image is wider
        for i in 0..<b { for j in 0..<kz { h[i * 2 * kz + kz + j] += Float.log(4) } }
        let out = Tensor(shape: [b, d])
        let chunk = min(k, 500)
        let z = Tensor(shape: [chunk, kz]), eps = Tensor(shape: [chunk, kz])
        let cond = l > 0 ? Tensor(shape: [chunk, l]) : nil
        var nll = [Double](repeating: 0, count: chunk)
        let log2pi = Double.log(2 * Double.pi)
        for i in 0..<b {
            let mu = h.pointer + i * 2 * kz, lv = mu + kz
            if let cond, let c = condition { for r in 0..<chunk { (cond.pointer + r * l).update(from: c.pointer + i * l, count: l) } }
            var logw: [Double] = [], means: [[Float]] = []
            var j0 = 0
            while j0 < k {
                let m = min(chunk, k - j0)
                rng.fillNormal(eps.pointer, count: m * kz)
                for r in 0..<m {
                    Posterior.reparameterize(mu: mu, logVariance: lv, eps: eps.pointer + r * kz, latent: kz, z: z.pointer + r * kz)
                }
                let zs = z.prefixView(shape: [m, kz]), cs = cond?.prefixView(shape: [m, l])
                let outputs = model.decodeLogits(zs, condition: cs)
                nll.withUnsafeMutableBufferPointer { np in
                    model.negLogLikelihood(outputs: outputs, x: x.pointer + i * d, xRowStride: 0,
                                           mask: UnsafePointer(observed.pointer + i * d), out: np.baseAddress!)
                }
                let decoded = model.decode(zs, condition: cs)
                for r in 0..<m {
                    var lp = 0.0, lq = 0.0
                    for j in 0..<kz {
                        let zj = Double(z[r * kz + j]), ej = Double(eps[r * kz + j])
                        lp += zj * zj
                        lq += ej * ej + Double(lv[j])
                    }
                    logw.append(-nll[r] - 0.5 * (lp + Double(kz) * log2pi) + 0.5 * (lq + Double(kz) * log2pi))
                    means.append(Array(UnsafeBufferPointer(start: decoded.pointer + r * d, count: d)))
                }
                j0 += m
            }
            let mx = logw.max() ?? 0
            var w = logw.map { Double.exp($0 - mx) }
            let total = w.reduce(0, +)
            w = w.map { $0 / total }
            let row = out.pointer + i * d
            if draw {
                var u = Double(rng.uniform()), pick = w.count - 1
                for (j, wj) in w.enumerated() { u -= wj; if u < 0 { pick = j; break } }
                for p in 0..<d { row[p] = means[pick][p] }
            } else {
                for p in 0..<d { row[p] = 0 }
                for (j, wj) in w.enumerated() { for p in 0..<d { row[p] += Float(wj) * means[j][p] } }
            }
            for p in 0..<d where observed[i * d + p] != 0 { row[p] = x[i * d + p] }
        }
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
