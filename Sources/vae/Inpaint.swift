import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the missing pixels of images (white in the mask) by Metropolis–Hastings sampling of the latent code.",
        discussion: """
        On a folder: vae inpaint RUN --images DIR --mask MASK.png --out-dir OUT (or --masks DIR with one mask per image, \
        same file names). On the test set: --mask center|top|bottom|left|right|random:P, with PSNR on the missing pixels \
        against filling them with the mean training image, a single encode-decode pass and pseudo-Gibbs sampling.
        --fill mean (default) averages the decoder's means along Metropolis–Hastings chains on z whose stationary law is \
        p(z | x_observed) (after Mattei & Frellsen 2018), an estimate of E[x_missing | x_observed]: the best guess in \
        squared error; holes start at the model's own mean image (zero for a model trained with --corrupt mask|box; --start). --fill sample is one pseudo-Gibbs \
        chain's last state: one plausible, sharp image. --fill pseudo-gibbs, importance (importance resampling) and \
        single-pass (one encode-decode) are the alternatives it is compared with.
        A model trained with --corrupt box:0.5 (images with a hole in, the whole image in the loss) inpaints far \
        better than one trained on whole images.
        """)
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Inpaint the images (PNG, JPEG) of this folder.", valueName: "dir"), transform: ImageInputs.folder) var images: String?
    @Option(name: .customLong("class"), help: ArgumentHelp("The label of every image of --images (conditional models).", valueName: "name|index"))
    var imagesClass: String?
    @Option(help: ArgumentHelp("A mask PNG (white = missing) or center|top|bottom|left|right|random:P.", valueName: "mask"))
    var mask: String?
    @Option(help: ArgumentHelp("A folder of mask PNGs named as the images.", valueName: "dir"), transform: ImageInputs.folder) var masks: String?
    @Option(help: "mean (Metropolis–Hastings chains averaged), sample (one pseudo-Gibbs chain), pseudo-gibbs (its chains averaged), importance (importance resampling) or single-pass (one encode-decode).")
    var fill: String = "mean"
    @Option(help: "Steps per chain (--fill importance: chains × iterations samples).") var iterations = 100
    @Option(help: "Chains averaged by --fill mean and pseudo-gibbs (--fill importance: chains × iterations samples).") var chains = 8
    @Option(help: ArgumentHelp("Where the missing pixels start: model-mean (the model's mean image; the default for a model trained on whole images), zero (the default after --corrupt mask|box) or a value in [0, 1].", valueName: "start"))
    var start: String?
    @Option(help: "Test images inpainted (test-set mode; default 1000).") var limit: Int?
    @Option(help: "Images in the picture.") var count = 10
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Output PNG (default RUN/inpaint.png).", valueName: "file.png")) var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("One PNG per inpainted image (with --images: RUN/inpainted unless given).", valueName: "dir")) var outDir: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if runArg.peekArchitecture() == .gru {
            throw ValidationError("vae inpaint draws images, and this is a sequence run: vae sample, reconstruct and interpolate give its text, vae encode its latents")
        }
        guard Inpainting.Fill(rawValue: fill) != nil else { throw ValidationError("--fill must be mean, pseudo-gibbs, sample, importance or single-pass") }
        guard (1...10_000).contains(iterations) else { throw ValidationError("--iterations must be between 1 and 10000") }
        guard (1...1000).contains(chains) else { throw ValidationError("--chains must be between 1 and 1000") }
        if limit != nil && images != nil { throw ValidationError("--limit counts test images; --images DIR reads every image of the folder") }
        guard (limit ?? 1) >= 1, (1...1000).contains(count) else { throw ValidationError("--limit must be ≥ 1 and --count between 1 and 1000") }
        if (mask == nil) == (masks == nil) { throw ValidationError("give exactly one of --mask or --masks") }
        if masks != nil && images == nil { throw ValidationError("--masks DIR goes with --images DIR") }
        try ClassChoice.requireImages(imagesClass, images: images)
        // a built-in mask's spelling is checked before anything is read (a usage error, exit 2)
        if let mask, !mask.lowercased().hasSuffix(".png") {
            do { _ = try InpaintingMask(parsing: mask) } catch let e as VAEError { throw ValidationError(e.message) }
        }
        if let start, start != "model-mean", start != "zero", !(Float(start).map { (0...1).contains($0) } ?? false) {
            throw ValidationError("--start must be model-mean, zero or a value in [0, 1], not \"\(start)\"")
        }
    }

    func run() throws {
        if let masks, AtomicFile.exists(masks) && !AtomicFile.isDirectory(masks) {
            // (it read masks/img0.png/img0.png)
            throw ValidationError("--masks takes a folder of masks named as the images; \(masks) is a file — one mask for every image is --mask \(masks)")
        }
        OutputFile.registerInputFolder(images, "--images")
        OutputFile.registerInputFolder(masks, "--masks")
        if let mask, AtomicFile.regularFileSize(mask) != nil { OutputFile.registerInput(mask, "the --mask file") }
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir, reads: [("--images", images), ("--masks", masks)])
        threadOptions.apply()
        let loaded = try runArg.load()
        let model = try loaded.imageModel("vae inpaint", out: out), shape = model.config.inputShape, d = model.inputSize
        let method = Inpainting.Fill(rawValue: fill)!
        let start: [Float]
        switch self.start {
        case nil: start = Inpainting.start(for: model, trainedWith: loaded.options.corrupt)
        case "model-mean": start = Inpainting.modelMean(model)
        case "zero": start = [Float](repeating: 0, count: d)
        case let v?: start = [Float](repeating: Float(v)!, count: d)
        }
        var rng = RNG(seed: seed)
        if let images {
            let cls = try ClassChoice.forImages(imagesClass, model: model, loaded: loaded, command: "inpaint")   // before reading the folder
            // both places checked before the work (a picture was written before the folder was refused)
            let picture = try runArg.output(out, default: "inpaint.png"), each = try outDir ?? runArg.output(nil, default: "inpainted", option: "--out-dir")
            let options = try ImageInputs.options(loaded, dataOptions)
            let (names, x) = try ImageInputs.load(images, shape: shape, options: options, skipBadFiles: dataOptions.skipBadFiles)
            let condition = ClassChoice.condition(cls, count: x.shape[0], model: model)
            let observed = Tensor(shape: x.shape)
            for (i, name) in names.enumerated() {
                let m: [Float]
                if let masks { m = try ImageInputs.mask(masks + "/" + name, shape: shape, resizedAs: options, forImage: images + "/" + name) }
                else if let mask, mask.lowercased().hasSuffix(".png") { m = try ImageInputs.mask(mask, shape: shape, oneForAll: true, resizedAs: options, forImage: images + "/" + name) }
                else { m = try InpaintingMask(parsing: mask!).make(count: 1, shape: shape, rng: &rng).array }
                (observed.pointer + i * d).update(from: m, count: d)
            }
            let filled = Inpainting.fill(model, x: x, observed: observed, condition: condition, method: method, iterations: iterations,
                                         chains: chains, start: start, rng: &rng)
            try Pictures.write(Figures.pairs(Inpaint.shown(x, observed), filled, shape: shape, count: min(count, x.shape[0])), to: picture)
            try ImageInputs.writeEach(filled, shape: shape, names: names, to: each)
            return
        }
        guard let mask, !mask.lowercased().hasSuffix(".png") || AtomicFile.exists(mask) else {
            throw VAEError("mask file \(mask ?? "") does not exist")
        }
        let data = try runArg.testSet(loaded, dataOptions)
        let n = min(limit ?? 1000, data.test.count)
        let batch = model.conditioned(data.test.batch(0..<n))
        let observed: Tensor
        if mask.lowercased().hasSuffix(".png") {
            let m = try ImageInputs.mask(mask, shape: shape, oneForAll: true)
            observed = Tensor(shape: [n, d])
            for i in 0..<n { (observed.pointer + i * d).update(from: m, count: d) }
        } else {
            observed = try InpaintingMask(parsing: mask).make(count: n, shape: shape, rng: &rng)
        }
        // a mask drawn without a missing pixel (random:1e-9, top on 1-pixel images) has no PSNR to
        // give ("inf dB" four times)
        guard UnsafeBufferPointer(start: observed.pointer, count: observed.count).contains(0) else {
            throw VAEError("mask \(mask) leaves no pixel of the \(Console.counted(n, "test image")) missing (images \(shape[2]) wide × \(shape[1]) tall): nothing to fill, no PSNR — give a larger P or another mask")
        }
        // Baseline: the missing pixels from the mean training image.
        // (the images the model trained on: a --classes run's, those classes')
        let trainedOn = loaded.options.classes.map { data.train.filtered(classes: Set($0)) } ?? data.train
        let meanImage = Inpaint.meanImage(trainedOn)
        let meanFill = Tensor(shape: [n, d])
        for i in 0..<n { for j in 0..<d { meanFill[i * d + j] = observed[i * d + j] != 0 ? batch.x[i * d + j] : meanImage[j] } }
        let single = Inpainting.fill(model, x: batch.x, observed: observed, condition: batch.condition, method: .singlePass,
                                     start: start, rng: &rng)
        let gibbs = Inpainting.fill(model, x: batch.x, observed: observed, condition: batch.condition, method: .pseudoGibbs,
                                    iterations: iterations, chains: chains, start: start, rng: &rng)
        let filled = method == .singlePass ? single : method == .pseudoGibbs ? gibbs
            : Inpainting.fill(model, x: batch.x, observed: observed, condition: batch.condition, method: method,
                              iterations: iterations, chains: chains, start: start, rng: &rng)
        let p = { (t: Tensor) in Inpainting.psnrOnMissing(batch.x, t, observed: observed) }
        if loaded.options.corrupt?.hidesWithZero != true {
            Console.note("this model was trained on whole images; one trained with --corrupt box:0.5 usually inpaints better (docs/generation.md)")
        }
        print(String(format: "PSNR on the missing pixels of %d test images (mask %@): mean training image %.2f dB, single encode-decode %.2f dB, pseudo-Gibbs mean %.2f dB, --fill %@ %.2f dB",
                     n, mask, p(meanFill), p(single), p(gibbs), fill, p(filled)))
        let c = min(count, n)
        let grid = Tensor(shape: [3 * c, d])
        for (row, t) in [batch.x, Inpaint.shown(batch.x, observed), filled].enumerated() {
            (grid.pointer + row * c * d).update(from: t.pointer, count: c * d)
        }
        Console.note("rows: test images, what the model sees (missing pixels grey), inpainted")
        try Pictures.write(Pictures.grid(grid, shape: shape, columns: c, scale: Figures.scale(for: shape)),
                           to: try runArg.output(out, default: "inpaint.png"))
        if let outDir { try ImageInputs.writeEach(filled.rows(0..<c), shape: shape, names: ImageInputs.testNames("inpainted", data.test, c), to: outDir) }
    }

    /// The images with missing pixels shown mid-grey.
    static func shown(_ x: Tensor, _ observed: Tensor) -> Tensor {
        let t = Tensor(shape: x.shape)
        for i in 0..<x.count { t[i] = observed[i] != 0 ? x[i] : 0.5 }
        return t
    }

    /// The mean of a set's items, [D].
    static func meanImage(_ set: any DataSource) -> [Float] {
        let d = set.featureCount
        var acc = [Double](repeating: 0, count: d)
        var start = 0
        while start < set.count {
            let end = min(set.count, start + 1000)
            let x = set.batch(start..<end).x
            for i in 0..<x.count { acc[i % d] += Double(x[i]) }
            start = end
        }
        return acc.map { Float($0 / Double(max(set.count, 1))) }
    }
}
