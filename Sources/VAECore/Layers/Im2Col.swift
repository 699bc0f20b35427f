import CVAEKernels

/// Geometry shared by convolution and transposed convolution: an image of `channels ×
/// imageH × imageW` seen through a `kernelH × kernelW` window at `gridH × gridW` positions,
/// `stride` apart, with `padding` zeros around the image.
public struct ConvGeometry: Sendable, Equatable {
    public var channels: Int, imageH: Int, imageW: Int
    public var gridH: Int, gridW: Int
    public var kernelH: Int, kernelW: Int
    public var stride: Int, padding: Int

    /// Rows of the column matrix: channels · kernelH · kernelW.
    public var patchSize: Int { channels * kernelH * kernelW }
    /// Window positions per image.
    public var positions: Int { gridH * gridW }
    public var imageSize: Int { channels * imageH * imageW }
}

/// im2col / col2im over a batch, in the "channels × (batch · positions)" layout:
/// cols[(c·kh + i)·kw + j, n·P + gy·gridW + gx] = image[n, c, gy·s − p + i, gx·s − p + j].
/// Work is split over images, each image written by exactly one task.
public enum Im2Col {
    /// Images per group when a layer runs im2col / col2im and its GEMMs group by group: the
    /// group's column matrix (patchSize × group·positions) stays near 1 MB, in cache, instead
    /// of one matrix for the whole batch (tens of MB for the decoder's transposed convolutions).
    /// Depends on the shapes only (never on the thread count): results are reproducible.
    public static func groupSize(_ g: ConvGeometry, batch n: Int) -> Int {
        max(1, min(n, 262_144 / max(1, g.patchSize * g.positions)))
    }

    /// images: [n, channels, imageH, imageW] → cols: [patchSize, n · positions] (C kernel).
    public static func im2col(_ images: UnsafePointer<Float>, count n: Int, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        vk_im2col(images, Int32(n), Int32(g.channels), Int32(g.imageH), Int32(g.imageW), Int32(g.gridH), Int32(g.gridW),
                  Int32(g.kernelH), Int32(g.kernelW), Int32(g.stride), Int32(g.padding), cols)
    }

    /// images[n, c, y, x] = Σ of the cols entries that im2col would read from there, then
    /// act(· + bias[c]) when `bias` or `relu` is given. Overwrites `images`.
    public static func col2im(_ cols: UnsafePointer<Float>, count n: Int, _ g: ConvGeometry, into images: UnsafeMutablePointer<Float>,
                              bias: UnsafePointer<Float>? = nil, relu: Bool = false) {
        vk_col2im(cols, Int32(n), Int32(g.channels), Int32(g.imageH), Int32(g.imageW), Int32(g.gridH), Int32(g.gridW),
                  Int32(g.kernelH), Int32(g.kernelW), Int32(g.stride), Int32(g.padding), images, bias, relu ? 1 : 0)
    }
}

/// A batch cut into groups of images for a convolution layer: each group's im2col/col2im and
/// GEMMs run on one thread with its own scratch buffers (`vk_thread_scratch`), the groups spread
/// over the pool in one fork-join per pass. The groups depend on the shapes only, and a weight
/// gradient is summed per group and then over the groups in order: the same bits for any
/// thread count.
public struct ConvGroups {
    public let size: Int, batch: Int
    public init(_ g: ConvGeometry, batch n: Int) {
        size = Im2Col.groupSize(g, batch: n)
        batch = n
    }
    public var count: Int { (batch + size - 1) / size }
    /// Index of the group that starts at image `first`.
    public func index(of first: Int) -> Int { first / size }
    /// body(first image, image count) for every group, across the threads.
    public func run(_ body: (Int, Int) -> Void) {
        let size = size, batch = batch
        ThreadPool.parallel(tasks: count) { t in
            let g0 = t * size
            body(g0, min(size, batch - g0))
        }
    }
}

