import XCTest
@testable import VAECore

final class LayerGradientTests: XCTestCase {
    let gc = GradCheck()

    func testDense() {
        gc.check(Dense(5, 3), inputShape: [5], batch: 4)
        gc.check(Dense(1, 1), inputShape: [1], batch: 1)
        gc.check(Dense(7, 13), inputShape: [7], batch: 3)
    }

    func testDenseFusedReLU() {
        GradCheck(h: 1e-3, absTol: 3e-3, kinks: true).check(Dense(6, 4, activation: .relu), inputShape: [6], batch: 5, seed: 11)
    }

    func testActivations() {
        for a: Activation in [.sigmoid(), .tanh()] {
            gc.check(a, inputShape: [3, 4], batch: 2, seed: 3)
        }
        for a: Activation in [.relu(), .leakyReLU(0.1)] {
            GradCheck(kinks: true).check(a, inputShape: [3, 4], batch: 2, seed: 3)
        }
    }

    func testReshapeAndSequential() {
        let seq = Sequential(Flatten(), Dense(12, 5, activation: .relu), Dense(5, 6), Reshape([2, 3]), Activation.tanh())
        GradCheck(kinks: true).check(seq, inputShape: [3, 4], batch: 3, seed: 5)
        XCTAssertEqual(seq.outputShape(for: [3, 4]), [2, 3])
    }

    func testConv2DCorners() {
        // (in, out, k, stride, padding, H, W)
        let cases: [(Int, Int, Int, Int, Int, Int, Int)] = [
            (1, 2, 3, 1, 0, 5, 5), (2, 3, 3, 2, 1, 7, 7), (2, 2, 3, 2, 0, 6, 5),
            (3, 2, 1, 1, 0, 3, 4), (1, 1, 2, 3, 1, 5, 7), (2, 3, 3, 1, 2, 4, 4),
        ]
        for (ci, co, k, s, p, h, w) in cases {
            gc.check(Conv2D(ci, co, kernelSize: k, stride: s, padding: p), inputShape: [ci, h, w], batch: 2, seed: UInt64(h * 31 + w))
        }
        // ReLU kinks: a smaller step so that few pre-activations cross zero
        GradCheck(h: 1e-3, absTol: 3e-3, kinks: true).check(Conv2D(2, 3, kernelSize: 3, stride: 2, padding: 1, activation: .relu),
                                                inputShape: [2, 6, 6], batch: 2, seed: 17)
    }

    func testConvTranspose2DCorners() {
        // (in, out, k, stride, padding, outputPadding, H, W)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (2, 3, 3, 2, 1, 1, 4, 4), (1, 2, 3, 1, 1, 0, 5, 5), (3, 2, 3, 2, 0, 0, 3, 4),
            (2, 2, 2, 2, 0, 1, 3, 3), (1, 1, 4, 3, 1, 2, 2, 3), (2, 1, 1, 1, 0, 0, 3, 3),
        ]
        for (ci, co, k, s, p, op, h, w) in cases {
            gc.check(ConvTranspose2D(ci, co, kernelSize: k, stride: s, padding: p, outputPadding: op),
                     inputShape: [ci, h, w], batch: 2, seed: UInt64(h * 7 + k))
        }
        GradCheck(h: 1e-3, absTol: 3e-3, kinks: true).check(
            ConvTranspose2D(2, 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu),
            inputShape: [2, 3, 3], batch: 2, seed: 23)
    }

    /// A fused ReLU is exactly the layer followed by an `Activation.relu()`.
    func testFusedReLUEqualsSeparateActivation() {
        func pair(_ fused: Layer, _ plain: Layer, inputShape: [Int]) {
            var rng = RNG(seed: 99)
            fused.initialize(using: &rng)
            for (a, b) in zip(fused.parameters, plain.parameters) { b.value.pointer.update(from: a.value.pointer, count: a.count) }
            let seq = Sequential(plain, Activation.relu())
            let x = Tensor(shape: [3] + inputShape)
            rng.fillNormal(x.pointer, count: x.count)
            let y1 = fused.forward(x).array, y2 = seq.forward(x).array
            XCTAssertEqual(y1, y2)
            let dy = Tensor(shape: [3] + fused.outputShape(for: inputShape))
            rng.fillNormal(dy.pointer, count: dy.count)
            XCTAssertEqual(fused.backward(dy).array, seq.backward(dy).array)
            for (a, b) in zip(fused.parameters, plain.parameters) {
                for i in 0..<a.count { XCTAssertEqual(a.grad[i], b.grad[i], accuracy: 1e-5 * max(1, abs(a.grad[i]))) }
            }
        }
        pair(Dense(7, 5, activation: .relu), Dense(7, 5), inputShape: [7])
        pair(Conv2D(2, 4, kernelSize: 3, stride: 2, padding: 1, activation: .relu), Conv2D(2, 4, kernelSize: 3, stride: 2, padding: 1),
             inputShape: [2, 7, 7])
        pair(ConvTranspose2D(3, 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu),
             ConvTranspose2D(3, 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1), inputShape: [3, 4, 4])
    }

    func testConvOutputShapes() {
        XCTAssertEqual(Conv2D(1, 32, kernelSize: 3, stride: 2, padding: 1).outputShape(for: [1, 28, 28]), [32, 14, 14])
        XCTAssertEqual(Conv2D(32, 64, kernelSize: 3, stride: 2, padding: 1).outputShape(for: [32, 14, 14]), [64, 7, 7])
        XCTAssertEqual(ConvTranspose2D(64, 64, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1).outputShape(for: [64, 7, 7]), [64, 14, 14])
        XCTAssertEqual(ConvTranspose2D(32, 1, kernelSize: 3, stride: 1, padding: 1).outputShape(for: [32, 28, 28]), [1, 28, 28])
    }

    func testFirstLayerSkipsInputGradient() {
        let d = Dense(4, 2)
        d.needsInputGradient = false
        var rng = RNG(seed: 1)
        d.initialize(using: &rng)
        let x = Tensor(shape: [3, 4])
        _ = d.forward(x)
        XCTAssertEqual(d.backward(Tensor(shape: [3, 2])).count, 0)
    }

    /// Same seed, same result for 1 and 2 threads (the work split never changes sums).
    func testConvDeterministicAcrossThreads() {
        func run(threads: Int) -> [Float] {
            let saved = ThreadPool.threadCount
            defer { ThreadPool.threadCount = saved }
            ThreadPool.threadCount = threads
            var rng = RNG(seed: 42)
            let c = Conv2D(3, 8, kernelSize: 3, stride: 2, padding: 1, activation: .relu)
            let t = ConvTranspose2D(8, 3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1)
            c.initialize(using: &rng); t.initialize(using: &rng)
            let x = Tensor(shape: [16, 3, 12, 12])
            rng.fillNormal(x.pointer, count: x.count)
            let y = t.forward(c.forward(x))
            let dy = Tensor(shape: y.shape); rng.fillNormal(dy.pointer, count: dy.count)
            let dx = c.backward(t.backward(dy))
            return y.array + dx.array + c.weight.grad.array + t.weight.grad.array + c.bias.grad.array + t.bias.grad.array
        }
        XCTAssertEqual(run(threads: 1), run(threads: 2))
        XCTAssertEqual(run(threads: 1), run(threads: 3))
    }

    /// Shapes large enough that a batch of 20 runs as 3 groups of images (9, 9, 2), each on its
    /// own thread with its own weight-gradient part: the same bits for 1, 2 and 3 threads, and
    /// the batch's weight and bias gradients equal to the sum of 20 one-image passes.
    func testConvGroupsAcrossThreadsAndAgainstOneImageAtATime() {
        let n = 20
        var rng = RNG(seed: 8)
        let x = Tensor(shape: [n, 16, 28, 28]); rng.fillNormal(x.pointer, count: x.count)
        let dy = Tensor(shape: [n, 16, 28, 28]); rng.fillNormal(dy.pointer, count: dy.count)
        func layers() -> (Conv2D, ConvTranspose2D) {
            var r = RNG(seed: 5)
            let c = Conv2D(16, 32, kernelSize: 3, stride: 2, padding: 1, activation: .relu)
            let t = ConvTranspose2D(32, 16, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, activation: .relu)
            c.initialize(using: &r); t.initialize(using: &r)
            return (c, t)
        }
        XCTAssertEqual(ConvGroups(Conv2D(16, 32, kernelSize: 3, stride: 2, padding: 1).geometry(for: [16, 28, 28]), batch: n).count, 3)
        func run(threads: Int, images: Range<Int>) -> [Float] {
            let saved = ThreadPool.threadCount
            defer { ThreadPool.threadCount = saved }
            ThreadPool.threadCount = threads
            let (c, t) = layers()
            let m = images.count, per = 16 * 28 * 28
            let xs = Tensor(shape: [m, 16, 28, 28]), dys = Tensor(shape: [m, 16, 28, 28])
            xs.pointer.update(from: x.pointer + images.lowerBound * per, count: m * per)
            dys.pointer.update(from: dy.pointer + images.lowerBound * per, count: m * per)
            let y = t.forward(c.forward(xs))
            let dx = c.backward(t.backward(dys))
            return y.array + dx.array + c.weight.grad.array + t.weight.grad.array + c.bias.grad.array + t.bias.grad.array
        }
        let one = run(threads: 1, images: 0..<n)
        XCTAssertEqual(one, run(threads: 2, images: 0..<n))
        XCTAssertEqual(one, run(threads: 3, images: 0..<n))
        // gradients of the parameters: the batch's against the sum over one-image batches
        let (c, t) = layers()
        let sizes = [c.weight.value.count, t.weight.value.count, c.bias.value.count, t.bias.value.count]
        var sum = [Double](repeating: 0, count: sizes.reduce(0, +))
        for i in 0..<n {
            let r = run(threads: 1, images: i..<(i + 1))
            let tail = r.suffix(sum.count)
            for (k, v) in tail.enumerated() { sum[k] += Double(v) }
        }
        let batch = one.suffix(sum.count)
        for (k, v) in batch.enumerated() {
            XCTAssertEqual(Double(v), sum[k], accuracy: 1e-4 * max(1, abs(sum[k])), "gradient entry \(k)")
        }
    }

    func testPyTorchDefaultInitBounds() {
        var rng = RNG(seed: 3)
        let d = Dense(100, 50)
        d.initialize(using: &rng)
        let bound: Float = 0.1
        XCTAssertTrue(d.weight.value.array.allSatisfy { abs($0) <= bound })
        XCTAssertTrue(d.bias.value.array.allSatisfy { abs($0) <= bound })
        XCTAssertGreaterThan(d.weight.value.array.map(abs).max()!, 0.09)
        let t = ConvTranspose2D(64, 32, kernelSize: 3)
        t.initialize(using: &rng)
        let tb = Float(1 / (32.0 * 9).squareRoot())
        XCTAssertTrue(t.weight.value.array.allSatisfy { abs($0) <= tb })
    }
}
