import VAECore

extension ImageSet {
    /// The images whose label is in `classes` (for training on "normal" data only).
    public func filtered(classes: Set<Int>) -> ImageSet {
        guard !labels.isEmpty else { return self }
        let d = pixelsPerImage
        var px: [UInt8] = [], lb: [UInt8] = []
        images.withUnsafeBufferPointer { all in
            for i in 0..<count where classes.contains(Int(labels[i])) {
                px.append(contentsOf: all[(i * d)..<((i + 1) * d)])
                lb.append(labels[i])
            }
        }
        return ImageSet(images: px, labels: lb, count: lb.count, channels: channels, height: height, width: width)
    }
}

extension ImageSet {
    /// A fixed binarization: each pixel becomes 255 with probability v/255, drawn from
    /// `RNG(seed:)` (the evaluation protocol for models trained with dynamic binarization).
    public func binarized(seed: UInt64) -> ImageSet {
        var rng = RNG(seed: seed)
        let px = images.map { v -> UInt8 in rng.uniform() < BatchLoader.scale[Int(v)] ? 255 : 0 }
        return ImageSet(images: px, labels: labels, count: count, channels: channels, height: height, width: width)
    }
}
