/// The IDX format of MNIST and Fashion-MNIST: a big-endian magic `0x0000TTNN` (TT = data type,
/// NN = number of dimensions), NN big-endian UInt32 dimension sizes, then the data, row-major.
/// SwiftVAE reads and writes unsigned-byte data (type 0x08) only.
public enum IDX {
    /// Magic of an unsigned-byte image file with dimensions [count, rows, cols].
    public static let imageMagic: UInt32 = 0x0000_0803
    /// Magic of an unsigned-byte label file with dimensions [count].
    public static let labelMagic: UInt32 = 0x0000_0801

    /// A parsed unsigned-byte IDX array.
    public struct Array: Sendable, Equatable {
        public var dims: [Int]
        public var data: [UInt8]
        public init(dims: [Int], data: [UInt8]) {
            self.dims = dims
            self.data = data
        }
    }

    /// Images read from an IDX3 file.
    public struct Images: Sendable, Equatable {
        public var count: Int
        public var rows: Int
        public var cols: Int
        public var pixels: [UInt8]
        public init(count: Int, rows: Int, cols: Int, pixels: [UInt8]) {
            precondition(pixels.count == count * rows * cols)
            self.count = count
            self.rows = rows
            self.cols = cols
            self.pixels = pixels
        }
    }

    static let typeNames: [UInt8: String] = [
        0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "16-bit integer",
        0x0C: "32-bit integer", 0x0D: "32-bit float", 0x0E: "64-bit float",
    ]

    /// Parses an unsigned-byte IDX array of `expectedDims` dimensions (any if nil).
    /// `source` names the input in error messages (usually the file path); `what` is e.g. "IDX image file".
    /// The bytes are consumed: when the caller hands over its only reference (a freshly read
    /// file), the header is removed in place and the data keeps the file's storage — no second
    /// copy of a 47 MB image file is made (peak memory while loading).
    public static func parse(_ bytes: consuming [UInt8], expectedDims: Int? = nil, source: String = "IDX data",
                             what: String = "IDX file") throws -> Array {
        let expectedMagic = expectedDims.map { UInt32(0x0800) | UInt32(truncatingIfNeeded: $0) }
        let expectedText = expectedMagic.map { "; expected \(FormatText.hex32($0))" } ?? ""
        guard bytes.count >= 4 else {
            throw VAEError.format(source, "is \(FormatText.bytes(bytes.count)) long, too short to be an \(what) (the 4-byte magic is missing) — re-download it")
        }
        let magic = readBigEndian32(bytes, at: 0)
        if bytes[0] == 0x1f && bytes[1] == 0x8b {
            throw VAEError("\(source) is not an \(what) (magic \(FormatText.hex32(magic)))\(expectedText) — is it still gzip-compressed twice? Remove one layer with gunzip and try again")
        }
        guard bytes[0] == 0 && bytes[1] == 0 else {
            throw VAEError("\(source) is not an \(what) (magic \(FormatText.hex32(magic)))\(expectedText) — is it the right file?")
        }
        let dtype = bytes[2]
        let ndims = Int(bytes[3])
        guard dtype == 0x08 else {
            let typeName = typeNames[dtype].map { "\($0) data (type 0x\(String(dtype, radix: 16)))" } ?? "unknown data type 0x\(String(dtype, radix: 16))"
            throw VAEError("\(source) holds \(typeName) (magic \(FormatText.hex32(magic)))\(expectedText); SwiftVAE reads unsigned-byte IDX files only, as MNIST and Fashion-MNIST ship them")
        }
        if let expectedDims, ndims != expectedDims {
            // 1 and 3 are the labels' and the images' counts (the files swapped); others are data of another shape
            let hint = (ndims == 1 || ndims == 3) ? "are the image and label files swapped?"
                : "SwiftVAE reads 3-dimensional IDX images (count × height × width) and 1-dimensional labels"
            throw VAEError("\(source) is not an \(what) (magic \(FormatText.hex32(magic)), \(ndims) dimensions)\(expectedText) — \(hint)")
        }
        let headerSize = 4 + 4 * ndims
        guard bytes.count >= headerSize else {
            throw VAEError.format(source, "is truncated inside its header: \(ndims) dimensions need a \(headerSize)-byte header but the file has \(FormatText.bytes(bytes.count)) — re-download it")
        }
        var dims: [Int] = []
        dims.reserveCapacity(ndims)
        var elements = 1
        for index in 0..<ndims {
            let dim = Int(readBigEndian32(bytes, at: 4 + 4 * index))
            dims.append(dim)
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            if overflow {
                throw VAEError.format(source, "has dimensions \(dimsText(dims))… whose product overflows; the header is corrupt")
            }
            elements = product
        }
        let available = bytes.count - headerSize
        if available < elements {
            throw VAEError.format(source, "is truncated: dimensions \(dimsText(dims)) need \(FormatText.bytes(elements)) of data but only \(FormatText.bytes(available)) follow the header — re-download it")
        }
        if available > elements {
            throw VAEError.format(source, "has \(FormatText.bytes(available - elements)) of trailing data: dimensions \(dimsText(dims)) need \(FormatText.bytes(elements)) but \(FormatText.bytes(available)) follow the header — is it the right file, or two files joined?")
        }
        var data = consume bytes
        data.removeFirst(headerSize)   // in place when `data` is the only reference
        return Array(dims: dims, data: data)
    }

    /// Parses an IDX3 image file (magic 0x00000803, dimensions [count, rows, cols]).
    public static func parseImages(_ bytes: consuming [UInt8], source: String = "IDX image data") throws -> Images {
        let array = try parse(consume bytes, expectedDims: 3, source: source, what: "IDX image file")
        return Images(count: array.dims[0], rows: array.dims[1], cols: array.dims[2], pixels: array.data)
    }

    /// Parses an IDX1 label file (magic 0x00000801, dimensions [count]).
    public static func parseLabels(_ bytes: consuming [UInt8], source: String = "IDX label data") throws -> [UInt8] {
        try parse(consume bytes, expectedDims: 1, source: source, what: "IDX label file").data
    }

    /// Serializes an unsigned-byte IDX array. Returns nil when the dimensions do not fit the
    /// format (more than 255 dimensions, a size outside 0...UInt32.max) or do not match `data.count`.
    public static func encode(dims: [Int], data: [UInt8]) -> [UInt8]? {
        guard dims.count <= 255 else { return nil }
        var elements = 1
        for dim in dims {
            guard dim >= 0, dim <= Int(UInt32.max) else { return nil }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            elements = product
        }
        guard elements == data.count else { return nil }
        var out: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
        out.reserveCapacity(4 + 4 * dims.count + data.count)
        for dim in dims {
            let value = UInt32(dim)
            out += [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
        }
        out += data
        return out
    }

    /// Serializes images ([count, rows, cols], row-major) as an IDX3 file.
    public static func encodeImages(_ pixels: [UInt8], count: Int, rows: Int, cols: Int) throws -> [UInt8] {
        guard let out = encode(dims: [count, rows, cols], data: pixels) else {
            throw VAEError("cannot write an IDX image file: \(FormatText.grouped(pixels.count)) pixels do not match \(count)×\(rows)×\(cols) images (or a size exceeds 2^32−1)")
        }
        return out
    }

    /// Serializes labels as an IDX1 file.
    public static func encodeLabels(_ labels: [UInt8]) -> [UInt8] {
        // A [UInt8] can never have more than Int.max elements, but IDX sizes are 32-bit.
        precondition(labels.count <= Int(UInt32.max), "IDX label files hold at most 2^32−1 labels")
        return encode(dims: [labels.count], data: labels)!
    }

    static func readBigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    static func dimsText(_ dims: [Int]) -> String {
        "[" + dims.map(String.init).joined(separator: ", ") + "]"
    }
}
