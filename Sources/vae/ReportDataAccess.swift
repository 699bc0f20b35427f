import VAECore
import VAEKit

/// The only data-set accessors the report's explorer and anomaly section use, kept in one place:
/// the data layer is being reworked (a `DataSource` protocol), and only these bodies and their
/// parameter types depend on it. Everything else goes through `BatchLoader.tensor(set, range:)`.
enum ReportDataAccess {
    /// The type of a data set's test items.
    typealias Items = ImageSet

    /// Labels of the first `n` items; empty when the set has none.
    static func labels(_ set: Items, _ n: Int) -> [Int] {
        set.labels.isEmpty ? [] : set.labels.prefix(n).map { Int($0) }
    }

    /// The first `n` items.
    static func first(_ set: Items, _ n: Int) -> Items { set.prefix(n) }

    /// Items `indices` as a [count, D] tensor of values in [0, 1].
    static func gather(_ set: Items, _ indices: [Int], featureCount d: Int) -> Tensor {
        let x = Tensor(shape: [indices.count, d])
        for (r, i) in indices.enumerated() {
            (x.pointer + r * d).update(from: BatchLoader.tensor(set, range: i..<(i + 1)).pointer, count: d)
        }
        return x
    }

    /// The first `n` items as bytes 0…255 (the loader's values are byte/255, so this is exact).
    static func bytes(_ set: Items, _ n: Int, featureCount d: Int) -> [UInt8] {
        guard n > 0 else { return [] }
        let x = BatchLoader.tensor(set, range: 0..<n)
        return (0..<(n * d)).map { UInt8(max(0, min(255, (x[$0] * 255).rounded()))) }
    }
}
