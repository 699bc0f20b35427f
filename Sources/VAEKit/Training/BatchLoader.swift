import VAECore

/// Turns `UInt8` images into a Float batch: pixels scaled to [0, 1] per batch (the data set
/// itself stays `UInt8` in memory), or dynamically binarized, pixel ~ Bernoulli(intensity).
public enum BatchLoader {
    /// v/255 for every byte value, computed as PyTorch's `x / 255.0` in float32.
    static let scale: [Float] = (0..<256).map { Float($0) / 255 }

    /// Fills `x` ([indices.count, D]) with the images at `indices`.
    /// With `binarize`, each pixel becomes 1 with probability v/255 (drawn from `rng`, row by
    /// row, pixel by pixel: the same seed gives the same batch).
    public static func fill(_ set: ImageSet, indices: UnsafeBufferPointer<Int32>, into x: Tensor,
                            binarize: Bool = false, rng: inout RNG) {
        let d = set.pixelsPerImage
        precondition(x.count >= indices.count * d, "batch tensor too small")
        let dst = x.pointer
        if !binarize {
            set.images.withUnsafeBufferPointer { img in
                Elementwise.gatherScaleBytes(img.baseAddress!, indices: indices.baseAddress!, rows: indices.count,
                                             rowSize: d, into: dst)
            }
            return
        }
        set.images.withUnsafeBufferPointer { img in
            scale.withUnsafeBufferPointer { lut in
                for (r, idx) in indices.enumerated() {
                    let src = img.baseAddress! + Int(idx) * d
                    let row = dst + r * d
                    if binarize {
                        for j in 0..<d { row[j] = rng.uniform() < lut[Int(src[j])] ? 1 : 0 }
                    } else {
                        for j in 0..<d { row[j] = lut[Int(src[j])] }
                    }
                }
            }
        }
    }

    /// Items `range` of `set` in order, as a new [count, D] tensor (missing entries 0).
    public static func tensor(_ set: any DataSource, range: Range<Int>) -> Tensor { set.batch(range).x }
}
