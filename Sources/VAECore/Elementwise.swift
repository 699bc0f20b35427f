#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise passes used by the layers. Plain loops over raw pointers; every reduction
/// runs in a fixed order so results do not depend on the thread count.
public enum Elementwise {
    /// dx = dy where y > 0, else 0
    @inline(__always)
    public static func reluBackward(dy: UnsafePointer<Float>, y: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }

    /// acc[j] += Σ_i m[i, j]   (row by row: a fixed summation order)
    public static func addColumnSums(_ m: UnsafePointer<Float>, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            let row = m + i * cols
            for j in 0..<cols { acc[j] += row[j] }
        }
    }

    /// Numerically stable logistic function.
    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }
}
