import XCTest
import CVAEKernels
@testable import VAECore

/// The convolution helpers (im2col, col2im with bias and ReLU, the layout changes, ReLU
/// backward with bias sums) are compiled once per kernel level: each gives the same bits at
/// every level the CPU has, and the portable variant matches plain Swift loops.
final class ConvKernelLevelTests: XCTestCase {
    func helpers(level: Int) -> [Float] {
        let top = GEMM.kernelLevel
        defer { GEMM.forceKernelLevel(top) }
        GEMM.forceKernelLevel(level)
        // 3 images of 5 channels, 9×10, 3×3 window, stride 2, padding 1 → 5×5 grid
        let n = 3, c = 5, h = 9, w = 10, k = 3, s = 2, p = 1, gh = 5, gw = 5
        var rng = RNG(seed: 21)
        var img = [Float](repeating: 0, count: n * c * h * w)
        for i in img.indices { img[i] = rng.uniform(-1, 1) }
        var bias = [Float](repeating: 0, count: c)
        for i in bias.indices { bias[i] = rng.uniform(-0.5, 0.5) }
        let rows = c * k * k, cols = n * gh * gw
        var colsBuf = [Float](repeating: 0, count: rows * cols)
        var back = [Float](repeating: 0, count: img.count)
        vk_im2col(img, Int32(n), Int32(c), Int32(h), Int32(w), Int32(gh), Int32(gw), Int32(k), Int32(k), Int32(s), Int32(p), &colsBuf)
        vk_col2im(colsBuf, Int32(n), Int32(c), Int32(h), Int32(w), Int32(gh), Int32(gw), Int32(k), Int32(k), Int32(s), Int32(p),
                  &back, bias, 1)
        let plane = h * w
        var cm = [Float](repeating: 0, count: img.count), bm = cm, dx = cm
        var bg1 = [Float](repeating: 0.25, count: c), bg2 = bg1
        vk_to_channel_major(img, Int32(n), Int32(c), Int32(plane), back, &cm, &bg1)
        vk_to_batch_major(cm, Int32(n), Int32(c), Int32(plane), bias, 1, &bm)
        vk_relu_backward_chansum(img, back, &dx, Int32(n), Int32(c), Int32(plane), &bg2)
        return colsBuf + back + cm + bg1 + bm + dx + bg2
    }

    func testConvHelpersBitIdenticalAtEveryKernelLevel() {
        let top = GEMM.kernelLevel
        let results = (1...top).map { helpers(level: $0) }
        XCTAssertTrue(results[0].contains { $0 != 0 })
        for (i, r) in results.enumerated().dropFirst() {
            XCTAssertTrue(r == results[0], "level \(i + 1) differs from the portable code")
        }
    }

    /// im2col against its definition, at the top level.
    func testIm2ColMatchesDefinition() {
        let n = 2, c = 2, h = 6, w = 7, k = 3, s = 2, p = 1
        let gh = (h + 2 * p - k) / s + 1, gw = (w + 2 * p - k) / s + 1
        var rng = RNG(seed: 4)
        let img = (0..<(n * c * h * w)).map { _ in rng.uniform(-1, 1) }
        var cols = [Float](repeating: .nan, count: c * k * k * n * gh * gw)
        vk_im2col(img, Int32(n), Int32(c), Int32(h), Int32(w), Int32(gh), Int32(gw), Int32(k), Int32(k), Int32(s), Int32(p), &cols)
        let ld = n * gh * gw
        for ch in 0..<c { for i in 0..<k { for j in 0..<k { for im in 0..<n { for gy in 0..<gh { for gx in 0..<gw {
            let y = gy * s - p + i, x = gx * s - p + j
            let want: Float = (y >= 0 && y < h && x >= 0 && x < w) ? img[((im * c + ch) * h + y) * w + x] : 0
            XCTAssertEqual(cols[((ch * k + i) * k + j) * ld + im * gh * gw + gy * gw + gx], want)
        } } } } } }
    }
}
