import VAECore

/// Lossless compression of images with a trained VAE by bits-back coding with ANS (Townsend, Bird
/// & Barber 2019, "Practical lossless compression with latent variables using bits back coding").
///
/// One image costs about −ELBO bits: to send x, the sender *pops* a latent z from the stack with
/// the posterior q(z | x) (taking back ≈ −log₂ q(z|x) bits that were already there), pushes x with
/// p(x | z), then pushes z with the prior p(z). The receiver pops z with the prior, pops x with
/// p(x | z), and pushes z back with q(z | x) — returning the bits the sender took. Images are
/// chained: each one's bits back come from the images before it; the first takes them from the
/// archive's initial bits (seeded words, counted in the size and checked on the way back).
///
/// - Latents are discretised per dimension into 2^latentBits buckets of equal prior mass, so the
///   prior is uniform over bucket indices; z is the bucket's median. The posterior is the mass of
///   N(μ, σ²) on each bucket, as integer frequencies of 2^posteriorBits, every bucket at least 1.
/// - The likelihood's probabilities are integer frequencies of 2^likelihoodBits, at least 1 each.
/// - Every probability comes from ``PortableNetwork`` and ``PortableMath``: the same bits on any
///   machine, so an archive decodes anywhere.
public struct BitsBackCodec {
    public static let magic: [UInt8] = Array("SVAEBBA1".utf8)
    public static let version: UInt32 = 1
    public let encoder: PortableNetwork, decoder: PortableNetwork
    public let latent: Int, shape: [Int]
    /// What a pixel is: 0 or 255 (a Bernoulli model) or one of 256 levels (a discretised logistic
    /// or a beta-binomial model).
    public enum Pixels: UInt8, Sendable {
        case binary = 0, logistic256 = 1, betaBinomial256 = 2
        var name: String { self == .binary ? "binary" : "8-bit" }
    }
    public let kind: Pixels
    public var pixels: Int { shape.reduce(1, *) }
    public let latentBits = 8, posteriorBits = 24, likelihoodBits = 24
    /// Hash of the networks' weights: an archive names the model it needs.
    public let modelHash: UInt64
    let centres: [Double], edges: [Double]

    public init(model: VAE) throws {
        let c = model.config
        guard c.architecture == .mlp else { throw VAEError("compression needs an mlp model (this one is \(c.architecture.rawValue))") }
        guard c.conditionSize == 0 else { throw VAEError("compression needs an unconditional model (this one takes a class)") }
        switch (c.groups, c.likelihood) {
        case (nil, .bernoulli): kind = .binary
        case (nil, .discretizedLogistic): kind = .logistic256
        case (nil, .betaBinomial): kind = .betaBinomial256
        default:
            throw VAEError("compression codes binary images with a Bernoulli model and 8-bit ones with a discretized-logistic or beta-binomial model; this model's likelihood is \(c.groups == nil ? c.likelihood.rawValue : "a table's")")
        }
        encoder = try PortableNetwork(model.encoder, what: "the encoder")
        decoder = try PortableNetwork(model.decoder, what: "the decoder")
        latent = c.latent
        shape = c.inputShape
        guard encoder.inputs == shape.reduce(1, *), encoder.outputs == 2 * latent, decoder.inputs == latent,
              decoder.outputs == (kind == .binary ? 1 : 2) * shape.reduce(1, *) else { throw VAEError("compression: the networks' widths do not match the config") }
        var h = FNV64()
        encoder.hash(into: &h)
        decoder.hash(into: &h)
        modelHash = h.value
        let n = 1 << latentBits
        centres = (0..<n).map { PortableMath.normalQuantile((Double($0) + 0.5) / Double(n)) }
        edges = [-Double.infinity] + (1..<n).map { PortableMath.normalQuantile(Double($0) / Double(n)) } + [Double.infinity]
    }

    /// Buffers reused for every latent dimension and pixel of a compress or decompress call.
    struct Scratch {
        var posterior: [UInt32], levels = [UInt32](repeating: 0, count: 257), masses = [Double](repeating: 0, count: 256)
        init(latentBits: Int) { posterior = [UInt32](repeating: 0, count: (1 << latentBits) + 1) }
    }

    /// The posterior's cumulative integer frequencies over the buckets of one dimension, into `cdf`:
    /// n + 1 values from 0 to 2^posteriorBits, strictly increasing.
    func posteriorCDF(mu: Double, sigma: Double, into cdf: inout [UInt32]) {
        let n = 1 << latentBits
        let room = Double((1 << posteriorBits) - n)
        precondition(cdf.count == n + 1)
        var previous = 0.0
        for i in 0...n {
            var c: Double
            if i == 0 { c = 0 } else if i == n { c = 1 } else {
                let t = (edges[i] - mu) / sigma
                c = t < -12 ? 0 : t > 12 ? 1 : PortableMath.normalCDF(t)
            }
            c = min(1, max(c, previous))
            previous = c
            cdf[i] = UInt32((c * room).rounded(.down)) + UInt32(i)
        }
    }

    /// The encoder's (μ, σ) of one image.
    func posterior(_ x: [Double]) -> (mu: [Double], sigma: [Double]) {
        let h = encoder(x)
        return (Array(h[0..<latent]), (0..<latent).map { PortableMath.exp(0.5 * h[latent + $0]) })
    }

    /// The decoder's outputs at the latent bucket indices.
    func decoded(_ z: [Int]) -> [Double] { decoder(z.map { centres[$0] }) }

    /// Binary pixels: the frequency of a 1 from the logit.
    func frequencyOfOne(_ logit: Double) -> UInt32 {
        let total = Double(1 << likelihoodBits)
        return UInt32(min(total - 1, max(1, (PortableMath.sigmoid(logit) * total).rounded())))
    }

    /// 8-bit pixels: the cumulative frequency below level k (0 ≤ k ≤ 256) of the discretised
    /// logistic (μ, log s): strictly increasing in k, 0 at 0 and 2^likelihoodBits at 256.
    func levelCDF(_ k: Int, mu: Double, inverseScale: Double) -> UInt32 {
        if k == 0 { return 0 }
        if k == 256 { return UInt32(1 << likelihoodBits) }
        let t = ((Double(k) - 0.5) / 255 - mu) * inverseScale
        let c = t < -30 ? 0 : t > 30 ? 1 : PortableMath.sigmoid(t)
        return UInt32((c * Double((1 << likelihoodBits) - 256)).rounded(.down)) + UInt32(k)
    }

    /// 8-bit pixels of a beta-binomial model: the 257 cumulative frequencies from (o_α, o_β),
    /// into `scratch.levels`.
    func betaBinomialCDF(_ rawA: Double, _ rawB: Double, _ scratch: inout Scratch) {
        let r = BetaBinomialLikelihood.logParameterRange, lo = Double(r.lowerBound), hi = Double(r.upperBound)
        BetaBinomialLikelihood.masses(a: PortableMath.exp(min(max(rawA, lo), hi)), b: PortableMath.exp(min(max(rawB, lo), hi)),
                                      into: &scratch.masses)
        let room = Double((1 << likelihoodBits) - 256)
        var cum = 0.0
        for k in 0..<256 {
            scratch.levels[k] = UInt32((min(cum, 1) * room).rounded(.down)) + UInt32(k)
            cum += scratch.masses[k]
        }
        scratch.levels[256] = UInt32(1 << likelihoodBits)
    }

    func inverseScale(_ raw: Double) -> Double {
        let r = DiscretizedLogisticLikelihood.logScaleRange
        return PortableMath.exp(-min(max(raw, Double(r.lowerBound)), Double(r.upperBound)))
    }

    /// The encoder's input for a pixel value.
    @inline(__always) func input(_ v: UInt8) -> Double { kind == .binary ? (v == 255 ? 1 : 0) : Double(Float(v) / 255) }

    /// The n-th initial word of an archive with `seed` (splitmix64).
    static func initialWord(seed: UInt64, _ n: Int) -> UInt32 {
        var z = seed &+ UInt64(n + 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: z ^ (z >> 31))
    }

    /// What `compress` reports.
    public struct Stats: Sendable {
        public var images: Int, dimensions: Int
        /// The archive's size in bytes, header and all.
        public var bytes: Int
        /// Initial bits borrowed for the first images' bits back (32 per word).
        public var initialBits: Int
        public var bitsPerDimension: Double { Double(8 * bytes) / Double(dimensions) }
        public var initialBitsPerDimension: Double { Double(initialBits) / Double(dimensions) }
    }

    /// Compresses `count` images (`pixels` values per image; 0 or 255 for a binary model) into an archive.
    /// `names` (one per image, or none) are stored so that a folder of PNGs comes back with its file names.
    /// `source`: the file the images came from, or the folder of the named ones, for messages (a
    /// folder's image is named as its file there).
    public func compress(_ images: [UInt8], count: Int, names: [String] = [], seed: UInt64 = 0x5EED, source: String = "compress",
                         progress: ((Int) -> Void)? = nil) throws -> (archive: [UInt8], stats: Stats) {
        guard names.isEmpty || names.count == count else { throw VAEError("\(source): \(names.count) names for \(count) images") }
        // what the decoder holds at once: an archive past it would be written and never read back
        guard count <= BitsBackCodec.maxPixels / max(pixels, 1) else {
            throw VAEError("\(source): \(count) images of \(pixels) pixels are more than one archive holds (\(BitsBackCodec.maxPixels / max(pixels, 1)) of this size, \(BitsBackCodec.maxPixels) pixels in all, what decompressing holds in memory): compress them in parts")
        }
        for name in names { try BitsBackCodec.checkName(name, source: source) }
        let d = pixels, n = 1 << latentBits, one = UInt32(1 << likelihoodBits)
        guard images.count == count * d else { throw VAEError("\(source): \(images.count) pixels are not \(count) images of \(d)") }
        if kind == .binary, let bad = images.firstIndex(where: { $0 != 0 && $0 != 255 }) {
            // both counted from 1, as a reader counts them (the image was, the pixel was not)
            let which = names.isEmpty ? "\(source): image \(bad / d + 1)," : "\(source)/\(names[bad / d]):"
            throw VAEError("\(which) pixel \(bad % d + 1) (row \(bad % d / shape[2] + 1), column \(bad % d % shape[2] + 1)) is \(images[bad]): this model codes binary images (0 or 255); binarize them first (vae compress --binarize draws them as vae evaluate does)")
        }
        var stack = RANSStack(borrow: { BitsBackCodec.initialWord(seed: seed, $0) })
        var scratch = Scratch(latentBits: latentBits)
        for item in 0..<count {
            let x = (0..<d).map { input(images[item * d + $0]) }
            let (mu, sigma) = posterior(x)
            // bits back: z ~ q(z | x) popped from the stack, dimension 0 first
            var z = [Int](repeating: 0, count: latent)
            for k in 0..<latent {
                posteriorCDF(mu: mu[k], sigma: sigma[k], into: &scratch.posterior)
                let cdf = scratch.posterior
                let s = stack.peek(scaleBits: posteriorBits)
                var lo = 0, hi = n          // the bucket i with cdf[i] ≤ s < cdf[i + 1]
                while hi - lo > 1 { let mid = (lo + hi) / 2; if cdf[mid] <= s { lo = mid } else { hi = mid } }
                stack.pop(start: cdf[lo], freq: cdf[lo + 1] - cdf[lo], scaleBits: posteriorBits)
                z[k] = lo
            }
            let o = decoded(z)
            for p in 0..<d {
                let v = images[item * d + p]
                if kind == .binary {
                    let f1 = frequencyOfOne(o[p])
                    if v == 255 { stack.push(start: one - f1, freq: f1, scaleBits: likelihoodBits) }
                    else { stack.push(start: 0, freq: one - f1, scaleBits: likelihoodBits) }
                } else if kind == .betaBinomial256 {
                    betaBinomialCDF(o[p], o[d + p], &scratch)
                    let cdf = scratch.levels
                    stack.push(start: cdf[Int(v)], freq: cdf[Int(v) + 1] - cdf[Int(v)], scaleBits: likelihoodBits)
                } else {
                    let inv = inverseScale(o[d + p])
                    let lo = levelCDF(Int(v), mu: o[p], inverseScale: inv), hi = levelCDF(Int(v) + 1, mu: o[p], inverseScale: inv)
                    stack.push(start: lo, freq: hi - lo, scaleBits: likelihoodBits)
                }
            }
            for k in 0..<latent { stack.push(start: UInt32(z[k]), freq: 1, scaleBits: latentBits) }
            progress?(item + 1)
        }
        var w = ArchiveWriter()
        w.bytes += BitsBackCodec.magic
        w.u32(BitsBackCodec.version)
        w.u64(modelHash)
        w.u8(kind.rawValue)
        w.u8(UInt8(latentBits)); w.u8(UInt8(posteriorBits)); w.u8(UInt8(likelihoodBits))
        w.u32(UInt32(count))
        for s in shape { w.u32(UInt32(s)) }
        w.u64(seed)
        w.u32(UInt32(stack.borrowed))
        w.u64(stack.state)
        w.u32(UInt32(stack.words.count))
        for word in stack.words { w.u32(word) }
        w.u32(UInt32(names.count))
        for name in names { let u = Array(name.utf8); w.u8(UInt8(u.count)); w.bytes += u }
        w.u64(ArchiveWriter.checksum(w.bytes))
        let stats = Stats(images: count, dimensions: count * d, bytes: w.bytes.count, initialBits: 32 * stack.borrowed)
        return (w.bytes, stats)
    }

    /// The fixed part of an archive's header, in bytes (up to and including its word count).
    public static let fixedHeaderBytes = 64

    /// The most pixels one archive holds (all its images, which decompressing holds at once).
    public static let maxPixels = 100_000_000

    /// A 64-bit hash as 16 hex digits (leading zeros kept).
    static func hex16(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// The most bytes an archive whose header starts `prefix` (`fixedHeaderBytes` of it) can
    /// hold: its words, a file name of at most 255 bytes per image, the checksum. A file longer
    /// than this was appended to (or is no archive) and need not be read to be refused.
    /// The words are bounded too, by what the images can cost: no pixel codes to more than the
    /// likelihood's precision in bits, no image's latent code to more than 4,096 dimensions of
    /// the latent precision (a crafted header of 2³² words and images took memory by the gigabyte
    /// from a pipe before the checksum refused it).
    public static func sizeBound(prefix: [UInt8]) -> Int? {
        guard prefix.count >= fixedHeaderBytes, Array(prefix[0..<8]) == magic else { return nil }
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(prefix[at + $1]) << (8 * $1) } }
        let latentBits = Int(prefix[21]), likelihoodBits = Int(prefix[23])
        let count = u32(24), words = u32(60)
        // (each dimension < 2³², their product may pass 2⁶³: a damaged header, not a trap)
        let (hw, o1) = u32(32).multipliedReportingOverflow(by: u32(36))
        let (d, o2) = u32(28).multipliedReportingOverflow(by: hw)
        // past the decoder's limits: refused once read, so read no more than the header
        guard !o1, !o2, d > 0, d <= maxPixels, count <= maxPixels / d else { return fixedHeaderBytes + 8 }
        let costBits = count * (d * likelihoodBits + 4096 * max(latentBits, 32)) + 64 * 32
        return fixedHeaderBytes + 4 * min(words, costBits / 32 + 2) + 4 + count * 256 + 8
    }

    /// The number of images an archive's header gives (for a progress display; the decoder checks
    /// it), nil when `prefix` is no archive's header.
    public static func imageCount(prefix: [UInt8]) -> Int? {
        guard prefix.count >= fixedHeaderBytes, Array(prefix[0..<8]) == magic else { return nil }
        return (0..<4).reduce(0) { $0 | Int(prefix[24 + $1]) << (8 * $1) }
    }

    /// The images of an archive, in the order they were compressed.
    public func decompress(_ archive: [UInt8], source: String, progress: ((Int) -> Void)? = nil) throws -> (images: [UInt8], count: Int, names: [String]) {
        var r = ArchiveReader(bytes: archive, source: source)
        guard archive.count >= 8, Array(archive[0..<8]) == BitsBackCodec.magic else {
            throw VAEError("\(source) is not a SwiftVAE compressed archive (no SVAEBBA1 header)")
        }
        r.offset = 8
        let version = try r.u32()
        guard archive.count >= 8 + 8 else { throw VAEError("\(source) is truncated: it ends inside its header") }
        // the checksum before the version: a damaged version field is damage, not a newer format
        let stored = archive.suffix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << UInt64(8 * $1.offset)) }
        guard ArchiveWriter.checksum(Array(archive.dropLast(8))) == stored else {
            let newer = version > BitsBackCodec.version ? " (or it is format version \(version) of a newer SwiftVAE, which this one cannot check)" : ""
            throw VAEError("\(source) is damaged or truncated: its checksum does not match (the file was cut short or altered)\(newer)")
        }
        guard version >= 1 else { throw VAEError("\(source) claims archive format version 0, which no SwiftVAE writes: the archive is damaged") }
        guard version <= BitsBackCodec.version else {
            throw VAEError("\(source) is archive format version \(version); this SwiftVAE reads up to version \(BitsBackCodec.version): update SwiftVAE")
        }
        let hash = try r.u64()
        guard hash == modelHash else {
            throw VAEError("\(source) was compressed with another model (model hash \(BitsBackCodec.hex16(hash)), this run's is \(BitsBackCodec.hex16(modelHash))): decompress with the run that compressed it")
        }
        let storedKind = try r.u8(), lb = try r.u8(), pb = try r.u8(), kb = try r.u8()
        guard storedKind == kind.rawValue else {
            throw VAEError("\(source) was coded with another likelihood (\(Pixels(rawValue: storedKind)?.name ?? "unknown") images, kind \(storedKind)); this run's model codes \(kind.name) ones (kind \(kind.rawValue))")
        }
        guard Int(lb) == latentBits, Int(pb) == posteriorBits, Int(kb) == likelihoodBits else {
            throw VAEError("\(source) uses coder settings this SwiftVAE does not read (kind \(storedKind), bits \(lb)/\(pb)/\(kb))")
        }
        let count = Int(try r.u32())
        let dims = [Int(try r.u32()), Int(try r.u32()), Int(try r.u32())]
        guard dims == shape else { throw VAEError("\(source) holds images of shape \(dims); the model's are \(shape)") }
        let seed = try r.u64(), borrowed = Int(try r.u32()), state = try r.u64(), nWords = Int(try r.u32())
        guard nWords <= (archive.count - r.offset) / 4 else { throw VAEError("\(source) is truncated: it promises \(nWords) words") }
        // (an image may cost next to nothing — a model sure of a blank image codes a thousand in a
        // word — so the count is bounded by the pixels decoding holds, below, not by the words)
        let maxWords = nWords + latent * posteriorBits / 32 + 64
        var words = [UInt32](); words.reserveCapacity(nWords)
        for _ in 0..<nWords { words.append(try r.u32()) }
        let nameCount = Int(try r.u32())
        guard nameCount == 0 || nameCount == count else { throw VAEError("\(source) names \(nameCount) files for \(count) images") }
        var names: [String] = []
        for _ in 0..<nameCount {
            let n = Int(try r.u8())
            guard r.offset + n <= archive.count - 8 else { throw VAEError("\(source) is truncated in its file names") }
            guard let name = String(validating: archive[r.offset..<(r.offset + n)], as: UTF8.self) else {
                throw VAEError("\(source) has a file name that is not UTF-8")
            }
            try BitsBackCodec.checkName(name, source: source)
            names.append(name)
            r.offset += n
        }
        guard r.offset == archive.count - 8 else { throw VAEError("\(source) has \(archive.count - 8 - r.offset) bytes after its file names") }
        let d = pixels, one = UInt32(1 << likelihoodBits)
        guard count <= BitsBackCodec.maxPixels / max(d, 1) else {
            throw VAEError("\(source) claims \(count) images of \(d) pixels, more than an archive holds (\(BitsBackCodec.maxPixels) pixels; vae compress writes no more): the archive is damaged")
        }
        var stack = RANSStack(state: state, words: words, borrow: { _ in 0 })
        var scratch = Scratch(latentBits: latentBits)
        var out = [UInt8](repeating: 0, count: count * d)
        for (done, item) in (0..<count).reversed().enumerated() {
            var z = [Int](repeating: 0, count: latent)
            for k in (0..<latent).reversed() {
                let s = stack.peek(scaleBits: latentBits)
                stack.pop(start: s, freq: 1, scaleBits: latentBits)
                z[k] = Int(s)
            }
            let o = decoded(z)
            var x = [Double](repeating: 0, count: d)
            for p in (0..<d).reversed() {
                let s = stack.peek(scaleBits: likelihoodBits)
                if kind == .binary {
                    let f1 = frequencyOfOne(o[p])
                    if s >= one - f1 {
                        stack.pop(start: one - f1, freq: f1, scaleBits: likelihoodBits)
                        out[item * d + p] = 255
                    } else {
                        stack.pop(start: 0, freq: one - f1, scaleBits: likelihoodBits)
                    }
                } else if kind == .betaBinomial256 {
                    betaBinomialCDF(o[p], o[d + p], &scratch)
                    let cdf = scratch.levels
                    var lo = 0, hi = 256
                    while hi - lo > 1 { let mid = (lo + hi) / 2; if cdf[mid] <= s { lo = mid } else { hi = mid } }
                    stack.pop(start: cdf[lo], freq: cdf[lo + 1] - cdf[lo], scaleBits: likelihoodBits)
                    out[item * d + p] = UInt8(lo)
                } else {
                    let inv = inverseScale(o[d + p])
                    var lo = 0, hi = 256     // the level k with cdf(k) ≤ s < cdf(k + 1)
                    while hi - lo > 1 { let mid = (lo + hi) / 2; if levelCDF(mid, mu: o[p], inverseScale: inv) <= s { lo = mid } else { hi = mid } }
                    let a = levelCDF(lo, mu: o[p], inverseScale: inv), b = levelCDF(lo + 1, mu: o[p], inverseScale: inv)
                    stack.pop(start: a, freq: b - a, scaleBits: likelihoodBits)
                    out[item * d + p] = UInt8(lo)
                }
                x[p] = input(out[item * d + p])
            }
            let (mu, sigma) = posterior(x)
            for k in (0..<latent).reversed() {
                posteriorCDF(mu: mu[k], sigma: sigma[k], into: &scratch.posterior)
                let cdf = scratch.posterior
                stack.push(start: cdf[z[k]], freq: cdf[z[k] + 1] - cdf[z[k]], scaleBits: posteriorBits)
            }
            // a valid archive never runs dry: decoding retraces the compression's stacks
            guard stack.borrowed == 0, stack.words.count <= maxWords else {
                throw VAEError("\(source) ran out of bits at image \(item + 1): the archive is inconsistent with this model (wrong pixels were not written)")
            }
            progress?(done + 1)
        }
        // what is left must be the initial bits and the initial state: else the model or the coder differs
        let initialBitsBack = stack.words.count == borrowed
            && stack.words.enumerated().allSatisfy { $0.element == BitsBackCodec.initialWord(seed: seed, borrowed - 1 - $0.offset) }
        guard stack.borrowed == 0, stack.state == RANSStack.lower, initialBitsBack else {
            throw VAEError("\(source) did not decode to its initial bits: the archive is inconsistent with this model (wrong pixels were not written)")
        }
        return (out, count, names)
    }

    /// A stored file name: a plain name of 1–255 bytes, no folder, not hidden.
    static func checkName(_ name: String, source: String) throws {
        let n = name.utf8.count
        guard (1...255).contains(n), !name.contains("/"), !name.contains("\\"), !name.hasPrefix("."), !name.contains("\0") else {
            throw VAEError("\(source): \"\(name)\" is not a plain file name (1–255 bytes, no '/' or '\\', not starting with a dot): rename it")
        }
        // the names are those of the PNGs compressed: another name in an archive (its content altered
        // under a valid checksum) would write a PNG under it
        guard name.lowercased().hasSuffix(".png") else {
            throw VAEError("\(source): \"\(name)\" is no PNG file's name; an archive holds the names of the PNGs compressed")
        }
    }
}

extension BitsBackCodec {
    /// Rewrites an archive's checksum after its other bytes were changed (for tests and fuzzing:
    /// the decoder must still refuse the altered content).
    public static func resealed(_ archive: [UInt8]) -> [UInt8] {
        guard archive.count >= 8 else { return archive }
        var b = Array(archive.dropLast(8))
        let h = ArchiveWriter.checksum(b)
        for k in 0..<8 { b.append(UInt8(truncatingIfNeeded: h >> UInt64(8 * k))) }
        return b
    }
}

struct ArchiveWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { little(v) }
    mutating func u64(_ v: UInt64) { little(v) }
    mutating func little<T: FixedWidthInteger>(_ v: T) { for k in 0..<(T.bitWidth / 8) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * k))) } }
    /// FNV-1a 64 of the bytes.
    static func checksum(_ b: [UInt8]) -> UInt64 {
        var h = FNV64()
        b.withUnsafeBytes { h.add($0) }
        return h.value
    }
}

struct ArchiveReader {
    let bytes: [UInt8], source: String
    var offset = 0
    mutating func u8() throws -> UInt8 { try little(UInt8.self) }
    mutating func u32() throws -> UInt32 { try little(UInt32.self) }
    mutating func u64() throws -> UInt64 { try little(UInt64.self) }
    /// A little-endian integer of T's width.
    mutating func little<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws -> T {
        let n = T.bitWidth / 8
        guard offset + n <= bytes.count else { throw VAEError("\(source) is truncated at byte \(offset)") }
        var v: T = 0
        for k in 0..<n { v |= T(bytes[offset + k]) << T(8 * k) }
        offset += n
        return v
    }
}
