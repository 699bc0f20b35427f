import Foundation

/// The one error type of SwiftVAE.
///
/// `message` is a single line that says what is wrong and, where possible, how to fix it, e.g.
/// `"data/train-images-idx3-ubyte.gz is not an IDX image file (magic 0x1f8b0808); expected
/// 0x00000803 — is it still gzip-compressed twice?"`. Print it as is; no stack trace is needed.
/// Its advice names the `vae` tool's flags (`--ignore`, `--max-length`, …); the article "Errors and
/// the options they name" (Errors.md) gives the property a library caller sets for each.
public struct VAEError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    public let message: String
    /// An option's value that the data given does not take (`--label` naming no column): the
    /// command-line tool exits with 2, a usage error, as for a value it refuses on its own.
    public var isUsage = false

    public init(_ message: String) {
        // Keep the promise of one line even if a caller passes an OS message with a newline.
        self.message = message.replacingOccurrences(of: "\n", with: " ")
    }

    public init(message: String) {
        self.init(message)
    }

    /// A usage error (`isUsage`).
    public static func usage(_ message: String) -> VAEError {
        var e = VAEError(message)
        e.isUsage = true
        return e
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}

extension VAEError {
    /// An error about an input file or buffer: `"<source>: <problem>"`, or `"<source> <problem>"`
    /// when the problem reads as a sentence about the source ("is truncated", "has 3 bytes of ...").
    public static func format(_ source: String, _ problem: String) -> VAEError {
        let verbs = ["is ", "has ", "declares ", "decompresses ", "holds "]
        let separator = verbs.contains(where: problem.hasPrefix) ? " " : ": "
        return VAEError(source + separator + problem)
    }

    /// Text for the current `errno` (or a given one), e.g. "No such file or directory".
    public static func errnoText(_ code: Int32 = errno) -> String {
        guard let cString = strerror(code) else { return "errno \(code)" }
        return String(cString: cString)
    }
}

/// Formatting helpers shared by the format parsers.
enum FormatText {
    /// `0x00000803` style, 8 hex digits.
    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Human-readable byte count, e.g. "9,912,422 bytes" / "512 MiB".
    static func bytes(_ count: Int) -> String {
        "\(grouped(count)) bytes"
    }

    static func grouped(_ value: Int) -> String {
        let negative = value < 0
        var digits = Array(String(value.magnitude))
        var out: [Character] = []
        while digits.count > 3 {
            out.insert(contentsOf: [","] + digits.suffix(3), at: 0)
            digits.removeLast(3)
        }
        out.insert(contentsOf: digits, at: 0)
        return (negative ? "-" : "") + String(out)
    }

    static func mebibytes(_ count: Int) -> String {
        "\(count / (1 << 20)) MiB"
    }
}

/// The memory a process may use: the machine's, or a lower process limit (ulimit -v). A failed
/// allocation is a crash, so work whose size is known ahead is measured against this first.
public enum MemoryLimit {
    /// Bytes, and how to name them in a message ("this machine's", "the process limit's (ulimit -v)").
    public static var current: (bytes: Double, name: String)? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        var limit = Double(pages) * Double(pageSize), name = "this machine's"
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, Double(rl.rlim_cur) < limit {
            limit = Double(rl.rlim_cur)
            name = "the process limit's (ulimit -v)"
        }
        return (limit, name)
    }

    /// "1.4 GB", "180 MB"
    public static func text(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.0f MB", bytes / 1e6)
    }
}
