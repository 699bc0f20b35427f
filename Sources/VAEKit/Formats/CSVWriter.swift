/// Writes a CSV table back as it was read — the header line, every cell's text, the delimiter, the
/// line ending, the byte-order mark — with some cells replaced (the imputed ones). A cell is quoted
/// when it was quoted in the file or holds the delimiter, a quote or a line break (quotes doubled),
/// so a file written to RFC 4180 comes back byte for byte. Files are written atomically.
public enum CSVWriter {
    /// The table's bytes; `replace(row, column)` returns a new text for a data cell, or nil to keep it.
    public static func serialize(_ table: CSVTable, replacing replace: (Int, Int) -> String? = { _, _ in nil }) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(table.bytes.count + 1024)
        if table.hasBOM { out += [0xEF, 0xBB, 0xBF] }
        let lineEnding = Array(table.lineEnding.utf8)
        func put<C: Collection>(_ text: C, quoted: Bool) where C.Element == UInt8 {
            // a quote inside an unquoted field is a character there (RFC 4180 readers differ; SwiftVAE's
            // reader and Python's csv take it so): kept as it was, byte for byte — only a field that
            // starts with one would read back as a quoted field
            let needsQuotes = quoted || text.first == 34 || text.contains { $0 == table.delimiter || $0 == 10 || $0 == 13 }
            guard needsQuotes else { out += text; return }
            out.append(34)
            for byte in text {
                out.append(byte)
                if byte == 34 { out.append(34) }
            }
            out.append(34)
        }
        func cell(_ span: CSVTable.Span) {
            put(table.bytes[Int(span.start)..<Int(span.start + span.length)], quoted: table.wasQuoted(span))
        }
        for (k, span) in table.headerSpans.enumerated() {
            if k > 0 { out.append(table.delimiter) }
            // A first name starting with U+FEFF would read back as a byte-order mark: quote it.
            let text = table.bytes[Int(span.start)..<Int(span.start + span.length)]
            put(text, quoted: table.wasQuoted(span) || (k == 0 && out.isEmpty && text.starts(with: [0xEF, 0xBB, 0xBF])))
        }
        for row in 0..<table.rowCount {
            out += lineEnding
            for column in 0..<table.columnCount {
                if column > 0 { out.append(table.delimiter) }
                if let text = replace(row, column) {
                    put(Array(text.utf8), quoted: false)
                } else {
                    cell(table.span(row, column))
                }
            }
        }
        if table.endsWithLineBreak { out += lineEnding }
        return out
    }

    public static func write(_ table: CSVTable, to path: String, replacing replace: (Int, Int) -> String? = { _, _ in nil }) throws {
        try AtomicFile.write(serialize(table, replacing: replace), to: path)
    }

    /// The missing feature cells of the rows `ids` (1-based data rows, as in `TableSplit.ids`)
    /// filled from `means` (ids.count × schema.width, e.g. the decoder's mean for those rows), in the
    /// user's units (`TableSchema.decode`, `format`); every other cell as read. Returns how many
    /// cells were filled.
    @discardableResult
    /// Writes the table with its missing cells filled (see `imputed`); returns the cells filled and
    /// the file lines of the rows left unfilled.
    public static func writeImputed(_ table: CSVTable, schema: TableSchema, ids: [Int32], means: [Float], to path: String) throws -> Imputed {
        let r = try imputed(table, schema: schema, ids: ids, means: means)
        // a .gz name is gzipped (it was plain text under that name: zcat refused it)
        try AtomicFile.write(Gzip.forName(path, r.bytes), to: path)
        return r
    }

    /// A table with its missing cells filled.
    public struct Imputed: Sendable {
        public var bytes: [UInt8]
        /// How many cells were filled.
        public var filled: Int
        /// The file lines of the rows left unfilled (their model values not finite).
        public var unfilledLines: [Int]
        /// Cells holding a category level the model does not know: kept as they are (observed
        /// data), read as missing by the model; (file line, column name, the cell's text).
        public var unseenLevels: [(line: Int, column: String, text: String)]
    }

    /// The table's bytes with each missing cell replaced by the decoded value of `means` (row i of
    /// `ids` at i·width). A cell holding a category level the schema does not know is observed data:
    /// kept as it is and listed (`unseenLevels`; the model read it as missing). A cell whose encoded
    /// values are not finite (the model could not fill its row: its other values are so far outside
    /// the training rows' range that the model's numbers overflow 32-bit floats) is left as it is,
    /// and its row's file line returned.
    public static func imputed(_ table: CSVTable, schema: TableSchema, ids: [Int32], means: [Float]) throws -> Imputed {
        guard means.count == ids.count * schema.width else {
            throw VAEError("impute: \(means.count) values for \(ids.count) rows of \(schema.width) encoded columns")
        }
        // row → its decoded values, for the rows given
        var positionOfRow = [Int](repeating: -1, count: table.rowCount)
        for (i, id) in ids.enumerated() {
            guard id >= 1, Int(id) <= table.rowCount else { throw VAEError("impute: row \(id) is not a data row of \(table.source)") }
            positionOfRow[Int(id) - 1] = i
        }
        var columnOfIndex = [Int: (column: TableSchema.Column, index: Int, levels: Set<String>?)]()
        for (index, column) in schema.columns.enumerated() {
            guard let c = table.names.firstIndex(of: column.name) else {
                throw VAEError("\(table.source) has no column '\(TableEncoder.cut(column.name))', which the model was trained with")
            }
            var levels: Set<String>? = nil
            if case .categorical(let l) = column.kind { levels = Set(l) }
            columnOfIndex[c] = (column, index, levels)
        }
        var decoded: [Int: [TableValue]] = [:]
        var filled = 0
        var unfilled = Set<Int>()
        var unseen: [(line: Int, column: String, text: String)] = []
        let bytes = table.bytes.withUnsafeBufferPointer { raw in
            serialize(table) { row, c in
                guard let (column, index, levels) = columnOfIndex[c], positionOfRow[row] >= 0 else { return nil }
                let span = table.span(row, c)
                guard TableCell.classify(raw, span) == .missing else {
                    let text = String(decoding: raw[TableCell.trimmed(raw, span)], as: UTF8.self)
                    if let levels, !levels.contains(text) { unseen.append((Int(table.rowLines[row]), column.name, text)) }
                    return nil
                }
                let position = positionOfRow[row]
                guard column.range.allSatisfy({ means[position * schema.width + $0].isFinite }) else {
                    unfilled.insert(row)
                    return nil
                }
                if decoded[position] == nil {
                    decoded[position] = means.withUnsafeBufferPointer {
                        schema.decode(UnsafeBufferPointer(rebasing: $0[(position * schema.width)..<((position + 1) * schema.width)]))
                    }
                }
                filled += 1
                return schema.format(decoded[position]![index], column: column)
            }
        }
        return Imputed(bytes: bytes, filled: filled, unfilledLines: unfilled.sorted().map { Int(table.rowLines[$0]) }, unseenLevels: unseen)
    }
}
