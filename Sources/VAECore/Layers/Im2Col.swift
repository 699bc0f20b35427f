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
    /// images: [n, channels, imageH, imageW] → cols: [patchSize, n · positions]
    public static func im2col(_ images: UnsafePointer<Float>, count n: Int, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let ld = n * g.positions
        ThreadPool.parallel(tasks: n) { img in
            let src = images + img * g.imageSize
            for c in 0..<g.channels {
                for i in 0..<g.kernelH {
                    for j in 0..<g.kernelW {
                        let row = (c * g.kernelH + i) * g.kernelW + j
                        let dst = cols + row * ld + img * g.positions
                        let plane = src + c * g.imageH * g.imageW
                        for gy in 0..<g.gridH {
                            let y = gy * g.stride - g.padding + i
                            let out = dst + gy * g.gridW
                            if y < 0 || y >= g.imageH {
                                out.update(repeating: 0, count: g.gridW)
                                continue
                            }
                            let line = plane + y * g.imageW
                            if g.stride == 1 {
                                for gx in 0..<g.gridW {
                                    let x = gx - g.padding + j
                                    out[gx] = (x >= 0 && x < g.imageW) ? line[x] : 0
                                }
                            } else {
                                for gx in 0..<g.gridW {
                                    let x = gx * g.stride - g.padding + j
                                    out[gx] = (x >= 0 && x < g.imageW) ? line[x] : 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// images[n, c, y, x] = Σ of the cols entries that im2col would read from there.
    /// Overwrites `images` (zeroes each image first).
    public static func col2im(_ cols: UnsafePointer<Float>, count n: Int, _ g: ConvGeometry, into images: UnsafeMutablePointer<Float>) {
        let ld = n * g.positions
        ThreadPool.parallel(tasks: n) { img in
            let dstImage = images + img * g.imageSize
            dstImage.update(repeating: 0, count: g.imageSize)
            for c in 0..<g.channels {
                let plane = dstImage + c * g.imageH * g.imageW
                for i in 0..<g.kernelH {
                    for j in 0..<g.kernelW {
                        let row = (c * g.kernelH + i) * g.kernelW + j
                        let src = cols + row * ld + img * g.positions
                        for gy in 0..<g.gridH {
                            let y = gy * g.stride - g.padding + i
                            if y < 0 || y >= g.imageH { continue }
                            let line = plane + y * g.imageW
                            let inp = src + gy * g.gridW
                            for gx in 0..<g.gridW {
                                let x = gx * g.stride - g.padding + j
                                if x >= 0 && x < g.imageW { line[x] += inp[gx] }
                            }
                        }
                    }
                }
            }
        }
    }
}
