/// A small, strict JSON reader for file headers (the safetensors header), built for hostile input:
/// bounded nesting depth and value count, duplicate object keys reported, numbers kept as text so
/// that integer conversion can check overflow.
enum MiniJSON {
    struct Member {
        var key: String
        var value: Value
    }

    indirect enum Value {
        case object([Member])
        case array([Value])
        case string(String)
        case number(String)
        case bool(Bool)
        case null

        var kind: String {
            switch self {
            case .object: return "an object"
            case .array: return "an array"
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }

        /// The integer value of a number without fraction or exponent, nil if out of Int's range or not an integer.
        var integer: Int? {
            if case .number(let text) = self { return Int(text) }
            return nil
        }
    }

    struct Failure: Error {
        var message: String
    }

    static let maxDepth = 32
    static let maxValues = 2_000_000

    /// Parses one JSON value, allowing only whitespace after it.
    static func parse(_ bytes: [UInt8]) throws -> Value {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position != bytes.count {
            throw Failure(message: "unexpected \(parser.describeHere()) after the JSON value at byte \(parser.position)")
        }
        return value
    }

    struct Parser {
        let bytes: [UInt8]
        var position = 0
        var values = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        func describeHere() -> String {
            guard position < bytes.count else { return "end of header" }
            let byte = bytes[position]
            if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
            return "byte 0x\(String(byte, radix: 16))"
        }

        func fail(_ what: String) -> Failure {
            Failure(message: "\(what) at byte \(position)")
        }

        mutating func parseValue(depth: Int) throws -> Value {
            values += 1
            guard values <= MiniJSON.maxValues else {
                throw fail("more than \(MiniJSON.maxValues) JSON values")
            }
            guard position < bytes.count else { throw fail("unexpected end of header, expected a value") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                guard depth < MiniJSON.maxDepth else { throw fail("JSON nested deeper than \(MiniJSON.maxDepth) levels") }
                return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["):
                guard depth < MiniJSON.maxDepth else { throw fail("JSON nested deeper than \(MiniJSON.maxDepth) levels") }
                return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""):
                return .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try parseNumber()
            case UInt8(ascii: "t"):
                try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null"); return .null
            default:
                throw fail("unexpected \(describeHere()), expected a JSON value")
            }
        }

        mutating func expectLiteral(_ literal: String) throws {
            for byte in literal.utf8 {
                guard position < bytes.count, bytes[position] == byte else {
                    throw fail("invalid literal, expected '\(literal)'")
                }
                position += 1
            }
        }

        mutating func parseObject(depth: Int) throws -> Value {
            position += 1  // {
            var members: [Member] = []
            var seen = Set<String>()
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                    throw fail("unexpected \(describeHere()), expected a quoted key")
                }
                let keyStart = position
                let key = try parseString()
                guard seen.insert(key).inserted else {
                    position = keyStart
                    throw fail("duplicate key \"\(key)\"")
                }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                    throw fail("unexpected \(describeHere()), expected ':'")
                }
                position += 1
                skipWhitespace()
                let value = try parseValue(depth: depth)
                members.append(Member(key: key, value: value))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of header inside an object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw fail("unexpected \(describeHere()), expected ',' or '}'")
            }
        }

        mutating func parseArray(depth: Int) throws -> Value {
            position += 1  // [
            var elements: [Value] = []
            skipWhitespace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw fail("unexpected end of header inside an array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                throw fail("unexpected \(describeHere()), expected ',' or ']'")
            }
        }

        mutating func parseNumber() throws -> Value {
            let start = position
            func digits(_ parser: inout Parser) -> Int {
                let from = parser.position
                while parser.position < parser.bytes.count,
                      parser.bytes[parser.position] >= UInt8(ascii: "0"), parser.bytes[parser.position] <= UInt8(ascii: "9") {
                    parser.position += 1
                }
                return parser.position - from
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count else { throw fail("incomplete number") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else if digits(&self) == 0 {
                throw fail("invalid number")
            }
            if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits(&self) > 0 else { throw fail("invalid number: no digits after '.'") }
            }
            if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
                position += 1
                if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                    position += 1
                }
                guard digits(&self) > 0 else { throw fail("invalid number: no digits in exponent") }
            }
            return .number(String(decoding: bytes[start..<position], as: UTF8.self))
        }

        /// Parses a string at `position` (which holds the opening quote). The caller has validated UTF-8.
        mutating func parseString() throws -> String {
            position += 1  // "
            var out: [UInt8] = []
            while true {
                guard position < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw fail("unterminated escape") }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try parseHex4()
                        if scalar >= 0xD800 && scalar < 0xDC00 {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                                  bytes[position + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired UTF-16 surrogate in \\u escape")
                            }
                            position += 2
                            let low = try parseHex4()
                            guard low >= 0xDC00 && low < 0xE000 else { throw fail("invalid UTF-16 surrogate pair") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if scalar >= 0xDC00 && scalar < 0xE000 {
                            throw fail("unpaired UTF-16 surrogate in \\u escape")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        position -= 1
                        throw fail("invalid escape '\\\(describeHere())'")
                    }
                default:
                    guard byte >= 0x20 else { throw fail("unescaped control character in string") }
                    out.append(byte)
                    position += 1
                }
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("invalid hex digit in \\u escape")
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }
    }

    /// Appends `string` as a JSON string literal (quotes included).
    static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        out.append(0x22)
        for byte in string.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
