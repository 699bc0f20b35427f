import VAECore

/// One split of a data set (training or test): `count` items of one shape, optional labels,
/// optional missing entries. IDX and CIFAR-10 images, image folders and CSV tables conform; the
/// trainer, the evaluator and the CLI use only this protocol.
///
/// A new data source is one type conforming to this protocol (and a case in `Dataset.load`).
public protocol DataSource: Sendable {
    var count: Int { get }
    /// One item's shape: [channels, height, width] (a table row of D columns: [1, 1, D]).
    var itemShape: [Int] { get }
    /// Whether items have class labels.
    var hasLabels: Bool { get }
    /// The class of item `i` (0-based); only when `hasLabels`.
    func label(_ i: Int) -> Int
    /// What names item `i` for a user: its file path, its data row number, or its index.
    func itemID(_ i: Int) -> String
    /// Whether batches carry a mask of the observed entries (a table: always, so that asking
    /// costs nothing; images: never).
    var hasMissing: Bool { get }
    /// Fills rows of `x` ([n, D]) with the items at `indices`, and `mask` (1 observed, 0 missing;
    /// x is 0 where missing) when given. With `binarize`, values in [0, 1] are redrawn as
    /// Bernoulli(value) from `rng` (row by row, entry by entry: the same seed, the same batch).
    func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask: Tensor?, binarize: Bool, rng: inout RNG)
    /// The items at `indices`, in that order.
    func subset(_ indices: [Int]) -> any DataSource
    /// A fixed binarization (each value becomes 1 with probability value, from `RNG(seed:)`), the
    /// evaluation protocol for models trained with dynamic binarization.
    func binarized(seed: UInt64) -> any DataSource
}

extension DataSource {
    /// Values per item.
    public var featureCount: Int { itemShape.reduce(1, *) }

    /// All labels (empty when the source has none).
    public var labelArray: [Int] { hasLabels ? (0..<count).map(label) : [] }

    /// The first `n` items.
    public func first(_ n: Int) -> any DataSource {
        let kept = min(max(n, 0), count)
        return kept == count ? self : subset(Array(0..<kept))
    }

    /// The items whose label is in `classes` (all of them when the source has no labels).
    public func filtered(classes: Set<Int>) -> any DataSource {
        guard hasLabels else { return self }
        return subset((0..<count).filter { classes.contains(label($0)) })
    }

    /// The items as a model trained with `binarize` is scored on them (its test loss, `vae
    /// evaluate`, anomaly scores, the report): the fixed binarization of
    /// `Trainer.testBinarizationSeed`; the items themselves otherwise.
    public func scored(binarize: Bool) -> any DataSource {
        binarize ? binarized(seed: Trainer.testBinarizationSeed) : self
    }

    /// Items `range` in order as one batch: x, the mask when entries are missing, the labels.
    /// `range` must lie within 0..<count (as an array's subscript).
    public func batch(_ range: Range<Int>) -> Batch {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "DataSource.batch: items \(range) are not all among the set's \(count) (0..<\(count))")
        let x = Tensor(shape: [range.count, featureCount])
        let mask = hasMissing ? Tensor(shape: [range.count, featureCount]) : nil
        var rng = RNG(seed: 0)
        let idx = range.map { Int32($0) }
        idx.withUnsafeBufferPointer { fill($0, x: x, mask: mask, binarize: false, rng: &rng) }
        return Batch(x: x, mask: mask, labels: hasLabels ? range.map { Int32(label($0)) } : nil)
    }
}

extension ImageSet: DataSource {
    public var itemShape: [Int] { [channels, height, width] }
    /// The image's index in the set (0-based, in file order), also in a subset of it.
    public func itemID(_ i: Int) -> String { String(sourceIndices?[i] ?? i) }
    public var hasLabels: Bool { !labels.isEmpty }
    public func label(_ i: Int) -> Int { Int(labels[i]) }
    public var hasMissing: Bool { false }

    /// x = pixel/255, or Bernoulli(pixel/255) draws with `binarize`.
    public func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask: Tensor?, binarize: Bool, rng: inout RNG) {
        BatchLoader.fill(self, indices: indices, into: x, binarize: binarize, rng: &rng)
        mask?.fill(1)
    }

    public func subset(_ indices: [Int]) -> any DataSource {
        let d = pixelsPerImage
        var px = [UInt8](), lb = [UInt8]()
        px.reserveCapacity(indices.count * d)
        for i in indices {
            px.append(contentsOf: images[(i * d)..<((i + 1) * d)])
            if !labels.isEmpty { lb.append(labels[i]) }
        }
        var s = ImageSet(images: px, labels: lb, count: indices.count, channels: channels, height: height, width: width)
        s.names = names.map { n in indices.map { n[$0] } }
        s.sourceIndices = indices.map { sourceIndices?[$0] ?? $0 }
        return s
    }

    public func binarized(seed: UInt64) -> any DataSource {
        var rng = RNG(seed: seed)
        let px = images.map { v -> UInt8 in rng.uniform() < BatchLoader.scale[Int(v)] ? 255 : 0 }
        var s = ImageSet(images: px, labels: labels, count: count, channels: channels, height: height, width: width)
        s.names = names
        s.sourceIndices = sourceIndices
        return s
    }
}
