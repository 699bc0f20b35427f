import Foundation
import XCTest
@testable import VAEKit

/// Reads the PyTorch oracle files (copied from ../shared/fixtures into the test bundle).
enum Fixture {
    struct Missing: Error, CustomStringConvertible { var description: String }

    /// The project's shared folder beside the package (absent in a fresh clone).
    static var shared: String { FormatsFixture.packageRoot.appendingPathComponent("../shared").standardized.path }

    /// The fixtures are committed with the package: one missing from the bundle fails the test.
    /// A bundle copy that differs from ../shared/fixtures (stale) fails too.
    static func load(_ name: String) throws -> [String: Any] {
        let original = shared + "/fixtures/\(name).json"
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw Missing(description: "fixture \(name).json is missing from Tests/VAEKitTests/Fixtures, where it is committed; copy it from ../shared/fixtures")
        }
        let data = try Data(contentsOf: url)
        if FileManager.default.fileExists(atPath: original), try Data(contentsOf: URL(fileURLWithPath: original)) != data {
            throw Missing(description: "fixture \(name).json in Tests/VAEKitTests/Fixtures differs from \(original); copy it again")
        }
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NSError(domain: "fixture", code: 1)
        }
        return obj
    }

    /// {"shape": [...], "data": [...]} → (shape, data)
    static func tensor(_ any: Any?) -> (shape: [Int], data: [Double]) {
        let d = any as! [String: Any]
        let shape = (d["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let data = (d["data"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
        return (shape, data)
    }
}

func assertClose(_ a: [Float], _ b: [Double], rel: Double = 1e-5, abs absTol: Double = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    var worst = 0.0
    for (x, y) in zip(a, b) {
        let err = abs(Double(x) - y)
        worst = max(worst, err / (absTol + rel * abs(y)))
    }
    XCTAssertLessThanOrEqual(worst, 1, "\(what): worst error is \(worst)× the tolerance", file: file, line: line)
}
