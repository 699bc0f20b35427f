import XCTest
@testable import VAEKit
import VAECore

/// Posterior.sample and .backward split a batch's rows over the kernel threads from 2,048
/// values: z, KL and the gradient must have the same bits for 1, 2 and 3 threads (and with free
/// bits, which reads each row's KL), and the split must really happen at that size.
final class PosteriorSplitTests: XCTestCase {
    func run(rows: Int, latent k: Int, freeBits: Double) -> [UInt64] {
        var rng = RNG(seed: 21)
        var h = [Float](repeating: 0, count: rows * 2 * k), eps = [Float](repeating: 0, count: rows * k)
        var dz = eps
        for i in 0..<h.count { h[i] = rng.uniform(-3, 3) }
        rng.fillNormal(&eps, count: eps.count)
        rng.fillNormal(&dz, count: dz.count)
        var z = eps, dh = h, kl = [Double](repeating: 0, count: rows)
        Posterior.sample(h: h, eps: eps, rows: rows, latent: k, z: &z, kl: &kl)
        Posterior.backward(h: h, eps: eps, dz: dz, rows: rows, latent: k, klScale: 0.7, dh: &dh, kl: kl, freeBits: freeBits)
        return z.map { UInt64($0.bitPattern) } + dh.map { UInt64($0.bitPattern) } + kl.map(\.bitPattern)
    }

    func testSameBitsForAnyThreadCount() {
        let saved = ThreadPool.threadCount
        defer { ThreadPool.threadCount = saved }
        for (rows, k, fb) in [(512, 20, 0.0), (127, 32, 30.0), (3, 1024, 0.0), (4, 3, 0.0)] {
            ThreadPool.threadCount = 1
            XCTAssertNil(ThreadPool.rangeLength(rows, work: rows * k, minWork: Posterior.splitFrom))
            let want = run(rows: rows, latent: k, freeBits: fb)
            for t in [2, 3] {
                ThreadPool.threadCount = t
                if rows * k >= Posterior.splitFrom {
                    XCTAssertNotNil(ThreadPool.rangeLength(rows, work: rows * k, minWork: Posterior.splitFrom), "\(rows) x \(k) should split")
                }
                XCTAssertEqual(run(rows: rows, latent: k, freeBits: fb), want, "\(rows) x \(k), free bits \(fb), \(t) threads")
            }
        }
    }
}
