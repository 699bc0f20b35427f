#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What one CSV cell holds, as the table encoder reads it. Spaces and tabs around a cell are
/// trimmed first (the file keeps them: the writer copies cells unchanged).
///
/// - missing: empty, `NA`, `NaN`, `N/A`, `#N/A`, `NULL` or `?` (any case; pandas, R, Excel and SQL
///   exports write these);
/// - a number: `[+-]digits[.digits][e[+-]digits]` (also `.5`, `5.`) whose value is finite as a
///   32-bit float — no hex, no thousands separators, no decimal comma;
/// - not finite: `inf`, `-Infinity`, `1e999`, `3e40` (past Float's range) — refused in a numeric
///   column, never read as a number or as a category;
/// - otherwise text.
enum TableCell: Equatable {
    case missing
    case number(Double, decimals: Int?)
    case nonFinite
    case text

    static let missingTokens = ["", "NA", "NaN", "N/A", "#N/A", "NULL", "?"]

    /// The trimmed byte range of a cell.
    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ span: CSVTable.Span) -> Range<Int> {
        var lo = Int(span.start), hi = lo + Int(span.length)
        while lo < hi && (bytes[lo] == 32 || bytes[lo] == 9) { lo += 1 }
        while hi > lo && (bytes[hi - 1] == 32 || bytes[hi - 1] == 9) { hi -= 1 }
        return lo..<hi
    }

    static func classify(_ bytes: UnsafeBufferPointer<UInt8>, _ span: CSVTable.Span) -> TableCell {
        let r = trimmed(bytes, span)
        let n = r.count
        @inline(__always) func lower(_ i: Int) -> UInt8 { bytes[r.lowerBound + i] | 0x20 }
        if n == 0 { return .missing }
        if n == 1 && bytes[r.lowerBound] == UInt8(ascii: "?") { return .missing }
        if n == 2 && lower(0) == UInt8(ascii: "n") && lower(1) == UInt8(ascii: "a") { return .missing }
        if n == 3 && lower(0) == UInt8(ascii: "n") && lower(1) == UInt8(ascii: "a") && lower(2) == UInt8(ascii: "n") { return .missing }
        if n == 3 && lower(0) == UInt8(ascii: "n") && bytes[r.lowerBound + 1] == UInt8(ascii: "/") && lower(2) == UInt8(ascii: "a") { return .missing }
        if n == 4 && bytes[r.lowerBound] == UInt8(ascii: "#") && lower(1) == UInt8(ascii: "n") && bytes[r.lowerBound + 2] == UInt8(ascii: "/")
            && lower(3) == UInt8(ascii: "a") { return .missing }
        if n == 4 && lower(0) == UInt8(ascii: "n") && lower(1) == UInt8(ascii: "u") && lower(2) == UInt8(ascii: "l") && lower(3) == UInt8(ascii: "l") { return .missing }
        return number(bytes, r)
    }

    /// Parses the strict number grammar over `r`; `.text` when it does not match.
    static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> TableCell {
        var i = r.lowerBound
        let end = r.upperBound
        @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        if i < end && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
        // inf / infinity, any case, signed
        if i < end && (bytes[i] | 0x20) == UInt8(ascii: "i") {
            let word = (i..<end).map { bytes[$0] | 0x20 }
            return word == Array("inf".utf8) || word == Array("infinity".utf8) ? .nonFinite : .text
        }
        var integerDigits = 0, fractionDigits = 0
        while i < end && isDigit(bytes[i]) { i += 1; integerDigits += 1 }
        var decimals: Int? = 0
        if i < end && bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < end && isDigit(bytes[i]) { i += 1; fractionDigits += 1 }
            decimals = fractionDigits
        }
        guard integerDigits + fractionDigits > 0 else { return .text }
        if i < end && (bytes[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < end && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            var exponentDigits = 0
            while i < end && isDigit(bytes[i]) { i += 1; exponentDigits += 1 }
            guard exponentDigits > 0 else { return .text }
            decimals = nil
        }
        guard i == end else { return .text }
        let value = parseDouble(bytes, r)
        guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else { return .nonFinite }
        return .number(value, decimals: decimals)
    }

    /// strtod over a validated number (the C locale's '.' is the only decimal point it sees). When a
    /// byte that cannot continue a number follows the cell (a space, delimiter, line break, quote),
    /// strtod reads the file's bytes in place; otherwise a NUL-terminated copy.
    static func parseDouble(_ bytes: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Double {
        if r.upperBound < bytes.count, let base = bytes.baseAddress {
            let next = bytes[r.upperBound]
            let continues = (next >= 48 && next <= 57) || ((next | 0x20) >= 97 && (next | 0x20) <= 122) || next == 46 || next == 43 || next == 45 || next == 95
            if !continues {
                var end: UnsafeMutablePointer<CChar>? = nil
                let raw = UnsafeRawPointer(base)
                let value = strtod(raw.advanced(by: r.lowerBound).assumingMemoryBound(to: CChar.self), &end)
                if let end, UnsafeRawPointer(end) == raw.advanced(by: r.upperBound) { return value }
            }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: r.count + 1) { buffer in
            for (k, i) in r.enumerated() { buffer[k] = CChar(bitPattern: bytes[i]) }
            buffer[r.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}
