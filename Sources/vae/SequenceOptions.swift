import ArgumentParser
import Foundation
import VAEKit

extension SequenceConfig.Tokenizer: ExpressibleByArgument {}

/// `vae train --model gru`: how lines become tokens, and the two GRUs.
struct SequenceTrainOptions: ParsableArguments {
    @Option(help: "Sequences: how a line becomes tokens: characters (default), words or smiles.") var tokens: SequenceConfig.Tokenizer?
    @Option(name: .customLong("max-length"), help: "Sequences: items with more tokens are skipped and counted (default 100).") var maxLength: Int?
    @Option(name: .customLong("max-vocab"), help: "Sequences: keep the N most frequent tokens; the rest read as <unk> (default 10000).") var maxVocab: Int?
    @Option(name: .customLong("test"), help: ArgumentHelp("Sequences: a file of test items (default: a seeded tenth of --data).", valueName: "file"))
    var testFile: String?
    @Option(help: ArgumentHelp("Sequences: the encoder GRU, layers×width (default 1x256).", valueName: "LxH")) var encoder: String?
    @Option(help: ArgumentHelp("Sequences: the decoder GRU, layers×width (default 1x512).", valueName: "LxH")) var decoder: String?
    @Option(name: .customLong("word-dropout"), help: "Sequences: the probability that a decoder input token becomes <unk> (Bowman et al. 2016; default 0).")
    var wordDropout: Double?
    @Flag(help: "Sequences: a bidirectional encoder GRU (reads each item both ways).") var bidirectional = false
    @Option(help: ArgumentHelp("Sequences: the GRUs read a learned token vector this wide (shared by encoder and decoder); 0: one-hot tokens (default: \(SequenceConfig.defaultEmbeddingWidth) for a vocabulary over \(SequenceConfig.oneHotVocabularyLimit) tokens when that makes the model smaller, else one-hot; a note says which).", valueName: "width"))
    var embedding: Int?


    func validate() throws {
        if let m = maxLength, !(1...SequenceOptions.maxLengthLimit).contains(m) { throw ValidationError("--max-length must be between 1 and \(SequenceOptions.maxLengthLimit)") }
        if let v = maxVocab, !(1...SequenceOptions.maxVocabularyLimit).contains(v) {
            throw ValidationError("--max-vocab must be between 1 and \(SequenceOptions.maxVocabularyLimit)")
        }
        if let p = wordDropout, !(p >= 0 && p < 1) { throw ValidationError("--word-dropout must be at least 0 and below 1") }
        if let e = embedding, !SequenceConfig.embeddingWidths.contains(e) {
            throw ValidationError("--embedding must be between 0 (one-hot tokens) and \(SequenceConfig.embeddingWidths.upperBound)")
        }
        _ = try SequenceTrainOptions.shape(encoder, "--encoder")
        _ = try SequenceTrainOptions.shape(decoder, "--decoder")
    }

    /// Whether any sequence flag was given (they need --model gru).
    var given: Bool { !givenFlags.isEmpty }
    /// The sequence flags on the command line, by name (a message names those, not all ten).
    var givenFlags: [String] {
        [("--tokens", tokens != nil), ("--max-length", maxLength != nil), ("--max-vocab", maxVocab != nil), ("--test", testFile != nil),
         ("--encoder", encoder != nil), ("--decoder", decoder != nil), ("--word-dropout", wordDropout != nil),
         ("--bidirectional", bidirectional), ("--embedding", embedding != nil)].filter(\.1).map(\.0)
    }

    /// "3x512" → (3, 512).
    static func shape(_ s: String?, _ flag: String) throws -> (layers: Int, width: Int)? {
        guard let s else { return nil }
        let parts = s.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 2, let l = parts[0], let w = parts[1], (1...16).contains(l), (1...8192).contains(w) else {
            throw ValidationError("\(flag) takes layers×width, e.g. 1x256 or 3x512 (1–16 layers, width 1–8192)")
        }
        return (l, w)
    }

    /// The reading options for `path`.
    func reading(textColumn: String?) -> SequenceOptions {
        var o = SequenceOptions()
        o.tokenizer = tokens ?? .characters
        o.maxLength = maxLength ?? 100
        o.maxVocabulary = maxVocab ?? 10_000
        o.textColumn = textColumn
        o.testFile = testFile
        o.testFileAbsolutePath = testFile.flatMap(AtomicFile.realPath)
        return o
    }

    /// The model's sequence settings for a vocabulary.
    func config(vocabulary: [String], reading o: SequenceOptions) throws -> SequenceConfig {
        let e = try SequenceTrainOptions.shape(encoder, "--encoder") ?? (1, 256)
        let d = try SequenceTrainOptions.shape(decoder, "--decoder") ?? (1, 512)
        var c = SequenceConfig(tokenizer: o.tokenizer, vocabulary: vocabulary, maxLength: o.maxLength, encoderHidden: e.width,
                               encoderLayers: e.layers, decoderHidden: d.width, decoderLayers: d.layers, wordDropout: wordDropout ?? 0,
                               bidirectional: bidirectional)
        c.embedding = embedding ?? c.defaultEmbedding
        return c
    }

    /// The note that says, for a large vocabulary without --embedding, how the GRUs read tokens.
    func noteInput(_ seq: SequenceConfig) {
        let V = seq.vocabulary.count
        guard embedding == nil, V > SequenceConfig.oneHotVocabularyLimit else { return }
        if seq.embedding > 0 {
            Console.note("the GRUs read a \(seq.embedding)-wide learned vector per token (a vocabulary of \(V): a smaller model than one-hot tokens); --embedding 0 reads one-hot tokens")
        } else {
            Console.note("the GRUs read one-hot tokens: a \(SequenceConfig.defaultEmbeddingWidth)-wide learned vector per token would not make a model with GRUs this narrow smaller; --embedding D sets one")
        }
    }


}

extension DataOptions {
    /// The shipped sample of MOSES SMILES (data/moses-sample.smi.gz), next to the working directory or the executable.
    static func shippedSequenceSample() -> String? { shipped("data/moses-sample.smi.gz") }

    /// A file of sequences for training (`--data`, else the shipped SMILES sample).
    func loadSequencesForTraining(_ seq: SequenceTrainOptions, preset: String? = nil) throws -> (Dataset, vocabulary: [String]) {
        if imageSize != nil || channels != nil || skipBadFiles || background != nil || label != nil || ignore != nil {
            throw ValidationError("--image-size, --channels, --background, --skip-bad-files, --label and --ignore are not for sequences")
        }
        guard let path = data ?? DataOptions.shippedSequenceSample() else {
            throw ValidationError("--model gru needs --data FILE: one item per line (.txt, .smi, plain or .gz) or a CSV with --text-column")
        }
        if AtomicFile.isDirectory(path) {   // (it was "cannot read DIR: it is a directory", under a preset that implies gru too)
            throw ValidationError("\(path) is a folder; a sequence VAE (--model gru\(preset.map { ", which --preset \($0) trains" } ?? "")) reads a file of items, one per line (.txt, .smi, plain or .gz) or a CSV with --text-column")
        }
        var o = seq.reading(textColumn: textColumn)
        if testFraction != nil && o.testFile != nil {   // it was ignored
            throw ValidationError("--test-fraction splits --data when there is no --test file; give one of them")
        }
        if let f = testFraction { o.testFraction = f }
        let (d, vocab) = try Dataset.loadSequences(path: path, options: o)
        for n in d.notes { Console.note("note: \(n)") }
        let tokens = (d.train as? SequenceSource)?.tokenCount ?? 0
        Console.note("data: \(path)\(data == nil ? " (the MOSES sample shipped with SwiftVAE)" : ""): \(d.train.count) train, \(d.test.count) test items, \(ProgressDisplay.grouped(Double(tokens))) train tokens, a vocabulary of \(vocab.count) (\(o.tokenizer.rawValue))")
        return (d, vocab)
    }

    static let passItems = "--data FILE with the items to read"

    /// Whether --data is read whole as test items for this sequence run (a file of new items),
    /// not split as the run split it (its own training file, which `loadSequences` reads so).
    func readsSequencesWhole(for loaded: Checkpoint.Loaded, _ d: Dataset) -> Bool {
        guard data != nil, loaded.model.config.sequence != nil else { return false }
        return d.sequence == nil   // (set by a read as training read the file, split)
    }

    /// Whether --data names the file the run trained on (by any path).
    func givesTrainingFile(of loaded: Checkpoint.Loaded) -> Bool {
        guard let given = data, let recorded = loaded.config?.data?.recordedPath else { return false }
        return given == recorded || AtomicFile.sameFile(given, recorded)
    }


    /// The items a sequence run reads: --data with the run's vocabulary, else the run's test items
    /// (its test file, or the same split of its training file).
    func loadSequences(for loaded: Checkpoint.Loaded) throws -> Dataset {
        guard let seq = loaded.model.config.sequence else { throw VAEError("not a sequence run") }
        // image-folder and table flags would be ignored here
        let foreign = [(imageSize != nil, "--image-size"), (channels != nil, "--channels"), (background != nil, "--background"),
                       (skipBadFiles, "--skip-bad-files"), (label != nil, "--label"), (ignore != nil, "--ignore")].filter(\.0).map(\.1)
        if !foreign.isEmpty {
            throw ValidationError("\(foreign.joined(separator: ", ")) \(foreign.count == 1 ? "is" : "are") for image folders and tables; this is a sequence run")
        }
        let stored = loaded.config?.data?.sequence
        // flags that would be read by nothing here (the run's split is the one it made)
        if testFraction != nil {
            throw ValidationError("--test-fraction is the share vae train holds out of a file; this run's test items are \(stored?.testFile == nil ? "the \(stored?.testFraction ?? 0.1) it held out of its file" : "its --test file's"), and a --data file is read whole: drop the flag")
        }
        if let c = textColumn, data == nil {
            throw ValidationError("--text-column \(c) names the column of a --data CSV file; without --data the run's own items are read\(stored?.textColumn.map { " (by its column '\($0)')" } ?? ""): drop the flag, or give --data")
        }
        // the run's own training file given as --data (what the message for a missing file asks
        // for): read as training read it, its test items those of the run — read whole, its
        // training items were scored as test items
        if let given = data, let stored, givesTrainingFile(of: loaded) {
            if stored.testFile == nil { return try Self.resplit(given, stored, seq, loaded) }
            Console.note("note: \(given) is the file the run trained on: its items are the run's training items (its test items are in \(stored.testFile ?? "its test file"))")
        }
        if let path = data ?? stored?.resolvedTestFile {
            // the run's CSV column for a .csv file (its own or another); any other file (a .smi or
            // .txt, the run's test file included) is one item per line, as training read it
            let column = textColumn ?? stored?.textColumn.flatMap { Dataset.looksLikeCSV(path) ? $0 : nil }
            if data == nil { try Self.requireRecorded(path, "test file", pass: Self.passItems) }
            let d = try Dataset.loadSequences(path: path, config: seq, textColumn: column)
            // the items the run trained on, from another path (a copy, or what was standard input
            // then): split as the run split them — read whole, its training items were scored as
            // test items (the message for a run trained on standard input asks for this file)
            if data != nil, let stored, stored.testFile == nil, let same = Self.sameItems(path, d, stored, seq, loaded) {
                let from = loaded.config?.data.map { $0.directory == "/dev/stdin" || $0.directory == "-" ? "standard input" : $0.directory } ?? "another file"
                Console.note("note: \(path) holds the items the run trained on (it read them from \(from)): split as training split them, its test items are the run's \(same.test.count) (of \(d.test.count) items)")
                return same
            }
            for n in d.notes { Console.note("note: \(n)") }
            return d
        }
        guard let stored, let path = loaded.config?.data?.recordedPath else {
            throw VAEError("the run does not say which file it was trained on; pass --data FILE")
        }
        try Self.requireRecorded(path, "training file (its test items are a split of it)", pass: Self.passItems)
        return try Self.resplit(path, stored, seq, loaded)
    }

    /// The run's own training file split again as training split it; a file changed since then
    /// (items added, removed, replaced or moved) is split by the same rule — by place, from the
    /// count — and its test items may no longer be the run's: said, with the counts (scores of
    /// items the run trained on passed for test scores). A change that gives the file another
    /// vocabulary is refused by `reloadSequences` before this.
    static func resplit(_ path: String, _ stored: VAEKit.SequenceOptions, _ seq: SequenceConfig, _ loaded: Checkpoint.Loaded) throws -> Dataset {
        let d = try Dataset.reloadSequences(path: path, options: stored, vocabulary: seq.vocabulary)
        if let then = loaded.state.data {
            let now = Trainer.recordedDescription(of: d, options: loaded.options, conditional: false)
            if !Trainer.sameData(recorded: then, now: now) {
                // (the counts, without the items' shape and hashes)
                let counts = { (d: String) in (d.components(separatedBy: " items of ").first ?? d) + " items" }
                let was = counts(then), isNow = counts(now)
                Console.note("note: \(path) has changed since the run trained on it (then \(was); now \(isNow)\(was == isNow ? ", other items or another order" : "")): its test items are split off by their place in the file, so they may now include items the run trained on")
            }
        }
        return d
    }

    /// `d` (a file read whole) split as the run split its training file, when that gives the
    /// items the run trained on (the same count first, then the run's record of them); nil else.
    static func sameItems(_ path: String, _ d: Dataset, _ stored: VAEKit.SequenceOptions, _ seq: SequenceConfig, _ loaded: Checkpoint.Loaded) -> Dataset? {
        guard let rec = loaded.config?.data, let then = loaded.state.data else { return nil }
        // the training items before the validation hold-out: the file's items less the test split's
        let before = d.test.count - rec.testCount
        let held = loaded.options.validationFraction.map { Trainer.holdOutCount(count: before, fraction: $0) } ?? 0
        guard before > 0, before - held == rec.trainCount else { return nil }
        var o = stored
        o.textColumn = Dataset.looksLikeCSV(path) ? stored.textColumn : nil
        let split: Dataset
        do {
            split = try Dataset.reloadSequences(path: path, options: o, vocabulary: seq.vocabulary)
        } catch {
            return nil   // (another vocabulary, no test items: other items than the run's, and the file was read whole already)
        }
        return Trainer.sameData(recorded: then, now: Trainer.recordedDescription(of: split, options: loaded.options, conditional: false)) ? split : nil
    }
}

extension DataOptions {
    /// `vae train --resume` of a sequence run: its training file (or --data) read as training read
    /// it; the vocabulary must come out the same.
    func trainingSequences(for loaded: Checkpoint.Loaded, _ seq: SequenceConfig, run: String) throws -> Dataset {
        // the weights alone load (vae sample works), but how the items were read is in config.json
        guard loaded.config != nil else {
            throw VAEError("\(run)/\(Checkpoint.configFile) is missing: --resume reads from it how the run's items were read (the file, its split); restore it from a copy of the run")
        }
        guard let stored = loaded.config?.data?.sequence, let path = data ?? loaded.config?.data?.recordedPath else {
            throw VAEError("the run does not say how its sequences were read; start a new run")
        }
        // the recorded file gone (moved, deleted, or standard input): said as the other commands say it
        if data == nil { try Self.requireRecorded(path, "training file", pass: "--data FILE with the items it trained on") }
        return try Dataset.reloadSequences(path: path, options: stored, vocabulary: seq.vocabulary)
    }
}

/// SMILES runs: which runs are molecules, and the validity of samples.
enum Molecules {
    /// Whether the training items are SMILES: SMILES tokens, a column named SMILES, or nine in ten
    /// of the first 1,000 items valid molecules.
    static func detect(_ data: Dataset, _ seq: SequenceConfig, textColumn: String?) -> Bool {
        if seq.tokenizer == .smiles || textColumn?.uppercased() == "SMILES" { return true }
        guard seq.tokenizer == .characters else { return false }
        let n = min(1000, data.train.count)
        guard n > 0 else { return false }
        // (a SMILES check reads past a blank: a name after it counts, but not a sentence's words —
        // "I like it" begins with iodine)
        let valid = (0..<n).filter { i in
            let item = SequenceText.item(data.train, i, seq)
            return item.split(whereSeparator: { $0 == " " || $0 == "\t" }).count <= 2 && SMILES.isValid(item)
        }.count
        return valid * 10 >= n * 9
    }

    /// A file named as SMILES (`.smi`, plain or gzip): one molecule per line, RDKit's layout.
    static func isSMILESFile(_ path: String) -> Bool {
        let name = path.lowercased()
        return name.hasSuffix(".smi") || name.hasSuffix(".smi.gz")
    }

    /// SMILES followed by a blank and more on a line — a name, as RDKit's .smi files have it, which
    /// a SMILES check reads past — would train as the molecules' tokens (samples ended in names):
    /// refused, naming the first such line, with how to keep the SMILES alone.
    static func refuseNames(_ data: Dataset, _ seq: SequenceConfig) throws {
        guard seq.vocabulary.contains(where: { $0 == " " || $0 == "\t" }) else { return }
        // the first such line of the file (of the training split's first and the test split's)
        let found = [data.train, data.test].compactMap { set in
            (0..<set.count).first { SequenceText.item(set, $0, seq).contains { $0 == " " || $0 == "\t" } }.map { (set, $0) }
        }
        if let (set, i) = found.min(by: { (Int($0.0.itemID($0.1)) ?? 0) < (Int($1.0.itemID($1.1)) ?? 0) }) {
            let item = SequenceText.item(set, i, seq)
            let rest = item.drop { $0 != " " && $0 != "\t" }
            throw VAEError("\(data.directory) line \(set.itemID(i)): its SMILES is followed by '\(TableEncoder.cut(String(rest)))' (a name, as in RDKit's .smi files): the model would learn the names as the molecules' tokens — keep the SMILES alone (awk '{print $1}' FILE > molecules.smi), or train on the lines as text with --tokens words")
        }
    }

    /// The share of `count` prior samples (seeded) that are valid molecules.
    static func validShare(_ model: SequenceVAE, count: Int, seed: UInt64) -> Double {
        let samples = SequenceText.samples(model, count: count, temperature: 1, greedy: false, seed: seed)
        return Double(samples.filter { SMILES.isValid($0) }.count) / Double(max(count, 1))
    }
}
