import VAECore

/// One mini-batch: what the encoder sees, what the likelihood compares with, and what else
/// the model needs.
public struct Batch: Sendable {
    /// [B, D] targets; also the encoder's input unless `input` is set.
    public var x: Tensor
    /// [B, D] 1 = observed, 0 = missing (missing entries add nothing to the loss or its
    /// gradient; the data source writes 0 into x there). nil = all observed.
    public var mask: Tensor?
    /// Class of each item, when the data has labels.
    public var labels: [Int32]?
    /// [B, L] conditioning input (the one-hot label of a conditional VAE).
    public var condition: Tensor?
    /// [B, D] the encoder's input when it differs from x (a denoising VAE's corrupted copy).
    public var input: Tensor?
    /// [B, D] a sequence model's decoder inputs when they differ from x (word dropout).
    public var decoderInput: Tensor?

    public init(x: Tensor, mask: Tensor? = nil, labels: [Int32]? = nil, condition: Tensor? = nil, input: Tensor? = nil) {
        self.x = x
        self.mask = mask
        self.labels = labels
        self.condition = condition
        self.input = input
    }

    public var count: Int { x.shape[0] }

    /// One-hot rows [B, classes] for `labels`.
    public static func oneHot(_ labels: [Int32], classes: Int, into t: Tensor? = nil) -> Tensor {
        let out = t ?? Tensor(shape: [labels.count, classes])
        out.prefixView(shape: [labels.count * classes]).zero()
        for (r, l) in labels.enumerated() where l >= 0 && Int(l) < classes { out[r * classes + Int(l)] = 1 }
        return out.prefixView(shape: [labels.count, classes])
    }
}

extension Batch {
    /// Rows `range` of every part (views of x, mask, condition and input; a slice of labels):
    /// an MPI rank's share of the whole batch.
    public func rows(_ range: Range<Int>) -> Batch {
        var b = Batch(x: x.rows(range), mask: mask?.rows(range), labels: labels.map { Array($0[range]) },
                      condition: condition?.rows(range), input: input?.rows(range))
        b.decoderInput = decoderInput?.rows(range)
        return b
    }
}
