import VAECore

extension RNG {
    /// Advances the generator by `n` standard normals (draws them into a scratch buffer): a rank
    /// evaluating images i..<j of a set starts where one process would be at image i.
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
