import VAECore

extension BatchLoader {
    /// Fills `x` ([rows.count, D]) with rows `rows` of the batch made of the images at `indices`,
    /// drawing from `rng` exactly as filling the whole batch would: with `binarize`, each row
    /// takes D uniforms in row order, so the rows before and after the share are skipped draw
    /// for draw. Every rank thus sees the one-process batch and leaves `rng` where one process
    /// would.
    public static func fill(_ set: ImageSet, indices: UnsafeBufferPointer<Int32>, rows: Range<Int>, into x: Tensor,
                            binarize: Bool = false, rng: inout RNG) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= indices.count, "rows \(rows) out of a batch of \(indices.count)")
        if rows == 0..<indices.count {
            fill(set, indices: indices, into: x, binarize: binarize, rng: &rng)
            return
        }
        let d = set.pixelsPerImage
        if binarize { rng.skip(rows.lowerBound * d) }
        fill(set, indices: UnsafeBufferPointer(rebasing: indices[rows]), into: x, binarize: binarize, rng: &rng)
        if binarize { rng.skip((indices.count - rows.upperBound) * d) }
    }
}

extension RNG {
    /// Advances the generator by `n` 64-bit draws (n uniforms).
    public mutating func skip(_ n: Int) {
        for _ in 0..<max(n, 0) { _ = next() }
    }

    /// Advances the generator by `n` standard normals (draws them into a scratch buffer).
    public mutating func skipNormals(_ n: Int) {
        var left = n
        var scratch = [Float](repeating: 0, count: min(max(n, 1), 4096))
        scratch.withUnsafeMutableBufferPointer { p in
            while left > 0 {
                let m = min(left, p.count)
                fillNormal(p.baseAddress!, count: m)
                left -= m
            }
        }
    }
}
