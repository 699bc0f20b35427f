import ArgumentParser
import Foundation
import VAECore
import VAEKit
import VAEImageIO

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress images losslessly with a trained VAE (bits-back coding with ANS).",
        discussion: """
        An image costs about the model's −ELBO in bits (Townsend et al. 2019, BB-ANS); the archive decodes on any \
        machine with the same run (vae decompress), whatever its CPU or thread count. --data takes an IDX image file \
        (.gz or plain). A Bernoulli model codes binary pixels (0 or 255; --binarize draws them from the intensities as \
        vae evaluate does for a model trained with --binarize); a --likelihood beta-binomial or discretized-logistic model \
        codes 8-bit pixels as they are. Prints bits per dimension, the share that is the initial bits, and images/s.
        """)
    @OptionGroup var runArg: RunArgument
    @OptionGroup var threadOptions: ThreadOptions
    @Option(help: ArgumentHelp("An IDX image file (e.g. t10k-images-idx3-ubyte.gz; - reads standard input).", valueName: "file"),
            transform: { $0 == "-" ? "/dev/stdin" : $0 }) var data: String?
    @Option(help: ArgumentHelp("A folder of gray PNGs of the model's size, 8 bits or fewer per pixel (or a gray palette), decompressed as 8-bit ones; their names are stored.", valueName: "dir"), transform: ImageInputs.folder) var images: String?
    @Option(help: ArgumentHelp("The archive to write (- writes standard output).", valueName: "file"), transform: { $0 == "-" ? "/dev/stdout" : $0 }) var out: String
    @Flag(help: "Binarize the images first, pixel ~ Bernoulli(intensity), with vae evaluate's seed (the whole file, in order).")
    var binarize = false
    @Option(help: "Compress only the first N images.") var limit: Int?

    func validate() throws {
        if let a = runArg.peekArchitecture(), a != .mlp { throw ValidationError("vae compress works on mlp models; this run is a \(a.rawValue) model") }
        if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
        if (data == nil) == (images == nil) { throw ValidationError("give exactly one of --data FILE.idx or --images DIR") }
    }

    func run() throws {
        threadOptions.apply()
        try CompressIO.refuseTerminal(out, what: "the archive")
        try OutputFile.requireFolder(out)
        if let data, AtomicFile.sameFile(out, data) { throw VAEError("--out \(out) is the input file \(data): write the archive to another file") }
        if let images, AtomicFile.isDirectory(images), AtomicFile.exists(out),
           let input = try ImageInputs.files(in: images, pngOnly: true).first(where: { AtomicFile.sameFile(out, images + "/" + $0) }) {
            throw VAEError("--out \(out) is the input image \(images)/\(input): write the archive to another file")
        }
        // an archive named as an image (into the folder it came from, it broke the next compress)
        if [".png", ".jpg", ".jpeg"].contains(where: { out.lowercased().hasSuffix($0) }) {
            throw ValidationError("--out \(out): an archive is no image; give it a name of its own (e.g. images.bba)")
        }
        let loaded = try runArg.load()
        let codec = try CompressIO.codec(loaded, "vae compress")
        var names: [String] = []
        var images: IDX.Images
        if let data {
            images = try CompressIO.readIDX(data)
            guard images.count > 0 else { throw VAEError("\(data) holds no images: nothing to compress") }
            guard [1, images.rows, images.cols] == codec.shape else {
                throw VAEError("\(data) holds \(images.rows)×\(images.cols) images; the model takes \(codec.shape.map(String.init).joined(separator: "×"))")
            }
        } else {
            (names, images) = try CompressIO.readPNGs(self.images!, shape: codec.shape, limit: limit)
        }
        if binarize && codec.kind != .binary {
            throw ValidationError("--binarize is for a Bernoulli model; this one codes 8-bit pixels as they are")
        }
        if binarize {
            var rng = RNG(seed: Trainer.testBinarizationSeed)
            images.pixels = images.pixels.map { rng.uniform() < Float($0) / 255 ? 255 : 0 }
        }
        let n = min(limit ?? images.count, images.count), d = codec.pixels
        let start = Date()
        let progress = Progress(total: n, label: "compressing")
        let (archive, stats) = try codec.compress(Array(images.pixels[0..<(n * d)]), count: n, names: Array(names.prefix(n)),
                                                  source: data ?? self.images!, progress: { progress.update($0) })
        progress.finish()
        let summaryStream = OutputFile.summary(for: out)   // (before the write: it may replace what stdout is)
        try AtomicFile.write(archive, to: out)
        let seconds = Date().timeIntervalSince(start)
        summaryStream(String(format: "compressed %@ into %@: %d bytes, %.4f bits/dim (initial bits %.5f bits/dim, %.2f%% of it); %.0f images/s",
                             Console.counted(n, "image"), out, stats.bytes, stats.bitsPerDimension, stats.initialBitsPerDimension,
                             100 * stats.initialBitsPerDimension / stats.bitsPerDimension, Double(n) / max(seconds, 1e-9)))
    }
}

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decompress an archive of vae compress: the images back exactly, as an IDX file or a folder of PNGs.",
        discussion: "Needs the run that compressed it (the archive names its model's hash); a damaged, truncated or foreign file is refused, never decoded into wrong pixels.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var threadOptions: ThreadOptions
    @Argument(help: ArgumentHelp("The archive (- reads standard input).", valueName: "archive"), transform: { $0 == "-" ? "/dev/stdin" : $0 }) var archive: String
    @Option(help: ArgumentHelp("The IDX image file to write (a .gz name is gzipped, as MNIST's files; - writes standard output).", valueName: "file"),
            transform: { $0 == "-" ? "/dev/stdout" : $0 }) var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("A folder to write one gray PNG per image into (the stored names, else image-00001.png …).", valueName: "dir"))
    var outDir: String?

    func validate() throws {
        if (out == nil) == (outDir == nil) { throw ValidationError("give exactly one of --out FILE.idx or --out-dir DIR") }
    }

    func run() throws {
        threadOptions.apply()
        if let out { try CompressIO.refuseTerminal(out, what: "an IDX file") }
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir)   // made once the archive has decoded
        if let out, AtomicFile.sameFile(out, archive) { throw VAEError("--out \(out) is the archive itself: write the images to another file") }
        let loaded = try runArg.load()
        let codec = try CompressIO.codec(loaded, "vae decompress")
        guard AtomicFile.exists(archive) else { throw VAEError("archive \(archive) does not exist") }
        let bytes = try Decompress.readArchive(archive)
        let start = Date()
        let progress = Progress(total: BitsBackCodec.imageCount(prefix: Array(bytes.prefix(BitsBackCodec.fixedHeaderBytes))), label: "decompressing")
        let (pixels, count, names) = try codec.decompress(bytes, source: archive, progress: { progress.update($0) })
        progress.finish()
        let target: String
        let summaryStream = out.map(OutputFile.summary(for:)) ?? { print($0) }
        if let out {
            let idx = try IDX.encodeImages(pixels, count: count, rows: codec.shape[1], cols: codec.shape[2])
            // a .gz name is gzipped, as the IDX files MNIST ships (and every --data reads)
            try AtomicFile.write(Gzip.forName(out, idx, level: 9), to: out)
            target = out
        } else {
            let dir = outDir!, d = codec.pixels
            let files = names.isEmpty ? (0..<count).map { String(format: "image-%05d.png", $0 + 1) } : names
            // every name checked before the first file is written: no half-decoded folder
            if let link = files.first(where: { AtomicFile.isSymbolicLink(dir + "/" + $0) }) {
                // a name from the archive must not write through a link to a file outside the folder
                throw VAEError("cannot write \(dir)/\(link): it is a symbolic link, and the archive's images are written into \(dir) only; remove it or decompress into another folder (nothing was written)")
            }
            if let own = files.first(where: { AtomicFile.sameFile(dir + "/" + $0, archive) }) {
                throw VAEError("cannot write \(dir)/\(own): it is the archive itself; decompress into another folder (nothing was written)")
            }
            if let twice = Dictionary(grouping: files, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
                throw VAEError("\(archive) names the image \(twice) twice; the archive is damaged (nothing was written)")
            }
            if let blocked = files.first(where: { AtomicFile.isDirectory(dir + "/" + $0) }) {
                throw VAEError("cannot write \(dir)/\(blocked): a folder of that name is in the way (nothing was written)")
            }
            // a new folder all or nothing (an interrupted decompression left 4,351 of 10,000 images
            // and no word); an existing one is written into, image by image
            try Export.wholeFolder(dir, option: "--out-dir") { folder in
                for (i, name) in files.enumerated() {
                    let png = PNG.encode(width: codec.shape[2], height: codec.shape[1], channels: 1, pixels: Array(pixels[(i * d)..<((i + 1) * d)]))
                    try AtomicFile.write(png, to: folder + "/" + name)
                }
            }
            target = dir
        }
        summaryStream(String(format: "decompressed %@ into %@; %.0f images/s", Console.counted(count, "image"), target, Double(count) / max(Date().timeIntervalSince(start), 1e-9)))
    }
}

extension Decompress {
    /// The archive's bytes, no more than its header can account for: a regular file is refused from
    /// its size, a pipe or device read in chunks and refused as soon as it runs past the bound (a
    /// stream of gigabytes took gigabytes of memory to refuse).
    static func readArchive(_ archive: String) throws -> [UInt8] {
        func damaged(_ size: String, _ bound: Int) -> VAEError {
            VAEError("\(archive) is damaged: it is \(size) bytes, more than the \(ProgressDisplay.grouped(Double(bound))) bytes its header can account for (the file was appended to or altered)")
        }
        let notArchive = VAEError("\(archive) is not a SwiftVAE compressed archive (no SVAEBBA1 header)")
        if let size = AtomicFile.regularFileSize(archive) {
            // the magic first: another kind of file is refused before it is read
            let head = try AtomicFile.readPrefix(path: archive, count: BitsBackCodec.fixedHeaderBytes)
            guard Array(head.prefix(8)) == BitsBackCodec.magic else { throw notArchive }
            var limit = 1 << 31
            if let bound = BitsBackCodec.sizeBound(prefix: head) {
                if size > bound { throw damaged(ProgressDisplay.grouped(Double(size)), bound) }
                limit = bound
            }
            return try AtomicFile.readAll(path: archive, maxBytes: limit)
        }
        if AtomicFile.isDirectory(archive) { throw VAEError("\(archive) is a folder, not an archive: give the file vae compress wrote") }
        guard let handle = FileHandle(forReadingAtPath: archive) else { throw VAEError("cannot read \(archive): \(VAEError.errnoText())") }
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        func read(upTo total: Int) throws {
            while bytes.count < total {
                guard let chunk = try handle.read(upToCount: min(total - bytes.count, 1 << 20)), !chunk.isEmpty else { return }
                bytes += chunk
            }
        }
        try read(upTo: BitsBackCodec.fixedHeaderBytes)
        guard Array(bytes.prefix(8)) == BitsBackCodec.magic else { throw notArchive }
        let bound = BitsBackCodec.sizeBound(prefix: bytes) ?? (1 << 31)
        try read(upTo: bound + 1)
        if bytes.count > bound { throw damaged("over \(ProgressDisplay.grouped(Double(bound)))", bound) }
        return bytes
    }
}

enum CompressIO {
    /// Binary output to standard output that is a terminal: refused, as gzip and xz do (the bytes
    /// filled the terminal, exit 0).
    static func refuseTerminal(_ out: String, what: String) throws {
        guard out == "/dev/stdout" || AtomicFile.sameFile(out, "/dev/stdout"), isatty(STDOUT_FILENO) == 1 else { return }
        throw ValidationError("--out - writes \(what), binary, to standard output, which is a terminal: redirect it (> FILE) or pipe it, or give --out FILE")
    }

    /// The run's bits-back codec; a run it cannot code (not an mlp — named as what it is, not as
    /// "a sequence model" — conditional, a table, a Gaussian likelihood) is a usage error, as for
    /// the other commands a run does not take.
    static func codec(_ loaded: Checkpoint.Loaded, _ what: String) throws -> BitsBackCodec {
        let architecture = loaded.model.config.architecture
        guard architecture == .mlp else { throw ValidationError("\(what) works on mlp models; this run is a \(architecture.rawValue) model") }
        let vae = try loaded.feedForward(what)
        do { return try BitsBackCodec(model: vae) } catch let e as VAEError { throw ValidationError("\(what): \(e.message)") }
    }

    /// The PNGs of a folder as one 8-bit gray plane each, exactly as stored: no conversion, so
    /// that decompression gives the same pixels back.
    /// `limit`: the first that many files only (--limit: the others were all decoded and checked).
    static func readPNGs(_ dir: String, shape: [Int], limit: Int? = nil) throws -> ([String], IDX.Images) {
        let all = try ImageInputs.files(in: dir, pngOnly: true)   // JPEG is lossy: no exact pixels to give back
        let names = Array(all.prefix(limit ?? all.count))
        guard shape[0] == 1 else { throw ValidationError("vae compress codes gray images; this model takes \(shape[0]) channels") }
        var pixels: [UInt8] = []
        for name in names {
            let path = dir + "/" + name
            let img: (width: Int, height: Int, channels: Int, pixels: [UInt8])
            let header: PNGHeader
            do {
                let bytes = try AtomicFile.readAll(path: path, maxBytes: 64 << 20)
                header = try PNG.header(bytes)
                img = try PNG.decode(bytes)
            } catch let e as VAEError { throw e } catch {
                throw VAEError("\(path): not a readable PNG (\(error))")
            }
            // the decoder gives 8 bits per sample: a 16-bit file would come back without its low 8 bits
            guard header.bitDepth <= 8 else {
                throw VAEError("\(path) has 16 bits per sample; vae compress codes 8-bit gray PNGs exactly and would lose the low 8 bits (convert it to 8 bits first)")
            }
            guard !(header.colorType == 0 && img.channels != 1) else {
                throw VAEError("\(path) is gray with a transparent gray level (a tRNS chunk); vae compress codes opaque gray pixels only (remove the transparency first)")
            }
            guard img.width == shape[2], img.height == shape[1] else {
                throw VAEError("\(path) is \(img.width)×\(img.height); the model takes \(shape[2])×\(shape[1]) images")
            }
            var gray = img.pixels
            // a palette of gray entries only (R = G = B, opaque) holds gray pixels: taken as they are
            if header.colorType == 3 && img.channels == 3 {
                let rgb = img.pixels, n = img.width * img.height
                var allGray = true
                gray = [UInt8](repeating: 0, count: n)
                for i in 0..<n {
                    let r: UInt8 = rgb[3 * i], g: UInt8 = rgb[3 * i + 1], b: UInt8 = rgb[3 * i + 2]
                    if r != g || r != b { allGray = false; break }
                    gray[i] = r
                }
                if !allGray {
                    throw VAEError("\(path) is a palette PNG with colours; vae compress codes 8-bit gray PNGs exactly (convert it to gray first)")
                }
            } else if img.channels != 1 {
                throw VAEError("\(path) has \(img.channels) channels; vae compress codes 8-bit gray PNGs exactly (convert it to gray first)")
            }
            pixels += gray
        }
        return (names, IDX.Images(count: names.count, rows: shape[1], cols: shape[2], pixels: pixels))
    }

    static func readIDX(_ path: String) throws -> IDX.Images {
        guard AtomicFile.exists(path) else { throw VAEError("image file \(path) does not exist") }
        return try IDX.parseImages(Dataset.readMaybeGzip(path), source: path)
    }
}
