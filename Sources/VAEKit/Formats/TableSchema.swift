import Foundation

/// How a CSV table becomes rows of numbers, and back: stored with a run (Codable) so that later
/// commands read new files the same way.
///
/// Each feature column (file order; the label and ignored columns left out) owns the encoded
/// columns `offset ..< offset + width`:
/// - numeric: width 1, the value standardised with the training split's mean and standard
///   deviation, (v − mean) / std (std 0 is stored as 1) — a Gaussian likelihood column;
/// - categorical: width K = number of levels, one-hot over the sorted levels — a categorical
///   (softmax) likelihood over the K columns.
/// A missing cell is 0 in every one of its encoded columns, with mask 0 there.
public struct TableSchema: Codable, Equatable, Sendable {
    /// A feature column's type, with what encoding it needs: the training rows' mean and
    /// standard deviation, or the sorted category levels.
    public enum Kind: Codable, Equatable, Sendable {
        case numeric(mean: Double, std: Double)
        case categorical(levels: [String])
    }

    /// One feature column of the file and the encoded columns it owns.
    public struct Column: Codable, Equatable, Sendable {
        public var name: String
        public var kind: Kind
        /// The first encoded column.
        public var offset: Int
        /// 1 for a numeric column, the number of levels for a categorical one.
        public var width: Int
        /// Numeric: the most digits after the point among the file's values, used to write imputed
        /// values (nil when some value had an exponent: then the shortest exact form).
        public var decimals: Int?

        public init(name: String, kind: Kind, offset: Int, width: Int, decimals: Int? = nil) {
            self.name = name
            self.kind = kind
            self.offset = offset
            self.width = width
            self.decimals = decimals
        }

        public var range: Range<Int> { offset..<(offset + width) }
        public var isNumeric: Bool { if case .numeric = kind { return true } else { return false } }
    }

    /// The class column (`--label`).
    public struct Label: Codable, Equatable, Sendable {
        public var name: String
        /// The column's distinct values, sorted: class i is the cell text `values[i]`.
        public var values: [String]
        /// What to call class i: the values themselves, or the names a scikit-learn file declares.
        public var classNames: [String]
    }

    public var columns: [Column]
    public var label: Label?
    /// Columns dropped with `--ignore`.
    public var ignored: [String]
    /// Encoded columns per row: the sum of the columns' widths.
    public var width: Int

    public init(columns: [Column], label: Label?, ignored: [String]) {
        self.columns = columns
        self.label = label
        self.ignored = ignored
        self.width = columns.last.map { $0.offset + $0.width } ?? 0
    }

    public var classNames: [String] { label?.classNames ?? [] }

    public func column(named name: String) -> Column? { columns.first { $0.name == name } }

    /// The most encoded columns a table may have (levels included).
    public static let maxWidth = 1 << 18

    /// Checks a schema read from a file: contiguous ranges, finite statistics, positive std, unique
    /// non-empty level lists. A config written by hand or damaged is refused with a one-line error.
    public func validate(source: String = "config.json") throws {
        func bad(_ what: String) -> VAEError { VAEError("\(source): the table schema \(what) — was the file edited? Retrain, or restore it") }
        var offset = 0
        var names = Set<String>()
        guard !columns.isEmpty else { throw bad("has no columns") }
        for column in columns {
            guard names.insert(column.name).inserted else { throw bad("names column '\(column.name)' twice") }
            guard column.offset == offset else { throw bad("puts column '\(column.name)' at \(column.offset), not \(offset)") }
            switch column.kind {
            case .numeric(let mean, let std):
                guard column.width == 1, mean.isFinite, std.isFinite, std > 0 else {
                    throw bad("has bad statistics for '\(column.name)' (mean \(mean), std \(std), width \(column.width))")
                }
                if let d = column.decimals, !(0...TableEncoder.maxDecimals).contains(d) { throw bad("has \(d) decimals for '\(column.name)'") }
            case .categorical(let levels):
                guard !levels.isEmpty, column.width == levels.count, Set(levels).count == levels.count else {
                    throw bad("has bad levels for '\(column.name)' (\(levels.count) levels, width \(column.width))")
                }
            }
            guard column.width <= TableSchema.maxWidth - offset else { throw bad("is wider than \(TableSchema.maxWidth) columns") }
            offset += column.width
        }
        guard width == offset else { throw bad("says width \(width), but its columns add up to \(offset)") }
        if let label {
            guard !label.values.isEmpty, label.values.count == label.classNames.count, Set(label.values).count == label.values.count,
                  !names.contains(label.name) else { throw bad("has a bad label column '\(label.name)'") }
        }
    }
}

/// A value in the user's units.
public enum TableValue: Equatable, Sendable {
    case number(Double)
    case category(String)
}

extension TableSchema {
    /// One encoded row (e.g. the decoder's mean: standardised numbers, per-category probabilities —
    /// or logits, the argmax is the same) in the user's units: v·std + mean for a number, the most
    /// probable level (the first on ties) for a category.
    public func decode(_ row: UnsafeBufferPointer<Float>) -> [TableValue] {
        precondition(row.count == width, "decode: a row of \(row.count) values for a schema of width \(width)")
        return columns.map { column in
            switch column.kind {
            case .numeric(let mean, let std):
                return .number(Double(row[column.offset]) * std + mean)
            case .categorical(let levels):
                // argmax over the K probabilities of this column
                var best = 0
                for k in 1..<max(1, levels.count) where row[column.offset + k] > row[column.offset + best] { best = k }
                return .category(levels[best])
            }
        }
    }

    public func decode(_ row: [Float]) -> [TableValue] {
        row.withUnsafeBufferPointer { decode($0) }
    }

    /// The text written for `value` in `column`: a number with the column's decimals (or its
    /// shortest exact form), a category's level.
    public func format(_ value: TableValue, column: Column) -> String {
        switch value {
        case .category(let level):
            return level
        case .number(let v):
            guard let decimals = column.decimals else { return TableSchema.shortest(v) }
            let text = String(format: "%.\(decimals)f", v)
            return text.hasPrefix("-") && text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : text
        }
    }

    /// "0.1", "1e-07", "12": Swift's shortest round-trip form, without a trailing ".0".
    static func shortest(_ v: Double) -> String {
        var text = "\(v)"
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// Levels or class values in order: by number when all of them are numbers, else by their
    /// UTF-8 bytes (locale-independent).
    static func sorted(_ values: [String]) -> [String] {
        let numbers = values.map { value -> Double? in
            var bytes = Array(value.utf8)
            return bytes.withUnsafeMutableBufferPointer { buffer in
                if case .number(let v, _) = TableCell.number(UnsafeBufferPointer(buffer), 0..<buffer.count) { return v }
                return nil
            }
        }
        if numbers.allSatisfy({ $0 != nil }) {
            return zip(values, numbers).sorted { a, b in
                a.1! != b.1! ? a.1! < b.1! : Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
            }.map(\.0)
        }
        return values.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
