import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Sample: ParsableCommand {
    /// The most images of a class in the picture's row (a conditional model's sample).
    static let maxRow = 100

    static let configuration = CommandConfiguration(
        abstract: "Draw z ~ N(0, I) and decode: a grid of new images, or (a sequence run) new items, one per line.",
        discussion: "A conditional model samples the class given with --class, or every class (one row each) without it.")
    @OptionGroup var runArg: RunArgument
    @Option(help: "Number of images (per class for a conditional model without --class).") var count: Int?
    @Option(name: .customLong("class"), help: ArgumentHelp("The class to sample (conditional models): a name or an index.", valueName: "name|index"))
    var cls: String?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Output PNG (default RUN/samples.png); a sequence run: a text file, one item per line (default: stdout).", valueName: "file"))
    var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("Also write one PNG per image into this folder.", valueName: "dir"))
    var outDir: String?
    @Option(help: "Sequence runs: the softmax temperature of each drawn token (default 1).") var temperature: Double?
    @Flag(help: "Sequence runs: take the most likely token at every step instead of drawing one.") var greedy = false
    @Flag(name: .customLong("valid-only"), help: "SMILES runs: write only the samples that are valid molecules (the share is always reported).")
    var validOnly = false
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let count { guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000 for an image run, 1000000 for a sequence run") } }
        if let t = temperature { guard t > 0 && t <= 100 else { throw ValidationError("--temperature must be above 0 (and at most 100)") } }
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir)
        threadOptions.apply()
        let loaded = try runArg.load()
        if let seq = loaded.model as? SequenceVAE { return try runSequence(seq) }
        if temperature != nil || greedy || validOnly {   // they were ignored
            throw ValidationError("--temperature, --greedy and --valid-only are for sequence runs; \(runArg.run) is an image run")
        }
        if let count, count > 10_000 { throw ValidationError("--count is at most 10000 for images") }
        let model = try loaded.imageModel("vae sample", out: out)
        let shape = model.config.inputShape
        var rng = RNG(seed: seed)
        let images: Tensor, columns: Int
        var picture: Tensor? = nil   // what the PNG shows, when not every image
        if model.isConditional {
            let names = loaded.config?.data?.classNames ?? []
            let trained = loaded.options.classes
            let classes = try cls.map { [try ClassChoice.resolve($0, model: model, classNames: names, trained: trained)] }
                ?? trained ?? Array(0..<model.config.conditionSize)
            let per = count ?? (classes.count == 1 ? 64 : 10)
            images = try Analysis.sample(model, classes: classes, perClass: per, rng: &rng)
            // a row per class of at most 100 (10,000 in a row made a picture no viewer opens); --out-dir has every image
            let shown = classes.count == 1 ? per : min(per, Sample.maxRow)
            columns = classes.count == 1 ? Int(Double(per).squareRoot().rounded(.up)) : shown
            if classes.count > 1 {
                Console.note("one row per class: \(classes.map { $0 < names.count ? names[$0] : String($0) }.joined(separator: ", "))"
                             + (shown < per ? "; the picture shows the first \(shown) of each (--out-dir writes all \(per))" : ""))
            }
            if shown < per {
                let d = images.rowSize
                let t = Tensor(shape: [classes.count * shown, d])
                for c in 0..<classes.count { (t.pointer + c * shown * d).update(from: images.pointer + c * per * d, count: shown * d) }
                picture = t
            }
        } else {
            if cls != nil { throw ValidationError("--class needs a conditional model; train one with `vae train --conditional`") }
            let n = count ?? 64
            images = try Analysis.sample(model, count: n, rng: &rng)
            columns = Int(Double(n).squareRoot().rounded(.up))
        }
        try Pictures.write(Pictures.grid(picture ?? images, shape: shape, columns: columns, scale: Figures.scale(for: shape)),
                           to: try runArg.output(out, default: "samples.png"))
        if let outDir { try ImageInputs.writeEach(images, shape: shape, names: ImageInputs.numbered("sample", images.shape[0]), to: outDir) }
    }
}

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Test images (or --images DIR) and their reconstructions, side by side.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Reconstruct the images (PNG, JPEG) of this folder instead of test images.", valueName: "dir"), transform: ImageInputs.folder) var images: String?
    @Option(name: .customLong("class"), help: ArgumentHelp("The label of every image of --images (conditional models).", valueName: "name|index"))
    var imagesClass: String?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Sequence runs: reconstruct these items instead of test items.", valueName: "item"))
    var items: [String] = []
    @Option(help: "Number of test images (default 30; not with --items, which reconstructs those).") var count: Int?
    @Option(help: ArgumentHelp("Output PNG (default RUN/reconstructions.png); a sequence run: a text file (default: stdout).", valueName: "file"))
    var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("Also write one PNG per reconstruction into this folder.", valueName: "dir"))
    var outDir: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...10_000).contains(count ?? 30) else { throw ValidationError("--count must be between 1 and 10000") }
        if count != nil && !items.isEmpty { throw ValidationError("--count takes the first test items; --items reconstructs the items given") }
        try ClassChoice.requireImages(imagesClass, images: images)
    }

    func run() throws {
        OutputFile.registerInputFolder(images, "--images")
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir, reads: [("--images", images)])
        threadOptions.apply()
        let loaded = try runArg.load()
        if let seq = loaded.model as? SequenceVAE { return try runSequence(loaded, seq) }
        if !items.isEmpty { throw ValidationError("--items is for sequence runs; give an image run --images DIR") }
        let model = try loaded.imageModel("vae reconstruct", out: out), shape = model.config.inputShape
        let x: Tensor, names: [String], condition: Tensor?
        if let images {
            let cls = try ClassChoice.forImages(imagesClass, model: model, loaded: loaded, command: "reconstruct")   // before reading the folder
            (names, x) = try ImageInputs.load(images, shape: shape, options: ImageInputs.options(loaded, dataOptions),
                                                   skipBadFiles: dataOptions.skipBadFiles)
            condition = ClassChoice.condition(cls, count: x.shape[0], model: model)
        } else {
            let data = try runArg.testSet(loaded, dataOptions)
            let n = min(count ?? 30, data.test.count)
            if let c = count, c > n { Console.note("note: --count \(c): \(data.directory) has \(Console.counted(n, "test image")), all of them shown") }
            let batch = model.conditioned(data.test.batch(0..<n))
            (x, condition) = (batch.x, batch.condition)
            names = ImageInputs.testNames("test", data.test, n)
        }
        let r = model.reconstruct(x, condition: condition)
        try Pictures.write(Figures.pairs(x, r, shape: shape, count: min(count ?? 30, x.shape[0])), to: try runArg.output(out, default: "reconstructions.png"))
        if let outDir { try ImageInputs.writeEach(r, shape: shape, names: names, to: outDir) }
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode the straight line between the latent means of two test images.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Id of the first test image, as vae encode writes it (a sequence run: the item's line in its file, or the item itself).", valueName: "id|item"))
    var from: String
    @Option(help: ArgumentHelp("Id of the second test image (a sequence run: a line id or the item).", valueName: "id|item"))
    var to: String
    @Option(help: "Decodings along the straight line between the latent means: images, S points from --from's to --to's, both included (the picture adds the two images at its ends); sequences, the decodings of the two ends and of S points between them.") var steps = 10
    @Option(name: .customLong("class"), help: ArgumentHelp("Decode under this class (conditional models; default: the first image's label).", valueName: "name|index"))
    var cls: String?
    @Option(help: ArgumentHelp("Output PNG (default RUN/interpolation.png); a sequence run: a text file (default: stdout).", valueName: "file")) var out: String?
    @Option(name: .customLong("out-dir"), help: ArgumentHelp("Also write one PNG per step into this folder.", valueName: "dir"))
    var outDir: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (2...1000).contains(steps) else { throw ValidationError("--steps must be between 2 and 1000") }
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        try OutputFile.requireOutDir(outDir)
        threadOptions.apply()
        let loaded = try runArg.load()
        if let seq = loaded.model as? SequenceVAE { return try runSequence(loaded, seq) }
        let model = try loaded.imageModel("vae interpolate", out: out)
        guard let fromID = Int(from), let toID = Int(to) else { throw ValidationError("--from and --to take test image ids (as vae encode writes them), e.g. --from 0 --to 7") }
        let data = try runArg.testSet(loaded, dataOptions)
        var decodeClass: Int? = nil
        if let cls { decodeClass = try ClassChoice.resolve(cls, model: model, classNames: data.classNames, trained: loaded.options.classes) }
        // the ids vae encode and vae anomaly write: a conditional model trained on some classes reads
        // only their test images, each still named by its index in the whole test set
        let ids = (data.test as? ImageSet)?.sourceIndices
        var positions: [Int] = []
        for (flag, id) in [("--from", fromID), ("--to", toID)] {
            if let ids {
                guard let p = ids.firstIndex(of: id) else {
                    throw ValidationError("\(flag) \(id) is not a test image of the classes the model was trained on (vae encode lists their ids)")
                }
                positions.append(p)
            } else {
                guard (0..<data.test.count).contains(id) else {
                    throw ValidationError("\(flag) \(id) is out of range: the test set has \(data.test.count) images (0…\(data.test.count - 1))")
                }
                positions.append(id)
            }
        }
        let (from, to) = (positions[0], positions[1])
        if model.isConditional && cls == nil && data.test.hasLabels {   // (manifold says which class it decodes; this said nothing)
            let c = data.test.label(from), names = data.classNames
            Console.note("note: a conditional model; decoding the first image's class, \(c < names.count && names[c] != String(c) ? "\(c) (\(names[c]))" : String(c)) (choose with --class)")
        }
        let line = Figures.interpolationLine(model, data.test, from: from, to: to, steps: steps, decodeClass: decodeClass)
        let shape = model.config.inputShape
        try Pictures.write(Pictures.grid(line, shape: shape, columns: steps + 2, scale: 2 * Figures.scale(for: shape)),
                           to: try runArg.output(out, default: "interpolation.png"))
        if let outDir { try ImageInputs.writeEach(line, shape: shape, names: ImageInputs.numbered("step", line.shape[0]), to: outDir) }
    }
}

struct Manifold: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode a regular grid over two latent dimensions (the classic 2-D manifold).")
    @OptionGroup var runArg: RunArgument
    @Option(help: "Images per side.") var grid = 15
    @Option(help: "The grid spans [-range, range] in each dimension.") var range = 2.0
    @Option(name: .customLong("class"), help: ArgumentHelp("Decode under this class (conditional models; default: the first class the run trained on).", valueName: "name|index"))
    var cls: String?
    @Option(help: ArgumentHelp("Output PNG (default RUN/manifold.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...100).contains(grid) else { throw ValidationError("--grid must be between 1 and 100") }
        // (past 32-bit floats' range the grid's z are ±inf, and the tiles garbage)
        guard range > 0 && Float(range).isFinite else { throw ValidationError("--range must be a positive number within 32-bit floats' range (3.4e38)") }
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        threadOptions.apply()
        let loaded = try runArg.load()
        let model = try loaded.imageModel("vae manifold", out: out)
        if model.latent > 2 {
            Console.note("note: latent has \(model.latent) dimensions; the grid spans z₁ and z₂ with the others at 0")
        } else if model.latent == 1 {
            Console.note("note: latent has 1 dimension: one row of \(Console.counted(grid, "image")) over z₁")
        }
        var c: Int? = nil
        if let cls { c = try ClassChoice.resolve(cls, model: model, classNames: loaded.config?.data?.classNames ?? [], trained: loaded.options.classes) }
        else if model.isConditional {
            // the first class the run trained on (a --classes run never saw class 0's condition)
            c = loaded.options.classes?.min() ?? 0
            let names = loaded.config?.data?.classNames ?? []
            Console.note("note: a conditional model; decoding class \(c! < names.count && names[c!] != String(c!) ? "\(c!) (\(names[c!]))" : String(c!)) (choose with --class)")
        }
        try Pictures.write(Figures.manifold(model, grid: grid, range: range, decodeClass: c), to: try runArg.output(out, default: "manifold.png"))
    }
}
