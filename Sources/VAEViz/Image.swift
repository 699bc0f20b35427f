/// An 8-bit sRGB colour.
public struct RGBColor: Equatable, Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r; self.g = g; self.b = b
    }

    /// `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xff), UInt8((hex >> 8) & 0xff), UInt8(hex & 0xff))
    }

    /// `#rrggbb`, for SVG/CSS.
    public var hexString: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }

    /// Linear interpolation towards `other` (t = 0 gives self, t = 1 gives other).
    public func mixed(with other: RGBColor, _ t: Double) -> RGBColor {
        let t = t.isNaN ? 0 : min(1, max(0, t))
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
        return RGBColor(m(r, other.r), m(g, other.g), m(b, other.b))
    }

    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
}

/// A small RGB raster (row-major, 3 bytes per pixel, origin top-left) with basic drawing.
/// Every drawing call clips to the image; out-of-range coordinates are ignored, never trap.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width > 0 && height > 0, "image dimensions must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<(width * height) {
                p[3 * i] = background.r; p[3 * i + 1] = background.g; p[3 * i + 2] = background.b
            }
        }
    }

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "bad RGB buffer")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public func pixel(x: Int, y: Int) -> RGBColor? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = 3 * (y * width + x)
        return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    public mutating func setPixel(x: Int, y: Int, _ c: RGBColor) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    /// Alpha-blends `c` over the existing pixel with opacity `alpha` in [0, 1].
    public mutating func blendPixel(x: Int, y: Int, _ c: RGBColor, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        if alpha >= 1 { setPixel(x: x, y: y, c); return }
        let i = 3 * (y * width + x)
        func m(_ dst: UInt8, _ src: UInt8) -> UInt8 {
            UInt8((Double(dst) * (1 - alpha) + Double(src) * alpha).rounded())
        }
        pixels[i] = m(pixels[i], c.r); pixels[i + 1] = m(pixels[i + 1], c.g); pixels[i + 2] = m(pixels[i + 2], c.b)
    }

    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGBColor) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x &+ max(0, w)), y1 = min(height, y &+ max(0, h))
        guard x0 < x1, y0 < y1 else { return }
        let w = width
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                for xx in x0..<x1 {
                    let i = 3 * (yy * w + xx)
                    p[i] = c.r; p[i + 1] = c.g; p[i + 2] = c.b
                }
            }
        }
    }

    /// Outline of the rectangle, `lineWidth` pixels thick, drawn inside its bounds.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGBColor, lineWidth: Int = 1) {
        let t = max(1, lineWidth)
        fillRect(x: x, y: y, width: w, height: t, c)
        fillRect(x: x, y: y + h - t, width: w, height: t, c)
        fillRect(x: x, y: y, width: t, height: h, c)
        fillRect(x: x + w - t, y: y, width: t, height: h, c)
    }

    /// Draws a line segment of the given width between two points in pixel coordinates
    /// (pixel (i, j) covers [i, i+1) × [j, j+1)). Anti-aliased by coverage of the distance
    /// to the segment; with `antialiased: false` pixels are either on or off.
    public mutating func drawLine(x0: Double, y0: Double, x1: Double, y1: Double, _ c: RGBColor,
                                  width lw: Double = 1, antialiased: Bool = true, alpha: Double = 1) {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite, lw > 0 else { return }
        let hw = lw / 2
        let pad = hw + 1
        let minX = clampToInt(min(x0, x1) - pad, 0, width - 1)
        let maxX = clampToInt((max(x0, x1) + pad).rounded(.up), -1, width - 1)
        let minY = clampToInt(min(y0, y1) - pad, 0, height - 1)
        let maxY = clampToInt((max(y0, y1) + pad).rounded(.up), -1, height - 1)
        guard minX <= maxX, minY <= maxY else { return }
        let dx = x1 - x0, dy = y1 - y0
        let len2 = dx * dx + dy * dy
        func plot(_ px: Int, _ py: Int) {
            let cx = Double(px) + 0.5, cy = Double(py) + 0.5
            var t = len2 > 0 ? ((cx - x0) * dx + (cy - y0) * dy) / len2 : 0
            t = min(1, max(0, t))
            let ex = cx - (x0 + t * dx), ey = cy - (y0 + t * dy)
            let d = (ex * ex + ey * ey).squareRoot()
            let cov = antialiased ? min(1, max(0, hw + 0.5 - d)) : (d <= hw ? 1 : 0)
            if cov > 0 { blendPixel(x: px, y: py, c, alpha: cov * alpha) }
        }
        // Walk the major axis and test only a narrow band of pixels around the line.
        let len = len2.squareRoot()
        if abs(dx) >= abs(dy) && abs(dx) > 1e-9 {
            let ext = pad * len / abs(dx) + 1
            for px in minX...maxX {
                let cx = min(max(x0, x1), max(min(x0, x1), Double(px) + 0.5))
                let yc = y0 + (cx - x0) * dy / dx
                let lo = clampToInt(yc - ext, minY, maxY + 1), hi = clampToInt((yc + ext).rounded(.up), minY - 1, maxY)
                if lo <= hi { for py in lo...hi { plot(px, py) } }
            }
        } else if abs(dy) > 1e-9 {
            let ext = pad * len / abs(dy) + 1
            for py in minY...maxY {
                let cy = min(max(y0, y1), max(min(y0, y1), Double(py) + 0.5))
                let xc = x0 + (cy - y0) * dx / dy
                let lo = clampToInt(xc - ext, minX, maxX + 1), hi = clampToInt((xc + ext).rounded(.up), minX - 1, maxX)
                if lo <= hi { for px in lo...hi { plot(px, py) } }
            }
        } else {
            for py in minY...maxY { for px in minX...maxX { plot(px, py) } }
        }
    }

    /// Filled circle centred at (cx, cy) in pixel coordinates.
    public mutating func fillCircle(cx: Double, cy: Double, radius r: Double, _ c: RGBColor,
                                    antialiased: Bool = true, alpha: Double = 1) {
        guard cx.isFinite, cy.isFinite, r.isFinite, r > 0 else { return }
        let minX = max(0, Int(max(-1, (cx - r - 1).rounded(.down))))
        let maxX = min(width - 1, Int(min(Double(width), (cx + r + 1).rounded(.up))))
        let minY = max(0, Int(max(-1, (cy - r - 1).rounded(.down))))
        let maxY = min(height - 1, Int(min(Double(height), (cy + r + 1).rounded(.up))))
        guard minX <= maxX, minY <= maxY else { return }
        for py in minY...maxY {
            for px in minX...maxX {
                let ex = Double(px) + 0.5 - cx, ey = Double(py) + 0.5 - cy
                let d = (ex * ex + ey * ey).squareRoot()
                let cov = antialiased ? min(1, max(0, r + 0.5 - d)) : (d <= r ? 1 : 0)
                if cov > 0 { blendPixel(x: px, y: py, c, alpha: cov * alpha) }
            }
        }
    }

    /// Copies `src` with its top-left corner at (x, y), clipped to this image.
    public mutating func blit(_ src: RGBImage, x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x &+ src.width), y1 = min(height, y &+ src.height)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            let s = 3 * ((yy - y) * src.width + (x0 - x))
            let d = 3 * (yy * width + x0)
            let n = 3 * (x1 - x0)
            pixels.replaceSubrange(d..<(d + n), with: src.pixels[s..<(s + n)])
        }
    }

    /// Nearest-neighbour upscaling by an integer factor.
    public func scaled(by factor: Int) -> RGBImage {
        let f = max(1, factor)
        if f == 1 { return self }
        var out = RGBImage(width: width * f, height: height * f)
        for y in 0..<(height * f) {
            for x in 0..<(width * f) {
                let s = 3 * ((y / f) * width + x / f), d = 3 * (y * width * f + x)
                out.pixels[d] = pixels[s]; out.pixels[d + 1] = pixels[s + 1]; out.pixels[d + 2] = pixels[s + 2]
            }
        }
        return out
    }

    public func png() -> [UInt8] {
        PNG.encode(width: width, height: height, channels: 3, pixels: pixels)
    }
}

/// `floor(v)` clamped to [lo, hi] without trapping on huge or non-finite values.
@inline(__always)
func clampToInt(_ v: Double, _ lo: Int, _ hi: Int) -> Int {
    guard !v.isNaN else { return lo }
    let f = v.rounded(.down)
    if f <= Double(lo) { return lo }
    if f >= Double(hi) { return hi }
    return Int(f)
}
