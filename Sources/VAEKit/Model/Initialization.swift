import VAECore
import RealModule

/// How a new model's weights start (`--init`): PyTorch's defaults, or Glorot & Bengio's uniform
/// initialisation — the one of Burda et al.'s code for their IWAE paper (github.com/yburda/iwae).
public enum WeightInit: String, Codable, CaseIterable, Sendable {
    /// kaiming-uniform with a = √5 (weights and biases from U(±1/√fan_in)), as `nn.Linear` and
    /// `nn.Conv2d` start.
    case pytorch
    /// weights from U(±√(6/(fan_in + fan_out))), biases 0 (`nn.init.xavier_uniform_`, Keras's
    /// default).
    case glorot
}

extension VAE {
    /// Glorot-uniform weights and zero biases for every layer, drawn from `RNG(seed:)` layer by
    /// layer (encoder, then decoder). Fans follow PyTorch's `_calculate_fan_in_and_fan_out`
    /// (a convolution's receptive field counts in both). The encoder's last layer holds the μ and
    /// the log σ² heads side by side; each is bounded as a layer of its own (`latent` outputs), as
    /// two separate linear layers would be.
    public func initializeGlorot(seed: UInt64) {
        var rng = RNG(seed: seed)
        for (network, isEncoder) in [(encoder, true), (decoder, false)] {
            let weighted = network.layers.compactMap { $0 as? WeightAndBiasLayer }
            for (i, layer) in weighted.enumerated() {
                let s = layer.weight.shape
                let receptive = s.dropFirst(2).reduce(1, *)
                var fans = [s[0], s.count > 1 ? s[1] : 1]
                if isEncoder && i == weighted.count - 1 { fans[0] /= 2 }  // the μ | log σ² heads
                let bound = Float((6.0 / Double((fans[0] + fans[1]) * receptive)).squareRoot())
                rng.fillUniform(layer.weight.value.pointer, count: layer.weight.count, -bound, bound)
                layer.bias.value.fill(0)
            }
        }
    }

    /// Starts the decoder's output bias at the logit of each feature's mean over `train` (clipped
    /// to [0.001, 0.999]), as Burda et al. do: the first reconstructions are the mean image instead
    /// of gray. For images with a sigmoid-linked likelihood (Bernoulli, Gaussian) and the mlp,
    /// whose last layer has one bias per pixel.
    public func setOutputBiasFromData(_ train: any DataSource) throws {
        guard config.groups == nil else {
            throw VAEError("--output-bias-from-data is for images (the decoder's outputs are the logits of pixel means); a table's columns are standardised")
        }
        guard config.architecture == .mlp else {
            throw VAEError("--output-bias-from-data needs --model mlp (a transposed convolution has one bias per channel, not per pixel)")
        }
        guard let last = decoder.layers.last as? Dense, last.outFeatures == inputSize else {
            throw VAEError.usage("--output-bias-from-data sets one output per pixel to the logit of its mean; --likelihood \(config.likelihood.rawValue) reads \((decoder.layers.last as? Dense).map { $0.outFeatures / max(inputSize, 1) } ?? 2) per pixel: drop one of them")
        }
        guard train.count > 0 else { throw VAEError("--output-bias-from-data: the training set is empty") }
        var sums = [Double](repeating: 0, count: inputSize)
        let chunk = 1000
        for start in stride(from: 0, to: train.count, by: chunk) {
            let b = train.batch(start..<min(start + chunk, train.count))
            let x = b.x.pointer
            for r in 0..<b.count {
                for j in 0..<inputSize { sums[j] += Double(x[r * inputSize + j]) }
            }
        }
        let bias = last.bias.value.pointer
        for j in 0..<inputSize {
            let m = min(max(sums[j] / Double(train.count), 0.001), 0.999)
            bias[j] = Float(Double.log(m / (1 - m)))
        }
    }
}
