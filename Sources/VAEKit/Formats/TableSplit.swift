import VAECore

/// Encoded rows of a table: what a data source hands the model.
public struct TableSplit: Sendable, Equatable {
    public var count: Int
    /// Encoded columns per row (the schema's width).
    public var width: Int
    /// count × width, row-major: standardised numbers, one-hot categories, 0 where missing.
    public var x: [Float]
    /// count × width: 1 where the cell was observed, 0 where it was missing (all K one-hot
    /// columns of a missing category are 0).
    public var mask: [UInt8]
    /// The class of each row (an index into the schema's classes), nil without `--label`; -1 for a
    /// row whose label cell is missing (only in files read with a stored schema).
    public var labels: [Int32]?
    /// The 1-based data row number of each row in its file (the header is not counted).
    public var ids: [Int32]
    /// Label values the schema does not know, in order of first appearance (only in files read
    /// with a stored schema): a row with the j-th of them has the label `classCount + j`.
    public var unseenClasses: [String] = []
    /// Cells of a category level the schema does not know, read as missing (a file read with a
    /// stored schema and `unseenLevels: .missing`): how many, and the first few.
    public var unseenLevelCount = 0
    public var unseenLevelExamples: [UnseenLevel] = []
    /// The `--ignore`d columns the file has (ids, names, dates: what identifies a row to its
    /// owner), in the schema's order, and their trimmed cells, count × `keyNames.count`, row-major:
    /// not read by the model, written beside each row by `vae encode` and `vae anomaly`.
    public var keyNames: [String] = []
    public var keys: [String] = []
    /// The `--ignore`d columns of the schema the file lacks (a new file's header without them):
    /// said by the commands that would write them.
    public var missingKeyNames: [String] = []

    /// Row `i`'s cells of the ignored columns (`keyNames`).
    public func keys(_ i: Int) -> ArraySlice<String> {
        keys[(i * keyNames.count)..<((i + 1) * keyNames.count)]
    }

    /// A cell holding a category level the model never saw.
    public struct UnseenLevel: Sendable, Equatable {
        /// The line of the file (1 = the header), the column's name, the cell's trimmed text.
        public var line: Int
        public var column: String
        public var text: String
    }

    public init(count: Int, width: Int, x: [Float], mask: [UInt8], labels: [Int32]?, ids: [Int32]) {
        precondition(x.count == count * width && mask.count == count * width && ids.count == count)
        precondition(labels == nil || labels!.count == count)
        self.count = count
        self.width = width
        self.x = x
        self.mask = mask
        self.labels = labels
        self.ids = ids
    }

    /// How many encoded entries are masked out.
    public var maskedCount: Int { mask.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

    /// The rows (positions) none of whose cells is observed: nothing for a model to explain.
    public var emptyRows: [Int] {
        guard width > 0 else { return [] }
        return (0..<count).filter { r in !mask[(r * width)..<((r + 1) * width)].contains { $0 != 0 } }
    }
}

/// The train/test split of a table's rows, reproducible outside SwiftVAE
/// (`scripts/tables_peers.py` does the same):
/// nTest = round(N · fraction) (half away from zero), at least 1 when fraction > 0 and N ≥ 2, at
/// most N − 1; p = `RNG(seed).permutation(N)` (xoshiro256**, Fisher–Yates from the last index
/// down, Lemire's bounded integers); the test rows are p[0 ..< nTest], the rest train; both are
/// kept in file order.
public enum TableSplitRule {
    public static func split(rows n: Int, testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
        guard n > 0 else { return ([], []) }
        var nTest = Int((Double(n) * testFraction).rounded())
        if testFraction > 0 && n >= 2 { nTest = max(nTest, 1) }
        nTest = min(max(nTest, 0), n - 1)
        var rng = RNG(seed: seed)
        let permutation = rng.permutation(n)
        var isTest = [Bool](repeating: false, count: n)
        for k in 0..<nTest { isTest[Int(permutation[k])] = true }
        let train = (0..<n).filter { !isTest[$0] }
        let test = (0..<n).filter { isTest[$0] }
        return (train, test)
    }
}
