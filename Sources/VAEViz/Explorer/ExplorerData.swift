import Foundation
import VAEImageIO

/// Everything the live explorer of a report needs, as plain data: the decoder (description and
/// weights), a few test images with their labels and latent means, and the two principal
/// directions of those means (the 2-D pad's axes).
public struct ExplorerData: Sendable {
    public var decoder: DecoderDescription
    /// decoder.weightCount floats, embedded in the page as little-endian float32
    public var weights: [Float]
    /// `count` test images, C·H·W bytes each (0…255)
    public var images: [UInt8]
    public var count: Int
    /// one label per image (empty when the data set has none)
    public var labels: [Int]
    public var classNames: [String]
    /// index of each image in the test set (shown to the reader)
    public var testIndices: [Int]
    /// latent means, count × latent
    public var mu: [Float]
    /// The pad's origin and its two orthonormal axes (latent values each). For latent 2 these are
    /// 0 and the unit vectors, so the pad shows z₁, z₂ themselves.
    public var padOrigin: [Float]
    public var padAxes: [[Float]]
    /// fraction of the means' variance the two axes keep (1 for latent ≤ 2)
    public var explained: Double
    /// the test images (positions in `images`) the interpolation starts between
    public var interpolation: (Int, Int)
    /// the image whose μ the sliders start at
    public var start: Int
    /// A conditional model trained on some classes only (`vae train --classes`): those, the only
    /// ones the page's class menu offers (empty: every class).
    public var trainedClasses: [Int] = []

    public init(decoder: DecoderDescription, weights: [Float], images: [UInt8], count: Int, labels: [Int],
                classNames: [String], testIndices: [Int], mu: [Float], padOrigin: [Float], padAxes: [[Float]],
                explained: Double, interpolation: (Int, Int), start: Int) {
        self.decoder = decoder
        self.weights = weights
        self.images = images
        self.count = count
        self.labels = labels
        self.classNames = classNames
        self.testIndices = testIndices
        self.mu = mu
        self.padOrigin = padOrigin
        self.padAxes = padAxes
        self.explained = explained
        self.interpolation = interpolation
        self.start = start
    }

    /// A problem that would make the page wrong (sizes that do not match), or nil.
    /// The most decoder weights a page carries (32 MB as float32): past it (large images, a wide
    /// last layer) the page would be hundreds of MB that a browser opens slowly or not at all (a
    /// 256×256 RGB mlp's: 315 MB). `vae report` leaves the explorer out and says so.
    public static let weightLimit = 8_000_000

    public func problem() -> String? {
        if let p = decoder.problem() { return p }
        let k = decoder.latent, d = decoder.shape.reduce(1, *)
        if weights.count != decoder.weightCount { return "\(weights.count) weights, the description needs \(decoder.weightCount)" }
        if weights.count > Self.weightLimit { return "\(weights.count) decoder weights, more than a page carries (\(Self.weightLimit))" }
        if images.count != count * d || mu.count != count * k || testIndices.count != count { return "test images, means and indices disagree on the count \(count)" }
        if !labels.isEmpty && labels.count != count { return "\(labels.count) labels for \(count) images" }
        if padOrigin.count != k || padAxes.isEmpty || padAxes.count > 2 || padAxes.contains(where: { $0.count != k }) { return "pad axes do not have \(k) values" }
        if count > 0 && !(0..<count).contains(start) { return "start image \(start) not among the \(count)" }
        if count > 0 && (!(0..<count).contains(interpolation.0) || !(0..<count).contains(interpolation.1)) { return "interpolation images not among the \(count)" }
        return nil
    }

    /// Metadata for the page's script (JSON, without the large arrays).
    struct Meta: Encodable {
        var decoder: DecoderDescription
        var count: Int
        var labels: [Int]
        var classNames: [String]
        var testIndices: [Int]
        var padOrigin: [Float]
        var padAxes: [[Float]]
        var explained: Double
        var interpolation: [Int]
        var start: Int
        var trainedClasses: [Int]
    }

    func metaJSON() throws -> String {
        let meta = Meta(decoder: decoder, count: count, labels: labels, classNames: classNames, testIndices: testIndices,
                        padOrigin: padOrigin, padAxes: padAxes, explained: explained,
                        interpolation: [interpolation.0, interpolation.1], start: start, trainedClasses: trainedClasses)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return ExplorerData.scriptSafe(String(decoding: try enc.encode(meta), as: UTF8.self))
    }

    /// JSON that can sit inside a <script> element: every "<" written as \u003c (the same JSON), so
    /// that no "</script", "<!--" or "<script" in the data — a class name, a test item's text —
    /// ends the element or puts the HTML parser into a script-escape state.
    static func scriptSafe(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// The encoding of `packedBase64`, named in the page (data-encoding) for the script's `floats`.
    static let packedEncoding = "zlib-byteplanes"

    /// float32 values as their four byte planes (every value's lowest byte, then every second
    /// byte, …), zlib-compressed, base64: lossless, the page inflates them (DecompressionStream).
    /// A trained decoder's weights shrink to about 85% (the exponent plane compresses, the
    /// mantissa planes do not) — what keeps MOSES's decoder of 1.1 M weights under 6 MB of page.
    static func packedBase64(_ values: [Float]) -> String {
        let n = values.count
        var planes = [UInt8](repeating: 0, count: 4 * n)
        for (i, v) in values.enumerated() {
            let b = v.bitPattern.littleEndian
            planes[i] = UInt8(truncatingIfNeeded: b); planes[n + i] = UInt8(truncatingIfNeeded: b >> 8)
            planes[2 * n + i] = UInt8(truncatingIfNeeded: b >> 16); planes[3 * n + i] = UInt8(truncatingIfNeeded: b >> 24)
        }
        return Data(PNG.zlibCompress(planes)).base64EncodedString()
    }

    /// Little-endian float32 bytes, base64.
    static func base64(_ values: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for v in values {
            let b = v.bitPattern.littleEndian
            bytes.append(UInt8(truncatingIfNeeded: b)); bytes.append(UInt8(truncatingIfNeeded: b >> 8))
            bytes.append(UInt8(truncatingIfNeeded: b >> 16)); bytes.append(UInt8(truncatingIfNeeded: b >> 24))
        }
        return Data(bytes).base64EncodedString()
    }
}
