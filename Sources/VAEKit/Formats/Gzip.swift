import CZlib

/// gzip / zlib compression through the system zlib.
public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 0x1f 0x8b.
    public static func isGzip(_ data: [UInt8]) -> Bool {
        data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b
    }

    /// Decompresses gzip (including several concatenated members, as `cat a.gz b.gz` makes) or zlib data.
    ///
    /// Throws a `VAEError` for a truncated stream, corrupt data, trailing bytes that are not another
    /// gzip member, or output larger than `maxOutput` bytes (a "gzip bomb"): memory use stays bounded
    /// by `maxOutput` plus one chunk whatever the input.
    public static func decompress(_ data: [UInt8], maxOutput: Int, source: String = "gzip data") throws -> [UInt8] {
        guard !data.isEmpty else {
            throw VAEError.format(source, "is empty; expected gzip-compressed data — was the download interrupted?")
        }
        let limit = max(0, maxOutput)
        var stream = z_stream()
        // 15 + 32: maximum window, and detect gzip or zlib headers automatically.
        let initStatus = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw VAEError.format(source, "cannot start zlib decompression (zlib status \(initStatus)) — out of memory?")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        // The size the gzip trailer gives (ISIZE: the last member's length mod 2³²) is reserved at
        // once, up to the limit: the output is not grown by doubling, whose last copy held twice the
        // limit at its peak (a gzip bomb took 1.07 GB before it was refused at 512 MiB). A file it
        // does not describe (several members, over 4 GiB) grows as before.
        let isize = data.count >= 18 ? data.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) } : 0
        // (no more than deflate can give, 1032 bytes a byte in: a damaged trailer's 4 GiB reserved
        // for a 28-byte file)
        output.reserveCapacity(isize >= data.count ? min(isize + 1, limit, data.count * 1032) : (data.count > limit / 4 ? limit : data.count * 4))
        let chunkSize = 256 * 1024
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var members = 1

        try data.withUnsafeBufferPointer { input in
            guard let base = input.baseAddress else { return }
            var position = 0  // bytes of `input` handed to zlib so far
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = 0

            while true {
                // Refill the input window (avail_in is 32-bit; feed at most 1 GiB at a time).
                if stream.avail_in == 0 && position < input.count {
                    let feed = min(input.count - position, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: base + position)
                    stream.avail_in = UInt32(feed)
                    position += feed
                }
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunkSize - Int(stream.avail_out)
                if produced > 0 {
                    if produced > limit - output.count {
                        throw VAEError.format(source, "decompresses to more than \(FormatText.bytes(limit)), the limit for this file — it is corrupt, not what it claims to be, or a gzip bomb")
                    }
                    output.append(contentsOf: chunk[0..<produced])
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Where does the next member (if any) start?
                    let consumed = position - Int(stream.avail_in)
                    let rest = input.count - consumed
                    if rest == 0 { return }
                    if rest >= 2 && input[consumed] == 0x1f && input[consumed + 1] == 0x8b {
                        members += 1
                        let resetStatus = inflateReset(&stream)
                        guard resetStatus == Z_OK else {
                            throw VAEError.format(source, "cannot restart zlib for gzip member \(members) (zlib status \(resetStatus))")
                        }
                        continue
                    }
                    // gzip(1) tolerates zero padding after the last member (tape blocks); so do we.
                    if input[consumed...].allSatisfy({ $0 == 0 }) { return }
                    throw VAEError.format(source, "has \(FormatText.bytes(rest)) of trailing data after gzip member \(members) that are not another gzip member — the file is corrupt or was appended to")
                case Z_BUF_ERROR:
                    // No progress possible: output space is available, so the input ran out mid-stream.
                    if stream.avail_in == 0 && position >= input.count {
                        throw VAEError.format(source, "is truncated: the compressed stream ends early after \(FormatText.bytes(input.count)) (decompressed \(FormatText.bytes(output.count)) so far) — re-download the file")
                    }
                    if stream.avail_in == 0 { continue }  // refill at the top of the loop
                    throw VAEError.format(source, "zlib made no progress while decompressing — the file is corrupt")
                case Z_NEED_DICT:
                    throw VAEError.format(source, "is a zlib stream that needs a preset dictionary; that is not supported")
                case Z_DATA_ERROR:
                    let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    throw VAEError.format(source, "is corrupt (zlib: \(detail)) in gzip member \(members) — re-download the file")
                case Z_MEM_ERROR:
                    throw VAEError.format(source, "zlib ran out of memory while decompressing")
                default:
                    throw VAEError.format(source, "zlib failed with status \(status) while decompressing")
                }
            }
        }
        return output
    }

    /// Whether a file of this name is written gzipped (it ends in `.gz`).
    public static func isGzipName(_ path: String) -> Bool { path.lowercased().hasSuffix(".gz") }

    /// `data` as a file named `path` holds it: gzipped (at `level`) for a `.gz` name, else as it is.
    public static func forName(_ path: String, _ data: [UInt8], level: Int32 = 6) -> [UInt8] {
        isGzipName(path) ? compress(data, level: level) : data
    }

    /// Runs `body` with a writer whose bytes reach `emit` as a file named `path` holds them: through
    /// one gzip member, compressed piece by piece (memory bounded by a chunk), for a `.gz` name;
    /// else unchanged.
    public static func writing(_ path: String, to emit: ([UInt8]) throws -> Void,
                               _ body: (_ write: ([UInt8]) throws -> Void) throws -> Void) throws {
        let gz = isGzipName(path)
        try withoutActuallyEscaping(emit) { emit in
            try withoutActuallyEscaping(body) { body in
                guard gz else { return try body(emit) }
                try gzipping(level: 6, to: { try emit(Array($0)) }) { write in
                    try body { bytes in try bytes.withUnsafeBufferPointer { try write($0) } }
                }
            }
        }
    }

    /// Compresses `data` into a single gzip member (windowBits 15 + 16). `level` is clamped to 0...9
    /// (or -1 for zlib's default).
    public static func compress(_ data: [UInt8], level: Int32 = 6) -> [UInt8] {
        let clamped = level == Z_DEFAULT_COMPRESSION ? level : min(max(level, 0), 9)
        var output: [UInt8] = []
        output.reserveCapacity(data.count / 2 + 64)
        do {
            try data.withUnsafeBufferPointer { input in
                try gzipping(level: clamped, to: { output.append(contentsOf: $0) }) { write in try write(input) }
            }
        } catch {
            preconditionFailure("zlib deflate: \(error)")   // (neither closure throws)
        }
        return output
    }

    /// The one deflate loop: a gzip member at `level`; `body` hands the input to its writer piece by
    /// piece (each taken whole before the writer returns), and every piece of output — at most a
    /// 256 KB chunk — goes to `emit`.
    private static func gzipping(level: Int32, to emit: @escaping (UnsafeBufferPointer<UInt8>) throws -> Void,
                                 _ body: @escaping (_ write: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Void) throws {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib deflateInit2 failed with status \(status) (out of memory?)")
        defer { deflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        func pass(_ input: UnsafeBufferPointer<UInt8>, _ flush: Int32) throws {
            var position = 0
            repeat {
                // (pieces of at most 1 GB: avail_in is 32 bits)
                let feed = min(input.count - position, 1 << 30)
                stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0 + position) }
                stream.avail_in = UInt32(feed)
                position += feed
                let f = position >= input.count ? flush : Z_NO_FLUSH
                while true {
                    let s = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        return deflate(&stream, f)
                    }
                    precondition(s != Z_STREAM_ERROR, "zlib deflate failed (stream error)")
                    let n = chunk.count - Int(stream.avail_out)
                    if n > 0 { try chunk.withUnsafeBufferPointer { try emit(UnsafeBufferPointer(rebasing: $0[0..<n])) } }
                    // (all input taken once the output was not filled; a finish ends at the stream's end)
                    if f == Z_FINISH ? s == Z_STREAM_END : stream.avail_out != 0 { break }
                }
            } while position < input.count
        }
        try body { try pass($0, Z_NO_FLUSH) }
        try pass(UnsafeBufferPointer(start: nil, count: 0), Z_FINISH)
    }
}
