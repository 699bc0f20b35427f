import VAECore
import VAEKit

/// A table's reconstruction errors in the user's units.
enum TableErrors {
    /// Per schema column: RMSE (×std, the column's units) over observed numeric cells; the share of
    /// observed categorical cells whose most probable level is not the true one.
    static func perColumn(schema: TableSchema, x: Tensor, mask: Tensor?, reconstruction r: Tensor) -> [Double] {
        let rows = x.shape[0], w = schema.width
        return schema.columns.map { c in
            var sum = 0.0, n = 0
            for i in 0..<rows {
                let base = i * w + c.offset
                if let mask, mask[base] == 0 { continue }
                switch c.kind {
                case .numeric(_, let std):
                    let e = Double(r[base] - x[base]) * std
                    sum += e * e
                case .categorical:
                    var best = 0, truth = 0
                    for k in 0..<c.width {
                        if r[base + k] > r[base + best] { best = k }
                        if x[base + k] > x[base + truth] { truth = k }
                    }
                    sum += best == truth ? 0 : 1
                }
                n += 1
            }
            guard n > 0 else { return .nan }
            return c.isNumeric ? (sum / Double(n)).squareRoot() : sum / Double(n)
        }
    }
}

/// Step points of a histogram for a line chart.
enum Histogram {
    static func steps(_ values: [Double], bins: Int) -> [(x: Double, y: Double)] {
        let finite = values.filter { $0.isFinite }
        guard let lo = finite.min(), let hi = finite.max(), hi > lo else { return [(x: finite.first ?? 0, y: Double(finite.count))] }
        var counts = [Int](repeating: 0, count: bins)
        for v in finite { counts[min(bins - 1, Int((v - lo) / (hi - lo) * Double(bins)))] += 1 }
        var pts: [(x: Double, y: Double)] = [(x: lo, y: 0)]   // the outline starts and ends on the axis
        for (b, c) in counts.enumerated() {
            let x0 = lo + (hi - lo) * Double(b) / Double(bins), x1 = lo + (hi - lo) * Double(b + 1) / Double(bins)
            pts.append((x: x0, y: Double(c)))
            pts.append((x: x1, y: Double(c)))
        }
        return pts + [(x: hi, y: 0)]
    }
}
