import Foundation

/// Options of `TableEncoder.fit` (`--label`, `--ignore`, `--test-fraction`, `--seed`).
public struct TableOptions: Sendable {
    /// The class column, kept out of the features.
    public var label: String? = nil
    /// Columns to drop.
    public var ignore: [String] = []
    /// The share of rows held out for testing (default 0.2: a small table needs enough test rows
    /// for a stable ROC-AUC).
    public var testFraction = 0.2
    public var seed: UInt64 = 1
    /// A text column with more levels than this is refused (an id or a name, not a category);
    /// also refused: more than 20 levels and more than half as many levels as values, or 10 or
    /// more values all different.
    public var maxLevels = 1000
    /// Keep the `--ignore`d columns' cells beside the training rows too (`TableSplit.keys`: what
    /// `vae encode --split train` writes); the test rows always keep them. Off for training, where
    /// nothing reads them (a free-text column's copy doubled its memory).
    public var keepIgnored = false
    public init() {}
}

/// A table read with a schema fitted on it.
public struct EncodedTable: Sendable {
    public var schema: TableSchema
    public var train: TableSplit
    public var test: TableSplit
    /// Things the user should be told (rows dropped for a missing label, a detected layout).
    public var notes: [String]
}

/// What to do with a category level a stored schema has not seen.
public enum UnseenLevels: String, Sendable, Codable {
    /// A one-line error naming the cell, its value and the known levels.
    case error
    /// The cell is read as missing (masked, and filled by `impute`).
    case missing
}

/// Types the columns of a CSV table, fits the schema on the training rows and encodes rows.
///
/// Types come from all rows: a column whose non-missing cells are all finite numbers is numeric,
/// any other is categorical with its sorted distinct (trimmed) values as levels — levels are a
/// vocabulary, not fitted statistics, so a level seen only in the test rows still has its column.
/// Means and standard deviations (population, as scikit-learn's StandardScaler) come from the
/// training rows only. Rows whose `--label` cell is missing are dropped (and counted in `notes`).
public enum TableEncoder {
    static let maxDecimals = 12

    /// Reads a CSV file and fits a schema on it: what `vae train --data FILE.csv` does.
    public static func load(path: String, options: TableOptions, csv: CSVTable.Options = CSVTable.Options()) throws -> (table: CSVTable, encoded: EncodedTable) {
        let table = try CSVTable.read(path: path, options: csv)
        return (table, try fit(table, options: options))
    }

    public static func fit(_ table: CSVTable, options: TableOptions) throws -> EncodedTable {
        let source = table.source
        func index(of name: String, flag: String) throws -> Int {
            guard let found = table.names.firstIndex(of: name) else {
                throw VAEError.usage("\(flag) \(name): \(source) has no column '\(cut(name))'; its columns: \(listed(table.names))")
            }
            return found
        }
        let labelIndex = try options.label.map { try index(of: $0, flag: "--label") }
        var ignored = Set<Int>()
        for name in TableEncoder.rejoined(options.ignore, names: table.names) { ignored.insert(try index(of: name, flag: "--ignore")) }
        if let l = labelIndex, ignored.contains(l) {
            throw VAEError("--label \(table.names[l]) is also in --ignore — a column is either the class or dropped")
        }
        let features = (0..<table.columnCount).filter { $0 != labelIndex && !ignored.contains($0) }
        guard !features.isEmpty else {
            throw VAEError("\(source): no feature columns are left after --label and --ignore; its columns: \(listed(table.names))")
        }
        var notes: [String] = []
        if let names = table.targetNames {
            // its class column a feature when not named the label: the model would read the answer
            let unlabelled = options.label == nil && !options.ignore.contains("target")
            notes.append("\(source): scikit-learn layout (line 1 = \(table.rowCount) rows, \(table.columnCount - 1) features, class names \(names.joined(separator: ", "))): columns named feature_1 … feature_\(table.columnCount - 1), target"
                         + (unlabelled ? " — target is the class column, read now as a feature: give --label target to make it the class (or --ignore target to leave it out)" : ""))
        } else if table.names.count >= 2, let n = Int(table.names[0]), let f = Int(table.names[1]), f + 1 == table.columnCount {
            notes.append("\(source): line 1 looks like scikit-learn's layout (\(n) rows, \(f) features) but the file has \(table.rowCount) rows, so it is read as column names ('\(table.names[0])', '\(table.names[1])', …)")
        } else if table.names.allSatisfy({ Double($0) != nil }) {
            notes.append("\(source): its first line (\(table.names.prefix(4).joined(separator: ","))\(table.names.count > 4 ? ",…" : "")) is all numbers, read as the column names — if the file has no header row, add one (else its first row is not trained on)")
        }

        // The label: class values, and the rows kept (those with a label).
        var kept = Array(0..<table.rowCount)
        var label: TableSchema.Label? = nil
        var labelOfRow: [String] = []
        if let l = labelIndex {
            labelOfRow = table.bytes.withUnsafeBufferPointer { bytes in
                (0..<table.rowCount).map { row -> String in
                    let span = table.span(row, l)
                    if TableCell.classify(bytes, span) == .missing { return "" }
                    return String(decoding: bytes[TableCell.trimmed(bytes, span)], as: UTF8.self)
                }
            }
            let dropped = kept.filter { labelOfRow[$0].isEmpty }
            kept = kept.filter { !labelOfRow[$0].isEmpty }
            guard !kept.isEmpty else { throw VAEError("--label \(table.names[l]): every cell of that column in \(source) is missing") }
            if !dropped.isEmpty {
                let lines = dropped.prefix(5).map { String(table.rowLines[$0]) }.joined(separator: ", ")
                notes.append("\(source): \(dropped.count) rows with no '\(table.names[l])' were left out (line \(lines)\(dropped.count > 5 ? ", …" : ""))")
            }
            let values = TableSchema.sorted(Array(Set(kept.map { labelOfRow[$0] })))
            if values.count > options.maxLevels || (values.count > 20 && values.count * 2 > kept.count) {
                throw VAEError("--label \(table.names[l]): the column has \(values.count) distinct values in \(kept.count) rows — too many for classes; choose a column of classes")
            }
            var names = values
            if let targetNames = table.targetNames, l == table.columnCount - 1 {
                names = values.map { v in Int(v).flatMap { $0 >= 0 && $0 < targetNames.count ? targetNames[$0] : nil } ?? v }
            }
            label = TableSchema.Label(name: table.names[l], values: values, classNames: names)
        }

        let (trainPositions, testPositions) = TableSplitRule.split(rows: kept.count, testFraction: options.testFraction, seed: options.seed)
        let trainRows = trainPositions.map { kept[$0] }
        let testRows = testPositions.map { kept[$0] }
        let inTrain = { () -> [Bool] in
            var flags = [Bool](repeating: false, count: table.rowCount)
            for row in trainRows { flags[row] = true }
            return flags
        }()

        var columns: [TableSchema.Column] = []
        var offset = 0
        // the columns to drop (ids, dates, empty ones), all named in one message: one per run made
        // a user run the command again for each
        var unreadable: [(name: String, error: VAEError)] = []
        for c in features {
            var column: TableSchema.Column
            do {
                column = try typeColumn(table, c, inTrain: inTrain, maxLevels: options.maxLevels, notes: &notes)
            } catch let e as VAEError where e.message.contains("drop it with --ignore") {
                unreadable.append((table.names[c], e))
                continue
            }
            column.offset = offset
            guard column.width <= TableSchema.maxWidth - offset else {
                throw VAEError("\(source): the encoded table would have more than \(FormatText.grouped(TableSchema.maxWidth)) columns (categories count one column per level) — --ignore some columns")
            }
            offset += column.width
            columns.append(column)
        }
        if let first = unreadable.first {
            guard unreadable.count > 1 else { throw first.error }
            let all = ignored.sorted().map { table.names[$0] } + unreadable.map(\.name)
            throw VAEError(first.error.message + "; \(unreadable.count - 1) more \(unreadable.count == 2 ? "column" : "columns") cannot be read either (\(unreadable.dropFirst().map { "'\($0.name)'" }.joined(separator: ", "))) — to drop them all: --ignore \(all.map(shell).joined(separator: ","))")
        }
        let schema = TableSchema(columns: columns, label: label, ignored: ignored.sorted().map { table.names[$0] })
        let train = try encode(table, schema: schema, rows: trainRows, unseen: .error, keys: options.keepIgnored)
        let test = try encode(table, schema: schema, rows: testRows, unseen: .error, keys: true)
        return EncodedTable(schema: schema, train: train, test: test, notes: notes)
    }

    /// Reads a new file with a stored schema: every row, no split. The feature columns must all be
    /// there (in any order; other columns are left alone); the label column is optional.
    /// `keys`: keep the ignored columns' cells (`TableSplit.keys`).
    public static func apply(_ schema: TableSchema, to table: CSVTable, unseenLevels: UnseenLevels = .error, keys: Bool = false) throws -> TableSplit {
        for column in schema.columns where !table.names.contains(column.name) {
            throw VAEError("\(table.source) has no column '\(cut(column.name))', which the model was trained with; its columns: \(listed(table.names))")
        }
        return try encode(table, schema: schema, rows: Array(0..<table.rowCount), unseen: unseenLevels, keys: keys)
    }

    /// The schema column of feature `c`: its kind (from all rows) and statistics (training rows).
    /// --ignore's names as the command line split them at its commas, put back together where
    /// pieces joined by ", " or "," name a column ('Name, full'): the message that suggests
    /// `--ignore 'Name, full'` gives a command that works.
    static func rejoined(_ pieces: [String], names: [String]) -> [String] {
        let known = Set(names)
        var out: [String] = [], i = 0
        while i < pieces.count {
            var next: (name: String, end: Int)? = nil
            for j in stride(from: pieces.count - 1, to: i, by: -1) {
                if let joined = [", ", ","].lazy.map({ pieces[i...j].joined(separator: $0) }).first(where: { known.contains($0) }) {
                    next = (joined, j + 1)
                    break
                }
            }
            out.append(next?.name ?? pieces[i])
            i = next?.end ?? i + 1
        }
        return out
    }

    static func typeColumn(_ table: CSVTable, _ c: Int, inTrain: [Bool], maxLevels: Int, notes: inout [String]) throws -> TableSchema.Column {
        let name = table.names[c]
        return try table.bytes.withUnsafeBufferPointer { bytes -> TableSchema.Column in
            var numbers = 0, texts = 0, nonFinite = 0
            var firstText: Int? = nil, firstNonFinite: Int? = nil
            var decimals: Int? = 0
            // the training rows' values, for Σ v and Σ (v − mean)² (two passes in Double)
            var trainValues: [Double] = []
            trainValues.reserveCapacity(table.rowCount)
            // a row number: 1, 2, 3, … (or from any start), no cell missing
            var previous: Double? = nil, counts = true
            // codes written with leading zeros (zip codes '02134', ids '007'): categories, not
            // quantities — when every number is digits alone of one width (an age column with
            // one '07' stays numbers)
            var zeroLed: Int? = nil, codeWidth: Int? = 0
            for row in 0..<table.rowCount {
                switch TableCell.classify(bytes, table.span(row, c)) {
                case .missing: counts = false
                case .number(let v, let d):
                    numbers += 1
                    if let w = codeWidth {
                        let t = TableCell.trimmed(bytes, table.span(row, c))
                        let digits = t.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) }
                        codeWidth = digits && (w == 0 || w == t.count) ? t.count : nil
                        if zeroLed == nil, t.count >= 2, bytes[t.lowerBound] == UInt8(ascii: "0") { zeroLed = row }
                    }
                    decimals = d.flatMap { d in decimals.map { max($0, d) } }
                    if inTrain[row] { trainValues.append(v) }
                    counts = counts && (previous.map { v == $0 + 1 } ?? (v == v.rounded()))
                    previous = v
                case .nonFinite:
                    nonFinite += 1
                    if firstNonFinite == nil { firstNonFinite = row }
                case .text:
                    texts += 1
                    if firstText == nil { firstText = row }
                }
            }
            let observed = numbers + texts + nonFinite
            guard observed > 0 else {
                throw VAEError("\(table.source) column \(c + 1) ('\(name)') has no values, every cell is missing — drop it with --ignore \(shell(name))")
            }
            if codeWidth == nil || nonFinite > 0 { zeroLed = nil }   // not codes: numbers as ever
            if texts == 0 && zeroLed == nil {
                if let row = firstNonFinite {
                    throw VAEError("\(table.location(row: row, column: c)): '\(shown(table.string(row, c)))' is not a finite number — write a number (32-bit range, ±3.4e38) or leave the cell empty for missing")
                }
                guard !trainValues.isEmpty else {
                    throw VAEError("\(table.source) column \(c + 1) ('\(name)') has no values in the training rows — drop it with --ignore \(shell(name))")
                }
                let mean = trainValues.reduce(0, +) / Double(trainValues.count)
                // population variance: Σ (v − mean)² / n
                let squares = trainValues.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
                var std = (squares / Double(trainValues.count)).squareRoot()
                if counts && table.rowCount >= 10 {
                    notes.append("\(table.source) column \(c + 1) ('\(name)') counts the rows (\(shown(table.string(0, c))), \(shown(table.string(1, c))), …) — a row number is no feature; drop it with --ignore \(shell(name))")
                }
                // a few values so far out that they set the column's spread (3.4e38 among 1…150): the
                // others, standardised by it, all read as one number — trained on without a word
                if std > 0 && std.isFinite {
                    let far = trainValues.filter { abs($0 - mean) > 3 * std }
                    if !far.isEmpty && far.count * 20 <= trainValues.count {   // (up to 5%: two 3.4e38 among 150 were missed at 1%)
                        let rest = trainValues.filter { abs($0 - mean) <= 3 * std }
                        let m = rest.reduce(0, +) / Double(rest.count)
                        let spread = (rest.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(rest.count)).squareRoot()
                        if spread > 0 && spread < std / 1000, let extreme = far.max(by: { abs($0 - m) < abs($1 - m) }) {
                            notes.append("\(table.source) column \(c + 1) ('\(name)'): \(far.count) training value\(far.count == 1 ? " lies" : "s lie") over 1,000 times the others' spread from them (\(far.count == 1 ? "" : "the farthest ")\(extreme)), so the column is standardised by \(far.count == 1 ? "it" : "them") and its other values all read as about one number — check \(far.count == 1 ? "that cell" : "those cells") (a unit or typing error?)")
                        }
                    }
                }
                if !(std > 0) || !std.isFinite { std = 1 }
                return TableSchema.Column(name: name, kind: .numeric(mean: mean, std: std), offset: 0, width: 1,
                                          decimals: decimals.map { min($0, maxDecimals) })
            }
            if texts == 0, let row = zeroLed {
                notes.append("\(table.source) column \(c + 1) ('\(name)') writes numbers with leading zeros ('\(shown(table.string(row, c)))' on line \(table.rowLines[row])): read as codes — categories, as written — not as quantities")
            }
            // Categorical: the distinct trimmed values, counted up to the limit.
            var levels = Set<String>()
            for row in 0..<table.rowCount {
                let span = table.span(row, c)
                if TableCell.classify(bytes, span) == .missing { continue }
                levels.insert(String(decoding: bytes[TableCell.trimmed(bytes, span)], as: UTF8.self))
                if levels.count > maxLevels { break }
            }
            // "6,29" in a ';'-separated file: a decimal comma, which no numeric parse takes
            let decimalComma = levels.filter { v in
                let parts = v.split(separator: ",", omittingEmptySubsequences: false)
                return parts.count == 2 && !parts[1].isEmpty && parts[1].allSatisfy(\.isNumber)
                    && !parts[0].isEmpty && parts[0].drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isNumber)
            }
            if decimalComma.count * 10 >= levels.count * 9, !decimalComma.isEmpty {
                // the first such cell in the file, with its line
                let first = (0..<table.rowCount).first { decimalComma.contains(String(decoding: bytes[TableCell.trimmed(bytes, table.span($0, c))], as: UTF8.self)) }
                let example = first.map { String(decoding: bytes[TableCell.trimmed(bytes, table.span($0, c))], as: UTF8.self) } ?? decimalComma.min()!
                let at = first.map { " on line \(table.rowLines[$0])" } ?? ""
                // three digits after every comma: as likely a thousands separator (1,250 = 1250)
                let grouped = decimalComma.allSatisfy { v in
                    let parts = v.split(separator: ",", omittingEmptySubsequences: false)
                    return parts[1].count == 3 && parts[0].drop(while: { $0 == "-" || $0 == "+" }).count <= 3
                }
                if grouped {
                    throw VAEError("\(table.source) column \(c + 1) ('\(name)') holds numbers written with a comma ('\(shown(example))'\(at)): a thousands separator (\(example.replacingOccurrences(of: ",", with: ""))) or a decimal comma (\(example.replacingOccurrences(of: ",", with: ".")))? SwiftVAE reads neither — write the numbers without thousands separators, with '.' as the decimal point")
                }
                throw VAEError("\(table.source) column \(c + 1) ('\(name)') holds numbers with a decimal comma ('\(shown(example))'\(at)); SwiftVAE reads a decimal point — write them as '\(example.replacingOccurrences(of: ",", with: "."))' (e.g. LibreOffice: export with '.' as the decimal separator)")
            }
            // an id or a name: too many levels, or more than half the values distinct, or all of them
            if levels.count > maxLevels || (levels.count > 20 && levels.count * 2 > observed) || (observed >= 10 && levels.count == observed) {
                let many = levels.count > maxLevels ? "more than \(FormatText.grouped(maxLevels))" : "\(levels.count)"
                var hint = ""
                if numbers > texts, let row = firstText {
                    let text = table.string(row, c)
                    hint = "; it holds numbers but also '\(shown(text))' on line \(table.rowLines[row]) — \(TableEncoder.commaNumberFix(text) ?? "make such cells empty (missing)") to read it as numbers, or"
                }
                throw VAEError("\(table.source) column \(c + 1) ('\(name)') is text with \(many) distinct values in \(observed) rows — too many for categories (an id or a name?)\(hint.isEmpty ? ";" : hint) drop it with --ignore \(shell(name))\(table.columnCount == 1 && name.contains(" ") ? " (or is the file separated by spaces? SwiftVAE reads ',', ';' or tab)" : "")")
            }
            // mostly numbers and a few words: a measurement with a stray marker ('-', 'n.a.', 'error'),
            // which made every value a category of its own (a new value then read as missing)
            if numbers > texts, let row = firstText {
                let text = table.string(row, c)
                let stray = "holds numbers but also '\(shown(text))' on line \(table.rowLines[row])"
                // "1,234" among numbers: a thousands separator (or a decimal comma), not a word to delete
                let fix = TableEncoder.commaNumberFix(text)
                if levels.count > 20 {
                    throw VAEError("\(table.source) column \(c + 1) ('\(name)') \(stray), so its \(levels.count) distinct values would be categories — \(fix ?? "make such cells empty (missing)") to read it as numbers, or drop it with --ignore \(shell(name))")
                }
                notes.append("\(table.source) column \(c + 1) ('\(name)') is read as \(levels.count) categories: it \(stray) (\(fix ?? "make such cells empty") to read it as numbers)")
            }
            let sortedLevels = TableSchema.sorted(Array(levels))
            return TableSchema.Column(name: name, kind: .categorical(levels: sortedLevels), offset: 0, width: sortedLevels.count)
        }
    }

    /// A cell that is a number but for a comma — thousands grouped ("1,234", "-12,345.5": the number
    /// without them) or a decimal comma ("4,3": with a point) — as SwiftVAE reads it; else nil.
    static func commaNumber(_ cell: String) -> String? {
        let t = cell.trimmingCharacters(in: .whitespaces)
        let body = t.drop { $0 == "-" || $0 == "+" }
        guard body.contains(","), body.first?.isNumber == true else { return nil }
        let sign = t.prefix(t.count - body.count)
        let point = body.split(separator: ".", omittingEmptySubsequences: false)
        guard point.count <= 2, point.count == 1 || (!point[1].isEmpty && point[1].allSatisfy(\.isASCII) && point[1].allSatisfy(\.isNumber)) else { return nil }
        let groups = point[0].split(separator: ",", omittingEmptySubsequences: false)
        guard groups.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        if groups.count >= 2, groups[0].count <= 3, groups.dropFirst().allSatisfy({ $0.count == 3 }) {
            return sign + groups.joined() + (point.count == 2 ? "." + point[1] : "")
        }
        if groups.count == 2, point.count == 1 { return sign + groups[0] + "." + groups[1] }
        return nil
    }

    /// The advice for a cell that is a number but for a comma ("1,234", "4,3"): how to write it so
    /// that it reads as one; nil for other text.
    static func commaNumberFix(_ text: String) -> String? {
        commaNumber(text).map { read -> String in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if read.contains(".") && !trimmed.contains(".") { return "a decimal comma? write it as '\(read)'" }
            // "1,234": grouped thousands, or a decimal comma before three digits
            let alsoDecimal = trimmed.filter { $0 == "," }.count == 1 && !trimmed.contains(".")
            return "a thousands separator? write it as '\(read)'" + (alsoDecimal ? " (or '\(trimmed.replacingOccurrences(of: ",", with: "."))' if the comma is a decimal point)" : "")
        }
    }

    /// Encodes `rows` of `table` with `schema` (columns found by name).
    static func encode(_ table: CSVTable, schema: TableSchema, rows: [Int], unseen: UnseenLevels, keys: Bool) throws -> TableSplit {
        let width = schema.width
        let total = rows.count.multipliedReportingOverflow(by: width)
        guard !total.overflow, total.partialValue <= 1 << 30 else {
            throw VAEError("\(table.source): \(rows.count) rows × \(width) encoded columns is more than SwiftVAE holds in memory at once — use fewer rows or columns")
        }
        var x = [Float](repeating: 0, count: total.partialValue)
        var mask = [UInt8](repeating: 0, count: total.partialValue)
        let indexOf = Dictionary(uniqueKeysWithValues: table.names.enumerated().map { ($1, $0) })
        let labelIndex = schema.label.flatMap { indexOf[$0.name] }
        var classOf = schema.label.map { Dictionary(uniqueKeysWithValues: $0.values.enumerated().map { ($1, Int32($0)) }) } ?? [:]
        // a scikit-learn file's classes have names beside their values (0 malignant, 1 benign): a
        // new file may give either — every command shows the names, its scores CSV too — and a
        // name is its class, not a class the model never saw (a value wins where both could match)
        if let label = schema.label, label.classNames != label.values {
            for (k, name) in label.classNames.enumerated() where classOf[name] == nil { classOf[name] = Int32(k) }
        }
        var unseenClasses: [String] = []
        var unseenLevelCount = 0, unseenLevelExamples: [TableSplit.UnseenLevel] = []
        var labels: [Int32]? = labelIndex == nil ? nil : [Int32](repeating: -1, count: rows.count)
        try table.bytes.withUnsafeBufferPointer { bytes in
            func trimmed(_ span: CSVTable.Span) -> String {
                String(decoding: bytes[TableCell.trimmed(bytes, span)], as: UTF8.self)
            }
            for column in schema.columns {
                let c = indexOf[column.name]!
                switch column.kind {
                case .numeric(let mean, let std):
                    // x = (v − mean) / std where observed
                    for (i, row) in rows.enumerated() {
                        switch TableCell.classify(bytes, table.span(row, c)) {
                        case .missing: continue
                        case .number(let v, _):
                            let z = Float((v - mean) / std)
                            guard z.isFinite else {
                                throw VAEError("\(table.location(row: row, column: c)): \(shown(table.string(row, c))) is too far from the training values of '\(column.name)' (mean \(mean), std \(std)) to standardise in 32 bits — check the cell")
                            }
                            x[i * width + column.offset] = z
                            mask[i * width + column.offset] = 1
                        case .nonFinite:
                            throw VAEError("\(table.location(row: row, column: c)): '\(shown(table.string(row, c)))' is not a finite number — write a number (32-bit range, ±3.4e38) or leave the cell empty for missing")
                        case .text:
                            throw VAEError("\(table.location(row: row, column: c)): '\(shown(table.string(row, c)))' is not a number, and the column is numeric in the model — write a number, or leave the cell empty for missing")
                        }
                    }
                case .categorical(let levels):
                    let levelIndex = Dictionary(uniqueKeysWithValues: levels.enumerated().map { ($1, $0) })
                    // one-hot: x[level] = 1, mask = 1 over the K columns
                    for (i, row) in rows.enumerated() {
                        let span = table.span(row, c)
                        if TableCell.classify(bytes, span) == .missing { continue }
                        let value = trimmed(span)
                        guard let k = levelIndex[value] else {
                            if unseen == .missing {
                                unseenLevelCount += 1
                                if unseenLevelExamples.count < 5 {
                                    unseenLevelExamples.append(.init(line: Int(table.rowLines[row]), column: column.name, text: value))
                                }
                                continue
                            }
                            throw VAEError("\(table.location(row: row, column: c)): '\(shown(value))' is not one of the \(levels.count) categories the model knows (\(listed(levels, limit: 10))) — fix the cell, or read unseen categories as missing")
                        }
                        x[i * width + column.offset + k] = 1
                        for j in column.range { mask[i * width + j] = 1 }
                    }
                }
            }
            if let l = labelIndex, let label = schema.label {
                // A label the schema does not know is a class of its own after the known ones (new
                // rows to score may well be of a class the model never saw); the label is no input.
                for (i, row) in rows.enumerated() {
                    let span = table.span(row, l)
                    if TableCell.classify(bytes, span) == .missing { continue }
                    let value = trimmed(span)
                    if let k = classOf[value] {
                        labels![i] = k
                    } else {
                        guard unseenClasses.count < maxUnseenClasses else {
                            throw VAEError("\(table.location(row: row, column: l)): '\(shown(value))' is one of more than \(maxUnseenClasses) values of '\(label.name)' that the model never saw — is it the class column?")
                        }
                        let k = Int32(label.values.count + unseenClasses.count)
                        classOf[value] = k
                        unseenClasses.append(value)
                        labels![i] = k
                    }
                }
            }
        }
        var split = TableSplit(count: rows.count, width: width, x: x, mask: mask, labels: labels, ids: rows.map { Int32($0 + 1) })
        // the ignored columns this file has, as its owner wrote them (a new file may lack some)
        let keyColumns = keys ? schema.ignored.compactMap { name in indexOf[name].map { (name, $0) } } : []
        if keys { split.missingKeyNames = schema.ignored.filter { indexOf[$0] == nil } }
        if !keyColumns.isEmpty {
            split.keyNames = keyColumns.map(\.0)
            split.keys.reserveCapacity(rows.count * keyColumns.count)
            table.bytes.withUnsafeBufferPointer { bytes in
                for row in rows {
                    for (_, c) in keyColumns {
                        split.keys.append(String(decoding: bytes[TableCell.trimmed(bytes, table.span(row, c))], as: UTF8.self))
                    }
                }
            }
        }
        split.unseenClasses = unseenClasses
        split.unseenLevelCount = unseenLevelCount
        split.unseenLevelExamples = unseenLevelExamples
        return split
    }

    /// At most this many label values a stored schema does not know, in one file.
    static let maxUnseenClasses = 1000

    /// A cell's text for a message: control characters as '?', at most 40 characters.
    public static func shown(_ text: String) -> String {
        let clean = String(String.UnicodeScalarView(text.unicodeScalars.prefix(41).map { $0.value < 32 || $0.value == 127 ? "?" : $0 }))
        return clean.unicodeScalars.count > 40 ? String(String.UnicodeScalarView(clean.unicodeScalars.prefix(40))) + "…" : clean
    }

    /// A name for a message, at most 40 characters (its control characters left for the console
    /// to show escaped): a 100,000-byte column name was echoed whole.
    public static func cut(_ text: String) -> String {
        text.unicodeScalars.count > 40 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(40))) + "…" : text
    }

    /// A column name as a shell word: quoted when it holds anything but letters, digits, `_.-`.
    static func shell(_ name: String) -> String { shellWord(name, plain: "_.-") }

    /// `text` as one shell word: quoted when it holds anything but letters, digits and `plain`.
    public static func shellWord(_ text: String, plain: String = "_.-/,:+=@") -> String {
        let bare = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || plain.unicodeScalars.contains($0) }
        return bare ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// "a, b, c" — at most `limit` names, then "… (N in all)".
    public static func listed(_ names: [String], limit: Int = 30) -> String {
        let shown = names.prefix(limit).map { "'\(TableEncoder.cut($0))'" }.joined(separator: ", ")
        return names.count > limit ? shown + ", … (\(names.count) in all)" : shown
    }
}
