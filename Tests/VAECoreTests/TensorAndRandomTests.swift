import Foundation
import XCTest
@testable import VAECore

final class TensorAndRandomTests: XCTestCase {
    func testViewsShareStorage() {
        let t = Tensor(shape: [4, 3], data: (0..<12).map(Float.init))
        let r = t.rows(1..<3)
        XCTAssertEqual(r.shape, [2, 3])
        XCTAssertEqual(r.array, [3, 4, 5, 6, 7, 8])
        r[0] = 100
        XCTAssertEqual(t[3], 100)
        XCTAssertEqual(t.reshaped([2, 6]).shape, [2, 6])
        XCTAssertEqual(t.copy().array, t.array)
        XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0)
    }

    func testWorkspaceReusesStorage() {
        var w = Workspace()
        let a = w.view([10, 10])
        let b = w.view([5, 4])
        XCTAssertEqual(a.pointer, b.pointer)
        let c = w.view([20, 10])
        XCTAssertEqual(c.count, 200)
    }

    func testSeedGivesSameStream() {
        var a = RNG(seed: 123), b = RNG(seed: 123), c = RNG(seed: 124)
        let xa = (0..<100).map { _ in a.normal() }, xb = (0..<100).map { _ in b.normal() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, (0..<100).map { _ in c.normal() })
    }

    /// xoshiro256** reference values (seeded state 1, 2, 3, 4 → 11520, 0, 1509978240, ...).
    func testXoshiroReference() {
        var r = RNG(savedState: [1, 2, 3, 4, 0])!
        XCTAssertEqual([r.next(), r.next(), r.next()], [11520, 0, 1_509_978_240])
    }

    func testSavedStateResumesStream() {
        var a = RNG(seed: 9)
        _ = a.normal()               // leaves a spare normal
        var b = RNG(savedState: a.savedState)!
        XCTAssertEqual((0..<10).map { _ in a.normal() }, (0..<10).map { _ in b.normal() })
        XCTAssertNil(RNG(savedState: [0, 0, 0, 0, 0]))
    }

    func testNormalMoments() {
        var r = RNG(seed: 5)
        let n = 200_000
        var s = 0.0, s2 = 0.0
        for _ in 0..<n { let x = Double(r.normal()); s += x; s2 += x * x }
        XCTAssertEqual(s / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(s2 / Double(n), 1, accuracy: 0.01)
        var u = RNG(seed: 6)
        let us = (0..<10000).map { _ in u.uniform() }
        XCTAssertTrue(us.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    /// fillNormal transforms the pairs in C over the kernel threads: the same bits as one
    /// normal() at a time, for every count (odd ones leave the same spare), a spare carried in, a
    /// count over one chunk of uniforms, and 1–3 threads.
    func testFillNormalMatchesNormalOneAtATime() {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        for threads in [1, 2, 3] {
            ThreadPool.threadCount = threads
            for (seed, counts) in [(UInt64(3), [0, 1, 63, 64, 65, 511, 512, 513, 10_240]),
                                   (UInt64(4), [70_001, 2, 3]), (UInt64(5), [1, 700, 1, 701, 5])] {
                var a = RNG(seed: seed), b = RNG(seed: seed)
                for n in counts {
                    let want = (0..<n).map { _ in a.normal() }
                    var got = [Float](repeating: .nan, count: n)
                    got.withUnsafeMutableBufferPointer { if n > 0 { b.fillNormal($0.baseAddress!, count: n) } }
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "seed \(seed), count \(n), \(threads) threads")
                    XCTAssertEqual(a.savedState, b.savedState, "state after count \(n)")
                }
                XCTAssertEqual(a.normal().bitPattern, b.normal().bitPattern)
            }
        }
    }

    /// normal() against Box–Muller written out here in double (u1 in (0, 1], both values of a pair,
    /// cosine first): the stream every seeded run and fixture was made with.
    func testNormalIsBoxMullerInDouble() {
        var a = RNG(seed: 8), words = RNG(seed: 8)
        for _ in 0..<5_000 {
            let u1 = (Double(words.next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)
            let u2 = Double(words.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
            let r = (-2 * Foundation.log(u1)).squareRoot(), t = 2 * Double.pi * u2
            XCTAssertEqual(a.normal().bitPattern, Float(r * Foundation.cos(t)).bitPattern)
            XCTAssertEqual(a.normal().bitPattern, Float(r * Foundation.sin(t)).bitPattern)
        }
    }

    func testPermutation() {
        var r = RNG(seed: 1)
        let p = r.permutation(1000)
        XCTAssertEqual(Set(p).count, 1000)
        XCTAssertNotEqual(p, (0..<1000).map { Int32($0) })
    }
}
