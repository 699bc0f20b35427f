import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the latent code of every item: one CSV row per item with its id, its label and μ, σ per latent dimension.",
        discussion: "The items are the test split of --data (or of the run's data); --split train or all for the others.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "train, test or all (all: the training items, then the test items; the id column says which item each row is).") var split = "test"
    @Option(help: ArgumentHelp("Output CSV (default RUN/latents.csv; - writes standard output; a .gz name is gzipped).", valueName: "file.csv"),
            transform: { $0 == "-" ? "/dev/stdout" : $0 }) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard ["train", "test", "all"].contains(split) else { throw ValidationError("--split must be train, test or all") }
    }

    func run() throws {
        try OutputFile.requireFolder(out)
        // the codes are CSV text: a name of a picture or other format held CSV under a misleading name
        if let out, let ext = out.split(separator: "/").last?.split(separator: ".").dropFirst().last?.lowercased(),
           ["png", "jpg", "jpeg", "json", "npy", "safetensors"].contains(ext) {
            throw ValidationError("--out \(out): the latent codes are written as CSV; give a file name ending in .csv")
        }
        threadOptions.apply()
        let loaded = try runArg.load()
        let model = loaded.model
        let data = try runArg.testSet(loaded, dataOptions)
        let train = { try runArg.trainSplit(data, loaded, dataOptions) }
        // a file that is not the run's — a new table, or --data given to a sequence run — is read
        // whole as test items: it has no training split (its items were written twice by --split all)
        let unsplit = data.isNewTable || dataOptions.readsSequencesWhole(for: loaded, data)
        if unsplit && split == "train" {
            throw ValidationError("--split train: \(data.directory) is not the data the run trained on, so its items are all test items; use --split test (or all)")
        }
        let sets: [(String, any DataSource)] = split == "all" && !unsplit ? [("train", try train()), ("test", data.test)]
            : [(split == "all" ? "test" : split, split == "train" ? try train() : data.test)]
        // a run trained on some classes (not conditional: it reads every item) saw only their
        // training items; the split's others are written as "train" too — said, not left silent
        if let c = loaded.options.classes, !model.isConditional, sets.contains(where: { $0.0 == "train" }) {
            Console.note("note: the run trained on classes \(c.map { Encode.className($0, data.classNames) }.joined(separator: ", ")) only: the training split's items of the other classes are written too, as \"train\", though the model never saw them")
        }
        let k = model.latent
        let seq = model.config.sequence  // a sequence run: the item's text instead of a label
        // an image folder's images are also named by their file (relative to the folder)
        let files = sets.contains { Encode.fileNames($0.1) != nil }
        // a table's --ignore'd columns (its own ids, names) beside the row number
        let keyNames = (data.test as? TableSplit)?.keyNames ?? []
        let fixed = ["split", "id"] + (files ? ["file"] : []) + [seq == nil ? "label" : "item"]
            + (0..<k).map { "mu\($0 + 1)" } + (0..<k).map { "sigma\($0 + 1)" }
        let header = (fixed.prefix(2) + Encode.keyHeader(keyNames, besides: fixed) + fixed.dropFirst(2)).map(CSVText.quote).joined(separator: ",")
        let path = try runArg.output(out, default: "latents.csv")
        var items = 0, overflowed = 0, overflowIDs: [String] = []   // (the first few ids, and the count)
        var farOut = 0, farIDs: [String] = []
        let table = data.table != nil
        // written as it is encoded, a pass of at most 1,000 items at a time (never held whole)
        // (on standard output the codes are the output: the summary goes beside them, to stderr)
        let summary = OutputFile.summary(for: path)
        // (a .gz name is gzipped, as vae impute's and vae anomaly's: it was plain text under that name)
        try AtomicFile.write(to: path) { raw in try Gzip.writing(path, to: raw) { emit in
            try emit(Array((header + "\n").utf8))
            for (name, set) in sets {
                let texts = try seq.map { try SequenceText.texts(set, $0) }
                var start = 0
                while start < set.count {
                    let end = min(set.count, start + model.itemsPerPass(1000))
                    let b = model.conditioned(set.batch(start..<end))
                    let (mu, lv) = model.encode(b)
                    var chunk = ""
                    let d = b.x.count / max(end - start, 1)
                    for r in 0..<(end - start) {
                        let i = start + r
                        // a table row with a value over 1,000 standard deviations from its column's
                        // training mean (1e22 in a column of about 5): the encoder extrapolates to a
                        // code without meaning (σ 0.0, μ 1e22) — written empty, as vae impute leaves
                        // such a row unfilled, and named
                        let far = table && Impute.isFarOut(b.x.pointer + r * d, mask: b.mask.map { $0.pointer + r * d }, count: d)
                        if far { farOut += 1; if farIDs.count < 5 { farIDs.append(set.itemID(i)) } }
                        let sigma = (0..<k).map { Float.exp(0.5 * lv[r * k + $0]) }
                        let code = (0..<k).map { mu[r * k + $0] } + sigma
                        if !far && !code.allSatisfy({ $0.isFinite }) {
                            // NaN is no code at all; an infinite σ is one, but says the item is far from the data
                            if code.contains(where: { $0.isNaN }) {
                                throw VAEError("\(set.itemID(i)) (\(name) item \(i + 1)): the encoder gives NaN for μ or σ — the item is far outside the data the run trained on, or the model's weights overflow; nothing written")
                            }
                            overflowed += 1
                            if overflowIDs.count < 5 { overflowIDs.append(set.itemID(i)) }
                        }
                        var f = [name, CSVText.quote(set.itemID(i))]
                        if !keyNames.isEmpty { f += Encode.keys(set, i, keyNames.count).map(CSVText.quote) }
                        if files { f.append(CSVText.quote(Encode.fileNames(set)?[i] ?? "")) }
                        f += [texts.map { CSVText.quote($0[i]) }
                                    ?? (set.hasLabels ? CSVText.quote(Encode.className(set.label(i), data.classNames)) : "")]
                        for j in 0..<k { f.append(far ? "" : CSVText.number(mu[r * k + j])) }
                        for j in 0..<k { f.append(far ? "" : CSVText.number(sigma[j])) }
                        chunk += f.joined(separator: ",") + "\n"
                    }
                    try emit(Array(chunk.utf8))
                    items += end - start
                    start = end
                }
            }
        } }
        if overflowed > 0 {
            Console.note("note: \(Console.counted(overflowed, "item")) (\(overflowIDs.joined(separator: ", "))\(overflowed > 5 ? ", …" : "")) overflow 32-bit floats in the encoder (μ or σ is ±inf in the CSV): far outside the data the run trained on, or weights too large")
        }
        if farOut > 0 {
            Console.note("note: \(Console.counted(farOut, "row")) (\(farIDs.joined(separator: ", "))\(farOut > 5 ? ", …" : "")) written with empty μ and σ: a value of the row lies far outside the training rows' range (over 1,000 standard deviations from its column's mean), so the model's code would be meaningless; check \(farOut == 1 ? "it" : "them")")
        }
        summary("wrote \(path) (\(Console.counted(items, "item")), latent \(k))")
    }

    /// An image folder's file names, one per item of `set` (nil for other data).
    static func fileNames(_ set: any DataSource) -> [String]? { (set as? ImageSet)?.names }

    /// The header of a table's ignored columns: each by its name, with `_column` added to a name
    /// the output has already (a table's own `id`, beside SwiftVAE's row number `id`).
    static func keyHeader(_ names: [String], besides fixed: [String]) -> [String] {
        var taken = Set(fixed)
        return names.map { name in
            var n = name
            while taken.contains(n) { n += "_column" }
            taken.insert(n)
            return n
        }
    }

    /// Item `i`'s cells of a table's ignored columns (`count` of them; empty for other data).
    static func keys(_ set: any DataSource, _ i: Int, _ count: Int) -> [String] {
        guard let rows = set as? TableSplit, rows.keyNames.count == count else { return [String](repeating: "", count: count) }
        return Array(rows.keys(i))
    }

    /// A label's name; "" for a row whose label is missing (-1).
    static func className(_ l: Int, _ names: [String]) -> String { l < 0 ? "" : (l < names.count ? names[l] : String(l)) }
}

/// Cells of the CSV files SwiftVAE writes (RFC 4180 quoting).
enum CSVText {
    static func quote(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Shortest round-tripping text of a Float.
    static func number(_ v: Float) -> String { "\(v)" }
    static func number(_ v: Double) -> String { String(format: "%.6g", v) }
}
