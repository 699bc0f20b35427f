import Foundation
import XCTest

/// Reads the PyTorch oracle files (copied from ../shared/fixtures into the test bundle).
enum Fixture {
    static func load(_ name: String) throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw XCTSkip("fixture \(name).json is missing from the test bundle")
        }
        let data = try Data(contentsOf: url)
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
