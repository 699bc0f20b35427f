import Foundation

/// A CSV table in memory (RFC 4180): a header row, then data rows with as many fields each.
///
/// Reading: quoted fields may hold the delimiter, `""` (a quote) and line breaks; records end in
/// CRLF, LF or CR; a UTF-8 byte-order mark is skipped; blank lines are skipped (in a table of one
/// column, a blank line between rows is an empty cell); the delimiter is
/// `,`, `;` or tab, detected from the header line (the first non-blank line; the one occurring most often outside quotes;
/// `,` when none does). Refused with a one-line error naming the file, line and column: ragged
/// rows, an unclosed quote, text after a closing quote, a NUL byte or invalid UTF-8 (a binary
/// file), more than `maxColumns` columns, an empty file, a header without data rows.
///
/// Memory: the file's bytes (quoted fields are unescaped in place) plus 8 bytes per cell and 4 per
/// row; the file may hold at most `maxFileBytes` (512 MiB by default) and `maxCells` cells.
///
/// The scikit-learn layout (`sklearn/datasets/data/iris.csv`: a first line "150,4,setosa,…" =
/// rows, features, class names, then rows of features and an integer class) is detected: its
/// columns are named `feature_1` … `feature_F`, `target`, and `targetNames` holds the class names.
public struct CSVTable: Sendable {
    /// A cell: `length` unescaped bytes at `start` in `bytes`.
    public struct Span: Sendable, Equatable {
        public var start: UInt32
        public var length: UInt32
    }

    /// How to read a file: the delimiter, and the limits past which a file is refused.
    public struct Options: Sendable {
        /// `,`, `;` or `\t`; nil detects it from the header line.
        public var delimiter: UInt8? = nil
        public var maxFileBytes = 512 << 20
        public var maxColumns = CSVTable.defaultMaxColumns
        public var maxCells = 1 << 28
        /// The bytes were a gzip file's (the conversion a message suggests starts with zcat).
        var gzipped = false
        public init() {}
    }

    public static let defaultMaxColumns = 65_536

    /// The file name used in messages.
    public var source: String
    /// The file's bytes, quoted fields unescaped in place: read cells through `spans`.
    public var bytes: [UInt8]
    /// The header's cells (its raw text, for writing the file back).
    public var headerSpans: [Span]
    /// Column names: the header's fields with spaces trimmed; an empty one is "column N".
    public var names: [String]
    /// rowCount × columnCount cells, row-major.
    public var spans: [Span]
    /// The 1-based line on which each data row starts.
    public var rowLines: [UInt32]
    public var columnCount: Int
    public var rowCount: Int { rowLines.count }
    public var delimiter: UInt8
    /// The header line's ending: "\r\n", "\r" (classic Mac) or "\n".
    public var lineEnding: String
    public var hasBOM: Bool
    /// False when the last line has no line break.
    public var endsWithLineBreak = true
    /// The class names of a scikit-learn layout file's `target` column (value i → name i).
    public var targetNames: [String]?

    public func span(_ row: Int, _ column: Int) -> Span { spans[row * columnCount + column] }

    /// The unescaped text of a cell.
    public func string(_ row: Int, _ column: Int) -> String {
        text(span(row, column))
    }

    public func text(_ span: Span) -> String {
        String(decoding: bytes[Int(span.start)..<Int(span.start + span.length)], as: UTF8.self)
    }

    /// True when the cell was written between quotes in the file.
    public func wasQuoted(_ span: Span) -> Bool {
        // an unquoted cell follows a delimiter, a line break or the start; a quoted one its quote
        span.start > 0 && bytes[Int(span.start) - 1] == UInt8(ascii: "\"")
    }

    /// "data.csv line 7, column 3 ('price')"
    public func location(row: Int, column: Int) -> String {
        "\(source) line \(rowLines[row]), column \(column + 1) ('\(names[column])')"
    }

    /// Reads and parses a CSV file, gzip-compressed or not (scikit-learn ships `digits.csv.gz`).
    public static func read(path: String, options: Options = Options()) throws -> CSVTable {
        var bytes = try AtomicFile.readAll(path: path, maxBytes: options.maxFileBytes)
        // an image given as --data: say so, not "invalid UTF-8 in line 1"
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) || bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            throw VAEError("\(path) is \(bytes[0] == 0x89 ? "a PNG" : "a JPEG") image, not a table: pass the folder that holds the images (--data DIR)")
        }
        var options = options
        if Gzip.isGzip(bytes) {
            bytes = try Gzip.decompress(bytes, maxOutput: options.maxFileBytes, source: path)
            options.gzipped = true
        }
        return try parse(bytes, source: path, options: options)
    }

    /// Parses CSV bytes; `source` names them in messages.
    public static func parse(_ input: [UInt8], source: String, options: Options = Options()) throws -> CSVTable {
        guard input.count <= options.maxFileBytes, input.count < Int(UInt32.max) else {
            throw VAEError.format(source, "is \(FormatText.bytes(input.count)), more than the \(FormatText.bytes(options.maxFileBytes)) a CSV table may hold")
        }
        var parser = CSVParser(bytes: input, source: source, options: options)
        return try parser.run()
    }
}

/// The tokenizer behind `CSVTable.parse`: one pass over the bytes, unescaping quoted fields in place.
struct CSVParser {
    var bytes: [UInt8]
    let source: String
    let options: CSVTable.Options
    var pos = 0
    /// Where the data rows start (after the header).
    var rowsStart = 0
    var line: UInt32 = 1
    var delimiter: UInt8 = UInt8(ascii: ",")
    /// A table of one column: a blank line is a record of one empty cell (a missing value, as
    /// pandas writes NaN there), not a line to skip — skipped, the rows after it moved up one.
    var blankIsARecord = false

    static let quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    init(bytes: [UInt8], source: String, options: CSVTable.Options) {
        self.bytes = bytes
        self.source = source
        self.options = options
    }

    func fail(_ line: UInt32, _ column: Int?, _ problem: String) -> VAEError {
        let place = column.map { "line \(line), column \($0 + 1)" } ?? "line \(line)"
        return VAEError("\(source) \(place): \(problem)")
    }

    mutating func run() throws -> CSVTable {
        let hasBOM = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        pos = 0
        // (a file saved twice with one: the second mark was the first column's name's first character)
        while pos + 3 <= bytes.count && bytes[pos] == 0xEF && bytes[pos + 1] == 0xBB && bytes[pos + 2] == 0xBF { pos += 3 }
        delimiter = options.delimiter ?? detectDelimiter()
        var record: [CSVTable.Span] = []
        var recordLine: UInt32 = 0
        guard try next(&record, &recordLine) else {
            throw VAEError.format(source, "is empty — a CSV table needs a header row of column names and at least one data row")
        }
        let headerSpans = record
        let headerLine = recordLine
        rowsStart = pos
        blankIsARecord = headerSpans.count == 1
        let lineEnding = headerEndsInCRLF() ? "\r\n" : headerEndsInCR() ? "\r" : "\n"
        var spans: [CSVTable.Span] = []
        var rowLines: [UInt32] = []
        guard try next(&record, &recordLine) else {
            throw fail(headerLine, nil, "the header row is the only row — the table has no data rows")
        }
        // The scikit-learn layout: "n_samples,n_features,class names…", then rows of n_features + 1.
        let headerTexts = headerSpans.map { text($0) }
        // One column whose header and first row both split on spaces into the same several words:
        // a space-separated file, not a table of one text column
        if options.delimiter == nil, headerTexts.count == 1, record.count == 1 {
            let words = { (t: String) in t.split(whereSeparator: { $0 == " " }).count }
            let n = words(headerTexts[0])
            if n >= 2 && words(text(record[0])) == n {
                // (awk: columns aligned with leading spaces are no empty first field, as with tr -s)
                let convert = options.gzipped ? "zcat FILE | awk -v OFS=, '{$1=$1}1'" : "awk -v OFS=, '{$1=$1}1' FILE"
                // a first line of numbers is a data row: the converted file needs a header too
                if headerTexts[0].split(separator: " ").allSatisfy({ Double($0) != nil }) {
                    throw fail(headerLine, nil, "looks space-separated (\(n) numbers on each line, no comma, semicolon or tab), and has no header row (its first line is numbers) — SwiftVAE reads comma-, semicolon- or tab-separated tables with a line of column names; convert it, e.g. (seq -s, -f 'c%g' \(n); \(convert)) > FILE.csv")
                }
                throw fail(headerLine, nil, "looks space-separated (\(n) names on the header line, no comma, semicolon or tab) — SwiftVAE reads comma-, semicolon- or tab-separated tables; convert it, e.g. \(convert) > FILE.csv")
            }
        }
        var sklearn: (rows: Int, features: Int)? = nil
        if headerTexts.count >= 2, let n = plainInt(headerTexts[0]), let f = plainInt(headerTexts[1]),
           f + 1 == record.count, f + 1 != headerTexts.count || headerTexts.dropFirst(2).allSatisfy({ plainInt($0) == nil }) {
            sklearn = (n, f)
        }
        let columnCount = sklearn.map { $0.features + 1 } ?? headerSpans.count
        func missingName(_ index: Int) -> String {
            if sklearn != nil { return index == columnCount - 1 ? "'target'" : "'feature_\(index + 1)'" }
            return "'" + CSVParser.trim(headerTexts[index]) + "'"
        }
        // blank lines of a one-column table wait until a line of data follows: those at the end
        // of the file are no rows
        var blankLines: [UInt32] = []
        try reserveForTheRows(&spans, &rowLines, columns: columnCount)
        repeat {
            if blankIsARecord && record.count == 1 && record[0].length == 0 {
                blankLines.append(recordLine)
                continue
            }
            for blankLine in blankLines {
                spans.append(CSVTable.Span(start: record[0].start, length: 0))
                rowLines.append(blankLine)
            }
            blankLines.removeAll()
            guard record.count == columnCount else {
                // ("the scikit-learn header (line 1) declares has 5": one verb)
                let what = sklearn == nil ? "the header (line \(headerLine)) has" : "the scikit-learn header (line \(headerLine)) declares"
                if record.count > columnCount {
                    throw fail(recordLine, columnCount, "\(record.count) fields, but \(what) \(columnCount) — a field holding '\(printable(delimiter))' must be quoted (\"a\(printable(delimiter))b\")")
                }
                // one field: no delimiter on the line at all — most likely another one than the header's
                let split = record.count == 1 && options.delimiter == nil
                    ? " (fields are split at '\(printable(delimiter))', the delimiter of the header line, and this line has no unquoted one — give one delimiter throughout)" : ""
                throw fail(recordLine, record.count, "\(record.count) field\(record.count == 1 ? "" : "s"), but \(what) \(columnCount): \(missingName(record.count)) and after are missing\(split)")
            }
            guard spans.count + record.count <= options.maxCells else {
                throw fail(recordLine, nil, "the table has more than \(FormatText.grouped(options.maxCells)) cells, the most SwiftVAE reads — split the file or drop columns")
            }
            spans += record
            rowLines.append(recordLine)
        } while try next(&record, &recordLine)
        // (a table of one column whose lines after the header are all blank)
        if rowLines.isEmpty { throw fail(headerLine, nil, "the header row is the only row — the table has no data rows") }
        if let s = sklearn, s.rows != rowLines.count {
            // Column names that happen to start with two integers: read them as names.
            guard headerTexts.count == columnCount else {
                throw fail(headerLine, nil, "looks like a scikit-learn header (\(s.rows) rows, \(s.features) features) but the file has \(rowLines.count) data rows — give the file a header row of column names")
            }
            sklearn = nil
        }
        var names: [String]
        if let s = sklearn {
            names = (0..<s.features).map { "feature_\($0 + 1)" } + ["target"]
        } else {
            names = headerTexts.enumerated().map { index, name in
                let trimmed = CSVParser.trim(name)
                return trimmed.isEmpty ? "column \(index + 1)" : trimmed
            }
            var seen: [String: Int] = [:]
            for (index, name) in names.enumerated() {
                if let first = seen[name] {
                    // a first line of numbers (scikit-learn's digits.csv.gz): a data row, not a header
                    if names.allSatisfy({ Double($0) != nil }) {
                        throw fail(headerLine, nil, "is all numbers (\(names.prefix(4).joined(separator: ","))\(names.count > 4 ? ",…" : "")), with repeats: it is a data row, and the file has no header row — add a line of column names at its top")
                    }
                    // an empty name is called by its place: say so where that made the clash (the user wrote one)
                    let unnamed = [first, index].filter { CSVParser.trim(headerTexts[$0]).isEmpty }.map { $0 + 1 }
                    let why = unnamed.isEmpty ? "" : " (column \(unnamed[0]) has no name in the header, and is called by its place)"
                    throw fail(headerLine, index, "the header names two columns '\(name)' (columns \(first + 1) and \(index + 1))\(why) — rename one")
                }
                seen[name] = index
            }
        }
        var table = CSVTable(source: source, bytes: bytes, headerSpans: headerSpans, names: names, spans: spans,
                        rowLines: rowLines, columnCount: columnCount, delimiter: delimiter, lineEnding: lineEnding,
                        hasBOM: hasBOM, targetNames: sklearn.map { _ in Array(headerTexts.dropFirst(2)) })
        table.endsWithLineBreak = bytes.last == CSVParser.lf || bytes.last == CSVParser.cr
        return table
    }

    func text(_ span: CSVTable.Span) -> String {
        String(decoding: bytes[Int(span.start)..<Int(span.start + span.length)], as: UTF8.self)
    }

    func plainInt(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int(text)
    }

    func printable(_ byte: UInt8) -> String { byte == 9 ? "\\t" : String(UnicodeScalar(byte)) }

    static func trim(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }

    /// The delimiter occurring most often outside quotes on the first line (`,` on ties or none);
    /// on a tie, the one the next line has as many of ("Price, EUR;Qty, pcs;kind" over rows of
    /// "12,5;3;a": the ';' — the ',' gave a field-count error on line 2 that never named the cause).
    func detectDelimiter() -> UInt8 {
        let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: ";"), 9]
        var index = pos
        // the header is the first line that is not blank
        while index < bytes.count && (bytes[index] == CSVParser.lf || bytes[index] == CSVParser.cr) { index += 1 }
        // each candidate's count outside quotes until the next line break outside quotes
        func countLine() -> [Int] {
            var counts = [0, 0, 0]
            var inQuotes = false
            while index < bytes.count {
                let c = bytes[index]
                if c == CSVParser.quote { inQuotes.toggle() }
                else if !inQuotes && (c == CSVParser.lf || c == CSVParser.cr) { break }
                else if !inQuotes, let k = candidates.firstIndex(of: c) { counts[k] += 1 }
                index += 1
            }
            while index < bytes.count && (bytes[index] == CSVParser.lf || bytes[index] == CSVParser.cr) { index += 1 }
            return counts
        }
        let counts = countLine()
        let top = counts.max()!
        guard top > 0 else { return candidates[0] }
        let tied = counts.indices.filter { counts[$0] == top }
        if tied.count > 1 {
            let next = countLine()
            if let k = tied.first(where: { next[$0] == top }) { return candidates[k] }
        }
        return candidates[tied[0]]
    }

    func headerEndsInCR() -> Bool {
        pos >= 1 && bytes[pos - 1] == CSVParser.cr
    }

    func headerEndsInCRLF() -> Bool {
        // the header was just read: pos is past its line break
        pos >= 2 && bytes[pos - 2] == CSVParser.cr && bytes[pos - 1] == CSVParser.lf
    }

    /// Reads the next non-blank record into `record`; false at the end of the input.
    mutating func next(_ record: inout [CSVTable.Span], _ recordLine: inout UInt32) throws -> Bool {
        let n = bytes.count
        while pos < n {
            record.removeAll(keepingCapacity: true)
            recordLine = line
            var blank = true
            fields: while true {
                guard record.count < options.maxColumns else {
                    throw fail(line, record.count, "more than \(FormatText.grouped(options.maxColumns)) columns, the most SwiftVAE reads — is this a table? (drop columns, or check the delimiter)")
                }
                let column = record.count
                var span: CSVTable.Span
                if pos < n && bytes[pos] == CSVParser.quote {
                    blank = false
                    span = try quotedField(column)
                    if pos < n && bytes[pos] != delimiter && bytes[pos] != CSVParser.lf && bytes[pos] != CSVParser.cr {
                        throw fail(line, column, "text after the closing quote of a quoted field — a quote inside a quoted field is written twice (\"\")")
                    }
                } else {
                    let start = pos
                    while pos < n {
                        let c = bytes[pos]
                        if c == delimiter || c == CSVParser.lf || c == CSVParser.cr { break }
                        if c == 0 { throw binary(column) }
                        pos += 1
                    }
                    span = CSVTable.Span(start: UInt32(start), length: UInt32(pos - start))
                    if pos > start { blank = false }
                }
                try validateUTF8(span, column)
                record.append(span)
                if pos < n && bytes[pos] == delimiter {
                    pos += 1
                    blank = false
                    continue fields
                }
                // the end of the record: CRLF, LF, CR or the end of the input
                if pos < n {
                    if bytes[pos] == CSVParser.cr && pos + 1 < n && bytes[pos + 1] == CSVParser.lf { pos += 1 }
                    pos += 1
                    line += 1
                }
                break fields
            }
            if !blank || blankIsARecord { return true }
        }
        return false
    }

    /// The rows' size before they are read: at most one row per line break after the header (a
    /// count over the whole file, whatever its rows' lengths), so the cells' spans and row numbers
    /// are reserved once (grown by doubling, a 300 MB file's spans asked for 2.2 GB at once and the
    /// failed allocation crashed), and a table whose reading and encoding would pass the memory
    /// there is (the machine's, or ulimit -v) is one line now, not a crash later.
    mutating func reserveForTheRows(_ spans: inout [CSVTable.Span], _ rowLines: inout [UInt32], columns: Int) throws {
        let lineEnd: UInt8 = headerEndsInCR() ? CSVParser.cr : CSVParser.lf
        var breaks = 0
        bytes.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress, rowsStart < b.count else { return }
            var p = UnsafeRawPointer(base + rowsStart)
            var left = b.count - rowsStart
            while left > 0, let hit = memchr(p, Int32(lineEnd), left) {
                breaks += 1
                let next = UnsafeRawPointer(hit) + 1
                left -= next - p
                p = next
            }
        }
        let rows = Double(breaks + 1)
        let cells = min(rows * Double(columns), Double(options.maxCells))
        // what reading, typing, encoding and splitting a table took, measured (`vae train --epochs 0`,
        // peak RSS): 205 MB for a 21 MB file of 3 M rows × 2 columns — the file, about 24 bytes a cell
        // (its span, its value while the column is typed, its encoded value and mask, in the train
        // or test split too) and 12 a row; a process limit (ulimit -v) counts address space, some
        // 100 MB beyond what is resident
        if let (limit, name) = MemoryLimit.current,
           case let needed = Double(bytes.count) + 24 * cells + 12 * rows + (name.hasPrefix("the process") ? 100e6 : 0), needed > limit {
            throw VAEError.format(source, "up to \(FormatText.grouped(Int(rows))) rows of \(columns) column\(columns == 1 ? "" : "s") need about \(MemoryLimit.text(needed)) to read and encode, more than \(name) \(MemoryLimit.text(limit)) of memory — use fewer rows (split the file) or columns")
        }
        let room = Int(cells)
        spans.reserveCapacity(room)
        rowLines.reserveCapacity(Int(rows))
    }

    func binary(_ column: Int) -> VAEError {
        let head = bytes.prefix(64)
        // what the file is, when its first bytes say (a gzip file's after decompression)
        if !head.isEmpty && head.allSatisfy({ $0 == 0 }) {
            return fail(line, column, "a NUL byte — the file starts with \(head.count == 64 ? "64 or more" : "only") NUL bytes: it holds no text (a file of zeros, not a table)")
        }
        if head.count >= 4 && head[0] == 0 && head[1] == 0 && head[2] == 8 && (1...4).contains(head[3]) {
            return fail(line, column, "a NUL byte — the file is IDX data (MNIST's format), not a table: --data takes the folder that holds the four IDX files")
        }
        if Array(head.prefix(8)) == Array("SVAEBBA1".utf8) {
            return fail(line, column, "a NUL byte — the file is an archive of vae compress, not a table: vae decompress RUN FILE reads it")
        }
        // UTF-32 text: a byte-order mark, or three NUL bytes in every four
        let utf32 = (head.count >= 4 && (Array(head.prefix(4)) == [0xFF, 0xFE, 0, 0] || Array(head.prefix(4)) == [0, 0, 0xFE, 0xFF]))
            || (head.count >= 8 && (0..<4).contains { k in (0..<(head.count / 4)).allSatisfy { i in (0..<4).allSatisfy { j in j == k || head[4 * i + j] == 0 } } })
        if utf32 {
            return fail(line, column, "a NUL byte — the file is UTF-32 text; save it as UTF-8 (e.g. iconv -f UTF-32 -t UTF-8 FILE > FILE.csv)")
        }
        // UTF-16 text (a spreadsheet's "Unicode text"): a byte-order mark, or every other byte NUL
        let utf16 = (head.count >= 2 && ((head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF)))
            || (head.count >= 8 && (stride(from: 1, to: head.count, by: 2).allSatisfy { head[$0] == 0 } || stride(from: 0, to: head.count, by: 2).allSatisfy { head[$0] == 0 }))
        if utf16 {
            return fail(line, column, "a NUL byte — the file is UTF-16 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 FILE > FILE.csv)")
        }
        return fail(line, column, "a NUL byte — this is a binary file, not a CSV text table")
    }

    /// A quoted field from the opening quote at `pos`; unescapes `""` in place.
    mutating func quotedField(_ column: Int) throws -> CSVTable.Span {
        let openLine = line
        pos += 1
        let start = pos
        var write = pos
        let n = bytes.count
        while true {
            guard pos < n else {
                throw fail(openLine, column, "a quoted field opened here is never closed — close it with \" (a quote inside a quoted field is written \"\")")
            }
            let c = bytes[pos]
            if c == CSVParser.quote {
                if pos + 1 < n && bytes[pos + 1] == CSVParser.quote {
                    bytes[write] = CSVParser.quote
                    write += 1
                    pos += 2
                    continue
                }
                pos += 1
                return CSVTable.Span(start: UInt32(start), length: UInt32(write - start))
            }
            if c == 0 { throw binary(column) }
            if c == CSVParser.lf || (c == CSVParser.cr && !(pos + 1 < n && bytes[pos + 1] == CSVParser.lf)) { line += 1 }
            bytes[write] = c
            write += 1
            pos += 1
        }
    }

    /// Checks that a cell is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
    func validateUTF8(_ span: CSVTable.Span, _ column: Int) throws {
        var i = Int(span.start)
        let end = i + Int(span.length)
        while i < end {
            let b = bytes[i]
            if b < 0x80 { i += 1; continue }
            var need = 0
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; upper = 0x9F
            case 0xF0: need = 3; lower = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; upper = 0x8F
            default: throw invalidUTF8(b, column)
            }
            guard i + need < end else { throw invalidUTF8(b, column) }
            for k in 1...need {
                let c = bytes[i + k]
                if c < (k == 1 ? lower : 0x80) || c > (k == 1 ? upper : 0xBF) { throw invalidUTF8(b, column) }   // the byte that began it
            }
            i += need + 1
        }
    }

    func invalidUTF8(_ byte: UInt8, _ column: Int) -> VAEError {
        let hex = String(byte, radix: 16, uppercase: true)
        return fail(line, column, "invalid UTF-8 (byte 0x\(hex.count == 1 ? "0" : "")\(hex)) — text in another encoding (Latin-1, Windows-1252: iconv -f windows-1252 -t utf-8 FILE > FILE.utf8), or a binary or compressed file? Save the table as UTF-8 text")
    }
}
