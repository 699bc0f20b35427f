import XCTest
@testable import VAECore

final class OptimizerTests: XCTestCase {
    func makeStore() -> (ParameterStore, Parameter) {
        let p = Parameter(name: "w", shape: [3])
        let store = ParameterStore([p])
        for (i, v) in [Float(1), -2, 0.5].enumerated() { p.value[i] = v }
        return (store, p)
    }

    /// Adam against the textbook formulas in Double.
    func testAdamMatchesFormula() {
        let (store, p) = makeStore()
        let adam = Adam(store, learningRate: 0.01)
        var m = [Double](repeating: 0, count: 3), v = m
        var w = p.value.array.map(Double.init)
        for t in 1...5 {
            let g = w.map { 2 * $0 + 0.3 }            // gradient of Σ w² + 0.3 w
            for i in 0..<3 { p.grad[i] = Float(g[i]) }
            adam.update()
            for i in 0..<3 {
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                w[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for i in 0..<3 { XCTAssertEqual(Double(p.value[i]), w[i], accuracy: 1e-5) }
        XCTAssertEqual(adam.step, 5)
    }

    func testSGDMomentum() {
        let (store, p) = makeStore()
        let sgd = SGD(store, learningRate: 0.1, momentum: 0.9)
        var buf = [Double](repeating: 0, count: 3)
        var w = p.value.array.map(Double.init)
        for t in 0..<4 {
            for i in 0..<3 { p.grad[i] = Float(w[i]) }
            sgd.update()
            for i in 0..<3 {
                buf[i] = t == 0 ? w[i] : 0.9 * buf[i] + w[i]
                w[i] -= 0.1 * buf[i]
            }
        }
        for i in 0..<3 { XCTAssertEqual(Double(p.value[i]), w[i], accuracy: 1e-6) }
    }

    func testClipGradNorm() {
        let (store, p) = makeStore()
        p.grad[0] = 3; p.grad[1] = 4; p.grad[2] = 0
        XCTAssertEqual(store.clipGradNorm(1), 5, accuracy: 1e-9)
        XCTAssertEqual(store.gradNorm(), 1, accuracy: 1e-5)
        store.zeroGrad()
        XCTAssertEqual(store.gradNorm(), 0)
    }

    func testStoreIsContiguous() {
        let a = Parameter(name: "a", shape: [2, 2]), b = Parameter(name: "b", shape: [3])
        a.value[3] = 7
        let s = ParameterStore([a, b])
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual(s.values.pointer[3], 7)
        b.value[0] = 9
        XCTAssertEqual(s.values.pointer[4], 9)
    }
}
