extension ImageSet {
    /// The images whose label is in `classes` (for training on "normal" data only).
    public func filtered(classes: Set<Int>) -> ImageSet {
        guard !labels.isEmpty else { return self }
        let d = pixelsPerImage
        var px: [UInt8] = [], lb: [UInt8] = []
        for i in 0..<count where classes.contains(Int(labels[i])) {
            px.append(contentsOf: images[(i * d)..<((i + 1) * d)])
            lb.append(labels[i])
        }
        return ImageSet(images: px, labels: lb, count: lb.count, channels: channels, height: height, width: width)
    }
}
