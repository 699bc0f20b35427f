#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of an `ImageSet`: an array in memory, or a read-only range of a memory-mapped file
/// (an image-folder cache), so a data set larger than memory can still be trained on — the
/// kernel pages it in and out. Read through `withUnsafeBufferPointer`, or as a collection.
public struct Pixels: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral {
    enum Backing: @unchecked Sendable {
        case array([UInt8])
        case mapped(MappedFile, offset: Int)
    }
    let backing: Backing
    public let count: Int

    public init(_ bytes: [UInt8]) {
        backing = .array(bytes)
        count = bytes.count
    }

    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    /// `count` bytes of `file` from `offset`.
    init(mapped file: MappedFile, offset: Int, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= file.length, "Pixels: range outside the mapping")
        backing = .mapped(file, offset: offset)
        self.count = count
    }

    /// True when the bytes live in a memory-mapped file.
    public var isMapped: Bool { if case .mapped = backing { return true } else { return false } }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "Pixels: index out of range")
        switch backing {
        case .array(let a): return a[position]
        case .mapped(let file, let offset): return file.base.load(fromByteOffset: offset + position, as: UInt8.self)
        }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        switch backing {
        case .array(let a):
            return try a.withUnsafeBufferPointer(body)
        case .mapped(let file, let offset):
            return try withExtendedLifetime(file) {
                try body(UnsafeBufferPointer(start: file.base.assumingMemoryBound(to: UInt8.self) + offset, count: count))
            }
        }
    }

    /// Bytes `range` (a view of the same mapping, or a copied array).
    public func bytes(_ range: Range<Int>) -> Pixels {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Pixels: range out of bounds")
        switch backing {
        case .array(let a): return Pixels(Array(a[range]))
        case .mapped(let file, let offset): return Pixels(mapped: file, offset: offset + range.lowerBound, count: range.count)
        }
    }

    /// A copy of the bytes as an array (reads a mapped file in full).
    public var array: [UInt8] {
        if case .array(let a) = backing { return a }
        return withUnsafeBufferPointer { Array($0) }
    }

    public static func == (a: Pixels, b: Pixels) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }
}

/// A whole file mapped read-only; unmapped when the last `Pixels` using it goes away.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int

    /// Maps `path` (read-only, shared). Throws a one-line error naming the file.
    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VAEError("cannot open \(path): \(VAEError.errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw VAEError("cannot read \(path): \(VAEError.errnoText())") }
        length = Int(info.st_size)
        guard length > 0 else { throw VAEError("\(path) is empty") }
        guard let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw VAEError("cannot memory-map \(path): \(VAEError.errnoText())")
        }
        base = p
    }

    deinit { munmap(base, length) }
}
