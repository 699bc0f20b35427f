import VAECore
import RealModule

/// Fills the missing pixels of images (or cells of table rows) given the observed ones.
///
/// - `.mean` (the default): Metropolis–Hastings on z with the missing pixels integrated out (after
///   Mattei & Frellsen 2018's Metropolis-within-Gibbs), a chain whose stationary law is
///   p(z | x_observed) under the model; the average of the decoder's means over the second half of
///   the steps of `chains` chains estimates E[x_missing | x_observed], the best guess in squared
///   error.
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
    /// How ``fill(_:x:observed:condition:method:iterations:chains:start:rng:rowsApart:)`` fills the missing
    /// entries (`vae inpaint --fill`).
    public enum Fill: String, Sendable, CaseIterable {
        /// Metropolis–Hastings on z: the mean of the chains' decoder means
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

    /// Where the missing entries start: zeros for a model trained with `--corrupt mask:p|box:p` (its
    /// encoder saw holes as 0), else the model's own mean image (``modelMean(_:draws:seed:)``), a
    /// data-driven first guess that needs neither the training data nor a constant tuned to one data
    /// set. Starting a model trained on whole images at a constant (0 or 0.5) shows its encoder an
    /// image unlike any it saw.
    public static func start(for model: VAE, trainedWith corruption: Corruption?) -> [Float] {
        if corruption?.hidesWithZero == true { return [Float](repeating: 0, count: model.inputSize) }
        return modelMean(model)
    }

    /// The model's mean image E_p(z)[mean(x | z)]: the decoder's means averaged over `draws` draws
    /// of z from the prior (seeded, so the same for every run of a command). For a model that fits
    /// its data this is close to the mean training image.
    public static func modelMean(_ model: VAE, draws: Int = 2000, seed: UInt64 = 0x5EED_1A7E) -> [Float] {
        let d = model.inputSize, k = model.latent, l = model.config.conditionSize
        var rng = RNG(seed: seed)
        var acc = [Double](repeating: 0, count: d)
        var done = 0
        while done < draws {
            let m = min(500, draws - done)
            let z = Tensor(shape: [m, k])
            rng.fillNormal(z.pointer, count: m * k)
            var cond: Tensor? = nil
            if l > 0 {   // a conditional model: the classes in turn
                let c = Tensor(shape: [m, l])
                for r in 0..<m { c[r * l + (done + r) % l] = 1 }
                cond = c
            }
            let x = model.decode(z, condition: cond)
            for r in 0..<m { for j in 0..<d { acc[j] += Double(x[r * d + j]) } }
            done += m
        }
        return acc.map { Float($0 / Double(draws)) }
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
    ///   - initial: the first values of the missing entries, one per feature (`start:`, e.g.
    ///     ``start(for:trainedWith:)``); nil keeps x's values there (a table's encoded rows: 0, the
    ///     standardised mean, as the encoder saw in training)
    ///   - rng: the random-number generator of the chains
    ///   - rowsApart: each row's draws from a stream of its own, seeded by one draw of `rng` and the
    ///     row itself (its values, mask and condition): a row is filled the same wherever it stands —
    ///     alone, among others, twice in a file (`vae impute`). Without it the rows share `rng`.
    /// - Returns: [B, D] with observed pixels unchanged and missing ones filled.
    public static func fill(_ model: VAE, x: Tensor, observed: Tensor, condition: Tensor? = nil, method: Fill,
                            iterations: Int = 50, chains: Int = 8, start initial: [Float]?, rng: inout RNG,
                            rowsApart: Bool = false) -> Tensor {
        var noise = Noise(shared: rng)
        if rowsApart {
            let base = noise.shared.next(), rows = x.shape[0]
            noise.rows = (0..<rows).map { RNG(seed: Analysis.itemSeed(x: x, mask: observed, condition: condition, rows: rows, $0, base: base)) }
        }
        defer { rng = noise.shared }
        return fill(model, x: x, observed: observed, condition: condition, method: method, iterations: iterations,
                    chains: chains, start: initial, noise: &noise)
    }

    /// The draws of a fill: one stream for the batch, or one per row (`rowsApart`).
    struct Noise {
        var shared: RNG
        var rows: [RNG]? = nil

        /// `count` normals for each of `n` rows, row after row.
        mutating func normals(_ p: UnsafeMutablePointer<Float>, rows n: Int, count: Int) {
            guard rows != nil else { shared.fillNormal(p, count: n * count); return }   // (one call: the draws of before)
            for r in 0..<n { rows![r].fillNormal(p + r * count, count: count) }
        }

        /// `count` normals for row `i`.
        mutating func normals(_ p: UnsafeMutablePointer<Float>, row i: Int, count: Int) {
            if rows == nil { shared.fillNormal(p, count: count) } else { rows![i].fillNormal(p, count: count) }
        }

        mutating func uniform(row i: Int) -> Float { rows == nil ? shared.uniform() : rows![i].uniform() }
    }

    static func fill(_ model: VAE, x: Tensor, observed: Tensor, condition: Tensor?, method: Fill,
                     iterations: Int, chains: Int, start initial: [Float]?, noise: inout Noise) -> Tensor {
        let b = x.shape[0], d = model.inputSize, k = model.latent
        precondition(x.count == b * d, "Inpainting.fill: x is \(x.shape), and the model reads rows of \(d) values")
        precondition(observed.count == b * d, "Inpainting.fill: the mask `observed` is \(observed.shape), and x is \(x.shape): give one of the same shape")
        precondition(initial == nil || initial!.count == d, "Inpainting.fill: `start` holds \(initial?.count ?? 0) values, not one row of \(d)")
        let out = Tensor(shape: [b, d])
        func clamp(_ fillFrom: Tensor, into t: Tensor) {
            for i in 0..<(b * d) { t[i] = observed[i] != 0 ? x[i] : fillFrom[i] }
        }
        func startState() -> Tensor {
            let t = Tensor(shape: [b, d])
            for i in 0..<(b * d) { t[i] = observed[i] != 0 ? x[i] : (initial?[i % d] ?? x[i]) }
            return t
        }
        if method == .importance {
            // a pseudo-Gibbs state as the proposal's input, then importance resampling
            let state = fill(model, x: x, observed: observed, condition: condition, method: .sample,
                             iterations: max(1, iterations / 5), chains: 1, start: initial, noise: &noise)
            return importanceFill(model, x: x, observed: observed, proposalInput: state, condition: condition,
                                  samples: max(chains * iterations, 64), draw: false, noise: &noise)
        }
        if method == .mean {
            return metropolisFill(model, x: x, observed: observed, condition: condition, iterations: iterations,
                                  chains: chains, start: initial, noise: &noise)
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
                let h = model.encodeRawInPasses(state, condition: condition)
                defer { withExtendedLifetime(h) {} }   // its pointer is read below: alive to the scope's end
                let z = Tensor(shape: [b, k])
                noise.normals(eps.pointer, rows: b, count: k)
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

    /// Metropolis–Hastings on z with the missing pixels integrated out (after Mattei & Frellsen
    /// 2018, "Leveraging the exact likelihood of deep latent variable models", §4): a Markov chain
    /// whose stationary law is p(z | x_observed) ∝ p(x_observed | z) p(z). The proposal is the
    /// encoder read at the chain's current completion, twice as wide: z' ~ q̃(z | x̂(z)), q with its
    /// variances ×4, x̂(z) the observed pixels and the decoder's means of the missing ones at z
    /// (the posterior given half an image is wider than given a whole one; on MNIST with the bottom
    /// half missing the acceptance rate doubles, 2.4% → 4–5%), accepted with probability
    ///   min(1, p(x_o | z') p(z') q̃(z | x̂(z')) / (p(x_o | z) p(z) q̃(z' | x̂(z)))).
    /// Only the observed pixels enter the likelihood, and the missing ones are never drawn — the
    /// Rao–Blackwellised form of Metropolis-within-Gibbs on (z, x_missing): the encoder never sees
    /// Bernoulli noise in the hole, and the average is over means rather than draws. The estimate is the average of the
    /// decoder's means of the missing pixels over the second half of the steps of `chains` chains:
    /// E[x_missing | x_observed] under the model.
    static func metropolisFill(_ model: VAE, x: Tensor, observed: Tensor, condition: Tensor?, iterations: Int,
                               chains: Int, start initial: [Float]?, noise: inout Noise) -> Tensor {
        let b = x.shape[0], d = model.inputSize, kz = model.latent
        let lik = model.likelihood, ow = lik.outputWidth
        let steps = max(2, iterations)
        let acc = Tensor(shape: [b, d]), completion = Tensor(shape: [b, d])
        let z = Tensor(shape: [b, kz]), zp = Tensor(shape: [b, kz]), eps = Tensor(shape: [b, kz])
        let h = Tensor(shape: [b, 2 * kz]), hp = Tensor(shape: [b, 2 * kz])
        let mean = Tensor(shape: [b, d]), meanP = Tensor(shape: [b, d])
        var nll = [Double](repeating: 0, count: b), nllP = [Double](repeating: 0, count: b)
        var averaged = 0
        let widen = Float.log(4)
        /// log p(z) without its constant
        func logPrior(_ zr: UnsafePointer<Float>) -> Double {
            var s = 0.0
            for j in 0..<kz { s -= 0.5 * Double(zr[j]) * Double(zr[j]) }
            return s
        }
        /// log q(z | μ, log σ²) without its constant (the same 2π terms cancel in the ratio)
        func logQ(_ zr: UnsafePointer<Float>, _ hr: UnsafePointer<Float>) -> Double {
            var s = 0.0
            for j in 0..<kz {
                let lv = Double(hr[kz + j]), e = (Double(zr[j]) - Double(hr[j])) * Double.exp(-0.5 * lv)
                s -= 0.5 * (e * e + lv)
            }
            return s
        }
        /// decodes `zs`: the means into `m`, −log p(x_observed | z) into `n`, and the encoder's
        /// reading of the completion into `hs`
        func look(_ zs: Tensor, means m: Tensor, nll n: inout [Double], encoded hs: Tensor) {
            let outputs = model.decodeLogitsInPasses(zs, condition: condition)
            defer { withExtendedLifetime(outputs) {} }   // its pointer is read below: alive to the scope's end
            lik.mean(outputs.pointer, outStride: ow, rows: b, into: m.pointer, stride: d)
            for r in 0..<b { n[r] = 0 }
            n.withUnsafeMutableBufferPointer { np in
                lik.negLogLikelihood(LikelihoodArguments(rows: b, out: outputs.pointer, outStride: ow, x: x.pointer,
                                                         xStride: d, mask: UnsafePointer(observed.pointer), maskStride: d,
                                                         nll: np.baseAddress!))
            }
            for i in 0..<(b * d) { completion[i] = observed[i] != 0 ? x[i] : m[i] }
            let encoded = model.encodeRawInPasses(completion, condition: condition)
            withExtendedLifetime(encoded) { hs.pointer.update(from: encoded.pointer, count: b * 2 * kz) }
            for r in 0..<b { for j in 0..<kz { hs[r * 2 * kz + kz + j] += widen } }
        }
        for _ in 0..<max(1, chains) {
            // the chain's first z: a draw from q(z | x̂₀), x̂₀ the observed pixels and the start values
            for i in 0..<(b * d) { completion[i] = observed[i] != 0 ? x[i] : (initial?[i % d] ?? x[i]) }
            let encoded = model.encodeRawInPasses(completion, condition: condition)
            withExtendedLifetime(encoded) { hp.pointer.update(from: encoded.pointer, count: b * 2 * kz) }
            noise.normals(eps.pointer, rows: b, count: kz)
            Posterior.sample(h: hp.pointer, eps: eps.pointer, rows: b, latent: kz, z: z.pointer, kl: nil)
            look(z, means: mean, nll: &nll, encoded: h)
            for t in 0..<steps {
                noise.normals(eps.pointer, rows: b, count: kz)
                Posterior.sample(h: h.pointer, eps: eps.pointer, rows: b, latent: kz, z: zp.pointer, kl: nil)
                look(zp, means: meanP, nll: &nllP, encoded: hp)
                for r in 0..<b {
                    let zr = z.pointer + r * kz, zpr = zp.pointer + r * kz
                    let logA = (-nllP[r] + logPrior(zpr) + logQ(zr, hp.pointer + r * 2 * kz))
                        - (-nll[r] + logPrior(zr) + logQ(zpr, h.pointer + r * 2 * kz))
                    if logA >= 0 || Double.log(Double(noise.uniform(row: r))) < logA {
                        zr.update(from: zpr, count: kz)
                        (h.pointer + r * 2 * kz).update(from: hp.pointer + r * 2 * kz, count: 2 * kz)
                        (mean.pointer + r * d).update(from: meanP.pointer + r * d, count: d)
                        nll[r] = nllP[r]
                    }
                }
                if t >= steps / 2 {
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
                               samples k: Int, draw: Bool, noise: inout Noise) -> Tensor {
        let b = x.shape[0], d = model.inputSize, kz = model.latent, l = model.config.conditionSize
        let h = model.encodeRawInPasses(proposalInput, condition: condition)
        defer { withExtendedLifetime(h) {} }   // its pointer is read below: alive to the scope's end
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
                noise.normals(eps.pointer, row: i, count: m * kz)
                for r in 0..<m {
                    Posterior.reparameterize(mu: mu, logVariance: lv, eps: eps.pointer + r * kz, latent: kz, z: z.pointer + r * kz)
                }
                let zs = z.prefixView(shape: [m, kz]), cs = cond?.prefixView(shape: [m, l])
                let outputs = model.decodeLogitsInPasses(zs, condition: cs)
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
                var u = Double(noise.uniform(row: i)), pick = w.count - 1
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
                throw VAEError("mask \"\(s)\" is not center, top, bottom, left, right or random:P (0 < P ≤ 1), or a PNG file")
            }
            // no pixel missing: nothing to fill, and every PSNR on the missing pixels would be "inf dB"
            guard p > 0 else { throw VAEError("mask \"\(s)\" leaves no pixel missing: give random:P with 0 < P ≤ 1") }
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
