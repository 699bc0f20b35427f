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
        var sums1 = [Float](repeating: 0, count: n * c), sums2 = sums1
        // channel-major in two groups (images 0 and 1–2), NCHW in one
        vk_relu_grad_images(img, back, 0, 1, Int32(c), Int32(plane), &cm, n * plane, &sums1)
        vk_relu_grad_images(img, back, 1, Int32(n), Int32(c), Int32(plane), &cm, n * plane, &sums1)
        vk_add_image_sums(sums1, Int32(n), Int32(c), &bg1)
        vk_to_batch_major(cm, Int32(n), Int32(c), Int32(plane), bias, 1, &bm)
        vk_relu_grad_images(img, back, 0, Int32(n), Int32(c), Int32(plane), &dx, 0, &sums2)
        vk_add_image_sums(sums2, Int32(n), Int32(c), &bg2)
        return colsBuf + back + cm + bg1 + bm + dx + bg2
    }

    /// G = dy ⊙ [y > 0] for groups of images, channel-major or NCHW, and the bias gradient from
    /// the per-image sums, against their definitions: sums of 8 lanes (element i into lane
    /// i mod 8), the lanes added in order, the images' sums added in image order.
    func testReluGradImagesMatchDefinition() {
        let n = 4, c = 3, p = 29
        var rng = RNG(seed: 17)
        let dy = (0..<(n * c * p)).map { _ in rng.uniform(-1, 1) }
        let y = (0..<(n * c * p)).map { _ in rng.uniform(-1, 1) }
        var cm = [Float](repeating: .nan, count: dy.count), nchw = cm
        var sums = [Float](repeating: .nan, count: n * c), sumsB = sums
        for (a, b) in [(0, 1), (1, 3), (3, 4)] {
            vk_relu_grad_images(dy, y, Int32(a), Int32(b), Int32(c), Int32(p), &cm, n * p, &sums)
        }
        vk_relu_grad_images(dy, y, 0, Int32(n), Int32(c), Int32(p), &nchw, 0, &sumsB)
        var bias = [Float](repeating: 0.5, count: c)
        vk_add_image_sums(sums, Int32(n), Int32(c), &bias)
        for ch in 0..<c {
            var total: Float = 0
            for img in 0..<n {
                var lanes = [Float](repeating: 0, count: 8)
                for i in 0..<p {
                    let k = (img * c + ch) * p + i
                    let g: Float = y[k] > 0 ? dy[k] : 0
                    XCTAssertEqual(cm[ch * n * p + img * p + i], g)
                    XCTAssertEqual(nchw[k], g)
                    lanes[i % 8] = lanes[i % 8] + g
                }
                let s = lanes.reduce(Float(0)) { $0 + $1 }
                XCTAssertEqual(sums[img * c + ch], s)
                XCTAssertEqual(sumsB[img * c + ch], s)
                total = total + s
            }
            XCTAssertEqual(bias[ch], 0.5 + total)
        }
        // no y and dst == dy: nothing written, the sums of dy itself
        var same = dy
        var sumsC = [Float](repeating: .nan, count: n * c)
        same.withUnsafeMutableBufferPointer { b in
            vk_relu_grad_images(b.baseAddress!, nil, 0, Int32(n), Int32(c), Int32(p), b.baseAddress!, 0, &sumsC)
        }
        XCTAssertEqual(same, dy)
        XCTAssertFalse(sumsC.contains { $0.isNaN })
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

    /// im2col and col2im (with bias and ReLU) against their definitions over a sweep of shapes:
    /// strides 1–3, padding 0–2, kernels 1–5, odd and even sides, grids that leave the image's
    /// last rows and columns untouched (a transposed convolution's output padding), channel
    /// planes larger than the kernels' stack buffer and a 9×9 kernel; at every kernel level.
    func testIm2ColAndCol2ImMatchDefinitionsOverShapes() {
        let top = GEMM.kernelLevel
        defer { GEMM.forceKernelLevel(top) }
        var rng = RNG(seed: 9)
        var cases: [(c: Int, h: Int, w: Int, k: Int, s: Int, p: Int, gh: Int, gw: Int)] = []
        for s in 1...3 { for p in 0...2 { for k in 1...5 where p < k {
            for (h, w) in [(5, 7), (8, 8), (13, 6)] where h + 2 * p >= k && w + 2 * p >= k {
                let gh = (h + 2 * p - k) / s + 1, gw = (w + 2 * p - k) / s + 1
                cases.append((2, h, w, k, s, p, gh, gw))
                // transposed-convolution geometry: the output image seen at the input's grid, with
                // output padding (an extra row and column that no window may reach)
                let oh = (gh - 1) * s - 2 * p + k + (s > 1 ? 1 : 0), ow = (gw - 1) * s - 2 * p + k + (s > 1 ? 1 : 0)
                if oh > 0 && ow > 0 { cases.append((3, oh, ow, k, s, p, gh, gw)) }
            }
        } } }
        cases.append((1, 140, 131, 3, 2, 1, 70, 66))   // 140·131 > 16,384 floats: heap buffer
        cases.append((2, 12, 11, 9, 1, 4, 12, 11))     // 81 taps in one phase: col2im sums in batches of 64
        for level in 1...top {
            GEMM.forceKernelLevel(level)
            for t in cases {
                let n = 2, pos = t.gh * t.gw
                let img = (0..<(n * t.c * t.h * t.w)).map { _ in rng.uniform(-1, 1) }
                let rows = t.c * t.k * t.k, ld = n * pos
                var cols = [Float](repeating: .nan, count: rows * ld)
                vk_im2col(img, Int32(n), Int32(t.c), Int32(t.h), Int32(t.w), Int32(t.gh), Int32(t.gw), Int32(t.k), Int32(t.k),
                          Int32(t.s), Int32(t.p), &cols)
                var want = [Float](repeating: 0, count: rows * ld)
                var sums = [Float](repeating: 0, count: img.count)
                let src = (0..<(rows * ld)).map { _ in rng.uniform(-1, 1) }
                for im in 0..<n { for ch in 0..<t.c { for i in 0..<t.k { for j in 0..<t.k {
                    let row = (ch * t.k + i) * t.k + j
                    for gy in 0..<t.gh { for gx in 0..<t.gw {
                        let y = gy * t.s - t.p + i, x = gx * t.s - t.p + j
                        let inside = y >= 0 && y < t.h && x >= 0 && x < t.w
                        let at = ((im * t.c + ch) * t.h + y) * t.w + x
                        if inside {
                            want[row * ld + im * pos + gy * t.gw + gx] = img[at]
                            sums[at] = sums[at] + src[row * ld + im * pos + gy * t.gw + gx]
                        }
                    } }
                } } } }
                XCTAssertTrue(cols == want, "im2col differs at level \(level) for \(t)")
                let bias = (0..<t.c).map { _ in rng.uniform(-0.5, 0.5) }
                for (withBias, relu) in [(true, false), (true, true), (false, false), (false, true)] {
                    var back = [Float](repeating: .nan, count: img.count)
                    vk_col2im(src, Int32(n), Int32(t.c), Int32(t.h), Int32(t.w), Int32(t.gh), Int32(t.gw), Int32(t.k), Int32(t.k),
                              Int32(t.s), Int32(t.p), &back, withBias ? bias : nil, relu ? 1 : 0)
                    let expect = sums.indices.map { e -> Float in
                        let v = withBias ? sums[e] + bias[(e / (t.h * t.w)) % t.c] : sums[e]
                        return relu ? (v > 0 ? v : 0) : v
                    }
                    XCTAssertTrue(back == expect, "col2im differs at level \(level) for \(t), bias \(withBias), relu \(relu)")
                }
            }
        }
    }
}
