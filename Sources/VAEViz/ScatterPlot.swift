/// A 2-D scatter plot coloured by class (e.g. latent means coloured by digit label).
/// Non-finite points are skipped.
public struct ScatterPlot: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var points: [(x: Double, y: Double, cls: Int)]
    /// Legend names by class index; classes without a name are shown by number.
    public var classNames: [String]
    /// Marker radius in pixels at 300 px plot size (scaled with the image); nil = automatic.
    public var pointRadius: Double?
    /// Rows named on the y axis, top to bottom: a point's y is its row's index (0: the top row) —
    /// a latent-1 scatter's row per class, named as in the legend (ticks 0, 2, … 10 named no class,
    /// and the rows ran bottom to top against the legend's top to bottom).
    public var yRows: [String]? = nil

    public init(title: String = "", xLabel: String = "", yLabel: String = "",
                points: [(x: Double, y: Double, cls: Int)] = [], classNames: [String] = [],
                pointRadius: Double? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
        self.classNames = classNames
        self.pointRadius = pointRadius
    }

    public func svg(width: Int = 700, height: Int = 600) -> String {
        canvas(width: width, height: height).svg()
    }

    public func png(width: Int = 700, height: Int = 600) -> [UInt8] {
        canvas(width: width, height: height).raster().png()
    }

    func canvas(width: Int, height: Int) -> PlotCanvas {
        var good = points.filter { $0.x.isFinite && $0.y.isFinite }
        let xScale = AxisScale.padded(good.map(\.x), fraction: 0.02)
        var yScale = AxisScale.padded(good.map(\.y), fraction: 0.02)
        if let rows = yRows, !rows.isEmpty {
            // row k drawn at n − 1 − k (the top), named by its name cut to 16 characters
            let n = rows.count
            good = good.map { (x: $0.x, y: Double(n - 1) - $0.y, cls: $0.cls) }
            let names = PlotFrame.cutNames(rows, fits: 16)
            // (ticks in rising order, as the axis draws them: the value v is row n − 1 − v)
            yScale = AxisScale(lo: -0.5, hi: Double(n) - 0.5, ticks: (0..<n).map(Double.init), labels: names.reversed())
        }
        // (items without a label, -1, last and named so: they were "class -1", listed first)
        let classes = Array(Set(good.map(\.cls))).sorted { ($0 < 0 ? Int.max : $0) < ($1 < 0 ? Int.max : $1) }
        var legend: [PlotFrame.LegendEntry] = []
        if classes.count > 1 || !classNames.isEmpty {
            for c in classes {
                let name = c < 0 ? "(no label)" : c < classNames.count ? classNames[c] : "class \(c)"
                legend.append(.init(name: name, color: Palette.color(c), kind: .marker))
            }
        }
        let frame = PlotFrame(width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel,
                              x: xScale, y: yScale, legend: legend)
        var c = PlotCanvas(width: frame.width, height: frame.height, title: title)
        frame.drawBackground(&c)
        let n = good.count
        let base = pointRadius ?? (n > 5000 ? 1.6 : n > 1000 ? 2.0 : 3.0)
        let r = base * Double(frame.s)
        let alpha = n > 2000 ? 0.55 : n > 300 ? 0.75 : 0.9
        for p in good {
            c.ops.append(.circle(cx: frame.px(p.x), cy: frame.py(p.y), r: r, color: Palette.color(p.cls), alpha: alpha))
        }
        frame.drawForeground(&c)
        return c
    }
}
