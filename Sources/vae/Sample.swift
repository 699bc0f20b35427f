import ArgumentParser
import VAECore
import VAEKit

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw z ~ N(0, I) and decode: a grid of new images.")
    @OptionGroup var runArg: RunArgument
    @Option(help: "Number of images.") var count = 64
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Output PNG (default RUN/samples.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        try Pictures.write(Figures.samples(loaded.model, count: count, seed: seed), to: runArg.output(out, default: "samples.png"))
    }
}

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Test images and their reconstructions, side by side.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Number of test images.") var count = 30
    @Option(help: ArgumentHelp("Output PNG (default RUN/reconstructions.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        let data = try runArg.testSet(loaded, dataOptions)
        try Pictures.write(Figures.reconstructions(loaded.model, data.test, count: count),
                           to: runArg.output(out, default: "reconstructions.png"))
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode the straight line between the latent means of two test images.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Index of the first test image.") var from: Int
    @Option(help: "Index of the second test image.") var to: Int
    @Option(help: "Decoded steps between them.") var steps = 10
    @Option(help: ArgumentHelp("Output PNG (default RUN/interpolation.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (2...1000).contains(steps) else { throw ValidationError("--steps must be between 2 and 1000") }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        let data = try runArg.testSet(loaded, dataOptions)
        for (flag, i) in [("--from", from), ("--to", to)] where !(0..<data.test.count).contains(i) {
            throw VAEError("\(flag) \(i) is out of range: the test set has \(data.test.count) images (0…\(data.test.count - 1))")
        }
        try Pictures.write(Figures.interpolation(loaded.model, data.test, from: from, to: to, steps: steps),
                           to: runArg.output(out, default: "interpolation.png"))
    }
}

struct Manifold: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode a regular grid over two latent dimensions (the classic 2-D manifold).")
    @OptionGroup var runArg: RunArgument
    @Option(help: "Images per side.") var grid = 15
    @Option(help: "The grid spans [-range, range] in each dimension.") var range = 2.0
    @Option(help: ArgumentHelp("Output PNG (default RUN/manifold.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...100).contains(grid) else { throw ValidationError("--grid must be between 1 and 100") }
        guard range > 0 && range.isFinite else { throw ValidationError("--range must be a positive number") }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        if loaded.model.latent > 2 {
            Console.note("note: latent has \(loaded.model.latent) dimensions; the grid spans z₁ and z₂ with the others at 0")
        }
        try Pictures.write(Figures.manifold(loaded.model, grid: grid, range: range), to: runArg.output(out, default: "manifold.png"))
    }
}
