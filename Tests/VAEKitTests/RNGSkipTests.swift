import XCTest
import VAECore
@testable import VAEKit

/// A rank's share of the test set starts where one process's noise stream would be.
final class RNGSkipTests: XCTestCase {
    func testSkippingNormalsMatchesDrawingThem() {
        for n in [0, 1, 5, 4096, 5000] {
            var a = RNG(seed: 3), b = RNG(seed: 3)
            var sink = [Float](repeating: 0, count: max(n, 1))
            sink.withUnsafeMutableBufferPointer { a.fillNormal($0.baseAddress!, count: n) }
            b.skipNormals(n)
            XCTAssertEqual(a.normal(), b.normal(), "after \(n) normals")
            XCTAssertEqual(a.savedState, b.savedState)
        }
    }
}
