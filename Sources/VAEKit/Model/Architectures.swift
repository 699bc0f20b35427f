import VAECore

/// Encoder and decoder networks for each architecture. The encoder ends in one dense layer
/// with 2·latent outputs: μ in the first half, log σ² in the second. The decoder ends in
/// logits (the likelihood applies the sigmoid, fused with its loss).
///
/// State-dict names (PyTorch `nn.Sequential` style): `encoder.<i>.weight|bias`,
/// `decoder.<i>.weight|bias`, where i counts every module, activations included, exactly as
/// a PyTorch `nn.Sequential` of the same modules would.
enum Architectures {
    static func build(_ config: VAEConfig) -> (encoder: Sequential, decoder: Sequential) {
        let (enc, dec): ([Layer], [Layer])
        switch config.architecture {
        case .mlp: (enc, dec) = mlp(config)
        case .conv: (enc, dec) = conv(config)
        }
        let encoder = Sequential(enc), decoder = Sequential(dec)
        name(encoder, prefix: "encoder")
        name(decoder, prefix: "decoder")
        encoder.needsInputGradient = false
        return (encoder, decoder)
    }

    /// Names as PyTorch would: a layer with a fused ReLU stands for two modules.
    private static func name(_ seq: Sequential, prefix: String) {
        var index = 0
        for layer in seq.layers {
            layer.nameParameters(prefix: "\(prefix).\(index)")
            index += 1
            if fusedReLU(layer) { index += 1 }
        }
    }

    private static func fusedReLU(_ l: Layer) -> Bool {
        if let d = l as? Dense { return d.activation == .relu }
        if let c = l as? Conv2D { return c.activation == .relu }
        if let c = l as? ConvTranspose2D { return c.activation == .relu }
        return false
    }

    /// 784 → h₁ → … → 2K ;  K → … → h₁ → 784
    static func mlp(_ c: VAEConfig) -> ([Layer], [Layer]) {
        var enc: [Layer] = [Flatten()]
        var width = c.inputSize
        for h in c.hidden {
            enc.append(Dense(width, h, activation: .relu))
            width = h
        }
        enc.append(Dense(width, 2 * c.latent))
        var dec: [Layer] = []
        width = c.latent
        for h in c.hidden.reversed() {
            dec.append(Dense(width, h, activation: .relu))
            width = h
        }
        dec.append(Dense(width, c.inputSize))
        return (enc, dec)
    }

    /// Conv 32 (3×3, s2, p1) → Conv 64 (3×3, s2, p1) → Dense h → 2K;
    /// K → Dense 64·(H/4)·(W/4) → ConvT 64 (s2) → ConvT 32 (s2) → ConvT C (s1)
    static func conv(_ c: VAEConfig) -> ([Layer], [Layer]) {
        let ch = c.inputShape[0], h4 = c.inputShape[1] / 4, w4 = c.inputShape[2] / 4
        let flat = 64 * h4 * w4
        let dense = c.hidden[0]
        let enc: [Layer] = [
            Reshape(c.inputShape),
            Conv2D(ch, 32, kernelSize: 3, stride: 2, padding: 1, activation: .relu),
            Conv2D(32, 64, kernelSize: 3, stride: 2, padding: 1, activation: .relu),
            Flatten(),
            Dense(flat, dense, activation: .relu),
            Dense(dense, 2 * c.latent),
        ]
        let dec: [Layer] = [
            Dense(c.latent, flat, activation: .relu),
            Reshape([64, h4, w4]),
            ConvTranspose2D(64, 64, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu),
            ConvTranspose2D(64, 32, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu),
            ConvTranspose2D(32, ch, kernelSize: 3, stride: 1, padding: 1),
            Flatten(),
        ]
        return (enc, dec)
    }
}
