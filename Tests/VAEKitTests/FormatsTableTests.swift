import Foundation
import XCTest
@testable import VAEKit

/// Typing, encoding, schema, split and imputation writing of CSV tables, on tables the tests write.
final class FormatsTableTests: XCTestCase {
    func table(_ text: String) throws -> CSVTable {
        try CSVTable.parse(Array(text.utf8), source: "t.csv")
    }

    func options(label: String? = nil, ignore: [String] = [], testFraction: Double = 0.25, seed: UInt64 = 3) -> TableOptions {
        var o = TableOptions()
        o.label = label
        o.ignore = ignore
        o.testFraction = testFraction
        o.seed = seed
        return o
    }

    /// 8 rows: id (text, unique), size (numeric), colour (3 levels, one missing), kind (label).
    static let sizes: [Double] = [1.5, 2, 2.5, 4, 10, -3, 0.25, 7]
    static let colours = ["red", "blue", "", "green", "red", "NA", "blue", " red "]
    static var sample: String {
        var text = "id,size,colour,kind\n"
        for i in 0..<8 {
            text += "row\(i),\(sizes[i]),\(colours[i]),\(i % 2 == 0 ? "cat" : "dog")\n"
        }
        return text
    }

    func testTypingStandardisationFromTrainOnlyAndOneHot() throws {
        let t = try table(FormatsTableTests.sample)
        let encoded = try TableEncoder.fit(t, options: options(label: "kind", ignore: ["id"]))
        let schema = encoded.schema
        XCTAssertEqual(schema.columns.map(\.name), ["size", "colour"])
        XCTAssertEqual(schema.ignored, ["id"])
        XCTAssertEqual(schema.width, 4)
        XCTAssertEqual(schema.label?.values, ["cat", "dog"])
        XCTAssertEqual(schema.columns[1].kind, .categorical(levels: ["blue", "green", "red"]), "sorted, trimmed levels")
        XCTAssertEqual(schema.columns[1].range, 1..<4)
        XCTAssertEqual(encoded.train.count + encoded.test.count, 8)
        XCTAssertEqual(encoded.test.count, 2, "round(8 × 0.25)")
        XCTAssertEqual(Set(encoded.train.ids).intersection(encoded.test.ids), [])
        XCTAssertEqual(encoded.train.ids, encoded.train.ids.sorted(), "file order within a split")

        // mean and population std of the training rows' sizes, computed here
        let trainSizes = encoded.train.ids.map { FormatsTableTests.sizes[Int($0) - 1] }
        let mean = trainSizes.reduce(0, +) / Double(trainSizes.count)
        let std = (trainSizes.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(trainSizes.count)).squareRoot()
        guard case .numeric(let m, let s) = schema.columns[0].kind else { return XCTFail("size is not numeric") }
        XCTAssertEqual(m, mean, accuracy: 1e-12)
        XCTAssertEqual(s, std, accuracy: 1e-12)
        let allMean = FormatsTableTests.sizes.reduce(0, +) / 8
        XCTAssertNotEqual(m, allMean, accuracy: 1e-9, "the test rows must not enter the statistics")

        for split in [encoded.train, encoded.test] {
            for (i, id) in split.ids.enumerated() {
                let row = Int(id) - 1
                let x = Array(split.x[(i * 4)..<(i * 4 + 4)]), mask = Array(split.mask[(i * 4)..<(i * 4 + 4)])
                XCTAssertEqual(Double(x[0]), (FormatsTableTests.sizes[row] - mean) / std, accuracy: 1e-5)
                XCTAssertEqual(mask[0], 1)
                let colour = FormatsTableTests.colours[row].trimmingCharacters(in: .whitespaces)
                let expected: [Float] = colour == "blue" ? [1, 0, 0] : colour == "green" ? [0, 1, 0] : colour == "red" ? [0, 0, 1] : [0, 0, 0]
                XCTAssertEqual(Array(x[1...]), expected, "row \(id)")
                XCTAssertEqual(Array(mask[1...]), ["", "NA"].contains(colour) ? [0, 0, 0] : [1, 1, 1], "row \(id): a missing category is masked in all K columns")
                XCTAssertEqual(split.labels?[i], Int32(row % 2))
            }
        }
        XCTAssertEqual(encoded.train.maskedCount + encoded.test.maskedCount, 6, "two missing colours × 3 columns")
        // the ignored id rides along with each test row (not read by the model), through subsets
        // too; training rows keep it only when asked (nothing reads them in training)
        XCTAssertEqual(encoded.test.keyNames, ["id"])
        XCTAssertEqual(encoded.test.keys, encoded.test.ids.map { "row\($0 - 1)" })
        XCTAssertEqual(encoded.train.keys, [])
        var keep = options(label: "kind", ignore: ["id"])
        keep.keepIgnored = true
        let kept = try TableEncoder.fit(t, options: keep)
        XCTAssertEqual(kept.train.keys, kept.train.ids.map { "row\($0 - 1)" })
        let picked = try XCTUnwrap(kept.train.subset([2, 0]) as? TableSplit)
        XCTAssertEqual(picked.keys, [kept.train.keys[2], kept.train.keys[0]])
    }

    /// Names and cells in messages are cut at 40 characters: a 100,000-byte column name was echoed
    /// whole in "has no column", and a 20 MB cell in impute's note.
    func testLongNamesAreCutInMessages() throws {
        let schema = try TableEncoder.fit(try table(FormatsTableTests.sample), options: options(label: "kind", ignore: ["id"])).schema
        let long = String(repeating: "a", count: 100_000)
        XCTAssertThrowsError(try TableEncoder.apply(schema, to: try table("\(long),colour,kind\n1,red,cat\n"))) { e in
            let m = "\(e)"
            XCTAssertLessThan(m.utf8.count, 300, m)
            XCTAssertTrue(m.contains("has no column 'size'"), m)
            XCTAssertTrue(m.contains("'" + String(repeating: "a", count: 40) + "…'"), m)
        }
        XCTAssertEqual(TableEncoder.listed([long, "b"]), "'\(String(repeating: "a", count: 40))…', 'b'")
    }

    /// A new file read with a run's schema keeps its ignored columns' cells as written (trimmed,
    /// unquoted); a file without them has none.
    func testIgnoredColumnsOfANewFileAreKept() throws {
        let schema = try TableEncoder.fit(try table(FormatsTableTests.sample), options: options(label: "kind", ignore: ["id"])).schema
        let new = try TableEncoder.apply(schema, to: try table("kind,colour,id,size\ncat,red,\"Smith, J\",2\ndog,blue, p7 ,3\n"), keys: true)
        XCTAssertEqual(new.keyNames, ["id"])
        XCTAssertEqual(new.keys, ["Smith, J", "p7"])
        XCTAssertEqual(Array(new.keys(1)), ["p7"])
        let without = try TableEncoder.apply(schema, to: try table("size,colour\n2,red\n"), keys: true)
        XCTAssertEqual(without.keyNames, [])
        XCTAssertEqual(without.keys, [])
    }

    func testMissingCellsAreMaskedNeverZero() throws {
        let t = try table("a,b\n1,x\n,y\nNA,x\n nan ,y\n?,x\n0,y\nN/A,x\n#N/A,y\nnull,x\n")
        let e = try TableEncoder.fit(t, options: options(testFraction: 0))
        XCTAssertEqual(e.test.count, 0)
        XCTAssertEqual(e.train.mask.enumerated().filter { $0.offset % 3 == 0 }.map(\.element), [1, 0, 0, 0, 0, 1, 0, 0, 0])
        guard case .numeric(let mean, let std) = e.schema.columns[0].kind else { return XCTFail() }
        XCTAssertEqual(mean, 0.5, "only 1 and 0 are observed")
        XCTAssertEqual(std, 0.5)
    }

    func testConstantColumnAndLoadFromFile() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try FormatsFixture.writeFile(Array("a,b\n5,x\n5,y\n5,x\n".utf8), dir + "/c.csv")
        let (table, e) = try TableEncoder.load(path: dir + "/c.csv", options: options(testFraction: 0))
        XCTAssertEqual(table.rowCount, 3)
        XCTAssertEqual(e.schema.columns[0].kind, .numeric(mean: 5, std: 1), "std 0 is stored as 1")
        XCTAssertEqual(Array(e.train.x.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)), [0, 0, 0])
        FormatsFixture.assertVAEError(["c.csv has no column 'k'"]) { try TableEncoder.load(path: dir + "/c.csv", options: options(label: "k")) }
    }

    func testRowNumberColumnIsNoted() throws {
        let text = ",v\n" + (0..<12).map { "\($0),\($0 % 3)\n" }.joined()
        let e = try TableEncoder.fit(try table(text), options: options())
        XCTAssertTrue(e.notes.contains { $0.contains("column 1 ('column 1') counts the rows (0, 1, …)") && $0.contains("--ignore 'column 1'") }, "\(e.notes)")
        XCTAssertFalse(e.notes.contains { $0.contains("('v')") })
    }

    /// A few values far out set a column's spread, and the others all read as one number: noted
    /// (150 values 1…150 with 3.4e38 among them trained on as a flat column without a word). A
    /// normal column, a sparse one (zeros and a few 5s) and one with ordinary outliers are not.
    func testColumnFlattenedByFarValuesIsNoted() throws {
        var rows = (1...150).map { "\($0),\($0 % 50 == 0 ? 5 : 0),\(Double($0 % 7) + ($0 == 3 ? 40 : 0))" }
        rows.insert("3.4e38,0,1", at: 70)
        let e = try TableEncoder.fit(try table("a,sparse,b\n" + rows.joined(separator: "\n") + "\n"), options: options(testFraction: 0))
        XCTAssertTrue(e.notes.contains { $0.contains("column 1 ('a'): 1 training value lies over 1,000 times the others' spread from them (3.4e+38)") && $0.contains("check that cell") }, "\(e.notes)")
        XCTAssertFalse(e.notes.contains { $0.contains("('sparse')") || $0.contains("('b')") }, "\(e.notes)")
        // two such values (2% of the rows) too: they were missed
        var two = (1...150).map { "\($0)" }
        two[3] = "3.4e38"; two[5] = "3.4e38"
        let t = try TableEncoder.fit(try table("n\n" + two.joined(separator: "\n") + "\n"), options: options(testFraction: 0))
        XCTAssertTrue(t.notes.contains { $0.contains("column 1 ('n'): 2 training values lie over 1,000 times the others' spread") }, "\(t.notes)")
    }

    func testSplitIsSeededAndDeterministic() {
        let a = TableSplitRule.split(rows: 100, testFraction: 0.2, seed: 7)
        XCTAssertEqual(a.test.count, 20)
        XCTAssertEqual(Set(a.train + a.test), Set(0..<100))
        XCTAssertEqual(a.train, TableSplitRule.split(rows: 100, testFraction: 0.2, seed: 7).train)
        XCTAssertNotEqual(a.test, TableSplitRule.split(rows: 100, testFraction: 0.2, seed: 8).test)
        XCTAssertEqual(TableSplitRule.split(rows: 3, testFraction: 0.01, seed: 1).test.count, 1, "at least one test row")
        XCTAssertEqual(TableSplitRule.split(rows: 1, testFraction: 0.5, seed: 1).test.count, 0, "at least one training row")
        XCTAssertEqual(TableSplitRule.split(rows: 5, testFraction: 1, seed: 1).train.count, 1)
    }

    /// The split written by an independent implementation: scripts/tables_peers.py's
    /// `swiftvae_split(10, 0.2, 1)` and `swiftvae_split(569, 0.2, 42)` (Python integers).
    func testSplitMatchesThePythonPort() {
        XCTAssertEqual(TableSplitRule.split(rows: 10, testFraction: 0.2, seed: 1).test, FormatsTableTests.pythonTest10)
        XCTAssertEqual(Array(TableSplitRule.split(rows: 569, testFraction: 0.2, seed: 42).test.prefix(12)), FormatsTableTests.pythonTest569)
    }
    static let pythonTest10 = [3, 6]
    static let pythonTest569 = [2, 5, 6, 9, 12, 28, 29, 30, 33, 40, 49, 54]

    func testLabelAndIgnoreErrors() throws {
        let t = try table(FormatsTableTests.sample)
        FormatsFixture.assertVAEError(["--label kinds", "t.csv has no column 'kinds'", "'id', 'size', 'colour', 'kind'"]) {
            try TableEncoder.fit(t, options: options(label: "kinds", ignore: ["id"]))
        }
        FormatsFixture.assertVAEError(["--ignore ID", "no column 'ID'", "'id', 'size'"]) {
            try TableEncoder.fit(t, options: options(ignore: ["ID"]))
        }
        FormatsFixture.assertVAEError(["--label kind is also in --ignore"]) {
            try TableEncoder.fit(t, options: options(label: "kind", ignore: ["id", "kind"]))
        }
        FormatsFixture.assertVAEError(["no feature columns"]) {
            try TableEncoder.fit(t, options: options(label: "kind", ignore: ["id", "size", "colour"]))
        }
        // a name with a comma, as the command line splits --ignore 'Name, full' (the id column's
        // message suggests just that): put back together
        var named = "\"Name, full\",v\n"
        for i in 0..<40 { named += "\"Person \(i), X\",\(i % 5)\n" }
        FormatsFixture.assertVAEError(["--ignore 'Name, full'"]) { try TableEncoder.fit(try table(named), options: options()) }
        let e = try TableEncoder.fit(try table(named), options: options(ignore: ["Name", "full"]))
        XCTAssertEqual(e.schema.columns.map(\.name), ["v"])
        XCTAssertEqual(TableEncoder.rejoined(["a", "Name", "full", "b"], names: ["a", "Name, full", "b"]), ["a", "Name, full", "b"])
        XCTAssertEqual(TableEncoder.rejoined(["x", "y"], names: ["x,y", "x"]), ["x,y"])
    }

    func testIdColumnIsRefusedWithIgnoreHint() throws {
        var text = "name,v\n"
        for i in 0..<40 { text += "person\(i),\(i)\n" }
        FormatsFixture.assertVAEError(["t.csv column 1 ('name') is text with 40 distinct values in 40 rows", "--ignore name"]) {
            try TableEncoder.fit(try table(text), options: options())
        }
        // (the reader names a space-separated file before the encoder sees one text column)
        FormatsFixture.assertVAEError(["looks space-separated (3 names on the header line"]) {
            try TableEncoder.fit(try table("Chins Situps Jumps\n" + (0..<12).map { "\($0) 1\($0) 5\($0)\n" }.joined()), options: options())
        }
        var o = options()
        o.maxLevels = 5
        var few = "c,v\n"
        for i in 0..<100 { few += "l\(i % 7),\(i)\n" }
        FormatsFixture.assertVAEError(["('c') is text with more than 5 distinct values"]) { try TableEncoder.fit(try table(few), options: o) }
        // 7 levels in 100 rows is a category
        XCTAssertEqual(try TableEncoder.fit(try table(few), options: options()).schema.width, 8)
        // a numeric column with a stray word points at the word
        var stray = "v,w\n"
        for i in 0..<50 { stray += "\(i == 7 ? "unknown" : String(i)),1\n" }
        FormatsFixture.assertVAEError(["('v') is text", "'unknown' on line 9", "empty (missing)", "--ignore v"]) {
            try TableEncoder.fit(try table(stray), options: options())
        }
        // … also when its values are not distinct enough for an id: 36 numbers in 150 rows and one
        // 'n.a.' were 37 categories, without a word (a new value then read as missing)
        var measured = "v,w\n"
        for i in 0..<150 { measured += "\(i == 7 ? "n.a." : String(format: "%.1f", 4.3 + Double(i % 36) / 10)),1\n" }
        FormatsFixture.assertVAEError(["('v') holds numbers but also 'n.a.' on line 9, so its 37 distinct values would be categories", "make such cells empty (missing)", "--ignore v"]) {
            try TableEncoder.fit(try table(measured), options: options())
        }
        // a number with a thousands separator among plain numbers is named as one (the advice was to
        // delete the value); a decimal comma likewise
        for (cell, advice) in [("\"1,234\"", "a thousands separator? write it as '1234' (or '1.234' if the comma is a decimal point)"),
                               ("\"12,345,678.5\"", "a thousands separator? write it as '12345678.5'"),
                               ("\"4,35\"", "a decimal comma? write it as '4.35'")] {
            var grouped = "v,w\n"
            for i in 0..<150 { grouped += "\(i == 2 ? cell : String(format: "%.1f", 4.3 + Double(i % 36) / 10)),1\n" }
            FormatsFixture.assertVAEError(["holds numbers but also '\(cell.dropFirst().dropLast())' on line 4", advice + " to read it as numbers"]) {
                try TableEncoder.fit(try table(grouped), options: options())
            }
        }
        // … also in a column of distinct values (a measurement: the "id or a name?" branch)
        var distinct = "v,w\n"
        for i in 0..<40 { distinct += "\(i == 5 ? "\"1,234\"" : String(format: "%.3f", 1.5 + Double(i) * 0.37)),1\n" }
        FormatsFixture.assertVAEError(["is text with 40 distinct values", "'1,234' on line 7 — a thousands separator? write it as '1234'"]) {
            try TableEncoder.fit(try table(distinct), options: options())
        }
        XCTAssertNil(TableEncoder.commaNumber("a,b"))
        XCTAssertNil(TableEncoder.commaNumber("1,23,4"))
        XCTAssertNil(TableEncoder.commaNumber("1234"))
        XCTAssertEqual(TableEncoder.commaNumber("-1,234.5"), "-1234.5")
        // a few numeric codes and a word are categories, with a note
        var codes = "grade,w\n"
        for i in 0..<40 { codes += "\(i % 9 == 4 ? "A" : String(i % 5 + 1)),\(i)\n" }
        let e = try TableEncoder.fit(try table(codes), options: options())
        XCTAssertTrue(e.notes.contains("t.csv column 1 ('grade') is read as 6 categories: it holds numbers but also 'A' on line 6 (make such cells empty to read it as numbers)"), "\(e.notes)")
    }

    func testNonFiniteNumbersAreRefused() throws {
        for bad in ["inf", "-Infinity", "1e999", "3.5e38", "-4e38"] {
            FormatsFixture.assertVAEError(["t.csv line 3, column 2 ('b')", "'\(bad)' is not a finite number"]) {
                try TableEncoder.fit(try table("a,b\n1,2\nx,\(bad)\ny,4\n"), options: options())
            }
        }
        let long = String(repeating: "9", count: 400) + "e999"
        FormatsFixture.assertVAEError(["line 2, column 1 ('a')", "'" + String(repeating: "9", count: 40) + "…' is not a finite number"]) {
            try TableEncoder.fit(try table("a\n\(long)\n"), options: options())
        }
        FormatsFixture.assertVAEError(["column 2 ('b') has no values", "--ignore b"]) {
            try TableEncoder.fit(try table("a,b\n1,\n2,NA\n"), options: options())
        }
    }

    func testLabelRowsMissingAreDroppedAndCounted() throws {
        let e = try TableEncoder.fit(try table("v,k\n1,a\n2,\n3,b\n4,NA\n5,a\n"), options: options(label: "k", testFraction: 0))
        XCTAssertEqual(e.train.ids, [1, 3, 5])
        XCTAssertEqual(e.train.labels, [0, 1, 0])
        XCTAssertTrue(e.notes.contains { $0.contains("2 rows with no 'k' were left out (line 3, 5)") }, "\(e.notes)")
        // numeric labels sort as numbers
        let n = try TableEncoder.fit(try table("v,k\n1,10\n2,9\n3,2\n"), options: options(label: "k", testFraction: 0))
        XCTAssertEqual(n.schema.label?.values, ["2", "9", "10"])
    }

    /// Every column to drop is named in one message, with the --ignore that drops them all (one
    /// error a run made a user start again for each).
    func testColumnsToDropAreNamedTogether() throws {
        var text = "id,when,empty,v\n"
        for i in 0..<12 { text += "u\(i),2026-01-\(10 + i),,\(i % 3)\n" }
        FormatsFixture.assertVAEError(["('id') is text with 12 distinct values", "2 more columns cannot be read either ('when', 'empty') — to drop them all: --ignore id,when,empty"]) {
            _ = try TableEncoder.fit(try self.table(text), options: self.options())
        }
        // one alone: its own message, as before
        FormatsFixture.assertVAEError(["('empty') has no values, every cell is missing — drop it with --ignore empty"]) {
            _ = try TableEncoder.fit(try self.table(text), options: self.options(ignore: ["id", "when"]))
        }
        XCTAssertNoThrow(try TableEncoder.fit(try table(text), options: options(ignore: ["id", "when", "empty"])))
    }

    /// Zip codes written with their leading zeros are codes: categories as written (they were a
    /// number, mean 48,775, and impute filled 52877 — no zip code, its zero lost), with a note.
    func testLeadingZerosAreCodes() throws {
        let e = try TableEncoder.fit(try table("zip,v\n02134,1\n10001,2\n02134,3\n94105,4\n10001,5\n02134,6\n"), options: options(testFraction: 0))
        XCTAssertEqual(e.schema.columns[0].kind, .categorical(levels: ["02134", "10001", "94105"]))
        XCTAssertTrue(e.notes.contains { $0.contains("column 1 ('zip') writes numbers with leading zeros ('02134' on line 2): read as codes") }, "\(e.notes)")
        XCTAssertTrue(e.schema.columns[1].isNumeric)
        // a zero alone, or before the decimal point, is a number as ever
        let plain = try TableEncoder.fit(try table("x\n0\n0.5\n10\n-0.25\n"), options: options(testFraction: 0))
        XCTAssertTrue(plain.schema.columns[0].isNumeric)
        // one '07' in a column of ages of other widths is a number: codes are digits of one width
        let ages = try TableEncoder.fit(try table("age\n07\n23\n145\n45\n"), options: options(testFraction: 0))
        XCTAssertTrue(ages.schema.columns[0].isNumeric)
    }

    func testScikitLearnTargetNames() throws {
        let e = try TableEncoder.fit(try table("4,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n6.0,2.2,1\n5.0,3.1,0\n"),
                                     options: options(label: "target"))
        XCTAssertEqual(e.schema.classNames, ["setosa", "versicolor"])
        XCTAssertEqual(e.schema.columns.map(\.name), ["feature_1", "feature_2"])
        XCTAssertFalse(e.notes.contains { $0.contains("--label target") }, "\(e.notes)")
        // without --label its class column is a feature: the note says how to make it the class
        let plain = try TableEncoder.fit(try table("4,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n6.0,2.2,1\n5.0,3.1,0\n"), options: options())
        XCTAssertEqual(plain.schema.columns.map(\.name), ["feature_1", "feature_2", "target"])
        XCTAssertTrue(plain.notes.contains { $0.hasSuffix("— target is the class column, read now as a feature: give --label target to make it the class (or --ignore target to leave it out)") }, "\(plain.notes)")
        // a new file whose target gives the names (as every command shows them, its scores CSV
        // too): a name is its class, a value too; they were new classes (setosa as class 2)
        let named = try table("feature_1,feature_2,target\n5.1,3.5,versicolor\n4.9,3.0,0\n6.0,2.2,setosa\n5.0,3.1,virginica\n")
        let split = try TableEncoder.encode(named, schema: e.schema, rows: [0, 1, 2, 3], unseen: .missing, keys: false)
        XCTAssertEqual(split.labels, [1, 0, 0, 2])
        XCTAssertEqual(split.unseenClasses, ["virginica"])
    }

    func testSchemaCodableAndValidated() throws {
        let e = try TableEncoder.fit(try table(FormatsTableTests.sample), options: options(label: "kind", ignore: ["id"]))
        let json = try JSONEncoder().encode(e.schema)
        let back = try JSONDecoder().decode(TableSchema.self, from: json)
        XCTAssertEqual(back, e.schema)
        XCTAssertNoThrow(try back.validate())
        var broken = back
        broken.columns[0].kind = .numeric(mean: 0, std: 0)
        FormatsFixture.assertVAEError(["config.json: the table schema has bad statistics for 'size'"]) { try broken.validate() }
        broken = back
        broken.columns[1].offset = 2
        FormatsFixture.assertVAEError(["puts column 'colour' at 2, not 1"]) { try broken.validate() }
        broken = back
        broken.width = 9
        FormatsFixture.assertVAEError(["says width 9"]) { try broken.validate() }
    }

    func testDecodeToUserUnits() throws {
        let schema = TableSchema(columns: [
            .init(name: "n", kind: .numeric(mean: 10, std: 2), offset: 0, width: 1, decimals: 1),
            .init(name: "c", kind: .categorical(levels: ["a", "b", "c"]), offset: 1, width: 3),
        ], label: nil, ignored: [])
        XCTAssertEqual(schema.decode([1.5, 0.2, 0.5, 0.3]), [.number(13), .category("b")])
        XCTAssertEqual(schema.decode([-0.25, 0.4, 0.2, 0.4]), [.number(9.5), .category("a")], "ties: the first level")
        XCTAssertEqual(schema.format(.number(13.04), column: schema.columns[0]), "13.0")
        XCTAssertEqual(schema.format(.number(-0.04), column: schema.columns[0]), "0.0")
        var exact = schema.columns[0]
        exact.decimals = nil
        XCTAssertEqual(schema.format(.number(1e-7), column: exact), "1e-07")
        XCTAssertEqual(schema.format(.number(12), column: exact), "12")
    }

    // MARK: Writing back

    func testWriterRoundTripsTheFileByteForByte() throws {
        let texts = ["a,b,c\n1,\"x, y\",\"q\"\"uote\"\n2,,\"multi\nline\"\n",
                     "\u{FEFF}a;b\r\n1,5;\"x\"\r\n2;3\r\n",
                     "a\tb\n\"1\"\t2",
                     // a quote inside an unquoted field stays as it is (impute wrote 13" as "13""")
                     "size,n\n13\",1\n15\",\n"]
        for text in texts {
            let t = try table(text)
            XCTAssertEqual(String(decoding: CSVWriter.serialize(t), as: UTF8.self), text)
        }
    }

    /// Numbers written with a decimal comma (a ';' file from a European spreadsheet) are named as
    /// such — with few distinct values they became categories silently, with many the message said
    /// "an id or a name? drop it".
    func testDecimalCommaIsNamed() throws {
        for values in [["1,5", "2,5", "1,5", "2,5"], (0..<40).map { "\($0),\($0 % 7)5" }] {
            let text = "x;k\n" + values.enumerated().map { "\($1);\($0 % 2 == 0 ? "a" : "b")" }.joined(separator: "\n") + "\n"
            XCTAssertThrowsError(try TableEncoder.fit(try table(text), options: options(label: "k"))) { e in
                // the first such cell, with its line (the smallest was named, without one)
                XCTAssertTrue("\(e)".contains("column 1 ('x') holds numbers with a decimal comma ('\(values[0])' on line 2)"), "\(e)")
            }
        }
        // three digits after every comma: a thousands separator as likely — both readings named (the
        // advice was '1.250', a thousandth of the value meant)
        let text = "income;k\n" + ["1,250", "2,400", "3,100", "1,875", "2,050"].enumerated().map { "\($1);\($0 % 2 == 0 ? "a" : "b")" }.joined(separator: "\n") + "\n"
        XCTAssertThrowsError(try TableEncoder.fit(try table(text), options: options(label: "k"))) { e in
            XCTAssertTrue("\(e)".contains("('income') holds numbers written with a comma ('1,250' on line 2): a thousands separator (1250) or a decimal comma (1.250)?"), "\(e)")
        }
    }

    /// A first line of numbers is read as the header, and a note says so (a headerless file lost its
    /// first row silently); so does a scikit-learn first line whose row count does not match.
    func testNumericHeaderIsNoted() throws {
        let plain = try TableEncoder.fit(try table("1.5,2,3\n4,5,6\n7,8,9\n1,2,3\n"), options: options(testFraction: 0))
        XCTAssertTrue(plain.notes.contains { $0.contains("its first line (1.5,2,3) is all numbers, read as the column names") }, "\(plain.notes)")
        let cut = try TableEncoder.fit(try table("150,2,setosa\n1.5,2.5,0\n2.5,3.5,1\n3.5,1.5,0\n"), options: options(testFraction: 0))
        XCTAssertTrue(cut.notes.contains { $0.contains("line 1 looks like scikit-learn's layout (150 rows, 2 features) but the file has 3 rows") }, "\(cut.notes)")
        let named = try TableEncoder.fit(try table("a,b,c\n4,5,6\n7,8,9\n"), options: options(testFraction: 0))
        XCTAssertEqual(named.notes, [])
    }

    /// A gzip-compressed CSV (scikit-learn's digits.csv.gz) reads as the plain file does; it was
    /// "a NUL byte — this is a binary file".
    func testGzippedCSVReadsAsThePlainFile() throws {
        let text = "a,b,c\n1,\"x, y\",3\n2,,4\n"
        let dir = try FormatsFixture.makeTempDirectory(self)
        try AtomicFile.write(Array(text.utf8), to: dir + "/t.csv")
        try AtomicFile.write(Gzip.compress(Array(text.utf8)), to: dir + "/t.csv.gz")
        let plain = try CSVTable.read(path: dir + "/t.csv"), gz = try CSVTable.read(path: dir + "/t.csv.gz")
        XCTAssertEqual(gz.bytes, plain.bytes)
        XCTAssertEqual(gz.names, plain.names)
        XCTAssertEqual(gz.rowCount, 2)
    }

    /// A category level the schema does not know is kept and listed (observed data; docs/tables.md);
    /// a row whose model values are not finite keeps its cells as they are, and its line is returned.
    func testImputedUnseenLevelsFilledNonFiniteRowsLeft() throws {
        let t = try table("id,size,colour\nr1,1.5,red\nr2,2.5,blue\nr3,3.5,red\nr4,4.5,blue\n")
        let e = try TableEncoder.fit(t, options: options(label: nil, ignore: ["id"], testFraction: 0))
        let new = try table("id,size,colour\nn1,,purple\nn2,,red\nn3,2.0,\n")
        let rows = try TableEncoder.apply(e.schema, to: new, unseenLevels: .missing)
        guard case .categorical(let levels) = e.schema.columns[1].kind else { return XCTFail() }
        XCTAssertEqual(levels, ["blue", "red"])
        // size standardised 0 (the mean, 3.0) and red for n1; NaN for n2 (its size); n3's colour blue
        let means: [Float] = [0, 0.2, 0.8,  .nan, 0.9, 0.1,  0, 0.7, 0.3]
        let r = try CSVWriter.imputed(new, schema: e.schema, ids: rows.ids, means: means)
        XCTAssertEqual(String(decoding: r.bytes, as: UTF8.self), "id,size,colour\nn1,3.0,purple\nn2,,red\nn3,2.0,blue\n")
        XCTAssertEqual(r.filled, 2)
        XCTAssertEqual(r.unfilledLines, [3])
        XCTAssertEqual(r.unseenLevels.map { "\($0.line) \($0.column) \($0.text)" }, ["2 colour purple"])
    }

    func testImputedCellsFilledObservedUnchanged() throws {
        let text = "id,size,colour,kind\nr1,1.50,red,cat\nr2,,\"blue\",dog\nr3,  NA ,,cat\n\"r,4\",2.25,?,dog\n"
        let t = try table(text)
        let e = try TableEncoder.fit(t, options: options(label: "kind", ignore: ["id"], testFraction: 0))
        guard case .numeric(let mean, let std) = e.schema.columns[0].kind else { return XCTFail() }
        XCTAssertEqual(e.schema.columns[0].decimals, 2)
        // "means" for the 4 rows: standardised size, then probabilities over (blue, red)
        let wanted = [3.0, 4.126, 5.0, -1.0]
        var means: [Float] = []
        for (i, v) in wanted.enumerated() { means += [Float((v - mean) / std), i % 2 == 0 ? 0.9 : 0.1, i % 2 == 0 ? 0.1 : 0.9] }
        let dir = try FormatsFixture.makeTempDirectory(self)
        let filled = try CSVWriter.writeImputed(t, schema: e.schema, ids: e.train.ids, means: means, to: dir + "/filled.csv")
        XCTAssertEqual(filled.filled, 4)
        XCTAssertEqual(filled.unfilledLines, [])
        let out = String(decoding: try AtomicFile.readAll(path: dir + "/filled.csv", maxBytes: 1 << 20), as: UTF8.self)
        XCTAssertEqual(out, "id,size,colour,kind\nr1,1.50,red,cat\nr2,4.13,\"blue\",dog\nr3,5.00,blue,cat\n\"r,4\",2.25,red,dog\n")
        let back = try TableEncoder.apply(e.schema, to: try table(out))
        XCTAssertEqual(back.maskedCount, 0)
    }

    /// A table written back keeps its line ends: LF, CRLF and a classic Mac file's lone CR (it
    /// came back with LF).
    func testWrittenBackWithItsLineEnding() throws {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["id,size,colour", "r1,1.5,red", "r2,,\"blue\"", "r3,2.5,"].joined(separator: end) + end
            let t = try table(text)
            XCTAssertEqual(t.rowCount, 3, end.debugDescription)
            XCTAssertEqual(String(decoding: CSVWriter.serialize(t), as: UTF8.self), text, end.debugDescription)
        }
    }

    // MARK: A stored schema on a new file

    func testApplySchemaToNewFile() throws {
        let e = try TableEncoder.fit(try table(FormatsTableTests.sample), options: options(label: "kind", ignore: ["id"]))
        // other column order, an extra column, no label column
        let fresh = try table("extra,colour,size\nq,green,2\nq,,4\n")
        let split = try TableEncoder.apply(e.schema, to: fresh)
        XCTAssertEqual(split.ids, [1, 2])
        XCTAssertNil(split.labels)
        guard case .numeric(let mean, let std) = e.schema.columns[0].kind else { return XCTFail() }
        XCTAssertEqual(split.x[0], Float((2 - mean) / std), accuracy: 1e-6)
        XCTAssertEqual(Array(split.x[1..<4]), [0, 1, 0])
        XCTAssertEqual(Array(split.mask[5..<8]), [0, 0, 0])
        // labels, with a missing one
        let labelled = try TableEncoder.apply(e.schema, to: try table("size,colour,kind\n1,red,dog\n2,red,\n"))
        XCTAssertEqual(labelled.labels, [1, -1])

        FormatsFixture.assertVAEError(["new.csv has no column 'colour', which the model was trained with", "'size', 'kind'"]) {
            try TableEncoder.apply(e.schema, to: try CSVTable.parse(Array("size,kind\n1,cat\n".utf8), source: "new.csv"))
        }
        FormatsFixture.assertVAEError(["t.csv line 3, column 2 ('colour')", "'purple' is not one of the 3 categories", "'blue', 'green', 'red'"]) {
            try TableEncoder.apply(e.schema, to: try table("size,colour\n1,red\n2,purple\n"))
        }
        let unseen = try TableEncoder.apply(e.schema, to: try table("size,colour\n1,red\n2,purple\n"), unseenLevels: .missing)
        XCTAssertEqual(Array(unseen.mask[5..<8]), [0, 0, 0])
        FormatsFixture.assertVAEError(["t.csv line 2, column 1 ('size')", "'big' is not a number", "numeric in the model"]) {
            try TableEncoder.apply(e.schema, to: try table("size,colour\nbig,red\n"))
        }
        FormatsFixture.assertVAEError(["line 2, column 1 ('size')", "'1e999' is not a finite number"]) {
            try TableEncoder.apply(e.schema, to: try table("size,colour\n1e999,red\n"))
        }
        var tiny = e.schema
        tiny.columns[0].kind = .numeric(mean: 0, std: 1e-30)
        FormatsFixture.assertVAEError(["line 2, column 1 ('size')", "3e38 is too far from the training values"]) {
            try TableEncoder.apply(tiny, to: try table("size,colour\n3e38,red\n"))
        }
        // a label value the schema does not know is a class after the known ones (rows to score)
        let known = e.schema.classNames.count
        let birds = try TableEncoder.apply(e.schema, to: try table("size,colour,kind\n1,red,bird\n2,red,fish\n3,red,bird\n"))
        XCTAssertEqual(birds.unseenClasses, ["bird", "fish"])
        XCTAssertEqual(birds.labels, [Int32(known), Int32(known + 1), Int32(known)])
        XCTAssertEqual((birds.subset([1]) as! TableSplit).unseenClasses, ["bird", "fish"])
    }
}
