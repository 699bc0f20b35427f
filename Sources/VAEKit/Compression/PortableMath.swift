/// Functions whose results are the same bits on every machine: only IEEE-754 double additions,
/// multiplications and divisions in a fixed order (Swift never fuses them into FMAs), no calls to
/// the C library, whose `exp` and `erf` may differ by an ulp between versions and CPU features.
/// Bits-back coding needs the sender and the receiver to form the very same probabilities.
public enum PortableMath {
    static let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
    static let invLn2 = 1.44269504088896338700e+00

    /// eˣ to about 1 ulp, for |x| ≤ 700 (clamped beyond).
    public static func exp(_ x: Double) -> Double {
        let x = min(max(x, -700), 700)
        let k = (x * invLn2 + (x >= 0 ? 0.5 : -0.5)).rounded(.towardZero)
        let r = (x - k * ln2Hi) - k * ln2Lo        // |r| ≤ ½ ln 2
        // Taylor to r¹³/13!: error below 2⁻⁵³ on |r| ≤ 0.35
        var p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        return p * twoTo(Int(k))
    }

    /// 2ᵏ exactly, for −1074 ≤ k ≤ 1023 (by halves so subnormal results are exact too).
    static func twoTo(_ k: Int) -> Double {
        if k >= -1022 { return Double(sign: .plus, exponent: k, significand: 1) }
        return Double(sign: .plus, exponent: k + 60, significand: 1) * Double(sign: .plus, exponent: -60, significand: 1)
    }

    /// 1 / (1 + e⁻ˣ)
    public static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : { let e = exp(x); return e / (1 + e) }()
    }

    public static func tanh(_ x: Double) -> Double {
        if x > 20 { return 1 }
        if x < -20 { return -1 }
        let e = exp(2 * x)
        return (e - 1) / (e + 1)
    }

    /// The standard normal CDF Φ(x) = ½ erfc(−x/√2), with erfc from the rational Chebyshev
    /// approximation of Numerical Recipes (`erfcc`, fractional error < 1.2·10⁻⁷ everywhere).
    public static func normalCDF(_ x: Double) -> Double {
        let t0 = -x * 0.70710678118654752440
        let z = abs(t0)
        let t = 1 / (1 + 0.5 * z)
        var p = 0.17087277
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        let erfcZ = t * exp(-z * z + p)
        let erfc = t0 >= 0 ? erfcZ : 2 - erfcZ
        return 0.5 * erfc
    }

    /// Φ⁻¹(u) for 0 < u < 1 by bisection on `normalCDF` (slow, exact to its last bit, and the
    /// same everywhere); used for tables computed once.
    public static func normalQuantile(_ u: Double) -> Double {
        var lo = -40.0, hi = 40.0
        for _ in 0..<100 {
            let mid = 0.5 * (lo + hi)
            if normalCDF(mid) < u { lo = mid } else { hi = mid }
        }
        return 0.5 * (lo + hi)
    }
}
