import VAECore

// The table of `vae bench --kernels` (VAECore only measures).
extension KernelBenchmark {
    /// The table's columns: "backend, threads T", in the rows' order.
    static func columns(_ rows: [KernelBenchRow]) -> [String] {
        var columns: [String] = []
        for r in rows {
            let key = "\(r.backend), \(r.threads)T"
            if !columns.contains(key) { columns.append(key) }
        }
        return columns
    }

    /// A plain-text table: one line per product, one column per (backend, threads).
    static func format(_ rows: [KernelBenchRow]) -> String {
        let columns = self.columns(rows)
        var names: [String] = []
        for r in rows where !names.contains(r.name) { names.append(r.name) }
        let nameWidth = max(24, (names.map(\.count).max() ?? 0) + 2)
        let colWidth = max(12, (columns.map(\.count).max() ?? 0) + 2)
        func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        var out = "GFLOP/s (median), " + GEMM.cpuFeatures + ", " + CPUModel.description + "\n"
        out += pad("product", nameWidth, left: true) + columns.map { pad($0, colWidth) }.joined() + "\n"
        for name in names {
            var line = pad(name, nameWidth, left: true)
            for col in columns {
                if let r = rows.first(where: { $0.name == name && "\($0.backend), \($0.threads)T" == col }) {
                    line += pad(String(format1(r.gflops)), colWidth)
                } else {
                    line += pad("-", colWidth)
                }
            }
            out += line + "\n"
        }
        return out
    }

    static func format1(_ x: Double) -> String {
        let v = (x * 10).rounded() / 10
        let i = Int(v)
        let f = Int(((v - Double(i)) * 10).rounded())
        return "\(i).\(abs(f))"
    }
}
