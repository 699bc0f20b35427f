import Foundation
import VAECore

/// Items of text, one per line — sentences, SMILES — as token ids. Stored as one flat array of
/// 16-bit ids with offsets, so memory grows with the tokens, not with lines × the longest line.
/// An item fills a batch row as <bos>, its tokens, <eos>, then <pad> (as Float ids) to
/// `maxLength + 2` columns; `SequenceVAE` reads them back.
public struct SequenceSource: DataSource {
    /// Token ids (without <bos>/<eos>) of every item, back to back.
    let ids: [UInt16]
    /// Where item i starts in `ids`; `starts[count]` is the end.
    let starts: [Int]
    /// 1-based line of each item in its file (the header of a CSV is line 1).
    let lines: [Int32]
    public let maxLength: Int
    /// The file (and CSV column) the items were read from, for their own text (`originalTexts`).
    public var origin: Origin?
    /// The items of the file that were left out for having more than `maxLength` tokens (line and
    /// text): a model cannot read them, and `vae anomaly` scores them inf rather than dropping them.
    public var overLong: [(line: Int32, text: String)] = []

    public struct Origin: Sendable, Equatable {
        public var path: String
        public var textColumn: String?
        /// The items' texts by line when the file cannot be read a second time (standard input, a
        /// pipe): they are kept from the one reading.
        public var kept: [Int32: String]?
        public init(path: String, textColumn: String?) { self.path = path; self.textColumn = textColumn }

        /// The origin of `items` read from `path`: their texts kept when `path` is no regular file.
        static func of(_ path: String, textColumn: String?, items: [(line: Int32, text: Substring)]) -> Origin {
            var o = Origin(path: path, textColumn: textColumn)
            if AtomicFile.regularFileSize(path) == nil {
                o.kept = Dictionary(items.map { ($0.line, String($0.text)) }, uniquingKeysWith: { a, _ in a })
            }
            return o
        }
    }

    public init(ids: [UInt16], starts: [Int], lines: [Int32], maxLength: Int) {
        precondition(starts.count == lines.count + 1 && starts.last == ids.count)
        self.ids = ids
        self.starts = starts
        self.lines = lines
        self.maxLength = maxLength
    }

    public var count: Int { lines.count }
    public var itemShape: [Int] { [1, 1, maxLength + 2] }
    public var hasLabels: Bool { false }
    public func label(_ i: Int) -> Int { 0 }
    public func itemID(_ i: Int) -> String { String(lines[i]) }
    public var hasMissing: Bool { false }
    /// The tokens of item i.
    public func tokens(_ i: Int) -> ArraySlice<UInt16> { ids[starts[i]..<starts[i + 1]] }
    /// Tokens in all items.
    public var tokenCount: Int { ids.count }
    /// Tokens of the longest item.
    public var longestItem: Int { zip(starts.dropFirst(), starts).map { $0 - $1 }.max() ?? 0 }
    /// Tokens of item i outside the vocabulary (read as <unk>).
    public func unknownCount(_ i: Int) -> Int { tokens(i).reduce(0) { $0 + ($1 == UInt16(Vocabulary.unk) ? 1 : 0) } }

    public func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask: Tensor?, binarize: Bool, rng: inout RNG) {
        let w = maxLength + 2
        precondition(x.count == indices.count * w, "SequenceSource.fill: x \(x.shape) for \(indices.count) items of \(w)")
        for (r, i) in indices.enumerated() {
            let row = x.pointer + r * w
            row[0] = Float(Vocabulary.bos)
            var t = 1
            for id in tokens(Int(i)) { row[t] = Float(id); t += 1 }
            row[t] = Float(Vocabulary.eos)
            t += 1
            while t < w { row[t] = Float(Vocabulary.pad); t += 1 }
        }
    }

    public func subset(_ indices: [Int]) -> any DataSource {
        var ids: [UInt16] = [], starts = [0], lines: [Int32] = []
        for i in indices {
            ids += tokens(i)
            starts.append(ids.count)
            lines.append(self.lines[i])
        }
        var s = SequenceSource(ids: ids, starts: starts, lines: lines, maxLength: maxLength)
        s.origin = origin
        return s
    }

    /// Each item's text as its file has it — not its tokens decoded, where a token outside the
    /// vocabulary reads <unk> (the unusual items an anomaly score points at are often those). The
    /// file is read again and the items found by their line; nil without an `origin`.
    public func originalTexts() throws -> [String]? {
        guard let origin else { return nil }
        if let kept = origin.kept {
            return try lines.map { line in
                guard let text = kept[line] else { throw VAEError("\(origin.path): its line \(line) was not read as an item") }
                return text
            }
        }
        let wanted = Set(lines)
        var byLine: [Int32: String] = [:]
        byLine.reserveCapacity(wanted.count)
        for (line, text) in try Dataset.readItems(path: origin.path, textColumn: origin.textColumn) where wanted.contains(line) {
            byLine[line] = String(text)
        }
        return try lines.map { line in
            guard let text = byLine[line] else {
                throw VAEError("\(origin.path) has changed since it was read: its line \(line) is no longer an item")
            }
            return text
        }
    }

    public func binarized(seed: UInt64) -> any DataSource { self }
}

/// How `vae train` reads a file of sequences.
public struct SequenceOptions: Codable, Equatable, Sendable {
    public var tokenizer: SequenceConfig.Tokenizer = .characters
    /// Items with more tokens are skipped (and counted).
    public var maxLength = 100
    /// The vocabulary keeps the most frequent tokens up to this many (others read as <unk>).
    public var maxVocabulary = 10_000
    /// A CSV file's column that holds the items (nil: one item per line).
    public var textColumn: String?
    /// A separate test file (nil: a seeded split of the training file), as given.
    public var testFile: String?
    /// `testFile` made absolute (links resolved) when the run trained; nil in runs of before.
    public var testFileAbsolutePath: String?
    /// The test file from here: as given when that leads to it, else its absolute path when that
    /// does (a run used from another folder), else as given (for the message that it is missing).
    public var resolvedTestFile: String? { testFile.map { AtomicFile.resolve($0, absolute: testFileAbsolutePath) } }
    public var testFraction = 0.1
    public var seed: UInt64 = 1
    public init() {}

    public static let maxVocabularyLimit = 65_000
    /// The longest --max-length (tokens per item).
    public static let maxLengthLimit = 100_000
}

extension Dataset {
    /// Lines of at most this many bytes are read; longer ones are refused (a binary file, or no items).
    static let maxLineBytes = 1 << 20

    /// A file named .csv (gzip or not): a table, read by column; anything else is one item per line.
    public static func looksLikeCSV(_ path: String) -> Bool {
        let name = path.lowercased()
        return name.hasSuffix(".csv") || name.hasSuffix(".csv.gz")
    }

    /// The raw items (strings with their line numbers) of a text, SMILES or CSV file, plain or gzip.
    /// The items of a file as training reads them (`vae smiles` checks them so).
    /// `keepBlankLines`: a plain file's blank lines are items too (empty ones), as `vae smiles`
    /// counts them; training skips them.
    public static func readSequenceItems(path: String, textColumn: String?, keepBlankLines: Bool = false) throws -> [(line: Int32, text: Substring)] {
        try readItems(path: path, textColumn: textColumn, keepBlankLines: keepBlankLines)
    }

    static func readItems(path: String, textColumn: String?, keepBlankLines: Bool = false) throws -> [(line: Int32, text: Substring)] {
        try readCountedItems(path: path, textColumn: textColumn, keepBlankLines: keepBlankLines).items
    }

    /// `readItems`, with the count of a CSV's records whose --text-column cell is blank (no items:
    /// said in a note by training, as a table's skipped rows are).
    static func readCountedItems(path: String, textColumn: String?, keepBlankLines: Bool = false) throws -> (items: [(line: Int32, text: Substring)], blankCells: Int) {
        try parseCountedItems(try AtomicFile.readAll(path: path, maxBytes: 4 << 30), source: path, textColumn: textColumn, keepBlankLines: keepBlankLines)
    }

    /// The items of a file's bytes (gzip or not); `source` names it in messages.
    public static func parseItems(_ input: [UInt8], source path: String, textColumn: String?, keepBlankLines: Bool = false) throws -> [(line: Int32, text: Substring)] {
        try parseCountedItems(input, source: path, textColumn: textColumn, keepBlankLines: keepBlankLines).items
    }

    static func parseCountedItems(_ input: [UInt8], source path: String, textColumn: String?, keepBlankLines: Bool = false) throws -> (items: [(line: Int32, text: Substring)], blankCells: Int) {
        var bytes = input
        if Gzip.isGzip(bytes) { bytes = try Gzip.decompress(bytes, maxOutput: 4 << 30, source: path) }
        guard !bytes.isEmpty else { throw VAEError("\(path) is empty; give a file with one item per line") }
        if bytes.withUnsafeBufferPointer({ memchr($0.baseAddress!, 0, $0.count) != nil }) {   // (the whole file: a NUL past 64 KiB became a token)
            throw VAEError("\(path) holds NUL bytes: it is a binary file, not text with one item per line")
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            // name the first line that is not UTF-8
            var line = 1, start = 0
            for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
                if String(validating: bytes[start..<i], as: UTF8.self) == nil { break }
                line += 1
                start = i + 1
            }
            throw VAEError("\(path) line \(line) is not valid UTF-8 text; convert the file to UTF-8 (e.g. iconv -t UTF-8)")
        }
        // a UTF-8 byte-order mark (a spreadsheet's "CSV UTF-8") is no part of the first line or column name
        let text = decoded.hasPrefix("\u{FEFF}") ? String(decoded.dropFirst()) : decoded
        // A CSV's lines are records, not items: without --text-column its header and every
        // other field would be read as text of the items.
        if textColumn == nil && looksLikeCSV(path) {
            // its header, read by the table reader (a file it cannot read says why)
            let header = try CSVTable.parse(bytes, source: path).names
            let shown = header.prefix(10).map { "'\($0)'" }.joined(separator: ", ") + (header.count > 10 ? ", …" : "")
            throw VAEError("\(path) is a CSV table: pass --text-column with the column that holds the items (its header: \(shown))")
        }
        if let name = textColumn { return try csvColumn(bytes, column: name, source: path) }
        var out: [(Int32, Substring)] = []
        var lineNumber: Int32 = 0
        // "\r\n" is one Character in Swift: split on every line end (Windows files are lines too, and
        // an old Mac's lone CR — such a file was one item of every line, "raise --max-length")
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            guard raw.utf8.count <= maxLineBytes else {
                throw VAEError("\(path) line \(lineNumber) is \(FormatText.bytes(raw.utf8.count)) long — no item is that long; is it a text file with one item per line?")
            }
            var line = raw
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty {
                // the empty piece after a file's last line end is no line
                if keepBlankLines && !(raw.isEmpty && raw.endIndex == text.endIndex) { out.append((lineNumber, line)) }
                continue
            }
            out.append((lineNumber, line))
        }
        guard !out.isEmpty else { throw VAEError("\(path) has no items (every line is empty)") }
        return (out, 0)
    }

    /// The cells of one column of a CSV file, with the line each record starts on: read by the
    /// table reader (`CSVTable`: RFC 4180 quoting, line breaks inside quoted fields, `,` `;` or tab,
    /// a byte-order mark, the same one-line errors), so that a file reads the same as items as
    /// it does as a table. Records whose cell is blank are no items.
    static func csvColumn(_ bytes: [UInt8], column name: String, source path: String) throws -> (items: [(line: Int32, text: Substring)], blankCells: Int) {
        var options = CSVTable.Options()
        options.maxFileBytes = 4 << 30
        options.maxCells = Int(Int32.max)
        let table = try CSVTable.parse(bytes, source: path, options: options)
        guard let c = table.names.firstIndex(of: name) else {
            throw VAEError("\(path) has no column '\(TableEncoder.cut(name))' in its header (line 1: \(TableEncoder.listed(table.names, limit: 10))); give --text-column one of those")
        }
        // one String of the cells, each item a Substring of it (no String per item)
        var text = ""
        var ends: [String.Index] = []
        ends.reserveCapacity(table.rowCount)
        for r in 0..<table.rowCount {
            text += table.string(r, c)
            ends.append(text.endIndex)
        }
        var out: [(line: Int32, text: Substring)] = []
        out.reserveCapacity(table.rowCount)
        var from = text.startIndex
        for r in 0..<table.rowCount {
            let cell = text[from..<ends[r]]
            from = ends[r]
            if cell.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            out.append((Int32(clamping: table.rowLines[r]), cell))
        }
        guard !out.isEmpty else { throw VAEError("\(path) has no items (column '\(name)' is empty in every row, or the file holds only its header)") }
        return (out, table.rowCount - out.count)
    }


    /// Tokenizes items with `vocabulary` (nil: build it from these items, most frequent first up to
    /// `options.maxVocabulary`). Items over `maxLength` tokens are skipped; returns the source, the
    /// vocabulary, and the counts of skipped items and of <unk> tokens.
    public static func encodeItems(_ items: [(line: Int32, text: Substring)], options: SequenceOptions, vocabulary: [String]?,
                            source: String) throws -> (SequenceSource, [String], skipped: Int, unknown: Int) {
        // Two passes over the items, tokenizing each time (no array of every item's tokens is
        // ever held: memory stays with the text and the 16-bit ids).
        func tokens(_ text: Substring) -> [Substring]? { fittingTokens(text, options: options) }
        var vocab = vocabulary ?? []
        if vocabulary == nil {
            var counts: [Substring: Int] = [:]
            for (_, text) in items { for t in tokens(text) ?? [] { counts[t, default: 0] += 1 } }
            let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            vocab = Vocabulary.specials + ranked.prefix(min(options.maxVocabulary, SequenceOptions.maxVocabularyLimit)).map { String($0.key) }
        }
        var index: [Substring: UInt16] = [:]
        for (i, t) in vocab.enumerated() where i >= Vocabulary.specials.count { index[Substring(t)] = UInt16(i) }
        var ids: [UInt16] = [], starts = [0], lines: [Int32] = []
        var unknown = 0, skipped = 0
        var overLong: [(line: Int32, text: String)] = []
        for (line, text) in items {
            guard let toks = tokens(text) else {
                skipped += 1
                overLong.append((line, String(text)))
                continue
            }
            if toks.isEmpty { continue }   // (a file of only such lines is said so below)
            for t in toks {
                if let id = index[t] { ids.append(id) } else { ids.append(UInt16(Vocabulary.unk)); unknown += 1 }
            }
            starts.append(ids.count)
            lines.append(line)
        }
        guard !lines.isEmpty else {
            if items.isEmpty { throw VAEError("\(source): no items (an empty file?)") }
            if overLong.isEmpty {
                throw VAEError("\(source): no item has a token (\(items.count) read: lines of only spaces or other invisible characters for the \(options.tokenizer.rawValue) tokenizer)")
            }
            // a trained run's file (a vocabulary given): its --max-length is the model's, no flag of this command
            if vocabulary != nil {
                throw VAEError("\(source): no item has at most the run's --max-length of \(options.maxLength) tokens (\(items.count) read): the model takes no longer items (it is fixed when a run trains)")
            }
            throw VAEError("\(source): no item has at most --max-length \(options.maxLength) tokens (\(items.count) read); \(longerAdvice(overLong, options))")
        }
        var source = SequenceSource(ids: ids, starts: starts, lines: lines, maxLength: options.maxLength)
        source.overLong = overLong
        return (source, vocab, skipped, unknown)
    }

    /// What to do about items over --max-length: raise it to the shortest's length, or — past what
    /// --max-length takes — split the items (a file of one enormous line, say).
    static func longerAdvice(_ overLong: [(line: Int32, text: String)], _ options: SequenceOptions) -> String {
        let shortest = overLong.prefix(1000).map { Vocabulary.tokenize(Substring($0.text), options.tokenizer).count }.min() ?? 0
        return shortest > SequenceOptions.maxLengthLimit
            ? "the shortest has \(FormatText.grouped(shortest)) tokens, more than --max-length takes (\(FormatText.grouped(SequenceOptions.maxLengthLimit))): is the file one item per line?"
            : "raise --max-length (the shortest has \(FormatText.grouped(shortest)) tokens)"
    }

    /// The item's tokens, or nil when it has more than `options.maxLength`.
    static func fittingTokens(_ text: Substring, options: SequenceOptions) -> [Substring]? {
        // a token is at least one byte: longer lines are over the limit without tokenizing them
        if text.utf8.count > options.maxLength * 64 { return nil }
        let t = Vocabulary.tokenize(text, options.tokenizer)
        return t.count > options.maxLength ? nil : t
    }

    /// A file of sequences for training: its vocabulary, a test file or a seeded split.
    public static func loadSequences(path: String, options: SequenceOptions) throws -> (Dataset, vocabulary: [String]) {
        // --text-column is a CSV's column: a .csv file is read by it, any other one item per line
        // (as the run's later commands read files) — a .smi training file with MOSES's test.csv
        func column(_ file: String) -> String? { looksLikeCSV(file) ? options.textColumn : nil }
        if let c = options.textColumn, !looksLikeCSV(path), !(options.resolvedTestFile.map(looksLikeCSV) ?? false) {
            throw VAEError("--text-column \(c) names a CSV file's column, and \(path) is no .csv file (it is read one item per line): drop --text-column, or name a CSV file .csv")
        }
        if let test = options.resolvedTestFile, test == path || AtomicFile.sameFile(test, path) {
            throw VAEError("--test \(test) is the training file itself: its items would be both training and test items; give another file, or leave out --test (a share of --data is held out)")
        }
        let (items, blank) = try readCountedItems(path: path, textColumn: column(path))
        var trainItems = items, testItems: [(line: Int32, text: Substring)] = []
        var blankCells = [(path, blank)]
        if let test = options.resolvedTestFile {
            let read = try readCountedItems(path: test, textColumn: column(test))
            testItems = read.items
            blankCells.append((test, read.blankCells))
        } else {
            let (trainPos, testPos) = TableSplitRule.split(rows: items.count, testFraction: options.testFraction, seed: options.seed)
            trainItems = trainPos.map { items[$0] }
            testItems = testPos.map { items[$0] }
            if testItems.isEmpty && !items.isEmpty {
                // the items' length first: a file whose lines are all too long needs --max-length, not more lines
                _ = try encodeItems(items, options: options, vocabulary: nil, source: path)
                throw VAEError("\(path): \(trainItems.count) train and 0 test items — too few to hold out a test set: give more data, a --test file\(items.count >= 2 ? ", or a larger --test-fraction" : "")")
            }
        }
        if options.resolvedTestFile == nil, !trainItems.isEmpty,
           !trainItems.contains(where: { fittingTokens($0.text, options: options) != nil }) {
            // counted over the file, not its training split; and if only test items fit, say so
            let testFits = testItems.contains(where: { fittingTokens($0.text, options: options) != nil })
            let overLong = trainItems.map { (line: $0.line, text: String($0.text)) }
            throw VAEError(testFits
                ? "\(path): none of the \(trainItems.count) items of its training split has at most --max-length \(options.maxLength) tokens (\(items.count) read); \(longerAdvice(overLong, options))"
                : "\(path): no item has at most --max-length \(options.maxLength) tokens (\(items.count) read); \(longerAdvice(overLong, options))")
        }
        var (train, vocab, skipped, trainUnknown) = try encodeItems(trainItems, options: options, vocabulary: nil, source: path)
        var (test, _, testSkipped, unknown) = try encodeItems(testItems, options: options, vocabulary: vocab,
                                                              source: options.resolvedTestFile ?? path + " (its test split)")
        train.origin = SequenceSource.Origin.of(path, textColumn: column(path), items: items)
        test.origin = options.resolvedTestFile.map { SequenceSource.Origin.of($0, textColumn: column($0), items: testItems) }
            ?? SequenceSource.Origin.of(path, textColumn: column(path), items: items)
        var d = Dataset(name: (path as NSString).lastPathComponent, directory: path, train: train, test: test, classNames: [])
        d.notes = blankCellNotes(blankCells, column: options.textColumn)
            + sequenceNotes(path: path, skipped: skipped, testSkipped: testSkipped, unknown: trainUnknown + unknown, options: options)
        d.sequence = options
        return (d, vocab)
    }

    /// A run's training file read again as training read it (to resume, or for its test split);
    /// the vocabulary must come out as the run's, else the file has changed.
    public static func reloadSequences(path: String, options: SequenceOptions, vocabulary: [String]) throws -> Dataset {
        let (d, vocab) = try loadSequences(path: path, options: options)
        guard vocab == vocabulary else {
            throw VAEError("\(path) gives another vocabulary than the run's (has the file changed since training?); pass the file the run was trained on")
        }
        return d
    }

    /// A file read with a run's vocabulary (every item is a test item): unseen tokens become <unk>
    /// and are counted in `notes`, items over the run's longest length are skipped and counted.
    public static func loadSequences(path: String, config: SequenceConfig, textColumn: String?) throws -> Dataset {
        var o = SequenceOptions()
        o.tokenizer = config.tokenizer
        o.maxLength = config.maxLength
        let (items, blank) = try readCountedItems(path: path, textColumn: textColumn)
        var (set, _, skipped, unknown) = try encodeItems(items, options: o, vocabulary: config.vocabulary, source: path)
        set.origin = SequenceSource.Origin.of(path, textColumn: textColumn, items: items)
        var d = Dataset(name: (path as NSString).lastPathComponent, directory: path, train: set, test: set, classNames: [])
        d.notes = blankCellNotes([(path, blank)], column: textColumn) + sequenceNotes(path: path, skipped: skipped, testSkipped: 0, unknown: unknown, options: o, forRun: true)
        return d
    }

    /// Records of a CSV whose item cell is blank: no items, counted (a file that lost its molecules
    /// in an export reads as a smaller set, not silently).
    static func blankCellNotes(_ counts: [(String, Int)], column: String?) -> [String] {
        counts.filter { $0.1 > 0 }.map { file, n in
            "\(file): \(n) record\(n == 1 ? "" : "s") with an empty '\(TableEncoder.cut(column ?? ""))' cell \(n == 1 ? "was" : "were") skipped (no item)"
        }
    }

    /// `forRun`: the items are read for a trained run (its model cannot read a longer item at all).
    static func sequenceNotes(path: String, skipped: Int, testSkipped: Int, unknown: Int, options: SequenceOptions, forRun: Bool = false) -> [String] {
        var notes: [String] = []
        // each file named with its own count (a --test file's were put on the training file)
        let testSource = options.resolvedTestFile ?? path + " (its test split)"
        let counts = options.resolvedTestFile == nil ? [(path, skipped + testSkipped)] : [(path, skipped), (testSource, testSkipped)]
        for (file, n) in counts where n > 0 {
            notes.append(forRun
                ? "\(file): \(n) item\(n == 1 ? "" : "s") longer than the model's --max-length (\(options.maxLength) tokens) cannot be read by it: vae anomaly scores \(n == 1 ? "it" : "them") inf (ranked first), other commands leave \(n == 1 ? "it" : "them") out"
                : "\(file): \(n) item\(n == 1 ? "" : "s") longer than --max-length \(options.maxLength) tokens \(n == 1 ? "was" : "were") skipped")
        }
        // which file's (the note named none): a run's file, or the files a run trains and tests on
        let files = forRun || options.resolvedTestFile == nil ? path : "\(path) and \(testSource)"
        if unknown > 0 { notes.append("\(unknown) token\(unknown == 1 ? "" : "s") of \(files) \(unknown == 1 ? "is" : "are") not in the vocabulary and read as <unk>") }
        return notes
    }
}
