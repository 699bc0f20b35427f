/// A resolution-independent list of drawing operations, rendered either to SVG or to a raster
/// image, so that both outputs of a plot share one layout.
struct PlotCanvas {
    enum Anchor { case start, middle, end }

    enum Op {
        case line(x0: Double, y0: Double, x1: Double, y1: Double, color: RGBColor, width: Double)
        case polyline([(Double, Double)], color: RGBColor, width: Double)
        case rect(x: Double, y: Double, w: Double, h: Double, fill: RGBColor?, stroke: RGBColor?, strokeWidth: Double)
        case circle(cx: Double, cy: Double, r: Double, color: RGBColor, alpha: Double)
        /// (x, y) is the anchor point horizontally and the middle of the capital letters vertically;
        /// vertical text reads bottom-to-top and (x, y) is its centre.
        case text(String, x: Double, y: Double, scale: Int, anchor: Anchor, color: RGBColor, vertical: Bool, bold: Bool)
    }

    let width: Int
    let height: Int
    var ops: [Op] = []
    /// What the picture shows, in words: the SVG's accessible name (role="img", aria-label and
    /// <title>), so that a screen reader names the chart instead of reading its tick numbers.
    var title: String?

    init(width: Int, height: Int, title: String? = nil) {
        self.width = max(1, width)
        self.height = max(1, height)
        self.title = title
    }

    // MARK: SVG

    func svg() -> String {
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        s += "viewBox=\"0 0 \(width) \(height)\" "
        s += "font-family=\"-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\""
        if let title, !title.isEmpty { s += " role=\"img\" aria-label=\"\(xmlEscape(title))\">\n<title>\(xmlEscape(title))</title>\n" } else { s += ">\n" }
        var openGroup: String? = nil
        func closeGroup() { if openGroup != nil { s += "</g>\n"; openGroup = nil } }
        for op in ops {
            switch op {
            case let .line(x0, y0, x1, y1, color, w):
                closeGroup()
                s += "<line x1=\"\(n(x0))\" y1=\"\(n(y0))\" x2=\"\(n(x1))\" y2=\"\(n(y1))\" "
                s += "stroke=\"\(color.hexString)\" stroke-width=\"\(n(w))\"/>\n"
            case let .polyline(pts, color, w):
                closeGroup()
                s += "<polyline fill=\"none\" stroke=\"\(color.hexString)\" stroke-width=\"\(n(w))\" "
                s += "stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\""
                s += pts.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                s += "\"/>\n"
            case let .rect(x, y, w, h, fill, stroke, sw):
                closeGroup()
                s += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" "
                s += "fill=\"\(fill?.hexString ?? "none")\""
                if let stroke { s += " stroke=\"\(stroke.hexString)\" stroke-width=\"\(n(sw))\"" }
                s += "/>\n"
            case let .circle(cx, cy, r, color, alpha):
                let style = "<g fill=\"\(color.hexString)\" fill-opacity=\"\(n(alpha))\">"
                if openGroup != style { closeGroup(); s += style + "\n"; openGroup = style }
                s += "<circle cx=\"\(n(cx))\" cy=\"\(n(cy))\" r=\"\(n(r))\"/>\n"
            case let .text(text, x, y, scale, anchor, color, vertical, bold):
                closeGroup()
                let size = 10 * scale
                let a = anchor == .start ? "start" : anchor == .middle ? "middle" : "end"
                s += "<text x=\"\(n(x))\" y=\"\(n(y))\" dy=\"0.35em\" font-size=\"\(size)\" "
                s += "text-anchor=\"\(a)\" fill=\"\(color.hexString)\""
                if bold { s += " font-weight=\"bold\"" }
                if vertical { s += " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" }
                s += ">\(xmlEscape(text))</text>\n"
            }
        }
        closeGroup()
        s += "</svg>\n"
        return s
    }

    /// Compact fixed-point formatting (at most 2 decimals) for SVG coordinates.
    func n(_ v: Double) -> String {
        let r = (v * 100).rounded()
        guard r.isFinite, abs(r) < 1e15 else { return "0" }
        let i = Int(r)
        let sign = i < 0 ? "-" : ""
        let a = abs(i)
        let whole = a / 100, frac = a % 100
        if frac == 0 { return "\(sign)\(whole)" }
        if frac % 10 == 0 { return "\(sign)\(whole).\(frac / 10)" }
        return "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    // MARK: Raster

    func raster() -> RGBImage {
        var img = RGBImage(width: width, height: height)
        for op in ops {
            switch op {
            case let .line(x0, y0, x1, y1, color, w):
                let axisAligned = x0 == x1 || y0 == y1
                img.drawLine(x0: x0, y0: y0, x1: x1, y1: y1, color, width: w, antialiased: !axisAligned)
            case let .polyline(pts, color, w):
                if pts.count == 1 {
                    img.fillCircle(cx: pts[0].0, cy: pts[0].1, radius: w / 2, color)
                }
                for i in 1..<max(1, pts.count) {
                    img.drawLine(x0: pts[i - 1].0, y0: pts[i - 1].1, x1: pts[i].0, y1: pts[i].1, color, width: w)
                }
            case let .rect(x, y, w, h, fill, stroke, sw):
                let xi = Int(x.rounded()), yi = Int(y.rounded())
                let wi = Int((x + w).rounded()) - xi, hi = Int((y + h).rounded()) - yi
                if let fill { img.fillRect(x: xi, y: yi, width: wi, height: hi, fill) }
                if let stroke {
                    let t = max(1, Int(sw.rounded()))
                    img.strokeRect(x: xi - t / 2, y: yi - t / 2, width: wi + t, height: hi + t, stroke, lineWidth: t)
                }
            case let .circle(cx, cy, r, color, alpha):
                img.fillCircle(cx: cx, cy: cy, radius: r, color, alpha: alpha)
            case let .text(text, x, y, scale, anchor, color, vertical, bold):
                let len = CanvasMetrics.width(text, scale)
                let capMid = Double(BitmapFont.capHeight * scale) / 2
                if vertical {
                    let left = Int((x - capMid).rounded()), top = Int((y - len / 2).rounded())
                    img.drawTextVertical(text, x: left, y: top, color, scale: scale)
                    if bold { img.drawTextVertical(text, x: left, y: top - 1, color, scale: scale) }
                } else {
                    let shift = anchor == .start ? 0 : anchor == .middle ? len / 2 : len
                    let left = Int((x - shift).rounded()), top = Int((y - capMid).rounded())
                    img.drawText(text, x: left, y: top, color, scale: scale)
                    if bold { img.drawText(text, x: left + 1, y: top, color, scale: scale) }
                }
            }
        }
        return img
    }
}

enum CanvasMetrics {
    /// Width of `text` in pixels at integer font `scale` (raster metric, also used for SVG layout).
    static func width(_ text: String, _ scale: Int) -> Double {
        Double(BitmapFont.textWidth(text, scale: scale))
    }
}

func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default:
            // Control characters other than tab/newline are not allowed in XML 1.0.
            if ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r" { out += "\u{FFFD}" }
            else { out.unicodeScalars.append(ch) }
        }
    }
    return out
}
