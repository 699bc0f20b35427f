import Foundation
import VAECore

/// A CSV table's rows as a data source: standardised numbers and one-hot categories, with a mask
/// of the observed cells (missing cells add nothing to the loss) and the `--label` column as the
/// class. Item ids are the 1-based data row numbers of the file.
extension TableSplit: DataSource {
    public var itemShape: [Int] { [1, 1, width] }
    public var hasLabels: Bool { labels != nil }
    /// −1 for a row whose label cell is missing (read with a stored schema).
    public func label(_ i: Int) -> Int { Int(labels![i]) }
    public func itemID(_ i: Int) -> String { String(ids[i]) }
    /// Always: a row may miss cells, and scanning the whole mask for each batch would cost
    /// more than the mask does.
    public var hasMissing: Bool { true }

    /// Rows at `indices` (values are already 0 where missing; tables are never binarized).
    public func fill(_ indices: UnsafeBufferPointer<Int32>, x: Tensor, mask m: Tensor?, binarize: Bool, rng: inout RNG) {
        let w = width
        let dst = x.pointer
        self.x.withUnsafeBufferPointer { src in
            for (r, i) in indices.enumerated() { (dst + r * w).update(from: src.baseAddress! + Int(i) * w, count: w) }
        }
        guard let m else { return }
        for (r, i) in indices.enumerated() {
            for j in 0..<w { m[r * w + j] = Float(mask[Int(i) * w + j]) }
        }
    }

    public func subset(_ indices: [Int]) -> any DataSource {
        let w = width
        var xs = [Float](), ms = [UInt8](), ls = [Int32](), ids = [Int32](), ks = [String]()
        xs.reserveCapacity(indices.count * w)
        for i in indices {
            xs.append(contentsOf: x[(i * w)..<((i + 1) * w)])
            ms.append(contentsOf: mask[(i * w)..<((i + 1) * w)])
            if let labels { ls.append(labels[i]) }
            ids.append(self.ids[i])
            ks.append(contentsOf: keys(i))
        }
        var out = TableSplit(count: indices.count, width: w, x: xs, mask: ms, labels: labels == nil ? nil : ls, ids: ids)
        out.unseenClasses = unseenClasses  // the label numbers keep their meaning
        out.keyNames = keyNames
        out.missingKeyNames = missingKeyNames
        out.keys = ks
        return out
    }

    public func binarized(seed: UInt64) -> any DataSource { self }
}

/// How a run read its table: the schema fitted on the training rows and the split, stored in the
/// run so that later commands read the same file — or a new one — the same way.
public struct TableInfo: Codable, Equatable, Sendable {
    public var schema: TableSchema
    public var testFraction: Double
    public var seed: UInt64

    public init(schema: TableSchema, testFraction: Double, seed: UInt64) {
        self.schema = schema
        self.testFraction = testFraction
        self.seed = seed
    }

    /// The likelihood of each column group: Gaussian (fixed or learned σ) over runs of numeric
    /// columns, one categorical per text column.
    public func groups(numeric kind: FeatureGroup.Kind) -> [FeatureGroup] {
        var out: [FeatureGroup] = []
        for c in schema.columns {
            if c.isNumeric, let last = out.last, last.kind == kind {
                out[out.count - 1].width += 1
                out[out.count - 1].name += "," + c.name
            } else {
                out.append(FeatureGroup(kind: c.isNumeric ? kind : .categorical, width: c.width, name: c.name))
            }
        }
        return out
    }
}

extension Dataset {
    /// A CSV table: `--label`, `--ignore`, a seeded split (`TableOptions`), the schema fitted on
    /// the training rows.
    public static func loadTable(path: String, options: TableOptions) throws -> Dataset {
        let (_, encoded) = try TableEncoder.load(path: path, options: options)
        guard encoded.train.count > 0 else { throw VAEError("\(path) has no rows to train on") }
        var d = Dataset(name: (path as NSString).lastPathComponent, directory: path, train: encoded.train, test: encoded.test,
                        classNames: encoded.schema.classNames)
        d.table = TableInfo(schema: encoded.schema, testFraction: options.testFraction, seed: options.seed)
        d.notes = encoded.notes
        return d
    }

    /// A table read with a run's stored schema: the run's own file is split as in training (and
    /// must still give the same schema); any other file is all test rows, encoded with the schema
    /// (unknown category levels are read as missing; label values the schema does not know are
    /// classes after the known ones, `classNames` ends with them).
    ///
    /// The run's own file is the file at `trainedOn` under any path (`./t.csv`, an absolute path, a
    /// link): scoring it as new data would mix its training rows into the test rows. A copy is
    /// another file.
    /// `resuming`: the file is to train on again (`vae train --resume` with it), so it is read as the
    /// trained table whatever its path (a copy, a moved file) and must be that table: a file read as
    /// new data is all test rows, and training went on over them.
    public static func loadTable(path: String, stored: TableInfo, trainedOn: String?, resuming: Bool = false) throws -> Dataset {
        var o = TableOptions()
        o.label = stored.schema.label?.name
        o.ignore = stored.schema.ignored
        o.testFraction = stored.testFraction
        o.seed = stored.seed
        o.keepIgnored = !resuming   // a command reads the rows, with their ids (training does not)
        if resuming || trainedOn.map({ path == $0 || AtomicFile.sameFile(path, $0) }) == true {
            let d = try loadTable(path: path, options: o)
            guard d.table?.schema == stored.schema else {
                if resuming && !(trainedOn.map { path == $0 || AtomicFile.sameFile(path, $0) } ?? false) {
                    throw VAEError("\(path) is not the table the run trained on (\(trainedOn ?? "its file"); the columns or their statistics differ): resume with that table, or train a new run on this one")
                }
                throw VAEError("\(path) has changed since the model was trained on it (its columns or statistics differ); pass the file as new data with a copy under another name, or train again")
            }
            return d
        }
        let table = try CSVTable.read(path: path)
        // a copy of the trained table (the run read it from a pipe, or from a file since moved): its
        // split gives the very schema — the same columns, levels and training statistics. It is new
        // data as any other file (every row scored: finding the outliers of one's own table), and a
        // note says its training rows are among them. (A file that split cannot read is new data.)
        // (a second encoding of the file: for tables of up to 16 M encoded values, some 80 MB, so that
        // a large new table's memory is not doubled for a note)
        var fitted: EncodedTable? = nil
        if table.rowCount * max(stored.schema.width, 1) <= 1 << 24 {
            do { fitted = try TableEncoder.fit(table, options: o) } catch { fitted = nil }
        }
        let copyOfTrained = fitted.map { $0.schema == stored.schema && $0.train.count > 0 } ?? false
        let rows = try TableEncoder.apply(stored.schema, to: table, unseenLevels: .missing, keys: true)
        var d = Dataset(name: (path as NSString).lastPathComponent, directory: path, train: rows, test: rows,
                        classNames: stored.schema.classNames + rows.unseenClasses)
        d.table = stored
        d.isNewTable = true
        if copyOfTrained, let f = fitted {
            d.notes.append("\(path) holds the table the run trained on (the same columns, levels and training statistics): all \(rows.count) rows are read as new data, the \(f.train.count) it trained on among them\(trainedOn.flatMap { AtomicFile.regularFileSize($0) != nil ? " (the run's own file, \($0), is read as it split it: its \(f.test.count) test rows)" : nil } ?? "")")
        }
        return d
    }
}

/// What the training rows of a table say about its likelihood.
public enum TableData {
    /// For each group of numeric columns with a σ per cell: the smallest log σ of each column, the
    /// larger of two resolutions (standardised units, so the column's own spread is 1):
    /// - log(step/√12), `step` the smallest gap between two distinct observed values of the
    ///   column among the training rows — the σ of a value known only to its step;
    /// - log(1/√n), n the training rows — about the standard error of the column's mean: a
    ///   spread finer than n rows can resolve. Without it a table of a few dozen rows is learned
    ///   by heart (σ → 0 on every training row) within a few thousand steps, and a new row's
    ///   −ELBO measures distance to the nearest memorised row (scikit-learn's wine, 62 rows,
    ///   anomaly ROC-AUC 0.884 → 0.924 over 5 seeds; 455 rows of breast_cancer unchanged).
    public static func resolutionFloors(_ groups: [FeatureGroup], train: any DataSource) -> [FeatureGroup] {
        let n = train.count
        guard n > 1, groups.contains(where: { $0.kind == .gaussianHeteroscedastic }) else { return groups }
        let d = train.featureCount
        // the observed values of the columns that need a floor, read a few thousand rows at a time
        // (the whole training set as one batch, a float mask and all, doubled the peak memory of a
        // table with a thousand one-hot columns)
        var columns: [Int] = [], offset = 0
        for g in groups {
            if g.kind == .gaussianHeteroscedastic { columns += Array(offset..<(offset + g.width)) }
            offset += g.width
        }
        var observed = [Int: [Float]](uniqueKeysWithValues: columns.map { ($0, []) })
        let chunk = max(1, (1 << 22) / max(d, 1))
        for start in stride(from: 0, to: n, by: chunk) {
            let rows = start..<min(n, start + chunk), batch = train.batch(rows)
            for j in columns {
                for r in 0..<rows.count where batch.mask.map({ $0[r * d + j] != 0 }) ?? true { observed[j]!.append(batch.x[r * d + j]) }
            }
        }
        var out = groups
        offset = 0
        for (gi, g) in groups.enumerated() {
            defer { offset += g.width }
            guard g.kind == .gaussianHeteroscedastic else { continue }
            var floors: [Float] = []
            for j in offset..<(offset + g.width) {
                var values = observed[j]!
                values.sort()
                var step = Float.infinity
                for i in 1..<max(values.count, 1) where values[i] > values[i - 1] { step = min(step, values[i] - values[i - 1]) }
                let stepFloor = step.isFinite ? Float.log(step / 12.0.squareRoot().float) : -5
                floors.append(max(stepFloor, -0.5 * Float.log(Float(n))))
            }
            out[gi].logSigmaFloor = floors
        }
        return out
    }
}

private extension Double { var float: Float { Float(self) } }
