import Foundation
import XCTest
@testable import VAEKit

/// The CSV reader and table encoder under the in-process mutation fuzzer of ParserFuzzTests, the
/// committed libFuzzer seeds (fuzz/seeds/csv) and crashers (fuzz/regressions/csv), with the same
/// checks as the `csv` target of Sources/vae-fuzz: a table written back parses to the same cells,
/// and typing, encoding, applying and imputing either work or throw a VAEError.
final class CSVFuzzTests: XCTestCase {
    static func check(_ bytes: [UInt8]) throws {
        var options = CSVTable.Options()
        options.maxColumns = 512
        let table = try CSVTable.parse(bytes, source: "fuzz.csv", options: options)
        let again = try CSVTable.parse(CSVWriter.serialize(table), source: "round trip", options: options)
        XCTAssertEqual(again.names, table.names, "\(Array(bytes))")
        XCTAssertEqual(again.rowCount, table.rowCount)
        if again.rowCount == table.rowCount && again.columnCount == table.columnCount {
            for row in 0..<table.rowCount {
                for column in 0..<table.columnCount where again.string(row, column) != table.string(row, column) {
                    XCTFail("round trip changed row \(row + 1), column \(column + 1) of \(Array(bytes))")
                }
            }
        }
        var tableOptions = TableOptions()
        tableOptions.maxLevels = 64
        if (bytes.first ?? 0) & 1 == 1, table.columnCount > 1 { tableOptions.label = table.names.last }
        let encoded = try TableEncoder.fit(table, options: tableOptions)
        try encoded.schema.validate()
        let all = try TableEncoder.apply(encoded.schema, to: table, unseenLevels: .missing)
        XCTAssertEqual(all.count, table.rowCount)
        XCTAssertTrue(all.x.allSatisfy { $0.isFinite })
        _ = try CSVWriter.imputed(table, schema: encoded.schema, ids: all.ids, means: all.x)
    }

    /// The files of a folder committed with the package: missing or empty is a failure, not a skip.
    static func files(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [(String, [UInt8])] {
        guard AtomicFile.isDirectory(directory) else {
            XCTFail("\(directory) is missing; it is committed with the package", file: file, line: line)
            return []
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertFalse(names.isEmpty, "\(directory) is empty; it is committed with the package", file: file, line: line)
        return try names.map {
            ($0, try AtomicFile.readAll(path: directory + "/" + $0, maxBytes: 1 << 20))
        }
    }

    func testMutatedTables() throws {
        let seeds = try CSVFuzzTests.files(FormatsFixture.packageRoot.path + "/fuzz/seeds/csv").map(\.1)
        guard !seeds.isEmpty else { return }  // files() has failed the test
        let parsed = ParserFuzzTests.fuzz("CSV + TableEncoder", seeds: seeds, iterations: 4000, seed: 10) { try CSVFuzzTests.check($0) }
        XCTAssertGreaterThan(parsed, 100, "the mutations should not all be refused")
    }

    func testCommittedCrashers() throws {
        let found = try CSVFuzzTests.files(FormatsFixture.packageRoot.path + "/fuzz/regressions/csv")
        guard !found.isEmpty else { return }  // files() has failed the test
        for (name, bytes) in found {
            do { try CSVFuzzTests.check(bytes) } catch let error as VAEError {
                print("csv/\(name): \(error.message.prefix(160))")
            }
        }
    }
}
