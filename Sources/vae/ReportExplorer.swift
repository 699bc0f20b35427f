import Foundation
import VAECore
import VAEKit
import VAEViz

/// The plain data behind the report's live explorer: the decoder, walked layer by layer into a
/// description and one weight array, and a few test images with their latent means.
enum ReportExplorer {

    /// How the decoder's output becomes the pixel means the page shows (each likelihood's `mean`):
    /// the one place the page learns it.
    static func output(for likelihood: Likelihood) -> DecoderDescription.Output {
        switch likelihood {
        case let g as GaussianLikelihood: return g.link == .sigmoid ? .sigmoid : .identity
        case let h as HeteroscedasticGaussianLikelihood: return h.link == .sigmoid ? .sigmoidOfFirstHalf : .identityOfFirstHalf
        case is DiscretizedLogisticLikelihood: return .identityOfFirstHalf
        case is BetaBinomialLikelihood:
            precondition(BetaBinomialLikelihood.logParameterRange == -7...7, "the page's script clamps log α and log β to ±7")
            return .betaBinomialHalves
        default: return .sigmoid   // Bernoulli: σ(logits)
        }
    }

    /// Walks `model.decoder.layers` (Dense with optional fused ReLU, Reshape/Flatten,
    /// ConvTranspose2D with optional fused ReLU, Activation) into a description and the weights.
    static func describeDecoder(_ model: VAE) throws -> (DecoderDescription, [Float]) {
        // the page carries the decoder: not past `ExplorerData.weightLimit` (checked before copying)
        let count = model.decoder.layers.reduce(0) { n, layer in
            n + ((layer as? Dense).map { $0.weight.count + $0.bias.count } ?? (layer as? ConvTranspose2D).map { $0.weight.count + $0.bias.count } ?? 0)
        }
        guard count <= ExplorerData.weightLimit else {
            throw VAEError("its decoder's \(ProgressDisplay.grouped(Double(count))) weights would make the page over \(count * 4 / 1_000_000) MB (the limit is \(ProgressDisplay.grouped(Double(ExplorerData.weightLimit))) weights); the pictures below are of the same model")
        }
        var weights: [Float] = []
        weights.reserveCapacity(count)
        var layers: [DecoderDescription.Layer] = []
        func append(_ p: Parameter) -> Int {
            let offset = weights.count
            weights.append(contentsOf: UnsafeBufferPointer(start: p.value.pointer, count: p.count))
            return offset
        }
        for (i, layer) in model.decoder.layers.enumerated() {
            switch layer {
            case let d as Dense:
                let w = append(d.weight), b = append(d.bias)
                layers.append(.dense(inputs: d.inFeatures, outputs: d.outFeatures, relu: d.activation == .relu, weightOffset: w, biasOffset: b))
            case let r as Reshape:
                layers.append(r.target.map { .reshape($0) } ?? .flatten)
            case let c as ConvTranspose2D:
                let w = append(c.weight), b = append(c.bias)
                layers.append(.convTranspose2D(inputs: c.inChannels, outputs: c.outChannels, kernel: c.kernelSize, stride: c.stride,
                                               padding: c.padding, outputPadding: c.outputPadding, relu: c.activation == .relu,
                                               weightOffset: w, biasOffset: b))
            case let c as ConcatCondition:
                layers.append(.concatCondition(width: c.width))
            case let a as Activation:
                switch a.kind {
                case .relu: layers.append(.activation("relu"))
                case .leakyReLU(let s): layers.append(.activation("leaky_relu", slope: s))
                case .sigmoid: layers.append(.activation("sigmoid"))
                case .tanh: layers.append(.activation("tanh"))
                }
            default:
                throw VAEError("the report's page cannot run decoder layer \(i) (\(type(of: layer)))")
            }
        }
        let desc = DecoderDescription(latent: model.latent, shape: model.config.inputShape, layers: layers,
                                      output: output(for: model.likelihood), weightCount: weights.count)
        if let p = desc.problem() { throw VAEError("the report's decoder description is inconsistent: \(p)") }
        return (desc, weights)
    }

    /// The explorer's data: the first `limit` test images (fewer for large images, so that the page
    /// stays small), their latent means, and the pad's axes (PCA of the means when latent > 2).
    static func data(_ model: VAE, _ data: Dataset, interpolation: (Int, Int), limit: Int = 500) throws -> ExplorerData {
        let (desc, weights) = try describeDecoder(model)
        let set = data.test
        let d = model.inputSize, k = model.latent
        // at most ~400 kB of image bytes
        let n = min(set.count, limit, max(50, 400_000 / max(d, 1)))
        let mu = try Analysis.latentMeans(model, set, limit: n)
        let muArray = Array(UnsafeBufferPointer(start: mu.pointer, count: n * k))
        let labels = ReportDataAccess.labels(set, n)
        let (origin, axes, explained) = padAxes(muArray, n: n, k: k)
        let clampPair = (min(interpolation.0, max(n - 1, 0)), min(interpolation.1, max(n - 1, 0)))
        return ExplorerData(decoder: desc, weights: weights, images: ReportDataAccess.bytes(set, n, featureCount: d), count: n, labels: labels,
                            classNames: data.classNames, testIndices: (0..<n).map { Int(set.itemID($0)) ?? $0 }, mu: muArray, padOrigin: origin,
                            padAxes: axes, explained: explained, interpolation: clampPair, start: 0)
    }

    /// latent ≤ 2: origin 0 and the unit vectors. latent > 2: the mean of the points and the two
    /// leading eigenvectors of their covariance (power iteration with deflation), with the
    /// fraction of the variance they keep.
    static func padAxes(_ x: [Float], n: Int, k: Int) -> (origin: [Float], axes: [[Float]], explained: Double) {
        let (mean, axes, explained) = Analysis.principalAxes(Tensor(shape: [n, k], data: Array(x.prefix(n * k))))
        return (mean.map { Float($0) }, axes.map { $0.map { Float($0) } }, explained)
    }
}
