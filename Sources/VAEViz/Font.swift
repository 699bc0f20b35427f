/// A tiny embedded 5×7 bitmap font (with 2-row descenders) for labelling raster images.
/// Characters outside printable ASCII are drawn as '?', except μ (the labels' z = μ), the
/// minus sign − (drawn as '-'), the subscript digits ₀…₉ (lowered digits), ‖ (the KL's), and
/// letters with accents, drawn as their base letter (é as e: a class folder "café" reads
/// "cafe"; the SVG beside each PNG has the text exactly).
public enum BitmapFont {
    /// Glyph cell width in font pixels, including 1 column of spacing.
    public static let advance = 6
    /// Height of capitals / digits in font pixels.
    public static let capHeight = 7
    /// Full glyph height including descenders, in font pixels.
    public static let glyphHeight = 9
    static let glyphWidth = 5

    /// Width in image pixels of `text` drawn at `scale` (no trailing spacing column).
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * advance - 1) * max(1, scale)
    }

    /// Rows of the glyph for `ch` (9 entries, bit 4 = leftmost column).
    static func glyph(_ ch: Character) -> ArraySlice<UInt8> {
        // μ (Greek mu) and µ (micro sign): a 'u' whose left stem descends
        if ch == "\u{03BC}" || ch == "\u{00B5}" { return [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x1D, 0x10, 0x10][...] }
        // subscript digits ₀…₉ (the axes' z₁, z₂): the digit lowered two rows, into the descender
        if let u = ch.unicodeScalars.first?.value, ch.unicodeScalars.count == 1, (0x2080...0x2089).contains(u) {
            let digit = glyph(Character(Unicode.Scalar(UInt8(48 + u - 0x2080))))
            return ([0, 0] + Array(digit.prefix(glyphHeight - 2)))[...]
        }
        if ch == "\u{2016}" { return [0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x0A, 0x00][...] }   // ‖
        var code = 63  // '?'
        if ch == "\u{2212}" { code = 45 }   // − as '-'
        if let a = ch.asciiValue, a >= 32, a <= 126 { code = Int(a) }
        // an accented letter (é, ñ, Å): its canonical decomposition's base letter
        else if let base = String(ch).decomposedStringWithCanonicalMapping.unicodeScalars.first,
                base.isASCII, base.value >= 65, (base.value <= 90 || (97...122).contains(base.value)) { code = Int(base.value) }
        let start = (code - 32) * glyphHeight
        return glyphData[start..<(start + glyphHeight)]
    }
}

extension RGBImage {
    /// Draws `text` with its top-left corner (top of capitals) at (x, y).
    public mutating func drawText(_ text: String, x: Int, y: Int, _ color: RGBColor, scale: Int = 1) {
        let s = max(1, scale)
        var cx = x
        for ch in text {
            let rows = BitmapFont.glyph(ch)
            for (r, bits) in rows.enumerated() where bits != 0 {
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    fillRect(x: cx + col * s, y: y + r * s, width: s, height: s, color)
                }
            }
            cx += BitmapFont.advance * s
        }
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top). (x, y) is the
    /// top-left corner of the rotated text's bounding box, whose width is the glyph height
    /// (`BitmapFont.glyphHeight * scale`) and whose height is `textWidth`.
    public mutating func drawTextVertical(_ text: String, x: Int, y: Int, _ color: RGBColor, scale: Int = 1) {
        let s = max(1, scale)
        let length = BitmapFont.textWidth(text, scale: s)
        // Horizontal text coordinate (u, v) maps to (x + v, y + length - 1 - u).
        var u0 = 0
        for ch in text {
            let rows = BitmapFont.glyph(ch)
            for (r, bits) in rows.enumerated() where bits != 0 {
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    let u = u0 + col * s
                    fillRect(x: x + r * s, y: y + length - u - s, width: s, height: s, color)
                }
            }
            u0 += BitmapFont.advance * s
        }
    }
}
