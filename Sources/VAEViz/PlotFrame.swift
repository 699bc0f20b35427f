/// Shared plot layout: title, axes with ticks, grid, axis labels and a legend to the right.
struct PlotFrame {
    struct LegendEntry {
        enum Kind { case line, marker }
        var name: String
        var color: RGBColor
        var kind: Kind
    }

    static let ink = RGBColor(hex: 0x222222)
    static let axisColor = RGBColor(hex: 0x555555)
    static let gridColor = RGBColor(hex: 0xe6e6e6)
    static let mutedInk = RGBColor(hex: 0x444444)
    static let maxLegendEntries = 16

    let width: Int
    let height: Int
    /// Base font scale (integer, for the bitmap font); other sizes derive from it.
    let s: Int
    let x: AxisScale
    let y: AxisScale
    /// Plot area in pixels.
    let left: Double, top: Double, right: Double, bottom: Double
    let legend: [LegendEntry]
    let title: String, xLabel: String, yLabel: String

    init(width: Int, height: Int, title: String, xLabel: String, yLabel: String,
         x: AxisScale, y: AxisScale, legend: [LegendEntry]) {
        self.width = max(1, width)
        self.height = max(1, height)
        let s = max(1, Int((Double(min(self.width, self.height)) / 270).rounded()))
        self.s = s
        self.x = x
        self.y = y
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        let pad = Double(8 * s)
        let cap = Double(BitmapFont.capHeight * s)
        let tickLen = Double(4 * s)
        let titleScale = s + 1
        var top = pad + cap / 2
        if !title.isEmpty { top += Double(BitmapFont.capHeight * titleScale) + pad }

        // As many legend rows as fit between the plot top and the image bottom.
        let fit = Int((Double(self.height) - top - pad - Double(6 * s)) / Self.legendRowHeight(s))
        let maxEntries = max(2, min(Self.maxLegendEntries, fit))
        let yTickW = y.labels.map { CanvasMetrics.width($0, s) }.max() ?? 0
        var left = pad + yTickW + tickLen + Double(3 * s)
        if !yLabel.isEmpty { left += cap + pad }
        // long names cut to fit beside a plot of at least a third of the width (the full names are the
        // data's; a legend wider than that pushed the plot aside and ran off the image)
        let room = Double(self.width) * 0.65 - left - 2 * pad - legendWidth([], s: s)
        let fits = max(8, min(Self.maxLegendName, Int((room + Double(s)) / Double(BitmapFont.advance * s))))
        let cut = PlotFrame.cutNames(legend.map(\.name), fits: fits)
        var entries = zip(legend, cut).map { e, name -> LegendEntry in
            var e = e
            e.name = name
            return e
        }
        if entries.count > maxEntries {
            let more = entries.count - (maxEntries - 1)
            entries = Array(entries.prefix(maxEntries - 1))
            entries.append(LegendEntry(name: "... \(more) more", color: Self.mutedInk, kind: .marker))
        }
        self.legend = entries
        var bottom = pad + cap + tickLen + Double(4 * s)
        if !xLabel.isEmpty { bottom += cap + pad }
        var right = pad + (CanvasMetrics.width(x.labels.last ?? "", s) / 2)
        if !entries.isEmpty {
            right = max(right, pad + legendWidth(entries, s: s) + pad)
        }
        // Keep a usable plot area even for tiny images.
        let w = Double(self.width), h = Double(self.height)
        if w - left - right < w * 0.3 { left = w * 0.1; right = w * 0.1 }
        if h - top - bottom < h * 0.3 { top = h * 0.1; bottom = h * 0.1 }
        self.left = left
        self.top = top
        self.right = w - right
        self.bottom = h - bottom
    }

    /// Legend names longer than this many characters are cut ("..." in their middle).
    static let maxLegendName = 28

    /// `names` cut to `fits` characters so that different names stay different: in the middle
    /// ("…-beach", "…-mountains" keep their ends; cut at the end, both read "photos-from-the-sum…"),
    /// and where that still makes two alike, without the start and end all of them share ("Iris
    /// gathered at the northern meadow site, summer survey of 2021" and its "southern", "western"
    /// kin read "...northern meadow site..." rather than three "Iris gathe...ey of 2021").
    static func cutNames(_ names: [String], fits: Int) -> [String] {
        func middle(_ s: String) -> String {
            guard s.count > fits, fits > 3 else { return s }
            let tail = (fits - 3) / 2
            return String(s.prefix(fits - 3 - tail)) + "..." + String(s.suffix(tail))
        }
        let plain = names.map(middle)
        guard Set(plain).count < Set(names).count, names.count > 1 else { return plain }
        var prefix = names[0], suffix = names[0]
        for n in names.dropFirst() {
            prefix = String(zip(prefix, n).prefix { $0 == $1 }.map(\.0))
            suffix = String(zip(suffix.reversed(), n.reversed()).prefix { $0 == $1 }.map(\.0).reversed())
        }
        let shortest = names.map(\.count).min() ?? 0
        if prefix.count + suffix.count > shortest { suffix = String(suffix.suffix(max(0, shortest - prefix.count))) }
        guard prefix.count + suffix.count > 0 else { return plain }
        let cores = names.map { n -> String in
            let core = String(n.dropFirst(prefix.count).dropLast(suffix.count))
            return (prefix.isEmpty ? "" : "...") + core + (suffix.isEmpty ? "" : "...")
        }
        let shown = zip(names, cores).map { n, c in n.count <= fits ? n : c.count <= fits ? c : middle(c) }
        return Set(shown).count == Set(names).count ? shown : plain
    }
    static func legendRowHeight(_ s: Int) -> Double { Double(BitmapFont.glyphHeight * s + 5 * s) }

    func px(_ v: Double) -> Double { left + x.fraction(v) * (right - left) }
    func py(_ v: Double) -> Double { bottom - y.fraction(v) * (bottom - top) }

    /// Snaps a coordinate to the pixel grid so thin axis-aligned lines stay crisp.
    func snap(_ v: Double) -> Double { v.rounded(.down) + 0.5 }

    /// Background, grid, ticks, tick labels, axis labels and title.
    func drawBackground(_ c: inout PlotCanvas) {
        c.ops.append(.rect(x: 0, y: 0, w: Double(width), h: Double(height), fill: .white, stroke: nil, strokeWidth: 0))
        let tickLen = Double(4 * s)
        let cap = Double(BitmapFont.capHeight * s)
        // Tick labels that would overlap the previous one are skipped (grid lines stay).
        var lastRight = -Double.infinity
        for (t, label) in zip(x.ticks, x.labels) {
            let xx = snap(px(t))
            c.ops.append(.line(x0: xx, y0: top, x1: xx, y1: bottom, color: Self.gridColor, width: 1))
            c.ops.append(.line(x0: xx, y0: bottom, x1: xx, y1: bottom + tickLen, color: Self.axisColor, width: 1))
            let w = CanvasMetrics.width(label, s)
            guard xx - w / 2 > lastRight + Double(4 * s) else { continue }
            lastRight = xx + w / 2
            c.ops.append(.text(label, x: xx, y: bottom + tickLen + Double(3 * s) + cap / 2, scale: s,
                               anchor: .middle, color: Self.mutedInk, vertical: false, bold: false))
        }
        var lastTop = Double.infinity
        for (t, label) in zip(y.ticks, y.labels) {
            let yy = snap(py(t))
            c.ops.append(.line(x0: left, y0: yy, x1: right, y1: yy, color: Self.gridColor, width: 1))
            c.ops.append(.line(x0: left - tickLen, y0: yy, x1: left, y1: yy, color: Self.axisColor, width: 1))
            guard yy + cap / 2 < lastTop - Double(2 * s) else { continue }
            lastTop = yy - cap / 2
            c.ops.append(.text(label, x: left - tickLen - Double(3 * s), y: yy, scale: s,
                               anchor: .end, color: Self.mutedInk, vertical: false, bold: false))
        }
        let pad = Double(8 * s)
        if !xLabel.isEmpty {
            c.ops.append(.text(xLabel, x: (left + right) / 2, y: Double(height) - pad - cap / 2, scale: s,
                               anchor: .middle, color: Self.ink, vertical: false, bold: false))
        }
        if !yLabel.isEmpty {
            c.ops.append(.text(yLabel, x: pad + cap / 2, y: (top + bottom) / 2, scale: s,
                               anchor: .middle, color: Self.ink, vertical: true, bold: false))
        }
        if !title.isEmpty {
            // Shrink, then truncate, a title that is wider than the image.
            let room = Double(width) - 2 * pad
            var ts = s + 1
            var title = self.title
            if CanvasMetrics.width(title, ts) > room { ts = s }
            while CanvasMetrics.width(title, ts) > room && title.count > 4 {
                title = String(title.dropLast(4)) + "..."
            }
            // Centred over the plot area, but kept inside the image when possible.
            let tw = CanvasMetrics.width(title, ts)
            var cx = (left + right) / 2
            cx = min(cx, Double(width) - pad - tw / 2)
            cx = max(cx, pad + tw / 2)
            c.ops.append(.text(title, x: cx, y: pad + Double(BitmapFont.capHeight * ts) / 2,
                               scale: ts, anchor: .middle, color: Self.ink, vertical: false, bold: true))
        }
    }

    /// Axis frame (drawn after the data so it stays on top) and the legend.
    func drawForeground(_ c: inout PlotCanvas) {
        let l = snap(left), r = snap(right), t = snap(top), b = snap(bottom)
        c.ops.append(.rect(x: l, y: t, w: r - l, h: b - t, fill: nil, stroke: Self.axisColor, strokeWidth: 1))
        guard !legend.isEmpty else { return }
        let pad = Double(8 * s)
        let rowH = Self.legendRowHeight(s)
        let boxX = right + pad
        let boxW = legendWidth(legend, s: s)
        let boxH = Double(legend.count) * rowH + Double(6 * s)
        c.ops.append(.rect(x: snap(boxX), y: snap(top), w: boxW.rounded(), h: boxH.rounded(),
                           fill: .white, stroke: Self.gridColor.mixed(with: .black, 0.1), strokeWidth: 1))
        let swatch = Double(14 * s)
        for (i, e) in legend.enumerated() {
            let cy = top + Double(3 * s) + rowH * (Double(i) + 0.5)
            let sx = boxX + Double(6 * s)
            switch e.kind {
            case .line:
                c.ops.append(.line(x0: sx, y0: cy, x1: sx + swatch, y1: cy, color: e.color, width: Double(2 * s)))
            case .marker:
                c.ops.append(.circle(cx: sx + swatch / 2, cy: cy, r: Double(3 * s) + 0.5, color: e.color, alpha: 1))
            }
            c.ops.append(.text(e.name, x: sx + swatch + Double(5 * s), y: cy, scale: s, anchor: .start,
                               color: Self.ink, vertical: false, bold: false))
        }
    }
}

private func legendWidth(_ entries: [PlotFrame.LegendEntry], s: Int) -> Double {
    let names = entries.map { CanvasMetrics.width($0.name, s) }.max() ?? 0
    return Double(6 * s) + Double(14 * s) + Double(5 * s) + names + Double(8 * s)
}
