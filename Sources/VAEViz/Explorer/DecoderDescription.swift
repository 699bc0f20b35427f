/// A decoder as the report page runs it: its layers in order, as plain data, and one flat
/// float32 array holding every weight and bias (PyTorch layouts, the order the layers use them).
///
/// Built by walking the model's decoder (the `vae` target does that); VAEViz does not know
/// VAEKit. The page's JavaScript forward pass reads the JSON form of this description.
public struct DecoderDescription: Codable, Sendable, Equatable {
    /// One layer. `op` is "dense", "reshape", "flatten", "conv_transpose2d", "activation" or
    /// "concat_condition" (a conditional model's one-hot class, `inputs` wide, appended to a flat input).
    public struct Layer: Codable, Sendable, Equatable {
        public var op: String
        /// dense: in/out features; conv_transpose2d: in/out channels
        public var inputs: Int?
        public var outputs: Int?
        /// conv_transpose2d: square kernel, stride, padding, output padding
        public var kernel: Int?
        public var stride: Int?
        public var padding: Int?
        public var outputPadding: Int?
        /// dense and conv_transpose2d: a ReLU fused after the bias
        public var relu: Bool?
        /// reshape: the per-example target shape
        public var shape: [Int]?
        /// activation: "relu", "leaky_relu", "sigmoid" or "tanh" (and the leaky slope)
        public var kind: String?
        public var slope: Float?
        /// Offsets into the weight array (dense: W [out, in]; conv_transpose2d: W [in, out, k, k]).
        public var weightOffset: Int?
        public var biasOffset: Int?

        init(op: String) { self.op = op }

        public static func dense(inputs: Int, outputs: Int, relu: Bool, weightOffset: Int, biasOffset: Int) -> Layer {
            var l = Layer(op: "dense")
            (l.inputs, l.outputs, l.relu, l.weightOffset, l.biasOffset) = (inputs, outputs, relu, weightOffset, biasOffset)
            return l
        }

        public static func reshape(_ shape: [Int]) -> Layer {
            var l = Layer(op: "reshape")
            l.shape = shape
            return l
        }

        public static let flatten = Layer(op: "flatten")

        public static func convTranspose2D(inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int,
                                           outputPadding: Int, relu: Bool, weightOffset: Int, biasOffset: Int) -> Layer {
            var l = Layer(op: "conv_transpose2d")
            (l.inputs, l.outputs, l.kernel, l.stride, l.padding, l.outputPadding) = (inputs, outputs, kernel, stride, padding, outputPadding)
            (l.relu, l.weightOffset, l.biasOffset) = (relu, weightOffset, biasOffset)
            return l
        }

        /// A conditional decoder's input: [x | one-hot of the class], `width` classes.
        public static func concatCondition(width: Int) -> Layer {
            var l = Layer(op: "concat_condition")
            l.inputs = width
            return l
        }

        /// kind: "relu", "leaky_relu" (with slope), "sigmoid" or "tanh".
        public static func activation(_ kind: String, slope: Float? = nil) -> Layer {
            var l = Layer(op: "activation")
            l.kind = kind
            l.slope = slope
            return l
        }
    }

    /// What turns the last layer's output into pixel means in [0, 1]. The page applies it in one
    /// function (`outputMean` in the script); a new likelihood adds a case here and there.
    public enum Output: String, Codable, Sendable, CaseIterable {
        /// σ(ℓ): the mean of a Bernoulli with logits ℓ (and of a Gaussian whose mean is σ(ℓ))
        case sigmoid
        /// the output is the mean, clipped to [0, 1] for display
        case identity
        /// Two outputs per value, [first (D) | second (D)], the mean from the first: σ of it (a
        /// Gaussian with a σ per pixel and the sigmoid mean), or itself clipped to [0, 1] (the
        /// discretised logistic's μ).
        case sigmoidOfFirstHalf = "sigmoid_of_first_half"
        case identityOfFirstHalf = "identity_of_first_half"
        /// Two outputs per value, log α and log β, each clamped to [−7, 7]: the beta-binomial's
        /// mean α / (α + β) = σ(log α − log β).
        case betaBinomialHalves = "beta_binomial_halves"

        /// Decoder outputs per pixel value.
        public var outputsPerValue: Int { self == .sigmoid || self == .identity ? 1 : 2 }
    }

    public var latent: Int
    /// [C, H, W] of one decoded image
    public var shape: [Int]
    public var layers: [Layer]
    public var output: Output
    /// Number of floats the weight array must hold.
    public var weightCount: Int

    public init(latent: Int, shape: [Int], layers: [Layer], output: Output, weightCount: Int) {
        self.latent = latent
        self.shape = shape
        self.layers = layers
        self.output = output
        self.weightCount = weightCount
    }

    /// The per-example shape after each layer, checking that the layers chain from [latent] to
    /// C·H·W values and that every weight range lies inside the array. Returns a problem, or nil.
    public func problem() -> String? {
        var shape = [latent]
        func count(_ s: [Int]) -> Int { s.reduce(1, *) }
        func inside(_ offset: Int?, _ n: Int) -> Bool { offset.map { $0 >= 0 && $0 + n <= weightCount } ?? false }
        for (i, l) in layers.enumerated() {
            switch l.op {
            case "dense":
                guard let a = l.inputs, let b = l.outputs, count(shape) == a else { return "layer \(i) (dense) does not take \(shape)" }
                guard inside(l.weightOffset, a * b), inside(l.biasOffset, b) else { return "layer \(i) (dense) weights out of range" }
                shape = [b]
            case "reshape":
                guard let s = l.shape, count(s) == count(shape) else { return "layer \(i) cannot reshape \(shape)" }
                shape = s
            case "flatten":
                shape = [count(shape)]
            case "conv_transpose2d":
                guard let a = l.inputs, let b = l.outputs, let k = l.kernel, let s = l.stride, let p = l.padding,
                      let op = l.outputPadding, shape.count == 3, shape[0] == a else { return "layer \(i) (conv_transpose2d) does not take \(shape)" }
                guard inside(l.weightOffset, a * b * k * k), inside(l.biasOffset, b) else { return "layer \(i) (conv_transpose2d) weights out of range" }
                // OH = (H − 1)·s − 2p + k + output_padding
                shape = [b, (shape[1] - 1) * s - 2 * p + k + op, (shape[2] - 1) * s - 2 * p + k + op]
            case "concat_condition":
                guard let w = l.inputs, w > 0, shape.count == 1 else { return "layer \(i) (concat_condition) does not take \(shape)" }
                shape = [shape[0] + w]
            case "activation":
                guard ["relu", "leaky_relu", "sigmoid", "tanh"].contains(l.kind ?? "") else { return "layer \(i): unknown activation \(l.kind ?? "nil")" }
            default:
                return "layer \(i): unknown op \(l.op)"
            }
        }
        let wanted = output.outputsPerValue * count(self.shape)
        return count(shape) == wanted ? nil
            : "the layers end in \(shape), not \(output.outputsPerValue == 1 ? "\(self.shape)" : "\(wanted) values (\(output.outputsPerValue) per value of \(self.shape))")"
    }
}
