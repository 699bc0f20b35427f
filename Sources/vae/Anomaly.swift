import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Anomaly: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score test items (images, table rows, sequences) by negative ELBO or --iwae K; with --normal, the ROC-AUC of telling the other classes from them.",
        discussion: "Train on normal data only with `vae train --classes 0,1`, then `vae anomaly RUN --normal 0,1`."
    )
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Labels that count as normal, comma-separated.", valueName: "c[,c…]")) var normal: String?
    @Option(help: "z samples averaged per negative-ELBO score (default 1; --iwae K takes K samples instead).") var samples: Int?
    @Option(help: "Score at most N test images.") var limit: Int?
    @Option(help: "Most anomalous images to draw (the console lists the first 10 of them; --out scores.csv has every item).") var top = 32
    @Option(help: "Random seed.") var seed: UInt64 = Anomaly.defaultSeed
    /// The draws of the report's anomaly section too.
    static let defaultSeed: UInt64 = 1
    @Option(help: ArgumentHelp("Score by the importance-weighted estimate of −log p(x) with K samples instead of the negative ELBO.", valueName: "K"))
    var iwae: Int?
    @Option(name: .customLong("threshold-quantile"), help: ArgumentHelp("Flag items scoring above this quantile of the scores of the run's test items (of the classes it trained on: items it never trained on), e.g. 0.99.", valueName: "Q"))
    var thresholdQuantile: Double?
    @Option(help: ArgumentHelp("A .csv file: every item's id, label, score (nats) and flag; a .png file: the most anomalous images (without --out: RUN/anomalies.png for an image run; a table or sequence run writes no picture). A .csv.gz name is gzipped.", valueName: "file.csv|file.png"))
    var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    /// A name the scores go to: .csv, or .csv.gz (gzipped).
    static func isCSV(_ path: String) -> Bool { let l = path.lowercased(); return l.hasSuffix(".csv") || l.hasSuffix(".csv.gz") }

    func validate() throws {
        guard (1...1000).contains(samples ?? 1) else { throw ValidationError("--samples must be between 1 and 1000") }
        if samples != nil && iwae != nil { throw ValidationError("--samples averages negative-ELBO scores; --iwae K scores with K samples of its own: give one of them") }
        guard top >= 1 else { throw ValidationError("--top must be ≥ 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be ≥ 1") }
        if let iwae { guard (1...100_000).contains(iwae) else { throw ValidationError("--iwae must be between 1 and 100000") } }
        if let q = thresholdQuantile { guard q > 0 && q < 1 else { throw ValidationError("--threshold-quantile must be between 0 and 1 (e.g. 0.99)") } }
        try Anomaly.checkClassList(normal, option: "--normal")
    }

    /// The syntax of a class list (`--classes`, `--normal`), before the data's class names are known.
    static func checkClassList(_ s: String?, option: String) throws {
        guard let s else { return }
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw ValidationError("\(option) takes class names or indices separated by commas, e.g. \(option) 0,1 or \(option) cat,dog")
        }
    }

    /// `--classes`/`--normal`: class names (as in the legend: folder names, a table's label values)
    /// or indices, separated by commas. A name wins over an index, so that a table whose labels are
    /// the numbers 1, 2, 3 is addressed by its own values.
    static func parseClasses(_ s: String?, classNames: [String], option: String) throws -> Set<Int>? {
        guard let s else { return nil }
        try checkClassList(s, option: option)
        var out = Set<Int>()
        for token in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let i = ClassChoice.index(of: token, classNames: classNames, count: classNames.isEmpty ? 256 : classNames.count) {
                out.insert(i)
            } else {
                let known = classNames.isEmpty ? "the data has no class names"
                    : "its classes are " + classNames.enumerated().prefix(30).map { $0.element == String($0.offset) ? $0.element : "\($0.offset) \($0.element)" }.joined(separator: ", ")
                // an option's value: a usage error (exit 2), as --class
                throw ValidationError("\(option): \"\(token)\" is not a class of the data; \(known)")
            }
        }
        return out
    }

    /// The labels of the scored items against the classes of the run's training data, by name
    /// (a new image folder numbers its own class folders; a table appends labels it never saw).
    struct Labels {
        /// Labels of scored items that the training data did not have, with their counts, by count.
        var unseen: [(name: String, count: Int)] = []
        /// The classes the model trained on (`--classes`, else all), as indices into the data's
        /// classes, when some scored item has another label; nil otherwise.
        var trainedClassesIfOthersScored: Set<Int>?

        init(set: any DataSource, data: Dataset, loaded: Checkpoint.Loaded) {
            guard set.hasLabels, let known = RunArgument.trainingClassNames(loaded) else { return }
            let trainedNames = Set((loaded.options.classes ?? Array(known.indices)).compactMap { $0 < known.count ? known[$0] : nil })
            let trained = Set(data.classNames.indices.filter { trainedNames.contains(data.classNames[$0]) })
            var counts: [Int: Int] = [:]
            var others = false
            for i in 0..<set.count {
                let l = set.label(i)
                guard l >= 0 else { continue }
                if !trained.contains(l) { others = true }
                if l >= data.classNames.count || !known.contains(data.classNames[l]) { counts[l, default: 0] += 1 }
            }
            unseen = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { (Encode.className($0.key, data.classNames), $0.value) }
            if others { trainedClassesIfOthersScored = trained }
        }
    }

    /// Rows of cells as lines of text, each column as wide as its widest cell (two spaces between).
    static func columns(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let n = rows.map(\.count).max() ?? 0
        let widths = (0..<n).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { (c, cell) in
                let fill = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? fill + cell : (c == row.count - 1 ? cell : cell + fill)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The run's test items, which --threshold-quantile reads its threshold from: items the model
    /// never trained on — it fits its training items better than new ones, and a threshold from
    /// them flagged 6–8 times the asked share of new normal rows (a 0.95 quantile flagged 33–42%)
    /// — and the run's own also when --data (or $VAE_DATA) gives other data: a new file's or
    /// folder's own items would flag about 1 − q of whatever it holds.
    func runReferenceSet(_ data: Dataset, _ loaded: Checkpoint.Loaded) throws -> any DataSource {
        func requireThere(_ file: String, _ what: String) throws {
            guard !AtomicFile.exists(file) else { return }
            throw VAEError("--threshold-quantile reads its threshold from the run's test items, and the run's \(what) \(file) is not here (the path was recorded when the run trained, relative to the folder it trained in): run from that folder, or leave out --threshold-quantile")
        }
        // the run's data read as the run reads it: the flags given are for --data, not for it (an
        // IDX run scoring a folder with --image-size: the flag refused on its IDX files)
        var o = dataOptions
        o.imageSize = nil; o.channels = nil; o.background = nil; o.skipBadFiles = false
        o.testFraction = nil; o.label = nil; o.ignore = nil; o.textColumn = nil
        if let seq = loaded.config?.data?.sequence, loaded.model.config.sequence != nil {
            // the run's --test file, or the share of its training file it held out
            let file = seq.resolvedTestFile ?? loaded.config?.data?.recordedPath
            if let file { try requireThere(file, seq.resolvedTestFile == nil ? "data" : "test file") }
            o.data = nil
            return try o.loadSequences(for: loaded).test
        }
        guard let recorded = loaded.config?.data?.recordedPath else { return data.test }
        let own = data.table != nil ? !data.isNewTable
            : data.directory == recorded || AtomicFile.sameFile(data.directory, recorded)
        if own { return data.test }
        try requireThere(recorded, "data")
        o.data = recorded
        return try runArg.testSet(loaded, o).test
    }

    func run() throws {
        if let o = out, o == "-" || AtomicFile.sameFile(o, "/dev/stdout") {
            throw ValidationError("--out \(o): vae anomaly prints its summary on standard output; write the scores to a .csv file")
        }
        try OutputFile.requireFolder(out)
        threadOptions.apply()
        let loaded = try runArg.load()
        let pictureless = loaded.model.config.sequence != nil ? "sequence" : loaded.table != nil ? "table" : nil
        if let kind = pictureless, let o = out, !Anomaly.isCSV(o) {   // it wrote nothing
            throw ValidationError("--out \(o): a \(kind) run's scores go to a .csv file; the picture of the top items is for image runs")
        }
        if let o = out, !Anomaly.isCSV(o), !o.lowercased().hasSuffix(".png") {   // before the scoring, not after
            throw ValidationError("--out \(o): give a .csv file (every item's score; .csv.gz gzipped) or a .png file (the most anomalous images)")
        }
        let data = try runArg.testSet(loaded, dataOptions)
        // a model trained with --binarize is scored on the binary images its test loss uses (the
        // fixed binarization of vae evaluate); gray ones scored about 3–4 nats worse
        let binary = loaded.options.binarize
        // A sequence item longer than the model's --max-length cannot be read by it: the most unusual
        // of all, scored inf (ranked first) after the items the model reads, not left out — also
        // under --limit, which takes the first N items of the file, the over-long ones among them
        var overLong = (data.test as? SequenceSource)?.overLong ?? []
        var set = data.test.scored(binarize: binary).first(limit ?? data.test.count)
        if let limit, !overLong.isEmpty {
            let lines = (0..<set.count).map { Int(set.itemID($0)) ?? 0 }
            var k = 0, j = 0
            while k + j < limit && (k < lines.count || j < overLong.count) {
                if j < overLong.count && (k == lines.count || Int(overLong[j].line) < lines[k]) { j += 1 } else { k += 1 }
            }
            set = set.first(k)
            overLong = Array(overLong.prefix(j))
        }
        if normal != nil && !set.hasLabels {   // before the scoring, not after
            throw ValidationError("--normal needs labels, and \(data.directory) has none")
        }
        let labels = Anomaly.Labels(set: set, data: data, loaded: loaded)
        let thresholdSet = try thresholdQuantile.map { _ in try runReferenceSet(data, loaded) }   // before the work
        if !labels.unseen.isEmpty {
            let n = labels.unseen.reduce(0) { $0 + $1.count }
            // without --normal the trained classes are the normal ones; with it, --normal says which are
            print("\(n) of \(set.count) items have labels the model never saw (\(normal == nil ? "they count as not normal" : "--normal names the normal ones among the data's labels")): "
                  + labels.unseen.prefix(20).map { "\($0.name) (\($0.count))" }.joined(separator: ", ") + (labels.unseen.count > 20 ? ", … (\(labels.unseen.count) labels)" : ""))
        }
        // --normal, else (when some scored items are of other classes) the classes the model trained on
        let normalSet = try Anomaly.parseClasses(normal, classNames: data.classNames, option: "--normal") ?? labels.trainedClassesIfOthersScored
        var rng = RNG(seed: seed)
        let score = { (s: any DataSource, r: inout RNG) throws -> [Double] in
            if let k = iwae {
                let shown = Progress(total: s.count, label: "IWAE k = \(k)")
                defer { shown.finish() }
                return try Analysis.iwaeScores(loaded.model, s, k: k, rng: &r, progress: { shown.update($0) })
            }
            return try Analysis.anomalyScores(loaded.model, s, samples: samples ?? 1, rng: &r)
        }
        let scores = try score(set, &rng) + overLong.map { _ in Double.infinity }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let texts = try loaded.model.config.sequence.map { try SequenceText.texts(set, $0) + overLong.map(\.text) }
        let itemID = { (i: Int) in i < set.count ? set.itemID(i) : String(overLong[i - set.count].line) }
        let files = Encode.fileNames(set)   // an image folder's: each image's file, beside its index
        let keyNames = (set as? TableSplit)?.keyNames ?? []   // a table's --ignore'd columns (its ids)
        // tokens outside the model's vocabulary read as <unk>, which may be cheap for it: counted per item
        let unknown = (set as? SequenceSource).map { s in (0..<s.count).map { s.unknownCount($0) } }
        if let unknown, case let n = unknown.filter({ $0 > 0 }).count, n > 0 {
            Console.note("note: \(Console.counted(n, "item")) \(n == 1 ? "holds" : "hold") tokens outside the model's vocabulary, read as <unk> — their scores may understate how unusual they are (the unknown column of --out CSV counts them)")
        }
        let name: (Int) -> String = { i in
            if let texts { return texts[i] }
            guard set.hasLabels, set.label(i) >= 0 else { return "-" }   // -1: the row's label cell is empty
            return Encode.className(set.label(i), data.classNames)
        }
        // a table row with every cell missing scores about 0 — the most normal of all — for there is
        // nothing to explain: said, not ranked silently
        if let rows = set as? TableSplit, case let empty = rows.emptyRows, !empty.isEmpty {
            Console.note("note: \(Console.counted(empty.count, "row")) of \(data.directory) \(empty.count == 1 ? "has" : "have") no observed cell (\(empty.prefix(5).map { "id \(rows.itemID($0))" }.joined(separator: ", "))\(empty.count > 5 ? ", …" : "")): \(empty.count == 1 ? "its score says" : "their scores say") nothing, there being nothing to explain")
        }
        let sorted = scores.sorted()
        let what = iwae.map { "IWAE-\($0) −log p(x)" } ?? "negative ELBO"
        print(String(format: "scored %@ of %@ by %@: median %.2f, 95th percentile %.2f, max %.2f nats",
                     Console.counted(scores.count, "item"), data.name, what, Anomaly.quantile(sorted, 0.5), Anomaly.quantile(sorted, 0.95), sorted.last!))
        var threshold: Double? = nil
        if let q = thresholdQuantile {
            // the run's test items of the classes it trained on, the first 20,000 of them, scored
            // with the same noise as the items flagged (each item's draws are its own)
            var refSet = thresholdSet!
            if let c = loaded.options.classes { refSet = refSet.filtered(classes: Set(c)) }
            refSet = refSet.first(20_000).scored(binarize: binary)
            guard refSet.count > 0 else { throw VAEError("--threshold-quantile: the run has no test items of the classes it trained on to set the threshold from") }
            var r2 = RNG(seed: seed)
            let ref = try score(refSet, &r2).sorted()
            // (the summary's percentiles' definition, NumPy's default: one "0.95 quantile" of the same
            // scores read 101.41 in the summary and 101.82 as the threshold)
            let t = Anomaly.quantile(ref, q)
            threshold = t
            print(String(format: "threshold: %.2f nats (the %.4g quantile of the run's %d test items%@, which it did not train on); %d of %d items above it",
                         t, q, ref.count, loaded.options.classes == nil ? "" : " of the classes it trained on", scores.filter { $0 > t }.count, scores.count))
            if ref.count < 100 { Console.note("note: the threshold rests on \(Console.counted(ref.count, "test item")): its quantile is coarse") }
        }
        let seq = loaded.model.config.sequence  // a sequence run: the item's text instead of a label
        if let scoresOut = out, Anomaly.isCSV(scoresOut) {
            let fixed = ["id"] + (files == nil ? [] : ["file"]) + [seq == nil ? "label" : "item", "score"]
                + (threshold == nil ? [] : ["flagged"]) + (unknown == nil ? [] : ["unknown"])
            var lines = [(fixed.prefix(1) + Encode.keyHeader(keyNames, besides: fixed) + fixed.dropFirst()).map(CSVText.quote).joined(separator: ",")]
            // a sequence run's items in file order (the over-long ones among them, by their line)
            let rowOrder = seq == nil ? Array(0..<scores.count) : (0..<scores.count).sorted { (Int(itemID($0)) ?? 0) < (Int(itemID($1)) ?? 0) }
            for i in rowOrder {
                var f = [CSVText.quote(itemID(i))] + Encode.keys(set, i, keyNames.count).map(CSVText.quote)
                    + (files.map { [CSVText.quote($0[i])] } ?? []) + [
                         texts.map { CSVText.quote($0[i]) }
                            ?? (set.hasLabels ? CSVText.quote(Encode.className(set.label(i), data.classNames)) : ""),
                         String(format: "%.4f", scores[i])]
                if let t = threshold { f.append(scores[i] > t ? "1" : "0") }
                if let unknown { f.append(i < unknown.count ? String(unknown[i]) : "") }   // an over-long item is not tokenized
                lines.append(f.joined(separator: ","))
            }
            try AtomicFile.write(Gzip.forName(scoresOut, Array((lines.joined(separator: "\n") + "\n").utf8)), to: scoresOut)
            print("wrote \(scoresOut)")
        }
        if let normalSet {
            guard set.hasLabels else { throw ValidationError("--normal needs labels, and \(data.directory) has none") }
            // items whose label cell is missing (-1) have no side in the ROC-AUC
            let labelled = (0..<set.count).filter { set.label($0) >= 0 }
            let positive = labelled.map { !normalSet.contains(set.label($0)) }
            let normalText = normal.map { "labels not in \($0)" }
                ?? "labels the model did not train on; normal: " + normalSet.sorted().map { Encode.className($0, data.classNames) }.joined(separator: ",")
            if let auc = Analysis.rocAUC(scores: labelled.map { scores[$0] }, positive: positive) {
                print(String(format: "ROC-AUC (anomalous = %@): %.4f  (%d normal, %d anomalous)",
                             normalText, auc, positive.filter { !$0 }.count, positive.filter { $0 }.count))
            } else {
                Console.note("note: ROC-AUC needs both normal and anomalous \(data.itemNoun)s among the scored ones")
            }
            if labelled.count < set.count { Console.note("note: \(Console.counted(set.count - labelled.count, "item")) without a label \(set.count - labelled.count == 1 ? "is" : "are") left out of the ROC-AUC") }
        }
        // Columns padded here: Foundation's %-10@ pads nothing on Linux.
        let shown = Array(order.prefix(min(top, 10)))
        // a long item is cut on the console (the CSV has it whole)
        let shownName = { (i: Int) -> String in let t = SequenceText.tsvCell(name(i)); return t.count > 60 ? String(t.prefix(59)) + "…" : t }
        // the first two ignored columns of a table (cut at 24 characters)
        let shownKeys = Array(keyNames.prefix(2))
        // (a line break or tab in a cell as \n, \t: one row a line)
        let cut = { (t: String) -> String in let v = Console.visible(SequenceText.tsvCell(t)); return v.count > 24 ? String(v.prefix(23)) + "…" : v }
        let rows = shown.enumerated().map { (r, i) in
            ["\(r + 1)", itemID(i)] + Encode.keys(set, i, keyNames.count).prefix(shownKeys.count).map(cut)
                + (files.map { [Console.visible($0[i])] } ?? []) + [shownName(i), String(format: "%.2f", scores[i])]
        }
        let before = 2 + shownKeys.count + (files == nil ? 0 : 1)   // the columns before the label
        print(Anomaly.columns([["rank", "id"] + Encode.keyHeader(shownKeys, besides: ["rank", "id", "file", "label", "item", "score"]).map(cut) + (files == nil ? [] : ["file"]) + [loaded.model.config.sequence == nil ? "label" : "item", "score"]] + rows,
                              rightAligned: [0, before + 1]))
        guard data.isImages else { return }   // a table has no picture of its rows
        // --out scores.csv asked for the scores: no picture written into the run besides
        if let o = out, Anomaly.isCSV(o) { return }
        let n = min(top, set.count)
        let x = Tensor(shape: [n, set.featureCount])
        var unused = RNG(seed: 0)
        order.prefix(n).map { Int32($0) }.withUnsafeBufferPointer {
            set.fill($0, x: x, mask: nil, binarize: false, rng: &unused)
        }
        try Pictures.write(Pictures.grid(x, shape: loaded.model.config.inputShape, columns: 8, scale: Figures.scale(for: loaded.model.config.inputShape)),
                           to: out ?? runArg.output(nil, default: "anomalies.png"))
    }
}

extension Anomaly {
    /// The p-quantile of ascending values, interpolated between the two nearest (NumPy's default):
    /// the median of 2 items is their mean, not the larger one.
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let x = Double(sorted.count - 1) * p
        let i = min(Int(x), sorted.count - 1)
        let f = x - Double(i)
        guard i + 1 < sorted.count, f > 0 else { return sorted[i] }
        if sorted[i + 1] == .infinity { return .infinity }   // not ∞ − ∞ = NaN on two infinite scores
        return sorted[i] + f * (sorted[i + 1] - sorted[i])
    }
}
