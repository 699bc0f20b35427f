/// Tiles a batch of small CHW float images (values in [0, 1], clamped; NaN → 0) into one
/// raster, e.g. reconstructions or samples of a VAE.
public enum ImageGrid {
    /// Geometry of a grid, in output pixels.
    public static func size(count: Int, height: Int, width: Int, columns: Int, border: Int = 1, scale: Int = 1)
        -> (width: Int, height: Int)
    {
        guard count > 0 else { return (1, 1) }
        let cols = max(1, min(columns, count))
        let rows = (count + cols - 1) / cols
        let b = max(0, border), s = max(1, scale)
        return (cols * width * s + (cols + 1) * b, rows * height * s + (rows + 1) * b)
    }

    /// - Parameters:
    ///   - images: each `channels*height*width` floats, CHW order.
    ///   - channels: 1 (grayscale) or 3 (RGB); the output has the same channel count.
    ///   - columns: tiles per row (capped at the number of images).
    ///   - border: pixels of `borderValue` between tiles and around the edge.
    ///   - scale: integer nearest-neighbour upscaling of each tile.
    /// An empty `images` gives a 1×1 image of `borderValue`.
    public static func make(images: [[Float]], channels: Int, height: Int, width: Int, columns: Int,
                            border: Int = 1, scale: Int = 1, borderValue: UInt8 = 255)
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8])
    {
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
        precondition(height > 0 && width > 0 && columns > 0, "tile size and columns must be positive")
        let per = channels * height * width
        for img in images { precondition(img.count == per, "image has \(img.count) values, expected \(per)") }
        let (gw, gh) = size(count: images.count, height: height, width: width, columns: columns,
                            border: border, scale: scale)
        var out = [UInt8](repeating: borderValue, count: gw * gh * channels)
        guard !images.isEmpty else { return (gw, gh, channels, out) }
        let cols = max(1, min(columns, images.count))
        let b = max(0, border), s = max(1, scale)
        for (n, img) in images.enumerated() {
            let ox = b + (n % cols) * (width * s + b)
            let oy = b + (n / cols) * (height * s + b)
            for y in 0..<(height * s) {
                for x in 0..<(width * s) {
                    let d = ((oy + y) * gw + ox + x) * channels
                    for c in 0..<channels {
                        out[d + c] = toByte(img[(c * height + y / s) * width + x / s])
                    }
                }
            }
        }
        return (gw, gh, channels, out)
    }

    /// Same as `make(images:...)` with the batch given as one flat array of `count` images.
    public static func make(flat: [Float], count: Int, channels: Int, height: Int, width: Int, columns: Int,
                            border: Int = 1, scale: Int = 1, borderValue: UInt8 = 255)
        -> (width: Int, height: Int, channels: Int, pixels: [UInt8])
    {
        let per = channels * height * width
        precondition(count >= 0 && flat.count >= count * per, "flat buffer too small")
        let images = (0..<count).map { Array(flat[($0 * per)..<(($0 + 1) * per)]) }
        return make(images: images, channels: channels, height: height, width: width, columns: columns,
                    border: border, scale: scale, borderValue: borderValue)
    }

    /// The separator's gray for a grid of these images: white, as usual, unless a quarter or more
    /// of the images' edge pixels are near white (icons on a white background), where white lines
    /// and empty cells vanished into the tiles — then a dark gray that shows against them (the mean
    /// edge brightness missed grids of a few icons that fill their frames).
    public static func separatorValue(flat: [Float], count: Int, channels: Int, height: Int, width: Int) -> UInt8 {
        let per = channels * height * width, plane = height * width
        guard count > 0, height > 0, width > 0, flat.count >= count * per else { return 255 }
        var light = 0, n = 0
        func look(_ i: Int, _ p: Int) {
            n += 1
            if (0..<channels).allSatisfy({ flat[i * per + $0 * plane + p] > 0.9 }) { light += 1 }
        }
        for i in 0..<count {
            for x in 0..<width { look(i, x); if height > 1 { look(i, (height - 1) * width + x) } }
            for y in 1..<max(1, height - 1) { look(i, y * width); if width > 1 { look(i, y * width + width - 1) } }
        }
        return light * 4 >= n ? 64 : 255
    }

    /// The grid encoded as PNG.
    public static func png(images: [[Float]], channels: Int, height: Int, width: Int, columns: Int,
                           border: Int = 1, scale: Int = 1, borderValue: UInt8 = 255) -> [UInt8]
    {
        let g = make(images: images, channels: channels, height: height, width: width, columns: columns,
                     border: border, scale: scale, borderValue: borderValue)
        return PNG.encode(width: g.width, height: g.height, channels: g.channels, pixels: g.pixels)
    }

    /// The grid encoded as PNG, batch given as one flat array.
    public static func png(flat: [Float], count: Int, channels: Int, height: Int, width: Int, columns: Int,
                           border: Int = 1, scale: Int = 1, borderValue: UInt8 = 255) -> [UInt8]
    {
        let g = make(flat: flat, count: count, channels: channels, height: height, width: width,
                     columns: columns, border: border, scale: scale, borderValue: borderValue)
        return PNG.encode(width: g.width, height: g.height, channels: g.channels, pixels: g.pixels)
    }

    @inline(__always)
    static func toByte(_ v: Float) -> UInt8 {
        if v.isNaN { return 0 }
        let c = min(1, max(0, v))
        return UInt8((c * 255).rounded())
    }
}
