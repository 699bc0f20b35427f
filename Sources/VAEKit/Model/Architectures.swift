import VAECore

extension VAEConfig {
    /// The network shapes SwiftVAE builds (`--model`).
    public enum Architecture: String, Codable, Sendable, CaseIterable { case mlp, conv, gru }
}

/// The one description of each architecture: encoder and decoder as named `Sequential`s, from
/// which the parameter count, the checkpoint's PyTorch names and shapes, and the FLOPs of what
/// runs all follow (`Sequential(name:input:_:)`). Building allocates no parameter storage.
///
/// The encoder ends in one dense layer with 2·latent outputs: μ in the first half, log σ² in the
/// second. The decoder ends in the likelihood's `outputWidth` raw outputs (logits for Bernoulli
/// and categorical, σ⁻¹ of the mean for image Gaussians). State-dict names are PyTorch
/// `nn.Sequential` style: `encoder.<i>.weight|bias`, `decoder.<i>.weight|bias`, where i counts
/// every module, activations included. A conditional model concatenates its condition c to the
/// encoder's flattened input (mlp) or as constant extra image channels (conv), and to z.
///
/// A new architecture is one more case here: a function returning its two layer lists.
public enum Architectures {
    /// What ``build(_:outputWidth:)`` returns: the encoder and the decoder of one config, and
    /// the layers that take a conditional model's one-hot class.
    public struct Networks {
        public let encoder: Sequential
        public let decoder: Sequential
        /// The layers that take the conditioning input, when the model is conditional.
        public let conditionInputs: [ConcatCondition]
    }

    public static func build(_ config: VAEConfig, outputWidth: Int) -> Networks {
        let cond = config.conditionSize
        let encIn = cond > 0 ? ConcatCondition(width: cond) : nil
        let decIn = cond > 0 ? ConcatCondition(width: cond) : nil
        var (enc, dec): ([Layer], [Layer])
        switch config.architecture {
        case .mlp: (enc, dec) = mlp(config, outputWidth: outputWidth)
        case .conv: (enc, dec) = conv(config)
        case .gru: preconditionFailure("a gru model is a SequenceVAE, not built from layers here")
        }
        // c joins the encoder after its first layer (Flatten for mlp, Reshape for conv) and z at once
        if let encIn { enc.insert(encIn, at: 1) }
        if let decIn { dec.insert(decIn, at: 0) }
        let encoder = Sequential(name: "encoder", input: config.inputShape, enc)
        let decoder = Sequential(name: "decoder", input: [config.latent], dec)
        encoder.needsInputGradient = false
        return Networks(encoder: encoder, decoder: decoder, conditionInputs: [encIn, decIn].compactMap { $0 })
    }

    /// D(+c) → h₁ → … → 2K ;  K(+c) → … → h₁ → out
    static func mlp(_ c: VAEConfig, outputWidth: Int) -> ([Layer], [Layer]) {
        let act: (Int, Int) -> [Layer] = { a, b in
            c.activation == .relu ? [Dense(a, b, activation: .relu)] : [Dense(a, b), Activation.tanh()]
        }
        var enc: [Layer] = [Flatten()]
        var width = c.inputSize + c.conditionSize
        for h in c.hidden {
            enc += act(width, h)
            width = h
        }
        enc.append(Dense(width, 2 * c.latent))
        var dec: [Layer] = []
        width = c.latent + c.conditionSize
        for h in c.hidden.reversed() {
            dec += act(width, h)
            width = h
        }
        dec.append(Dense(width, outputWidth))
        return (enc, dec)
    }

    /// s stride-2 convolutions (32, 64, 128, 128… channels; s from the image size, see
    /// `ConvLayout`) → Dense h → 2K;  K → Dense → s stride-2 transposed convolutions → ConvT C.
    /// For 28×28 and 32×32 (s = 2): Conv 32 → Conv 64 → Dense h → 2K; K → Dense 64·(H/4)·(W/4) →
    /// ConvT 64 → ConvT 32 → ConvT C.
    static func conv(_ c: VAEConfig) -> ([Layer], [Layer]) {
        let ch = c.inputShape[0]
        let s = ConvLayout.stages(height: c.inputShape[1], width: c.inputShape[2])!
        let chans = ConvLayout.channels(stages: s)
        let hs = c.inputShape[1] >> s, ws = c.inputShape[2] >> s
        let flat = chans[s - 1] * hs * ws
        let dense = c.hidden[0]
        var enc: [Layer] = [Reshape(c.inputShape)]
        var inC = ch + c.conditionSize
        for out in chans {
            enc.append(Conv2D(inC, out, kernelSize: 3, stride: 2, padding: 1, activation: .relu))
            inC = out
        }
        enc += [Flatten(), Dense(flat, dense, activation: .relu), Dense(dense, 2 * c.latent)]
        var dec: [Layer] = [Dense(c.latent + c.conditionSize, flat, activation: .relu), Reshape([chans[s - 1], hs, ws])]
        var from = chans[s - 1]
        for to in chans.reversed() {
            dec.append(ConvTranspose2D(from, to, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu))
            from = to
        }
        dec += [ConvTranspose2D(from, ch, kernelSize: 3, stride: 1, padding: 1), Flatten()]
        return (enc, dec)
    }
}

/// How many stride-2 stages the conv architecture uses for an image size: 2 for sides up to 32
/// (28 → 7, 32 → 8), more for larger images until the feature map is about 4 (64 → 4, 128 → 4).
public enum ConvLayout {
    public static func stages(height: Int, width: Int) -> Int? {
        let side = min(height, width)
        guard height % 4 == 0, width % 4 == 0, side >= 4 else { return nil }
        var s = 2
        if side > 32 {
            while (side >> s) > 4 && height % (1 << (s + 1)) == 0 && width % (1 << (s + 1)) == 0 { s += 1 }
        }
        return s
    }

    /// Channels of stage i: 32, 64, 128, 128, …
    public static func channels(stages: Int) -> [Int] { (0..<stages).map { min(32 << $0, 128) } }
}
