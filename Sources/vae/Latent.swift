import ArgumentParser
import Foundation
import VAEKit

struct Latent: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Scatter of the test set's latent means coloured by label (PCA to 2-D when latent > 2).")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Test images to plot.") var limit = 5000
    @Option(help: ArgumentHelp("Output PNG (default RUN/latent.png; an SVG is written beside it).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be ≥ 1") }
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        if let out, !out.lowercased().hasSuffix(".png") { throw ValidationError("\(out): the scatter is written as PNG (an SVG beside it); give a file name ending in .png") }
        threadOptions.apply()
        let loaded = try runArg.load()
        let data = try runArg.testSet(loaded, dataOptions)
        let s = try Figures.latentScatter(loaded.model, data, limit: limit)   // any run: images, tables, sequences
        let png = try runArg.output(out, default: "latent.png")
        try Pictures.write(s.png, to: png)
        let svg = (png.lowercased().hasSuffix(".png") ? String(png.dropLast(4)) : png) + ".svg"
        try AtomicFile.write(s.svg, to: svg)
        print("wrote \(svg)")
    }
}
