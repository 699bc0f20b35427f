import Foundation

/// The fixed categorical palette used by plots (matplotlib's "tab10").
public enum Palette {
    public static let tab10: [RGBColor] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
        0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { RGBColor(hex: $0) }

    /// Colour for category `i` (wraps around; negative indices allowed).
    public static func color(_ i: Int) -> RGBColor {
        let n = tab10.count
        return tab10[((i % n) + n) % n]
    }
}

/// An axis scale: a domain [lo, hi] with "nice" tick positions and labels.
struct AxisScale {
    var lo: Double
    var hi: Double
    var ticks: [Double]
    var labels: [String]
    var log: Bool = false

    /// Maps a data value to a fraction of the axis (0 at lo, 1 at hi).
    func fraction(_ v: Double) -> Double {
        let t = log ? Foundation.log10(v) : v
        return hi > lo ? (t - lo) / (hi - lo) : 0.5
    }

    /// Linear axis covering `values` (non-finite values ignored) with about `target` ticks.
    /// `integerStep`: ticks a whole number apart (at least 1).
    static func linear(_ values: [Double], target: Int = 6, integerStep: Bool = false) -> AxisScale {
        var mn = Double.infinity, mx = -Double.infinity
        for v in values where v.isFinite { mn = min(mn, v); mx = max(mx, v) }
        if mn > mx { mn = 0; mx = 1 }
        // one whole number (a single epoch): that tick alone, centred (it read 0 and 2, epochs there are not)
        if integerStep && mn == mx && mn == mn.rounded() {
            return AxisScale(lo: mn - 0.5, hi: mn + 0.5, ticks: [mn], labels: [fmtSig(mn)])
        }
        if mn == mx {
            let pad = mn == 0 ? 1 : abs(mn) * 0.1
            mn -= pad; mx += pad
        }
        let range = mx - mn
        guard range.isFinite, range > 0 else {
            return AxisScale(lo: mn, hi: mx, ticks: [mn, mx], labels: [fmtSig(mn), fmtSig(mx)])
        }
        var step = niceNumber(niceNumber(range, round: false) / Double(max(1, target - 1)), round: true)
        if integerStep { step = max(1, step.rounded(.up)) }
        guard step.isFinite, step > 0, range / step < 1000 else {
            return AxisScale(lo: mn, hi: mx, ticks: [mn, mx], labels: [fmtSig(mn), fmtSig(mx)])
        }
        let lo = (mn / step).rounded(.down) * step
        let hi = (mx / step).rounded(.up) * step
        var ticks: [Double] = []
        var i = 0.0
        while true {
            var t = lo + i * step
            if t > hi + step * 1e-9 { break }
            if abs(t) < step * 1e-9 { t = 0 }
            ticks.append(t)
            i += 1
        }
        let maxAbs = max(abs(lo), abs(hi))
        return AxisScale(lo: lo, hi: hi, ticks: ticks, labels: ticks.map { format($0, step: step, maxAbs: maxAbs) })
    }

    /// Base-10 logarithmic axis over the positive finite `values`. The domain is snapped to
    /// "nice" values (1, 2, 5 × 10^k; 1…9 × 10^k when the data spans about one decade).
    static func logarithmic(_ values: [Double]) -> AxisScale {
        var mn = Double.infinity, mx = -Double.infinity
        for v in values where v.isFinite && v > 0 { mn = min(mn, v); mx = max(mx, v) }
        if mn > mx { mn = 1; mx = 10 }
        if mn == mx { mn /= 2; mx *= 2 }
        func p10(_ k: Double) -> Double { Foundation.pow(10, k) }
        func floorNice(_ v: Double, _ ms: [Double]) -> Double {
            let k = Foundation.log10(v).rounded(.down)
            for m in ms.reversed() where m * p10(k) <= v * (1 + 1e-12) { return m * p10(k) }
            return p10(k)
        }
        func ceilNice(_ v: Double, _ ms: [Double]) -> Double {
            let k = Foundation.log10(v).rounded(.down)
            for m in ms + [10] where m * p10(k) >= v * (1 - 1e-12) { return m * p10(k) }
            return p10(k + 1)
        }
        var mults: [Double] = [1, 2, 5]
        var lo = floorNice(mn, mults), hi = ceilNice(mx, mults)
        var decades = Foundation.log10(hi / lo)
        var stride = 1.0
        if decades <= 1.2 {
            // About one decade: linear nice ticks read better than sparse 1-2-5 ticks.
            let lin = linear([mn, mx], target: 10)
            let pos = zip(lin.ticks, lin.labels).filter { $0.0 > 0 }
            if lin.lo > 0 && pos.count >= 3 {
                return AxisScale(lo: Foundation.log10(lin.lo), hi: Foundation.log10(lin.hi),
                                 ticks: pos.map(\.0), labels: pos.map(\.1), log: true)
            }
            mults = [1, 2, 3, 4, 5, 6, 7, 8, 9]
            lo = floorNice(mn, mults); hi = ceilNice(mx, mults)
        } else if decades > 3 {
            mults = [1]
            lo = p10(Foundation.log10(mn).rounded(.down)); hi = p10(Foundation.log10(mx).rounded(.up))
            decades = Foundation.log10(hi / lo).rounded()
            stride = max(1, (decades / 8).rounded(.up))
        }
        guard lo > 0, hi.isFinite, hi > lo else {
            return AxisScale(lo: Foundation.log10(mn), hi: Foundation.log10(mx), ticks: [mn, mx],
                             labels: [fmtSig(mn), fmtSig(mx)], log: true)
        }
        var ticks: [Double] = []
        let k0 = Foundation.log10(lo).rounded(.down), k1 = Foundation.log10(hi).rounded(.down)
        var k = k0
        while k <= k1 {
            if ((k - k0) / stride).rounded() == (k - k0) / stride {
                for m in mults {
                    let t = m * p10(k)
                    if t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9) { ticks.append(t) }
                }
            }
            k += 1
        }
        let labels = ticks.map { t -> String in
            (t >= 1e-3 && t < 1e5) ? fmtSig(t) : cleanExponent(String(format: "%.0e", t))
        }
        return AxisScale(lo: Foundation.log10(lo), hi: Foundation.log10(hi), ticks: ticks, labels: labels, log: true)
    }

    /// Linear axis whose domain extends at least `fraction` of the data range beyond the data,
    /// so points never sit on the frame; ticks stay at the nice values inside the domain.
    static func padded(_ values: [Double], fraction: Double) -> AxisScale {
        var mn = Double.infinity, mx = -Double.infinity
        for v in values where v.isFinite { mn = min(mn, v); mx = max(mx, v) }
        var scale = linear(values)
        guard mn < mx, (mx - mn).isFinite else { return scale }
        let pad = (mx - mn) * fraction
        scale.lo = min(scale.lo, mn - pad)
        scale.hi = max(scale.hi, mx + pad)
        return scale
    }

    /// Heckbert's "nice number": 1, 2, 5 or 10 times a power of ten.
    static func niceNumber(_ x: Double, round: Bool) -> Double {
        let exp = Foundation.log10(x).rounded(.down)
        let p = Foundation.pow(10, exp)
        let f = x / p
        let nf: Double
        if round { nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10 }
        else { nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10 }
        return nf * p
    }

    /// Tick label with just enough decimals for `step`; scientific notation for very
    /// large or very small magnitudes.
    static func format(_ v: Double, step: Double, maxAbs: Double) -> String {
        if v == 0 { return "0" }
        if maxAbs >= 1e6 || step < 1e-4 {
            let sig = Int(Foundation.log10(maxAbs).rounded(.down) - Foundation.log10(step).rounded(.down)) + 1
            return cleanExponent(String(format: "%.\(min(15, max(1, sig)) - 1)e", v))
        }
        let decimals = max(0, Int(-Foundation.log10(step).rounded(.down)))
        return String(format: "%.\(min(decimals, 10))f", v)
    }

    static func fmtSig(_ v: Double) -> String {
        cleanExponent(String(format: "%.4g", v))
    }

    /// "1.5e+06" → "1.5e6", "2e-05" → "2e-5".
    static func cleanExponent(_ s: String) -> String {
        guard let e = s.firstIndex(of: "e") else { return s }
        let mant = s[..<e]
        var exp = s[s.index(after: e)...]
        var sign = ""
        if exp.first == "-" { sign = "-"; exp = exp.dropFirst() } else if exp.first == "+" { exp = exp.dropFirst() }
        while exp.count > 1 && exp.first == "0" { exp = exp.dropFirst() }
        return "\(mant)e\(sign)\(exp)"
    }
}
