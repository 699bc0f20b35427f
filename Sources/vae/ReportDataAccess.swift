import VAECore
import VAEKit

/// The data-set accessors the report's explorer and anomaly section use.
enum ReportDataAccess {
    /// The type of a data set's test items.
    typealias Items = any DataSource

    /// Labels of the first `n` items; empty when the set has none.
    static func labels(_ set: Items, _ n: Int) -> [Int] {
        set.hasLabels ? (0..<min(n, set.count)).map(set.label) : []
    }

    /// The first `n` items.
    static func first(_ set: Items, _ n: Int) -> Items { set.first(n) }

    /// Items `indices` as a [count, D] tensor.
    static func gather(_ set: Items, _ indices: [Int], featureCount d: Int) -> Tensor {
        let sub = set.subset(indices)
        return sub.batch(0..<sub.count).x
    }

    /// The first `n` items as bytes 0…255 (the loader's values are byte/255, so this is exact).
    static func bytes(_ set: Items, _ n: Int, featureCount d: Int) -> [UInt8] {
        guard n > 0 else { return [] }
        let x = set.batch(0..<n).x
        return (0..<(n * d)).map { UInt8(max(0, min(255, (x[$0] * 255).rounded()))) }
    }
}
