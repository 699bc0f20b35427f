import CVAEKernels

/// The checked parsing the C kernels apply to their environment switches (VAE_THREADS,
/// VAE_SPIN_US, …; README, "Tuning"), exposed for tests.
enum EnvironmentSwitch {
    /// `text` as a decimal integer in `range`; otherwise `fallback` and the one-line warning
    /// printed on stderr (empty when `text` is nil, empty, or valid).
    static func parse(_ name: String, _ text: String?, range: ClosedRange<Int>, fallback: Int) -> (value: Int, warning: String) {
        var buffer = [CChar](repeating: 0, count: 256)
        let v = vk_parse_env_long(name, text, range.lowerBound, range.upperBound, fallback, &buffer, buffer.count)
        return (v, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
