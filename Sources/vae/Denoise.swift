import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Denoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clean noisy images: a folder (--images DIR) or noisy copies of test images, with PSNR against a 3×3 median filter.",
        discussion: "Train the model for it with `vae train --corrupt gaussian:0.3` (a denoising VAE); a VAE trained on clean images only is a weak denoiser.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Denoise the images (PNG, JPEG) of this folder (no clean truth: no PSNR).", valueName: "dir"), transform: ImageInputs.folder) var images: String?
    @Option(name: .customLong("class"), help: ArgumentHelp("The label of every image of --images (conditional models).", valueName: "name|index"))
    var imagesClass: String?
    @Option(name: .customLong("noise"), help: "Standard deviation of the noise added to test images (pixels in [0, 1], clipped; default 0.3; not with --images, whose images are denoised as they are).") var noiseGiven: Double?
    var noise: Double { noiseGiven ?? 0.3 }
    @Option(help: "Images in the picture.") var count = 10
    @Option(help: "Test images over which PSNR is averaged (default 1000; not with --images, which reads the whole folder).") var limit: Int?
    @Option(help: "Random seed.") var seed: UInt64 = Denoise.defaultSeed
    /// (the report's denoising strips draw their noise so, and name the command that gives their numbers)
    static let defaultSeed: UInt64 = 1
    @Option(help: ArgumentHelp("Output PNG (default RUN/denoise.png).", valueName: "file.png")) var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("Also write one PNG per denoised image into this folder (with --images: RUN/denoised unless given).", valueName: "dir"))
    var outDir: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        // 0 is no noise: no PSNR to measure ("inf dB"); --images denoises a folder as it is
        guard noise > 0 && noise <= 10 else { throw ValidationError("--noise must be above 0 (and at most 10); to denoise images as they are, give --images DIR") }
        guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
        guard (limit ?? 1) >= 1 else { throw ValidationError("--limit must be ≥ 1") }
        if limit != nil && images != nil { throw ValidationError("--limit counts test images; --images DIR reads every image of the folder") }
        // it was accepted and changed nothing: the folder's images are the noisy ones
        if noiseGiven != nil && images != nil { throw ValidationError("--noise is added to test images; --images DIR denoises the folder's images as they are: drop --noise") }
        try ClassChoice.requireImages(imagesClass, images: images)
    }

    func run() throws {
        OutputFile.registerInputFolder(images, "--images")
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir, reads: [("--images", images)])
        threadOptions.apply()
        let loaded = try runArg.load()
        let model = try loaded.imageModel("vae denoise", out: out), shape = model.config.inputShape
        if let images {
            let cls = try ClassChoice.forImages(imagesClass, model: model, loaded: loaded, command: "denoise")   // before reading the folder
            let (names, noisy) = try ImageInputs.load(images, shape: shape, options: ImageInputs.options(loaded, dataOptions),
                                                   skipBadFiles: dataOptions.skipBadFiles)
            // both places checked before the work (a picture was written before the folder was refused)
            let picture = try runArg.output(out, default: "denoise.png"), each = try outDir ?? runArg.output(nil, default: "denoised", option: "--out-dir")
            let condition = ClassChoice.condition(cls, count: noisy.shape[0], model: model)
            let denoised = model.reconstruct(noisy, condition: condition)
            let c = min(count, noisy.shape[0])
            try Pictures.write(Figures.pairs(noisy, denoised, shape: shape, count: c), to: picture)
            try ImageInputs.writeEach(denoised, shape: shape, names: names, to: each)
            return
        }
        let data = try runArg.testSet(loaded, dataOptions)
        let n = min(limit ?? 1000, data.test.count)
        var rng = RNG(seed: seed)
        let batch = model.conditioned(data.test.batch(0..<n))
        let clean = batch.x
        let noisy = Analysis.addNoise(clean, sigma: noise, rng: &rng)
        let denoised = model.reconstruct(noisy, condition: batch.condition)
        let median = Analysis.medianFilter3x3(noisy, shape: shape)
        let before = Analysis.psnr(clean, noisy), after = Analysis.psnr(clean, denoised), med = Analysis.psnr(clean, median)
        print(String(format: "PSNR over %d test images, noise σ = %.2f: noisy %.2f dB → VAE %.2f dB (%+.2f dB); 3×3 median filter %.2f dB",
                     n, noise, before, after, after - before, med))
        let c = min(count, n), d = clean.rowSize
        let grid = Tensor(shape: [4 * c, d])
        for (row, t) in [clean, noisy, median, denoised].enumerated() {
            (grid.pointer + row * c * d).update(from: t.pointer, count: c * d)
        }
        Console.note("rows: clean, noisy, median filter, VAE")
        try Pictures.write(Pictures.grid(grid, shape: shape, columns: c, scale: Figures.scale(for: shape)),
                           to: try runArg.output(out, default: "denoise.png"))
        if let outDir { try ImageInputs.writeEach(denoised.rows(0..<c), shape: shape, names: ImageInputs.testNames("denoised", data.test, c), to: outDir) }
    }
}
