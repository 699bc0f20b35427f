import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Impute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the missing cells of a CSV table (empty, NA, NaN, N/A, #N/A, NULL, ?) in the user's units; every observed cell is written back unchanged.",
        discussion: """
        The model must have been trained on a table (vae train --data FILE.csv). Missing cells are filled by importance \
        resampling (`vae inpaint --fill importance`): a short pseudo-Gibbs chain gives a first guess; z is drawn around its \
        code and weighted by the likelihood of the observed cells; the weighted mean of the decoder's means fills the \
        missing cells (numbers: the mean; categories: the most probable level). A category level the model \
        has not seen is kept as it is (and named in a note); the model reads it as missing.
        """)
    @OptionGroup var runArg: RunArgument
    @Option(help: ArgumentHelp("The CSV file with missing cells (- reads standard input).", valueName: "file.csv"),
            transform: { $0 == "-" ? "/dev/stdin" : $0 })
    var data: String
    @Option(help: ArgumentHelp("Where to write the filled table (- writes standard output; a .gz name is gzipped).", valueName: "file.csv"),
            transform: { $0 == "-" ? "/dev/stdout" : $0 }) var out: String
    @Option(help: "importance (importance resampling, the default) or mean (Metropolis–Hastings chains on z averaged, as vae inpaint --fill mean).")
    var fill = "importance"
    @Option(help: "Pseudo-Gibbs iterations per chain (--fill mean: Metropolis–Hastings steps).") var iterations = 30
    @Option(help: "Chains averaged.") var chains = 8
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("The run's --label, accepted as the other commands accept it (the run's table fixes it).", valueName: "column"))
    var label: String?
    @Option(help: ArgumentHelp("The run's --ignore, accepted likewise.", valueName: "column[,column…]"))
    var ignore: String?
    @OptionGroup var threadOptions: ThreadOptions

    /// Standard deviations from a column's training mean beyond which a value (observed, or a fill)
    /// is taken as an error of the data, not something to impute from.
    static let farOutside: Float = 1000

    /// Whether one of the `count` values at `x` that `mask` shows (all without one) lies over
    /// `farOutside` standard deviations out (or overflowed): vae impute leaves such a row unfilled,
    /// vae encode writes it without a code.
    static func isFarOut(_ x: UnsafePointer<Float>, mask: UnsafePointer<Float>?, count: Int) -> Bool {
        (0..<count).contains { j in (mask.map { $0[j] > 0 } ?? true) && !(abs(x[j]) <= farOutside) }
    }

    func validate() throws {
        guard fill == "importance" || fill == "mean" else { throw ValidationError("--fill must be importance or mean") }
        guard (1...10_000).contains(iterations) else { throw ValidationError("--iterations must be between 1 and 10000") }
        guard (1...1000).contains(chains) else { throw ValidationError("--chains must be between 1 and 1000") }
        try DataOptions.validateTableFlags(label: label, ignore: ignore)
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        threadOptions.apply()
        // the filled table goes to a new file: the input, or the run's own training table, overwritten
        // would be lost (the run could no longer read its data)
        if AtomicFile.sameFile(out, data) { throw VAEError("--out \(out) is the input file \(data): write the filled table to another file") }
        let loaded = try runArg.load()   // (refuses an --out that is the table the run trained on)
        guard let info = loaded.table else {
            if loaded.model is SequenceVAE {
                throw ValidationError("\(runArg.run) is a sequence run; vae impute fills the missing cells of tables")
            }
            throw ValidationError("\(runArg.run) was trained on images; vae impute fills tables (use vae inpaint for images)")
        }
        try DataOptions.checkTableFlags(label: label, ignore: ignore, info.schema)
        let model = try loaded.feedForward("vae impute")
        if AtomicFile.isDirectory(data) { throw DataOptions.folderForATable(data) }   // (as the other commands say it)
        let table = try CSVTable.read(path: data)
        let rows = try TableEncoder.apply(info.schema, to: table, unseenLevels: .missing)
        guard rows.count > 0 else { throw VAEError("\(data) has no data rows") }
        try RunArgument.requireLabels(loaded, hasLabels: rows.hasLabels, source: data, run: runArg.run)
        try RunArgument.checkConditionClasses(loaded, info.schema.classNames + rows.unseenClasses, source: data)
        // a conditional model reads each row under its label: a row whose label cell is empty cannot
        // be filled, and is written back with its missing cells empty — the other rows filled (the
        // whole file was refused)
        let unlabelled = model.isConditional && rows.hasLabels ? Set((0..<rows.count).filter { rows.label($0) < 0 }) : []
        let w = rows.width
        var means = [Float](repeating: 0, count: rows.count * w)
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + 1000)
            let batch = model.conditioned(rows.batch(start..<end))
            let observed = batch.mask ?? { let t = Tensor(shape: batch.x.shape); t.fill(1); return t }()
            // each row's draws its own (seeded by --seed and the row): a row is filled the same alone,
            // among others or twice in a file (three copies of a row were filled 4.8, 4.7, 4.7)
            var rng = RNG(seed: seed)
            let filled = Inpainting.fill(model, x: batch.x, observed: observed, condition: batch.condition, method: fill == "mean" ? .mean : .importance,
                                         iterations: iterations, chains: chains, start: nil, rng: &rng, rowsApart: true)
            means.withUnsafeMutableBufferPointer { (m: inout UnsafeMutableBufferPointer<Float>) in
                (m.baseAddress! + start * w).update(from: filled.pointer, count: (end - start) * w)
                // A row with an observed value over `farOutside` standard deviations from its column's
                // training mean (a typing or unit error, 1e22 in a column of about 5) drives the
                // encoder as far out, and the fill follows (ReLU nets extrapolate linearly): finite
                // but meaningless numbers. Such a row, or a fill as far out, is left unfilled (NaN).
                for r in 0..<(end - start) {
                    let row = m.baseAddress! + (start + r) * w
                    let far = Impute.isFarOut(batch.x.pointer + r * w, mask: observed.pointer + r * w, count: w)
                        || Impute.isFarOut(row, mask: nil, count: w)
                    if far || unlabelled.contains(start + r) { row.update(repeating: .nan, count: w) }
                }
            }
            start = end
        }
        let summary = OutputFile.summary(for: out)   // (the filled table on standard output: the line to stderr)
        let result = try CSVWriter.writeImputed(table, schema: info.schema, ids: rows.ids, means: means, to: out)
        let unlabelledLines = Set(unlabelled.map { Int(table.rowLines[Int(rows.ids[$0]) - 1]) })
        let unfilled = result.unfilledLines.filter { !unlabelledLines.contains($0) }
        summary("filled \(Console.counted(result.filled, "missing cell")) of \(Console.counted(rows.count, "row")); wrote \(out)")
        if !unlabelled.isEmpty, let label = info.schema.label {
            let lines = unlabelledLines.sorted()
            Console.note("note: \(Console.counted(lines.count, "row")) left as \(lines.count == 1 ? "it is" : "they are"): \(lines.count == 1 ? "its" : "their") '\(label.name)' cell is empty, and the model is conditional (the label is one of its inputs); give \(lines.count == 1 ? "it its" : "them their") label to have \(lines.count == 1 ? "it" : "them") filled: line\(lines.count == 1 ? "" : "s") \(lines.prefix(20).map(String.init).joined(separator: ", "))\(lines.count > 20 ? ", …" : "")")
        }
        if !result.unseenLevels.isEmpty {
            let u = result.unseenLevels
            let shown = u.prefix(5).map { "line \($0.line), \(TableEncoder.cut($0.column)): '\(TableEncoder.shown($0.text))'" }.joined(separator: "; ")
            Console.note("note: \(u.count) cell\(u.count == 1 ? " holds a category level" : "s hold category levels") the model has not seen, kept as \(u.count == 1 ? "it is" : "they are") (the model read \(u.count == 1 ? "it" : "them") as missing to fill the row's other cells; empty \(u.count == 1 ? "it" : "them") to have \(u.count == 1 ? "it" : "them") filled): \(shown)\(u.count > 5 ? "; …" : "")")
        }
        if !unfilled.isEmpty {
            Console.note("note: \(unfilled.count) row\(unfilled.count == 1 ? "" : "s") left with \(unfilled.count == 1 ? "its" : "their") missing cells empty: other values of the row lie far outside the training rows' range (over 1,000 standard deviations from a column's mean, or beyond what 32-bit floats hold), so the model's fill would be meaningless; check them: line\(unfilled.count == 1 ? "" : "s") \(unfilled.prefix(20).map(String.init).joined(separator: ", "))\(unfilled.count > 20 ? ", …" : "")")
        }
    }
}
