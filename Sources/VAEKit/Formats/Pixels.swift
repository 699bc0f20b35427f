import Foundation
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

    /// Tells the kernel how the pages will be read. Training reads images at random: when the file
    /// is larger than half the memory this process may use, read-ahead would pull in neighbours that
    /// are evicted before they are used (a folder larger than memory then thrashes), so read-ahead
    /// is turned off (`MADV_RANDOM`); otherwise the whole file is fetched ahead (`MADV_WILLNEED`).
    /// Returns whether it chose random access.
    @discardableResult
    func adviseForRandomReads(budget: Int = MemoryBudget.availableBytes()) -> Bool {
        let random = length > budget / 2
        _ = madvise(base, length, random ? MADV_RANDOM : MADV_WILLNEED)
        return random
    }
}

/// How much memory this process may use: the smaller of the kernel's estimate of available memory
/// (`MemAvailable` in /proc/meminfo) and the memory limit of its control group (v1 or v2), if any.
enum MemoryBudget {
    static func availableBytes() -> Int {
        var budget = Int.max
        if let info = read("/proc/meminfo"),
           let line = info.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            budget = kb * 1024
        }
        for line in (read("/proc/self/cgroup") ?? "").split(separator: "\n") {
            // v1: "4:memory:/path"; v2: "0::/path"
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            let limitFile: String
            if parts[1].split(separator: ",").contains("memory") {
                limitFile = "/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes"
            } else if parts[1].isEmpty {
                limitFile = "/sys/fs/cgroup" + path + "/memory.max"
            } else { continue }
            if let text = read(limitFile), let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                budget = min(budget, limit)
            }
        }
        return budget
    }

    private static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
