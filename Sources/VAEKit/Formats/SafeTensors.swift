/// One tensor of a safetensors file, as Float32 values in row-major order.
public struct SafeTensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]
    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }
}

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}`
/// (padded with spaces), then the byte buffer the offsets point into.
///
/// SwiftVAE writes F32 only; the reader also accepts F64 (converted to Float). The reader checks
/// everything the spec demands and throws a `VAEError` naming the problem for any violation.
public struct SafeTensorsFile: Sendable {
    public var tensors: [String: SafeTensor]
    /// Tensor names in the order of their data in the file.
    public var names: [String]
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor], names: [String]? = nil, metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.names = names ?? tensors.keys.sorted()
        self.metadata = metadata
    }

    /// The largest header the reader accepts (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000
    /// The largest file `read(path:)` accepts.
    public static let maxFileBytes = 16 << 30

    static let knownDtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    // MARK: Reading

    /// Reads and checks a file. Its length and header come first: a header that does not
    /// describe the file (a file truncated, appended to, or not safetensors at all) is refused
    /// before the data is read, and no more data is read than the header declares.
    public static func read(path: String) throws -> SafeTensorsFile {
        var limit = maxFileBytes
        if let h = try header(path: path) { limit = min(limit, h.bytes) }
        let bytes = try AtomicFile.readAll(path: path, maxBytes: limit)
        return try parse(bytes, source: path)
    }

    /// The names of a file's tensors, from its header alone (no data read).
    public static func tensorNames(path: String) throws -> [String] {
        guard let h = try header(path: path) else { throw VAEError.format(path, "is too short to be a safetensors file (no whole header)") }
        return h.names
    }

    /// A file's header, checked against the file's length: the tensors' names and the bytes the
    /// file holds by it (nil: a pipe, or a file shorter than its header).
    private static func header(path: String) throws -> (names: [String], bytes: Int)? {
        // (a pipe is read once, as a whole: its start cannot be read twice)
        let head = AtomicFile.isPipe(path) ? [] : try AtomicFile.readPrefix(path: path, count: 8)
        guard head.count == 8 else { return nil }
        var n: UInt64 = 0
        for index in 0..<8 { n |= UInt64(head[index]) << (8 * UInt64(index)) }
        // a length no safetensors file has (random bytes, another format): refused before the rest is read
        guard n <= UInt64(maxHeaderBytes) else {
            throw VAEError.format(path, SafeTensorsFile.otherFormat(head) ?? "declares a \(n)-byte header, over the 100 MB limit of the safetensors format — this is not a safetensors file, or it is corrupt")
        }
        let prefix = try AtomicFile.readPrefix(path: path, count: 8 + Int(n))
        guard prefix.count == 8 + Int(n) else { return nil }
        let size = AtomicFile.regularFileSize(path)
        let parsed = try parse(prefix, source: path, headerOnly: size.map { $0 - prefix.count } ?? -1)
        return (parsed.file.names, prefix.count + parsed.dataBytes)
    }

    /// A file of another format that a safetensors name is often given: PyTorch's `torch.save`
    /// (a ZIP archive, or a pickle before PyTorch 1.6), said by name with the fix.
    static func otherFormat(_ head: [UInt8]) -> String? {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return "is a ZIP archive — PyTorch's torch.save format, not safetensors: write the state dict with safetensors.torch.save_file(model.state_dict(), PATH)"
        }
        if head.first == 0x80, head.count > 1, (2...5).contains(head[1]) {
            return "is a Python pickle — torch.save's format before PyTorch 1.6, not safetensors: write the state dict with safetensors.torch.save_file(model.state_dict(), PATH)"
        }
        return nil
    }

    public static func parse(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        try parse(bytes, source: "safetensors data")
    }

    /// Parses safetensors bytes; `source` names the input (usually the path) in error messages.
    public static func parse(_ bytes: [UInt8], source: String) throws -> SafeTensorsFile {
        try parse(bytes, source: source, headerOnly: nil).file
    }

    /// `headerOnly`: `bytes` are the length and the header alone, and the data buffer that follows
    /// in the file has that many bytes (negative: unknown, a pipe) — the header is checked against
    /// it and no tensor is read. Returns the bytes of data the header declares.
    static func parse(_ bytes: [UInt8], source: String, headerOnly dataInFile: Int?) throws -> (file: SafeTensorsFile, dataBytes: Int) {
        func bad(_ problem: String) -> VAEError { VAEError.format(source, problem) }

        guard bytes.count >= 8 else {
            throw bad("is \(FormatText.bytes(bytes.count)), too short to be a safetensors file (it needs at least the 8-byte header length) — the file is truncated or empty")
        }
        var headerLength: UInt64 = 0
        for index in 0..<8 { headerLength |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        let available = bytes.count - 8
        if headerLength > UInt64(maxHeaderBytes) && headerLength > UInt64(available) {
            if let other = SafeTensorsFile.otherFormat(Array(bytes.prefix(8))) { throw bad(other) }
            throw bad("declares a \(headerLength)-byte header, more than the file's \(FormatText.bytes(bytes.count)) and the 100 MB limit — this is not a safetensors file, or it is corrupt")
        }
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw bad("declares a \(headerLength)-byte header, over the 100 MB limit of the safetensors format — the file is corrupt")
        }
        guard headerLength <= UInt64(available) else {
            throw bad("declares a \(FormatText.grouped(Int(headerLength)))-byte header but only \(FormatText.bytes(available)) follow the length — the file is truncated")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = Array(bytes[8..<headerEnd])
        // Valid UTF-8 decodes without replacement characters, so it re-encodes to the same bytes.
        guard String(decoding: headerBytes, as: UTF8.self).utf8.elementsEqual(headerBytes) else {
            throw bad("header is not valid UTF-8 — the file is corrupt or not a safetensors file")
        }
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw bad("header does not start with '{' — the file is corrupt or not a safetensors file")
        }
        let json: MiniJSON.Value
        do {
            json = try MiniJSON.parse(headerBytes)
        } catch let error as MiniJSON.Failure {
            throw bad("header is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = json else {
            throw bad("header is \(json.kind), not a JSON object")
        }

        let bufferLength = dataInFile ?? (bytes.count - headerEnd)
        let knownLength = bufferLength >= 0
        var metadata: [String: String] = [:]
        struct Entry {
            var name: String
            var shape: [Int]
            var dtype: String
            var begin: Int
            var end: Int
        }
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)

        for member in members {
            let name = member.key, value = member.value
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw bad("__metadata__ is \(value.kind); it must be an object of strings")
                }
                for pair in pairs {
                    let key = pair.key, item = pair.value
                    guard case .string(let text) = item else {
                        throw bad("__metadata__ entry \"\(key)\" is \(item.kind); metadata values must be strings")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw bad("tensor \"\(name)\" is \(value.kind) in the header, expected an object with dtype, shape and data_offsets")
            }
            func field(_ key: String) throws -> MiniJSON.Value {
                guard let found = fields.first(where: { $0.key == key }) else {
                    throw bad("tensor \"\(name)\" has no \(key) in the header — the file is corrupt or was written by a broken tool")
                }
                return found.value
            }
            guard case .string(let dtype) = try field("dtype") else {
                throw bad("tensor \"\(name)\": dtype is not a string")
            }
            guard case .array(let shapeValues) = try field("shape") else {
                throw bad("tensor \"\(name)\": shape is not an array")
            }
            guard case .array(let offsetValues) = try field("data_offsets") else {
                throw bad("tensor \"\(name)\": data_offsets is not an array")
            }
            guard let elementSize = knownDtypeSizes[dtype] else {
                throw bad("tensor \"\(name)\" has unknown dtype \"\(dtype)\"; SwiftVAE reads F32 (and F64)")
            }
            guard dtype == "F32" || dtype == "F64" else {
                // an integer counter of PyTorch's (BatchNorm's num_batches_tracked) is no weight of any
                // SwiftVAE model: converting it would only lead to "a tensor the model does not have"
                if dtype.hasPrefix("I") || dtype.hasPrefix("U") || dtype == "BOOL" {
                    throw bad("tensor \"\(name)\" has dtype \(dtype): an integer tensor, no weight of a SwiftVAE model — leave it out (in PyTorch: {k: v for k, v in state.items() if v.is_floating_point()})")
                }
                throw bad("tensor \"\(name)\" has dtype \(dtype); SwiftVAE reads F32 only (F64 is converted) — convert the checkpoint to float32, e.g. in PyTorch with {k: v.float() for k, v in state.items()}")
            }
            var shape: [Int] = []
            shape.reserveCapacity(shapeValues.count)
            var elements = 1
            for dimValue in shapeValues {
                guard let dim = dimValue.integer else {
                    throw bad("tensor \"\(name)\": shape entry \(describe(dimValue)) is not an integer in range")
                }
                guard dim >= 0 else {
                    throw bad("tensor \"\(name)\": shape has negative dimension \(dim)")
                }
                shape.append(dim)
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw bad("tensor \"\(name)\": the element count of shape \(IDX.dimsText(shape))… overflows")
                }
                elements = product
            }
            let (byteCount, overflow) = elements.multipliedReportingOverflow(by: elementSize)
            guard !overflow else {
                throw bad("tensor \"\(name)\": \(elements) elements of \(dtype) overflow the byte count")
            }
            guard offsetValues.count == 2 else {
                throw bad("tensor \"\(name)\": data_offsets has \(offsetValues.count) entries, expected [begin, end]")
            }
            guard let begin = offsetValues[0].integer, let end = offsetValues[1].integer, begin >= 0, end >= 0 else {
                throw bad("tensor \"\(name)\": data_offsets [\(describe(offsetValues[0])), \(describe(offsetValues[1]))] are not non-negative integers")
            }
            guard begin <= end else {
                throw bad("tensor \"\(name)\": data_offsets [\(begin), \(end)] end before they begin")
            }
            guard end <= bufferLength || !knownLength else {
                throw bad("tensor \"\(name)\": data_offsets [\(begin), \(end)] run past the end of the \(FormatText.bytes(bufferLength)) data buffer — the file is truncated")
            }
            guard end - begin == byteCount else {
                throw bad("tensor \"\(name)\": shape \(IDX.dimsText(shape)) of \(dtype) needs \(FormatText.bytes(byteCount)) but data_offsets [\(begin), \(end)] hold \(FormatText.bytes(end - begin))")
            }
            entries.append(Entry(name: name, shape: shape, dtype: dtype, begin: begin, end: end))
        }

        // The buffer must be covered exactly: no overlaps, no holes, nothing left over.
        let ordered = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: String? = nil
        for entry in ordered {
            if entry.begin < covered {
                throw bad("tensors \"\(previous ?? "")\" and \"\(entry.name)\" overlap (\"\(entry.name)\" starts at byte \(entry.begin), before byte \(covered)) — the file is corrupt")
            }
            if entry.begin > covered {
                throw bad("bytes \(covered)..<\(entry.begin) of the data buffer belong to no tensor (a gap before \"\(entry.name)\"); the safetensors format forbids holes — the file is corrupt")
            }
            covered = entry.end
            previous = entry.name
        }
        if !knownLength { return (SafeTensorsFile(tensors: [:], names: entries.map(\.name), metadata: metadata), covered) }
        if covered != bufferLength {
            throw bad("the last \(FormatText.bytes(bufferLength - covered)) of the data buffer belong to no tensor; the safetensors format forbids unused bytes — the file is corrupt or was appended to")
        }

        // (the header alone: the tensors' names, no data)
        if dataInFile != nil { return (SafeTensorsFile(tensors: [:], names: entries.map(\.name), metadata: metadata), covered) }
        var tensors: [String: SafeTensor] = [:]
        tensors.reserveCapacity(entries.count)
        bytes.withUnsafeBytes { raw in
            for entry in ordered {
                let start = headerEnd + entry.begin
                var values: [Float]
                if entry.dtype == "F32" {
                    let count = (entry.end - entry.begin) / 4
                    values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                        for index in 0..<count {
                            let bits = raw.loadUnaligned(fromByteOffset: start + 4 * index, as: UInt32.self)
                            out[index] = Float(bitPattern: UInt32(littleEndian: bits))
                        }
                        initialized = count
                    }
                } else {
                    let count = (entry.end - entry.begin) / 8
                    values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                        for index in 0..<count {
                            let bits = raw.loadUnaligned(fromByteOffset: start + 8 * index, as: UInt64.self)
                            out[index] = Float(Double(bitPattern: UInt64(littleEndian: bits)))
                        }
                        initialized = count
                    }
                }
                tensors[entry.name] = SafeTensor(shape: entry.shape, data: values)
            }
        }
        return (SafeTensorsFile(tensors: tensors, names: ordered.map(\.name), metadata: metadata), covered)
    }

    static func describe(_ value: MiniJSON.Value) -> String {
        switch value {
        case .number(let text): return text
        case .string(let text): return "\"\(text.prefix(40))\""
        default: return value.kind
        }
    }

    // MARK: Writing

    /// Serializes F32 tensors in the order given, with `metadata` in `__metadata__`.
    /// Precondition (a programming error, not an input error): each shape's element count equals the
    /// data count, names are unique and not "__metadata__".
    public static func serialize(tensors: [(name: String, shape: [Int], data: [Float])],
                                 metadata: [String: String] = [:]) -> [UInt8] {
        serialize(layout: tensors.map { ($0.name, $0.shape, $0.data.count) }, metadata: metadata) { index, out in
            appendLittleEndian(tensors[index].data, to: &out)
        }
    }

    /// Serializes F32 tensors whose values live in buffers (e.g. parameter storage), in the order given.
    public static func serialize(tensors: [(name: String, shape: [Int], data: UnsafeBufferPointer<Float>)],
                                 metadata: [String: String] = [:]) -> [UInt8] {
        serialize(layout: tensors.map { ($0.name, $0.shape, $0.data.count) }, metadata: metadata) { index, out in
            appendLittleEndian(tensors[index].data, to: &out)
        }
    }

    /// This file's tensors (in `names` order) and metadata as safetensors bytes.
    public func serialized() -> [UInt8] {
        let list = names.compactMap { name in tensors[name].map { (name: name, shape: $0.shape, data: $0.data) } }
        return SafeTensorsFile.serialize(tensors: list, metadata: metadata)
    }

    /// Writes tensors atomically (temporary file + rename) to `path`.
    public static func write(tensors: [(name: String, shape: [Int], data: [Float])],
                             metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(serialize(tensors: tensors, metadata: metadata), to: path)
    }

    /// Writes this file atomically to `path`.
    public func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }

    static func serialize(layout: [(name: String, shape: [Int], count: Int)], metadata: [String: String],
                          appendData: (Int, inout [UInt8]) -> Void) -> [UInt8] {
        var out = head(layout: layout, metadata: metadata)
        out.reserveCapacity(out.count + layout.reduce(0) { $0 + 4 * $1.count })
        for index in layout.indices { appendData(index, &out) }
        return out
    }

    /// Writes F32 tensors whose values live in buffers atomically to `path`, a piece at a time (the
    /// header, then at most 1 Mi values per piece): the same bytes as `serialize`, without the whole
    /// file in memory. `headerLimit` refuses, before anything is written, a header over it.
    public static func write(tensors: [(name: String, shape: [Int], data: UnsafeBufferPointer<Float>)],
                             metadata: [String: String] = [:], to path: String,
                             headerLimit: (Int) throws -> Void = { _ in }) throws {
        let head = head(layout: tensors.map { ($0.name, $0.shape, $0.data.count) }, metadata: metadata)
        try headerLimit(head.count - 8)
        try AtomicFile.write(to: path) { emit in
            try emit(head)
            for t in tensors {
                var start = 0
                while start < t.data.count {
                    let end = min(t.data.count, start + (1 << 20))
                    var piece: [UInt8] = []
                    piece.reserveCapacity(4 * (end - start))
                    appendLittleEndian(UnsafeBufferPointer(rebasing: t.data[start..<end]), to: &piece)
                    try emit(piece)
                    start = end
                }
            }
        }
    }

    /// The 8-byte little-endian header length and the JSON header (padded with spaces to a multiple
    /// of 8): what precedes the tensors' data, which follows in `layout` order.
    static func head(layout: [(name: String, shape: [Int], count: Int)], metadata: [String: String]) -> [UInt8] {
        var header: [UInt8] = [UInt8(ascii: "{")]
        var offset = 0
        var seen = Set<String>()
        for (index, item) in layout.enumerated() {
            precondition(item.name != "__metadata__", "safetensors: a tensor cannot be named __metadata__")
            precondition(seen.insert(item.name).inserted, "safetensors: duplicate tensor name \(item.name)")
            var elements = 1
            for dim in item.shape {
                precondition(dim >= 0, "safetensors: tensor \(item.name) has a negative dimension")
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                precondition(!overflow, "safetensors: tensor \(item.name) has too many elements")
                elements = product
            }
            precondition(elements == item.count,
                         "safetensors: tensor \(item.name) has shape \(item.shape) but \(item.count) values")
            if index > 0 { header.append(UInt8(ascii: ",")) }
            MiniJSON.appendQuoted(item.name, to: &header)
            header += Array(":{\"dtype\":\"F32\",\"shape\":[".utf8)
            header += Array(item.shape.map(String.init).joined(separator: ",").utf8)
            header += Array("],\"data_offsets\":[\(offset),\(offset + 4 * item.count)]}".utf8)
            offset += 4 * item.count
        }
        if !metadata.isEmpty {
            if !layout.isEmpty { header.append(UInt8(ascii: ",")) }
            header += Array("\"__metadata__\":{".utf8)
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { header.append(UInt8(ascii: ",")) }
                MiniJSON.appendQuoted(key, to: &header)
                header.append(UInt8(ascii: ":"))
                MiniJSON.appendQuoted(metadata[key]!, to: &header)
            }
            header.append(UInt8(ascii: "}"))
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count)
        let length = UInt64(header.count)
        for index in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(index)))) }
        out += header
        return out
    }

    static func appendLittleEndian<C: Collection>(_ values: C, to out: inout [UInt8]) where C.Element == Float {
        #if _endian(little)
        if let done: Void = values.withContiguousStorageIfAvailable({ buffer in
            out.append(contentsOf: UnsafeRawBufferPointer(buffer))
        }) {
            return done
        }
        #endif
        for value in values {
            let bits = value.bitPattern.littleEndian
            out += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
    }
}
