/// A line chart of one or more named series (e.g. training and validation loss per epoch).
/// Non-finite points are skipped and break the line; isolated points are drawn as dots.
public struct LineChart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [(name: String, points: [(x: Double, y: Double)])]
    /// Logarithmic y axis (non-positive values are then skipped like NaN).
    public var logY: Bool
    /// x takes whole numbers (epochs): ticks at whole steps only (3 epochs read 1.2, 1.4, …).
    public var integerX = false
    /// The y axis reaches down (or up) to 0 (a share: how far from none it is).
    public var yFromZero = false
    /// A square plot area (a ROC curve against its diagonal): the image's width follows from its
    /// height and the margins, the width asked for being a first guess.
    public var squarePlot = false

    public init(title: String = "", xLabel: String = "", yLabel: String = "",
                series: [(name: String, points: [(x: Double, y: Double)])] = [], logY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logY = logY
    }

    public mutating func addSeries(_ name: String, points: [(x: Double, y: Double)]) {
        series.append((name, points))
    }

    /// Adds a series with x = xStart, xStart + 1, ... (e.g. epochs).
    public mutating func addSeries(_ name: String, values: [Double], xStart: Double = 1) {
        series.append((name, values.enumerated().map { (xStart + Double($0.offset), $0.element) }))
    }

    public func svg(width: Int = 800, height: Int = 500) -> String {
        canvas(width: width, height: height).svg()
    }

    public func png(width: Int = 800, height: Int = 500) -> [UInt8] {
        canvas(width: width, height: height).raster().png()
    }

    func usable(_ p: (x: Double, y: Double)) -> Bool {
        p.x.isFinite && p.y.isFinite && (!logY || p.y > 0)
    }

    /// The frame of the plot; with `squarePlot` the width is the margins plus the plot's height.
    func frame(width: Int, height: Int, x: AxisScale, y: AxisScale, legend: [PlotFrame.LegendEntry]) -> PlotFrame {
        var f = PlotFrame(width: width, height: height, title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y, legend: legend)
        guard squarePlot else { return f }
        // the margins depend a little on the width (the legend's room, the text's scale): a few rounds
        for _ in 0..<4 where abs((f.right - f.left) - (f.bottom - f.top)) > 1 {
            let margins = f.left + (Double(f.width) - f.right)
            f = PlotFrame(width: Int((margins + f.bottom - f.top).rounded()), height: height, title: title, xLabel: xLabel, yLabel: yLabel,
                          x: x, y: y, legend: legend)
        }
        return f
    }

    func canvas(width: Int, height: Int) -> PlotCanvas {
        let good = series.map { $0.points.filter(usable) }
        let xs = good.flatMap { $0.map(\.x) }, ys = good.flatMap { $0.map(\.y) }
        let xScale = AxisScale.linear(xs, integerStep: integerX)
        let yScale = logY ? AxisScale.logarithmic(ys) : AxisScale.padded(yFromZero ? ys + [0] : ys, fraction: 0.02)
        var legend: [PlotFrame.LegendEntry] = []
        let showLegend = series.count > 1 || series.contains { !$0.name.isEmpty }
        if showLegend {
            for (i, s) in series.enumerated() {
                legend.append(.init(name: s.name.isEmpty ? "series \(i + 1)" : s.name,
                                    color: Palette.color(i), kind: .line))
            }
        }
        let frame = self.frame(width: width, height: height, x: xScale, y: yScale, legend: legend)
        var c = PlotCanvas(width: frame.width, height: frame.height, title: title)
        frame.drawBackground(&c)
        let lineWidth = 1.5 * Double(frame.s) + 0.25
        for (i, s) in series.enumerated() {
            let color = Palette.color(i)
            // Split into runs of consecutive usable points.
            var runs: [[(Double, Double)]] = [[]]
            for p in s.points {
                if usable(p) { runs[runs.count - 1].append((frame.px(p.x), frame.py(p.y))) }
                else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            let total = runs.reduce(0) { $0 + $1.count }
            for run in runs where !run.isEmpty {
                if run.count > 1 { c.ops.append(.polyline(run, color: color, width: lineWidth)) }
                if run.count == 1 || total <= 30 {
                    let r = run.count == 1 ? 2.5 * Double(frame.s) + 0.5 : 1.6 * Double(frame.s) + 0.5
                    for p in run { c.ops.append(.circle(cx: p.0, cy: p.1, r: r, color: color, alpha: 1)) }
                }
            }
        }
        frame.drawForeground(&c)
        return c
    }
}
