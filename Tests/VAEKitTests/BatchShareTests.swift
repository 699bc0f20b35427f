import XCTest
import VAECore
@testable import VAEKit

/// A rank's share of a batch (data-parallel training): the rows and the noise one process
/// would give those rows, and the generator left where one process leaves it.
final class BatchShareTests: XCTestCase {
    func testShareOfABatchIsTheWholeBatchsRows() {
        let d = 12, n = 9
        let set = ImageSet(images: (0..<(n * d)).map { UInt8(($0 * 37) % 256) }, labels: [], count: n, channels: 1, height: 3, width: 4)
        let idx: [Int32] = [4, 0, 8, 2, 7, 1]
        for binarize in [false, true] {
            var whole = RNG(seed: 11)
            let all = Tensor(shape: [idx.count, d])
            idx.withUnsafeBufferPointer { BatchLoader.fill(set, indices: $0, into: all, binarize: binarize, rng: &whole) }
            // the uneven split of 6 rows over 4 ranks: 2, 2, 1, 1
            for rows in [0..<2, 2..<4, 4..<5, 5..<6, 0..<6, 3..<3] {
                var r = RNG(seed: 11)
                let part = Tensor(shape: [rows.count, d])
                idx.withUnsafeBufferPointer { BatchLoader.fill(set, indices: $0, rows: rows, into: part, binarize: binarize, rng: &r) }
                XCTAssertEqual(part.array, all.rows(rows).array, "rows \(rows), binarize \(binarize)")
                XCTAssertEqual(r.savedState, whole.savedState, "the generator must end where the whole batch leaves it")
            }
        }
    }

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
