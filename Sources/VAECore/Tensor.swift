// POSIX (posix_memalign, free, memset), not maths (maths comes from RealModule).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 64-byte aligned, zero-initialised Float storage. Shared by every `Tensor` view of it.
public final class Buffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, (bytes + 63) & ~63) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        memset(raw, 0, bytes)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    deinit { free(pointer) }
}

/// A row-major, contiguous view of Float storage with a shape.
///
/// `Tensor` has reference semantics for its elements (like a PyTorch tensor): copying a
/// `Tensor` value makes another view of the same storage. `reshaped` and `rows` are views;
/// `copy()` makes new storage.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let buffer: Buffer
    public let offset: Int
    public private(set) var shape: [Int]

    /// New zero-filled tensor.
    public init(shape: [Int]) {
        let n = Tensor.elementCount(shape)
        self.buffer = Buffer(count: n)
        self.offset = 0
        self.shape = shape
    }

    public init(shape: [Int], data: [Float]) {
        precondition(Tensor.elementCount(shape) == data.count, "shape \(shape) does not hold \(data.count) elements")
        self.init(shape: shape)
        data.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: data.count) }
        }
    }

    init(buffer: Buffer, offset: Int, shape: [Int]) {
        precondition(offset >= 0 && offset + Tensor.elementCount(shape) <= buffer.count, "view out of range")
        self.buffer = buffer
        self.offset = offset
        self.shape = shape
    }

    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { acc, d in
            precondition(d >= 0, "negative dimension in \(shape)")
            return acc * d
        }
    }

    @inline(__always) public var pointer: UnsafeMutablePointer<Float> { buffer.pointer + offset }
    public var count: Int { Tensor.elementCount(shape) }
    public var rank: Int { shape.count }
    /// Elements per index of the leading dimension (e.g. per example for [batch, ...]).
    public var rowSize: Int { shape.isEmpty ? 1 : Tensor.elementCount(Array(shape.dropFirst())) }

    /// A view with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(buffer: buffer, offset: offset, shape: newShape)
    }

    /// A view of rows `range` of the leading dimension.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(!shape.isEmpty && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) out of \(shape)")
        var s = shape
        s[0] = range.count
        return Tensor(buffer: buffer, offset: offset + range.lowerBound * rowSize, shape: s)
    }

    /// A view of the first `n` elements of this tensor's storage, with `shape` (which may
    /// hold fewer elements than the tensor): used to run a smaller batch in a buffer sized
    /// for a larger one.
    public func prefixView(shape newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(newShape) <= count, "prefix \(newShape) larger than \(shape)")
        return Tensor(buffer: buffer, offset: offset, shape: newShape)
    }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Element `i` of the flat storage. An index outside the storage traps, as an array's does
    /// (checked against the buffer; the kernels use `pointer`).
    public subscript(_ i: Int) -> Float {
        get {
            precondition(i >= 0 && offset + i < buffer.count, "Tensor index \(i) is outside the tensor's storage")
            return pointer[i]
        }
        nonmutating set {
            precondition(i >= 0 && offset + i < buffer.count, "Tensor index \(i) is outside the tensor's storage")
            pointer[i] = newValue
        }
    }

    public func fill(_ v: Float) { pointer.update(repeating: v, count: count) }
    public func zero() { fill(0) }

    public var description: String { "Tensor\(shape)" }
}

/// A reusable tensor that grows to the largest size asked of it and hands out views of the
/// shape needed now: buffers are sized once per batch size and reused for every step.
public struct Workspace {
    private var storage: Tensor?
    public init() {}

    /// A view of `shape` over storage that is reallocated only when it must grow.
    /// Contents are unspecified (whatever the last use left).
    public mutating func view(_ shape: [Int]) -> Tensor {
        let n = Tensor.elementCount(shape)
        if let s = storage, s.count >= n { return s.prefixView(shape: shape) }
        let t = Tensor(shape: [n])
        storage = t
        return t.prefixView(shape: shape)
    }
}
