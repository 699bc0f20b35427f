import Foundation
import XCTest
@testable import VAEKit
import VAEImageIO

/// The CSV reader on files the tests write: RFC 4180 quoting, line endings, delimiters, and every
/// kind of bad input with its one-line message.
final class FormatsCSVTests: XCTestCase {
    func parse(_ text: String, _ options: CSVTable.Options = CSVTable.Options()) throws -> CSVTable {
        try CSVTable.parse(Array(text.utf8), source: "t.csv", options: options)
    }

    func cells(_ t: CSVTable) -> [[String]] {
        (0..<t.rowCount).map { r in (0..<t.columnCount).map { t.string(r, $0) } }
    }

    func testQuotedFieldsWithCommasQuotesAndNewlines() throws {
        let t = try parse("name,note,n\n\"Smith, J\",\"said \"\"hi\"\"\",1\n\"two\nlines\",\"\",2\nplain,x\"y,3\n")
        XCTAssertEqual(t.names, ["name", "note", "n"])
        XCTAssertEqual(cells(t), [["Smith, J", "said \"hi\"", "1"], ["two\nlines", "", "2"], ["plain", "x\"y", "3"]])
        XCTAssertEqual(t.rowLines, [2, 3, 5], "a row starts on the line after a quoted line break")
        XCTAssertTrue(t.wasQuoted(t.span(0, 0)))
        XCTAssertFalse(t.wasQuoted(t.span(2, 0)))
    }

    /// A header with as many ',' as ';' (names holding a comma): the delimiter is the one the next
    /// line has as many of — the ',' gave "line 2, column 2: 1 fields, but the header has 3".
    func testDelimiterTieIsSettledByTheNextLine() throws {
        let t = try parse("Price, EUR;Qty, pcs;kind\n12,5;3;a\n7;1;b\n")
        XCTAssertEqual(t.names, ["Price, EUR", "Qty, pcs", "kind"])
        XCTAssertEqual(cells(t), [["12,5", "3", "a"], ["7", "1", "b"]])
        XCTAssertEqual(try parse("a,b;c\n1,2;3\n").names, ["a", "b;c"], "a tie the next line does not settle: ','")
    }

    /// In a table of one column a blank line is an empty cell (pandas writes a missing value so),
    /// kept in its place; blank lines at the end of the file are no rows. Skipped, the rows after
    /// it moved up one, and impute wrote the table back a line short.
    func testBlankLineOfAOneColumnTableIsAMissingCell() throws {
        let t = try parse("x\n1\n\n3\r\n\r\n5\n\n\n")
        XCTAssertEqual(cells(t), [["1"], [""], ["3"], [""], ["5"]])
        XCTAssertEqual(t.rowLines, [2, 3, 4, 5, 6])
        XCTAssertEqual(cells(try parse("x\n\n2\n")), [[""], ["2"]])
        XCTAssertThrowsError(try parse("x\n\n\n")) { e in XCTAssertTrue("\(e)".contains("the header row is the only row"), "\(e)") }
        XCTAssertEqual(cells(try parse("a,b\n1,2\n\n3,4\n")), [["1", "2"], ["3", "4"]], "two columns: a blank line is skipped")
    }

    func testCRLFBOMAndNoFinalNewline() throws {
        let t = try CSVTable.parse([0xEF, 0xBB, 0xBF] + Array("a,b\r\n1,2\r\n\r\n3,4".utf8), source: "t.csv")
        XCTAssertTrue(t.hasBOM)
        XCTAssertEqual(t.names, ["a", "b"], "the byte-order mark is not part of the first name")
        XCTAssertEqual(cells(t), [["1", "2"], ["3", "4"]], "blank lines are skipped")
        XCTAssertEqual(t.lineEnding, "\r\n")
        XCTAssertFalse(t.endsWithLineBreak)
        XCTAssertEqual(t.rowLines, [2, 4])
        let cr = try parse("a,b\r1,2\r3,4\r")
        XCTAssertEqual(cells(cr), [["1", "2"], ["3", "4"]], "old Mac line breaks")
    }

    func testDelimiterDetection() throws {
        XCTAssertEqual(cells(try parse("a;b;c\n1,5;2;3\n")), [["1,5", "2", "3"]])
        XCTAssertEqual(try parse("a;b;c\n1;2;3\n").delimiter, UInt8(ascii: ";"))
        XCTAssertEqual(cells(try parse("a\tb\n1\t2\n")), [["1", "2"]])
        XCTAssertEqual(try parse("\"x;y\",b\n1,2\n").delimiter, UInt8(ascii: ","), "quoted delimiters do not count")
        XCTAssertEqual(try parse("only\n1\n2\n").columnCount, 1)
        // UTF-16 text is named as such, with the conversion (it read as "a binary file")
        let utf16: [UInt8] = [0xFF, 0xFE] + Array("a,b\n1,2\n".utf16).flatMap { (u: UInt16) -> [UInt8] in [UInt8(u & 0xFF), UInt8(u >> 8)] }
        FormatsFixture.assertVAEError(["UTF-16", "iconv"]) { _ = try CSVTable.parse(utf16, source: "t.csv") }
        // a file saved twice with a byte-order mark: both skipped (the second was in the first name)
        XCTAssertEqual(try CSVTable.parse([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("a,b\n1,2\n".utf8), source: "t.csv").names, ["a", "b"])
        // UTF-32 text, zeros, IDX data and an archive are named as what they are (all were "UTF-16"
        // or "a binary file")
        let utf32: [UInt8] = Array("a,b\n1,2\n".unicodeScalars).flatMap { (u: Unicode.Scalar) -> [UInt8] in [UInt8(u.value), 0, 0, 0] }
        FormatsFixture.assertVAEError(["UTF-32", "iconv -f UTF-32"]) { _ = try CSVTable.parse(utf32, source: "t.csv") }
        FormatsFixture.assertVAEError(["NUL bytes: it holds no text"]) { _ = try CSVTable.parse([UInt8](repeating: 0, count: 100), source: "t.csv") }
        FormatsFixture.assertVAEError(["IDX data (MNIST's format)"]) { _ = try CSVTable.parse([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4], source: "t.csv") }
        FormatsFixture.assertVAEError(["an archive of vae compress"]) { _ = try CSVTable.parse(Array("SVAEBBA1".utf8) + [1, 0, 0, 0, 0], source: "t.csv") }
        // space-separated columns are no table of one text column (it trained on them silently)
        FormatsFixture.assertVAEError(["t.csv line 1", "looks space-separated", "awk -v OFS=, '{$1=$1}1' FILE > FILE.csv"]) { try parse("a b c\n1 2 3\n4 5 6\n") }
        // a first line of numbers is data: the advice adds a header line (it named them "3 names")
        FormatsFixture.assertVAEError(["t.csv line 1", "looks space-separated (3 numbers on each line", "has no header row", "(seq -s, -f 'c%g' 3; awk -v OFS=, '{$1=$1}1' FILE) > FILE.csv"]) { try parse("59 2 32.1\n48 1 21.6\n") }
        // a gzipped one: the conversion starts with zcat (tr on gzip bytes converts nothing)
        let gz = NSTemporaryDirectory() + "vae-csv-space-\(getpid()).csv.gz"
        defer { try? FileManager.default.removeItem(atPath: gz) }
        XCTAssertNoThrow(try AtomicFile.write(Gzip.compress(Array("a b c\n1 2 3\n4 5 6\n".utf8)), to: gz))
        FormatsFixture.assertVAEError(["looks space-separated", "zcat FILE | awk -v OFS=, '{$1=$1}1' > FILE.csv"]) { _ = try CSVTable.read(path: gz) }
        // one text column of phrases is one column
        XCTAssertEqual(try parse("full name\nAda\nAlan Turing\n").columnCount, 1)
        var forced = CSVTable.Options()
        forced.delimiter = UInt8(ascii: ";")
        XCTAssertEqual(cells(try parse("a,b;c\n1,2;3\n", forced)), [["1,2", "3"]])
    }

    func testHeaderNames() throws {
        let t = try parse(" a ,,c\n1,2,3\n")
        XCTAssertEqual(t.names, ["a", "column 2", "c"], "trimmed; an empty name is named by its position")
        FormatsFixture.assertVAEError(["t.csv line 1, column 3", "two columns 'a'", "rename one"]) { try parse("a,b,a\n1,2,3\n") }
        // an empty name is called by its place, which may be another column's name: said
        FormatsFixture.assertVAEError(["two columns 'column 1' (columns 1 and 2) (column 1 has no name in the header, and is called by its place)"]) {
            try parse(",column 1,c\n1,2,a\n")
        }
        // a file without a header whose first row repeats a number (scikit-learn's digits.csv.gz)
        FormatsFixture.assertVAEError(["t.csv line 1: is all numbers (0,0,5,13,…), with repeats: it is a data row", "add a line of column names"]) {
            try parse("0,0,5,13,9\n0,1,4,2,8\n")
        }
    }

    func testScikitLearnLayout() throws {
        let t = try parse("3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,1\n6.0,2.2,1\n")
        XCTAssertEqual(t.names, ["feature_1", "feature_2", "target"])
        XCTAssertEqual(t.targetNames, ["setosa", "versicolor"])
        XCTAssertEqual(t.rowCount, 3)
        // Names that only look like it (two integers, but not the row count) stay names.
        let plain = try parse("2,4,x\n1,2,3\n")
        XCTAssertEqual(plain.names, ["2", "4", "x"])
        XCTAssertNil(plain.targetNames)
    }

    // MARK: Bad input: one line naming the file, the line and the column

    func testRaggedRows() {
        FormatsFixture.assertVAEError(["t.csv line 3, column 4", "4 fields, but the header (line 1) has 3", "must be quoted"]) {
            try parse("a,b,c\n1,2,3\n4,5,6,7\n")
        }
        FormatsFixture.assertVAEError(["t.csv line 2, column 3", "2 fields", "'c' and after are missing"]) {
            try parse("a,b,c\n1,2\n")
        }
        // a scikit-learn header's count has one verb ("declares has 5")
        FormatsFixture.assertVAEError(["2 fields, but the scikit-learn header (line 1) declares 3:"]) { try parse("2,2,a,b\n1,2,0\n3,4\n") }
        // a line without the header's delimiter says which one was chosen (it said "1 fields" only)
        FormatsFixture.assertVAEError(["t.csv line 2, column 2", "1 field, but the header (line 1) has 3",
                                       "fields are split at ';', the delimiter of the header line, and this line has no unquoted one"]) {
            try parse("a;b;c\n1,2,3\n")
        }
    }

    func testUnclosedQuote() {
        FormatsFixture.assertVAEError(["t.csv line 3, column 2", "never closed"]) {
            try parse("a,b\n1,2\n3,\"four\n5,6\n")
        }
        FormatsFixture.assertVAEError(["t.csv line 2, column 1", "text after the closing quote"]) {
            try parse("a,b\n\"x\"y,2\n")
        }
    }

    func testBinaryFiles() {
        FormatsFixture.assertVAEError(["t.csv line 2, column 2", "NUL byte", "binary"]) {
            try CSVTable.parse(Array("a,b\n1,2\u{0}3\n".utf8), source: "t.csv")
        }
        FormatsFixture.assertVAEError(["t.csv line 1, column 1", "NUL byte"], { try CSVTable.parse(Gzip.compress(Array("a\n1\n".utf8)), source: "t.csv") })
        FormatsFixture.assertVAEError(["t.csv line 1, column 1", "invalid UTF-8 (byte 0x8B)", "compressed"]) {
            try CSVTable.parse([0x1F, 0x8B, 0x08, 0x0A, 0x31, 0x0A], source: "t.csv")
        }
        FormatsFixture.assertVAEError(["t.csv line 2, column 2", "invalid UTF-8 (byte 0xC0)"]) {
            try CSVTable.parse(Array("a,b\n1,".utf8) + [0xC0, 0xAF] + Array("\n".utf8), source: "t.csv")
        }
        // A truncated multi-byte sequence at the end of a cell.
        FormatsFixture.assertVAEError(["t.csv line 2, column 1", "invalid UTF-8 (byte 0xE2)"]) {
            try CSVTable.parse(Array("a,b\n".utf8) + [0xE2, 0x82] + Array(",1\n".utf8), source: "t.csv")
        }
        // a Latin-1 'é' before plain text: the byte named is the é, not the letter after it, and the
        // message says how to convert the file
        FormatsFixture.assertVAEError(["t.csv line 2, column 1", "invalid UTF-8 (byte 0xE9)", "iconv -f windows-1252 -t utf-8"]) {
            try CSVTable.parse(Array("name,x\ncaf".utf8) + [0xE9] + Array("s,1\n".utf8), source: "t.csv")
        }
        XCTAssertEqual(try parse("name,x\nZoë €,1\n").string(0, 0), "Zoë €")
        // an image given as the table: named as one, with the fix (not "invalid UTF-8 in line 1")
        let png = NSTemporaryDirectory() + "vae-csv-image-\(getpid()).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        XCTAssertNoThrow(try AtomicFile.write(PNG.encode(width: 2, height: 2, channels: 1, pixels: [0, 1, 2, 3]), to: png))
        FormatsFixture.assertVAEError(["is a PNG image, not a table: pass the folder that holds the images (--data DIR)"]) {
            _ = try CSVTable.read(path: png)
        }
    }

    func testColumnLimit() {
        let header = (0..<100_001).map { "c\($0)" }.joined(separator: ",")
        FormatsFixture.assertVAEError(["t.csv line 1, column 65537", "more than 65,536 columns"]) {
            try parse(header + "\n" + header + "\n")
        }
        var small = CSVTable.Options()
        small.maxColumns = 3
        FormatsFixture.assertVAEError(["line 2, column 4"]) { try parse("a,b,c\n1,2,3,4\n", small) }
    }

    func testEmptyAndHeaderOnly() {
        FormatsFixture.assertVAEError(["t.csv is empty", "header row"]) { try parse("") }
        FormatsFixture.assertVAEError(["t.csv is empty"]) { try parse("\n\r\n\n") }
        FormatsFixture.assertVAEError(["t.csv is empty"]) { try CSVTable.parse([0xEF, 0xBB, 0xBF], source: "t.csv") }
        FormatsFixture.assertVAEError(["t.csv line 1", "no data rows"]) { try parse("a,b,c\n") }
        FormatsFixture.assertVAEError(["t.csv line 1", "no data rows"]) { try parse("a,b,c\n\n\n") }
    }

    func testFileLimitsAndMissingFile() throws {
        var tiny = CSVTable.Options()
        tiny.maxFileBytes = 10
        FormatsFixture.assertVAEError(["t.csv is 12 bytes", "more than the 10 bytes"]) { try parse("a,b\n1,2\n3,4\n", tiny) }
        var few = CSVTable.Options()
        few.maxCells = 4
        FormatsFixture.assertVAEError(["t.csv line 4", "more than 4 cells"]) { try parse("a,b\n1,2\n3,4\n5,6\n", few) }
        FormatsFixture.assertVAEError(["cannot read /nonexistent/t.csv", "check the path"]) {
            try CSVTable.read(path: "/nonexistent/t.csv")
        }
        let dir = try FormatsFixture.makeTempDirectory(self)
        try FormatsFixture.writeFile(Array("x,y\n1,2\n".utf8), dir + "/ok.csv")
        XCTAssertEqual(cells(try CSVTable.read(path: dir + "/ok.csv")), [["1", "2"]])
    }
}
