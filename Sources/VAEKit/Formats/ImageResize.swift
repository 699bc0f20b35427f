/// Decoded images to the data set's shape: channels converted (gray ↔ RGB, alpha composited on
/// a gray background, black by default), the shorter side resized and the centre cropped as torchvision's Resize + CenterCrop —
/// area-averaging when shrinking, bilinear (half-pixel centres) when enlarging.
enum ImageResize {
    /// `pixels`: `height`×`width`×`channels` interleaved (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
    /// Returns `outChannels`×`outHeight`×`outWidth` bytes, CHW, written to `into` from `at`.
    static func convert(_ pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
                        outChannels: Int, outHeight: Int, outWidth: Int, background: UInt8 = 0,
                        into out: UnsafeMutablePointer<UInt8>) {
        if width == outWidth && height == outHeight && channels == outChannels {
            // Same size, same channels (gray or RGB, no alpha): HWC → CHW only.
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<channels { out[(c * height + y) * width + x] = pixels[(y * width + x) * channels + c] }
                }
            }
            return
        }
        let (rh, rw) = resizedSize(height: height, width: width, outHeight: outHeight, outWidth: outWidth)
        let top = cropOffset(rh, outHeight), left = cropOffset(rw, outWidth)
        var xw = AxisWeights(input: width, resized: rw, first: left, count: outWidth)
        let yw = AxisWeights(input: height, resized: rh, first: top, count: outHeight)
        // Only the source rows and columns the crop reads: a 1 × 16 M-pixel strip enlarged to 64
        // wide is 1 G rows tall before its centre crop of 64, one source row (all its rows held
        // as floats asked for 4 GB).
        let (y0, y1) = yw.span, (x0, x1) = xw.span
        xw.shift(by: x0)
        let rowsUsed = y1 - y0, cols = x1 - x0
        // Horizontal pass: each source row used, converted to outChannels floats, resampled to outWidth.
        var rows = [Float](repeating: 0, count: outChannels * rowsUsed * outWidth)
        var line = [Float](repeating: 0, count: outChannels * cols)
        for y in y0..<y1 {
            convertRow(pixels.baseAddress! + (y * width + x0) * channels, width: cols, channels: channels,
                       outChannels: outChannels, background: Float(background), into: &line)
            for c in 0..<outChannels {
                let dst = (c * rowsUsed + y - y0) * outWidth
                for x in 0..<outWidth { rows[dst + x] = xw.apply(x, line, base: c * cols) }
            }
        }
        // Vertical pass, then round to bytes.
        for c in 0..<outChannels {
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    var v: Float = 0
                    let (start, weights) = (yw.starts[y] - y0, yw.weights[y])
                    for (k, w) in weights.enumerated() { v += w * rows[(c * rowsUsed + start + k) * outWidth + x] }
                    out[(c * outHeight + y) * outWidth + x] = UInt8(max(0, min(255, v + 0.5)))
                }
            }
        }
    }

    /// One row to `outChannels` planes of floats 0…255: alpha composited on `background`
    /// (v·α + background·(1 − α); black: premultiplied);
    /// gray = 0.299 R + 0.587 G + 0.114 B (ITU-R 601, as PIL's convert("L")); gray → RGB repeats it.
    static func convertRow(_ src: UnsafePointer<UInt8>, width: Int, channels: Int, outChannels: Int, background: Float = 0,
                           into line: inout [Float]) {
        let hasAlpha = channels == 2 || channels == 4
        let colour = channels >= 3
        for x in 0..<width {
            let p = src + x * channels
            let alpha: Float = hasAlpha ? Float(p[channels - 1]) / 255 : 1
            if outChannels == 1 {
                let g = colour ? 0.299 * Float(p[0]) + 0.587 * Float(p[1]) + 0.114 * Float(p[2]) : Float(p[0])
                line[x] = g * alpha + background * (1 - alpha)
            } else {
                for c in 0..<3 { line[c * width + x] = Float(p[colour ? c : 0]) * alpha + background * (1 - alpha) }
            }
        }
    }

    /// The size before the centre crop: scaled by max(H/h, W/w) so the crop fits; with a square
    /// target the shorter side becomes N and the longer int(N·long/short), as torchvision's Resize(N).
    static func resizedSize(height h: Int, width w: Int, outHeight: Int, outWidth: Int) -> (Int, Int) {
        if h == outHeight && w == outWidth { return (h, w) }
        if outHeight * w >= outWidth * h {  // H/h ≥ W/w: the height decides
            return (outHeight, max(outWidth, Int(Double(outHeight) * Double(w) / Double(h))))
        }
        return (max(outHeight, Int(Double(outWidth) * Double(h) / Double(w))), outWidth)
    }

    /// torchvision's CenterCrop: int(round((size − crop) / 2)), Python's round (half to even).
    static func cropOffset(_ size: Int, _ crop: Int) -> Int {
        Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }
}

/// Resampling weights along one axis: output pixel i (of the resized axis, from `first`) is
/// Σ_k weights[i][k] · input[starts[i] + k].
struct AxisWeights {
    var starts: [Int] = []
    var weights: [[Float]] = []

    init(input n: Int, resized m: Int, first: Int, count: Int) {
        for i in first..<(first + count) {
            if m == n {
                starts.append(i); weights.append([1])
            } else if m < n {
                // Area average: the output pixel covers [i·n/m, (i+1)·n/m) of the input.
                let lo = Double(i) * Double(n) / Double(m), hi = Double(i + 1) * Double(n) / Double(m)
                let j0 = Int(lo.rounded(.down)), j1 = min(n, Int(hi.rounded(.up)))
                starts.append(j0)
                weights.append((j0..<j1).map { j in Float((min(hi, Double(j + 1)) - max(lo, Double(j))) / (hi - lo)) })
            } else {
                // Bilinear with half-pixel centres: x = (i + ½)·n/m − ½, clamped to the edges.
                let x = min(max((Double(i) + 0.5) * Double(n) / Double(m) - 0.5, 0), Double(n - 1))
                let j0 = Int(x.rounded(.down)), t = Float(x - Double(j0))
                if j0 + 1 < n { starts.append(j0); weights.append([1 - t, t]) } else { starts.append(j0); weights.append([1]) }
            }
        }
    }

    /// The input positions the weights read: [first, end).
    var span: (Int, Int) {
        (starts.min() ?? 0, zip(starts, weights).map { $0 + $1.count }.max() ?? 0)
    }

    /// Reads an input that starts at position `offset` of the original one.
    mutating func shift(by offset: Int) {
        for i in starts.indices { starts[i] -= offset }
    }

    @inline(__always) func apply(_ i: Int, _ line: [Float], base: Int) -> Float {
        var v: Float = 0
        let s = base + starts[i]
        for (k, w) in weights[i].enumerated() { v += w * line[s + k] }
        return v
    }
}
