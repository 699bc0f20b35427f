import Foundation
import XCTest
@testable import VAEImageIO
@testable import VAEKit

/// Image folders on files the tests write: layouts, split, resize, cache, bad files.
final class ImageFolderTests: XCTestCase {
    var cache = ""

    override func setUpWithError() throws {
        cache = try FormatsFixture.makeTempDirectory(self, name: "vaekit-image-cache")
    }

    func options(_ o: ImageFolderOptions = ImageFolderOptions()) -> ImageFolderOptions {
        var o = o
        o.cacheDirectory = cache
        return o
    }

    func writePNG(_ path: String, width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        try FileManager.default.createDirectory(atPath: AtomicFile.split(path).directory, withIntermediateDirectories: true)
        try FormatsFixture.writeFile(PNG.encode(width: width, height: height, channels: channels, pixels: pixels), path)
    }

    /// The first `count` images of the Fashion-MNIST sample committed with the package (IDX); if it
    /// is missing, loading it fails the test.
    func idxDigits(_ count: Int) throws -> ImageSet {
        let dir = FormatsFixture.packageRoot.path + "/data/fashion-mnist-sample"
        return try Dataset.load(directory: dir).trainImages.prefix(count)
    }

    /// IDX images written as train/<label>/<index>.png and test/<label>/<index>.png load back to the
    /// same pixels and labels (training set in label-then-file order, test set as a multiset).
    func testClassFoldersFromIDXWithTrainAndTest() throws {
        let set = try idxDigits(120)
        let dir = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<120 {
            let part = i < 100 ? "train" : "test"
            try writePNG("\(dir)/\(part)/\(set.labels[i])/\(String(format: "%04d", i)).png", width: 28, height: 28, channels: 1,
                         pixels: Array(set.images[(i * 784)..<((i + 1) * 784)]))
        }
        let data = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(data.classNames, (0..<10).map(String.init))
        XCTAssertEqual([data.train.count, data.test.count], [100, 20])
        XCTAssertEqual([data.trainImages.channels, data.trainImages.height, data.trainImages.width], [1, 28, 28])
        XCTAssertTrue(data.trainImages.images.isMapped)
        let trainOrder = (0..<100).sorted { (set.labels[$0], $0) < (set.labels[$1], $1) }
        XCTAssertEqual(data.trainImages.labels, trainOrder.map { set.labels[$0] })
        XCTAssertEqual(data.trainImages.images.array, trainOrder.flatMap { Array(set.images[($0 * 784)..<(($0 + 1) * 784)]) })
        func pairs(_ s: ImageSet, _ range: Range<Int>) -> [String] {
            range.map { "\(s.labels[$0]) \(Array(s.images[($0 * 784)..<(($0 + 1) * 784)]))" }.sorted()
        }
        let testSet = ImageSet(pixels: set.images.bytes((100 * 784)..<(120 * 784)), labels: Array(set.labels[100...]),
                               count: 20, channels: 1, height: 28, width: 28)
        XCTAssertEqual(pairs(data.testImages, 0..<20), pairs(testSet, 0..<20))
        XCTAssertEqual(data.imageFolder?.fromCache, false)
        XCTAssertEqual(data.name, AtomicFile.split(dir).name)
    }

    func testClassNamesAreSortedFolderNamesAndFlatFoldersHaveNoLabels() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        for (k, name) in ["zebra", "apple", "Mango"].enumerated() {
            for i in 0..<4 { try writePNG("\(dir)/\(name)/\(i).png", width: 2, height: 2, channels: 1, pixels: [UInt8](repeating: UInt8(k * 50 + i), count: 4)) }
        }
        var o = options()
        o.testFraction = 0.25
        let data = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(data.classNames, ["Mango", "apple", "zebra"])  // byte order, as Python's sorted()
        XCTAssertEqual([data.train.count, data.test.count], [9, 3])
        XCTAssertEqual(data.trainImages.labels, [0, 0, 0, 1, 1, 1, 2, 2, 2])
        XCTAssertEqual(data.testImages.labels.sorted(), [0, 1, 2])  // one per class
        // Label = the folder: pixel value k·50 + i came from folder k of the write order above.
        let folderOf: [UInt8: Int] = [0: 2, 1: 1, 2: 0]  // label → write index k (zebra 0, apple 1, Mango 2)
        for s in [data.trainImages, data.testImages] {
            for j in 0..<s.count { XCTAssertEqual(Int(s.images[j * 4]) / 50, folderOf[s.labels[j]]!) }
        }

        let flat = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<20 { try writePNG("\(flat)/img\(i).png", width: 3, height: 1, channels: 3, pixels: [UInt8(i), 0, 0, 0, 0, 0, 0, 0, 0]) }
        try FormatsFixture.writeFile(Array("notes".utf8), flat + "/README.txt")  // not an image name: ignored
        let f = try Dataset.load(directory: flat, imageOptions: options())
        XCTAssertEqual(f.classNames, [])
        XCTAssertEqual(f.trainImages.labels, [])
        XCTAssertEqual([f.train.count, f.test.count, f.trainImages.channels], [18, 2, 3])
    }

    /// The seeded split is the same on every load (cache or not), and changes with the fraction.
    func testTestFractionIsDeterministic() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<50 { try writePNG("\(dir)/c\(i % 2)/\(i).png", width: 1, height: 1, channels: 1, pixels: [UInt8(i)]) }
        var o = options()
        o.testFraction = 0.2
        let a = try Dataset.load(directory: dir, imageOptions: o)
        let otherCache = try FormatsFixture.makeTempDirectory(self, name: "vaekit-image-cache2")
        o.cacheDirectory = otherCache
        let b = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(b.imageFolder?.fromCache, false)
        XCTAssertEqual(a.testImages.images.array, b.testImages.images.array)
        XCTAssertEqual(a.trainImages.images.array, b.trainImages.images.array)
        XCTAssertEqual(a.test.count, 10)
        XCTAssertEqual(Set(a.testImages.images.array + a.trainImages.images.array).count, 50)
        o.testFraction = 0.4
        let c = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(c.test.count, 20)
        XCTAssertTrue(Set(a.testImages.images.array).isSubset(of: Set(c.testImages.images.array)))  // the same shuffle, a longer prefix
        XCTAssertNotEqual(c.testImages.images.array, a.testImages.images.array)
    }

    /// The --test-fraction split holds each image by its own name: a file added to or removed from
    /// one class, or a class folder renamed, leaves the other classes' test images as they were and
    /// moves at most one image of the changed class (one random stream over the classes in turn
    /// reshuffled every class after a changed one: commands scored the run's training images as test
    /// images). A run's config from before (no "split") keeps the split it trained with.
    func testSplitHoldsWhenTheFolderChanges() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        for c in 0..<3 { for i in 0..<40 { try writePNG("\(dir)/k\(c)/img\(i).png", width: 1, height: 1, channels: 1, pixels: [UInt8(c * 40 + i)]) } }
        var o = options()
        o.testFraction = 0.2
        // test images per class, by their names within the class folder
        func tests(_ d: Dataset) throws -> [String: Set<String>] {
            let names = try XCTUnwrap(d.testImages.names)
            var out: [String: Set<String>] = [:]
            for (i, n) in names.enumerated() { out[d.classNames[Int(d.testImages.labels[i])], default: []].insert(String(n.split(separator: "/").last!)) }
            return out
        }
        let before = try tests(try Dataset.load(directory: dir, imageOptions: o))
        XCTAssertEqual(before.mapValues(\.count), ["k0": 8, "k1": 8, "k2": 8])
        // a file added to the first class
        try writePNG("\(dir)/k0/zz-new.png", width: 1, height: 1, channels: 1, pixels: [200])
        let added = try tests(try Dataset.load(directory: dir, imageOptions: o))
        XCTAssertEqual(added["k1"], before["k1"])
        XCTAssertEqual(added["k2"], before["k2"])
        XCTAssertLessThanOrEqual(before["k0"]!.subtracting(added["k0"]!).count, 1, "\(before["k0"]!) → \(added["k0"]!)")
        // a file removed from the middle class, the first class's folder renamed (now the last class)
        try FileManager.default.removeItem(atPath: dir + "/k1/" + before["k1"]!.sorted()[0])
        try FileManager.default.moveItem(atPath: dir + "/k0", toPath: dir + "/z0")
        let moved = try tests(try Dataset.load(directory: dir, imageOptions: o))
        XCTAssertEqual(moved["z0"], added["k0"], "a renamed class kept its test images")
        XCTAssertEqual(moved["k2"], before["k2"])
        XCTAssertLessThanOrEqual(added["k1"]!.subtracting(moved["k1"]!).count, 1)
        // the options a run records say which split it trained with: new runs 2, older configs none
        XCTAssertEqual(ImageFolderOptions().split, 2)
        let old = try JSONDecoder().decode(ImageFolderOptions.self, from: Data(#"{"testFraction":0.2,"skipBadFiles":false}"#.utf8))
        XCTAssertNil(old.split)
        var older = o
        older.split = nil
        let oldSplit = try Dataset.load(directory: dir, imageOptions: older)
        let scan = try ImageFolderScan(directory: dir)
        let expected = ImageFolder.split(scan.train, fraction: 0.2).1.map { ImageFolder.relative($0.path, to: dir) }
        XCTAssertEqual(Set(try XCTUnwrap(oldSplit.testImages.names)), Set(expected), "a run of before reads the split it trained with")
    }

    /// Resize + centre crop against hand-computed values.
    func testResizeAndCropOnKnownPatterns() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        // 6 wide × 4 high, pixel = 10·x + 40·y. --image-size 2: shorter side 4 → 2 (width 6 → 3),
        // area average of 2×2 blocks: 10·(2i + ½) + 40·(2j + ½) = 20i + 80j + 25; centre crop of
        // width 3 → 2 starts at round(0.5) = 0.
        let pattern: [UInt8] = (0..<24).map { (p: Int) -> UInt8 in UInt8(10 * (p % 6) + 40 * (p / 6)) }
        try writePNG(dir + "/a.png", width: 6, height: 4, channels: 1, pixels: pattern)
        var o = options()
        o.imageSize = [2, 2]
        o.testFraction = 0
        let d = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(d.trainImages.images.array, [25, 45, 105, 125])

        // Enlarging 2×1 → 4 wide (bilinear, half-pixel centres): [0, 100] → [0, 25, 75, 100]; the
        // height 1 → 2 repeats the row. --image-size 2x4.
        let up = try FormatsFixture.makeTempDirectory(self)
        try writePNG(up + "/b.png", width: 2, height: 1, channels: 1, pixels: [0, 100])
        o.imageSize = [2, 4]
        XCTAssertEqual(try Dataset.load(directory: up, imageOptions: o).trainImages.images.array, [0, 25, 75, 100, 0, 25, 75, 100])

        // Colour: RGBA composited on black, then gray = 0.299 R + 0.587 G + 0.114 B.
        let rgba = try FormatsFixture.makeTempDirectory(self)
        try writePNG(rgba + "/c.png", width: 2, height: 1, channels: 4, pixels: [200, 100, 50, 255, 200, 100, 50, 128])
        o.imageSize = nil
        let colour = try Dataset.load(directory: rgba, imageOptions: o)
        XCTAssertEqual(colour.trainImages.channels, 3)
        // CHW: R plane, G plane, B plane; the second pixel is scaled by 128/255.
        XCTAssertEqual(colour.trainImages.images.array, [200, 100, 100, 50, 50, 25])
        o.channels = 1
        let gray = try Dataset.load(directory: rgba, imageOptions: o)
        let g = 0.299 * 200 + 0.587 * 100 + 0.114 * 50
        XCTAssertEqual(gray.trainImages.images.array, [UInt8(g + 0.5), UInt8(g * 128 / 255 + 0.5)])
    }

    /// The resize reads only the source rows and columns its centre crop needs: the same bytes as
    /// resampling every row first (the reference below), for shrinking, enlarging, both at once,
    /// every channel conversion.
    func testResizeReadsOnlyWhatTheCropNeeds() {
        var rng = RNG(seed: 11)
        func reference(_ px: [UInt8], w: Int, h: Int, ch: Int, oc: Int, oh: Int, ow: Int) -> [UInt8] {
            let (rh, rw) = ImageResize.resizedSize(height: h, width: w, outHeight: oh, outWidth: ow)
            let xw = AxisWeights(input: w, resized: rw, first: ImageResize.cropOffset(rw, ow), count: ow)
            let yw = AxisWeights(input: h, resized: rh, first: ImageResize.cropOffset(rh, oh), count: oh)
            var rows = [Float](repeating: 0, count: oc * h * ow), line = [Float](repeating: 0, count: oc * w)
            var out = [UInt8](repeating: 0, count: oc * oh * ow)
            px.withUnsafeBufferPointer { p in
                for y in 0..<h {
                    ImageResize.convertRow(p.baseAddress! + y * w * ch, width: w, channels: ch, outChannels: oc, into: &line)
                    for c in 0..<oc { for x in 0..<ow { rows[(c * h + y) * ow + x] = xw.apply(x, line, base: c * w) } }
                }
            }
            for c in 0..<oc { for y in 0..<oh { for x in 0..<ow {
                var v: Float = 0
                for (k, wt) in yw.weights[y].enumerated() { v += wt * rows[(c * h + yw.starts[y] + k) * ow + x] }
                out[(c * oh + y) * ow + x] = UInt8(max(0, min(255, v + 0.5)))
            } } }
            return out
        }
        for trial in 0..<300 {
            let w = 1 + Int(rng.next() % 40), h = 1 + Int(rng.next() % 40)
            let ch = [1, 2, 3, 4][Int(rng.next() % 4)], oc = [1, 3][Int(rng.next() % 2)]
            let ow = 1 + Int(rng.next() % 20), oh = 1 + Int(rng.next() % 20)
            let px = (0..<(w * h * ch)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var got = [UInt8](repeating: 0, count: oc * oh * ow)
            px.withUnsafeBufferPointer { p in
                got.withUnsafeMutableBufferPointer {
                    ImageResize.convert(p, width: w, height: h, channels: ch, outChannels: oc, outHeight: oh, outWidth: ow, into: $0.baseAddress!)
                }
            }
            XCTAssertEqual(got, reference(px, w: w, h: h, ch: ch, oc: oc, oh: oh, ow: ow), "trial \(trial): \(w)×\(h)×\(ch) → \(oc)×\(oh)×\(ow)")
        }
    }

    /// A strip 1 pixel wide and 4 M tall (a few KB of file, within the pixel limit) to 1024 × 1024:
    /// its centre crop reads two source rows (every row resampled first asked for 16 GB and crashed).
    func testTallStripResizesFromTheRowsItsCropReads() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let h = 4_000_000
        var px = [UInt8](repeating: 7, count: h)
        for y in (h / 2 - 100)..<(h / 2 + 100) { px[y] = 200 }   // the middle rows, which the crop shows
        try writePNG(dir + "/strip.png", width: 1, height: h, channels: 1, pixels: px)
        px = []
        var o = options()
        o.imageSize = [1024, 1024]
        o.testFraction = 0
        let d = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(d.trainImages.images.count, 1024 * 1024)
        XCTAssertEqual(Set(d.trainImages.images.array), [200])
    }

    func testDifferentSizesNeedImageSize() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try writePNG(dir + "/a.png", width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 1, count: 16))
        try writePNG(dir + "/b.png", width: 5, height: 3, channels: 1, pixels: [UInt8](repeating: 2, count: 15))
        FormatsFixture.assertVAEError(["a.png is 4×4", "b.png is 5×3", "--image-size"]) {
            _ = try Dataset.load(directory: dir, imageOptions: self.options())
        }
        var o = options()
        o.imageSize = [3, 3]
        o.testFraction = 0
        let d = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual([d.train.count, d.trainImages.height, d.trainImages.width], [2, 3, 3])
    }

    func testCacheHitMissAndInvalidation() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<10 { try writePNG("\(dir)/x/\(i).png", width: 3, height: 3, channels: 1, pixels: [UInt8](repeating: UInt8(i), count: 9)) }
        let first = try Dataset.load(directory: dir, imageOptions: options())
        let second = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(first.imageFolder?.fromCache, false)
        XCTAssertEqual(second.imageFolder?.fromCache, true)
        XCTAssertEqual(first.trainImages.images, second.trainImages.images)
        XCTAssertEqual(first.testImages.images, second.testImages.images)
        XCTAssertEqual(first.trainImages.labels, second.trainImages.labels)
        let caches = try FileManager.default.contentsOfDirectory(atPath: cache)
        XCTAssertEqual(caches.count, 1, "one cache file, no temporaries: \(caches)")

        // A rewritten file (new mtime and content) is a miss and gives the new pixels.
        try writePNG("\(dir)/x/3.png", width: 3, height: 3, channels: 1, pixels: [UInt8](repeating: 99, count: 9))
        var t = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, "\(dir)/x/3.png", &t, 0), 0)
        let third = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(third.imageFolder?.fromCache, false)
        XCTAssertTrue((third.trainImages.images.array + third.testImages.images.array).contains(99))
        // Other options: a miss; the older cache of the folder is replaced, not kept beside it.
        var o = options()
        o.imageSize = [2, 2]
        XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: o).imageFolder?.fromCache, false)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).count, 1)
        // A damaged cache file is rebuilt, not trusted.
        let path = cache + "/" + (try FileManager.default.contentsOfDirectory(atPath: cache))[0]
        try FormatsFixture.writeFile(Array("garbage".utf8), path)
        let rebuilt = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(rebuilt.imageFolder?.fromCache, false)
        XCTAssertEqual(rebuilt.train.count + rebuilt.test.count, 10)
    }

    /// A run trained with its channels left to the images stores the channels chosen, and every
    /// later command reads the folder with them: the training's cache serves them (each command
    /// decoded the whole folder again and replaced the training's cache, which the next training
    /// replaced again). Other channels than the cache's are decoded anew.
    func testTheChannelsChosenFindTheCacheMadeWithoutThem() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<10 { try writePNG("\(dir)/x/\(i).png", width: 3, height: 3, channels: 3, pixels: (0..<27).map { UInt8(($0 * 9 + i) % 256) }) }
        let trained = try Dataset.load(directory: dir, imageOptions: options())   // channels: auto
        XCTAssertEqual(trained.trainImages.channels, 3)
        var chosen = options()
        chosen.channels = 3
        let later = try Dataset.load(directory: dir, imageOptions: chosen)
        XCTAssertEqual(later.imageFolder?.fromCache, true)
        XCTAssertEqual(later.imageFolder?.cacheFile, trained.imageFolder?.cacheFile)
        XCTAssertEqual(later.trainImages.images, trained.trainImages.images)
        XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: options()).imageFolder?.fromCache, true)
        var gray = options()
        gray.channels = 1
        let other = try Dataset.load(directory: dir, imageOptions: gray)
        XCTAssertEqual(other.imageFolder?.fromCache, false)
        XCTAssertEqual(other.trainImages.channels, 1)
    }

    /// One file read as a run reads its folder (`vae reconstruct --images`): the stored background
    /// and, with a stored --image-size, resizing; without one, another size is refused.
    func testReadFileFollowsTheRunsOptions() throws {
        let path = NSTemporaryDirectory() + "vae-readfile-\(getpid()).png"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        // 16×16 RGBA: fully transparent except an opaque red pixel block in the top-left quarter
        var px = [UInt8](repeating: 0, count: 16 * 16 * 4)
        for y in 0..<8 { for x in 0..<8 { let o = (y * 16 + x) * 4; px[o] = 255; px[o + 3] = 255 } }
        try AtomicFile.write(PNG.encode(width: 16, height: 16, channels: 4, pixels: px), to: path)
        var o = ImageFolderOptions(imageSize: [8, 8], channels: 3)
        o.background = 255
        let white = try ImageFolder.readFile(path, channels: 3, height: 8, width: 8, options: o)
        XCTAssertEqual(white.count, 3 * 64)
        // bottom-right quarter: transparent, so white in every channel; top-left: red
        XCTAssertEqual(white[7 * 8 + 7], 255); XCTAssertEqual(white[64 + 7 * 8 + 7], 255); XCTAssertEqual(white[128 + 7 * 8 + 7], 255)
        XCTAssertEqual(white[0], 255); XCTAssertEqual(white[64], 0); XCTAssertEqual(white[128], 0)
        o.background = nil
        let black = try ImageFolder.readFile(path, channels: 3, height: 8, width: 8, options: o)
        XCTAssertEqual(black[7 * 8 + 7], 0)
        XCTAssertThrowsError(try ImageFolder.readFile(path, channels: 3, height: 8, width: 8, options: nil)) {
            XCTAssertTrue("\($0)".contains("is 16 wide × 16 tall, but the model takes images 8 wide × 8 tall"), "\($0)")
        }
        XCTAssertEqual(try ImageFolder.readFile(path, channels: 1, height: 16, width: 16, options: nil).count, 256)
    }

    /// Transparent pixels are composited on --background (black by default, as before: the cache
    /// key of a black background is unchanged); runs stored without the field read as black.
    func testBackgroundForTransparentPixels() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        // 2×1 RGBA: a fully transparent orange pixel, then black at half opacity
        let pixels: [UInt8] = [200, 100, 50, 0, 0, 0, 0, 128]
        for i in 0..<4 { try writePNG("\(dir)/a/\(i).png", width: 2, height: 1, channels: 4, pixels: pixels) }
        var o = options(ImageFolderOptions(channels: 3, testFraction: 0.25))
        let black = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(Array(black.trainImages.images.array.prefix(6)), [0, 0, 0, 0, 0, 0])   // CHW: R R G G B B
        o.background = try ImageFolderOptions.parseBackground("white")
        let white = try Dataset.load(directory: dir, imageOptions: o)
        XCTAssertEqual(white.imageFolder?.fromCache, false, "another background is another cache")
        // 255·(1 − 128/255) = 127
        XCTAssertEqual(Array(white.trainImages.images.array.prefix(6)), [255, 127, 255, 127, 255, 127])
        o.background = 0
        XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: o).imageFolder?.fromCache, false)
        o.background = nil
        XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: o).imageFolder?.fromCache, true,
                       "black by default and black given share a cache")
        XCTAssertEqual(try ImageFolderOptions.parseBackground("black"), 0)
        XCTAssertEqual(try ImageFolderOptions.parseBackground("128"), 128)
        for bad in ["grey", "256", "-1"] { XCTAssertThrowsError(try ImageFolderOptions.parseBackground(bad), bad) }
        let old = try JSONDecoder().decode(ImageFolderOptions.self, from: Data(#"{"testFraction":0.1,"skipBadFiles":false}"#.utf8))
        XCTAssertNil(old.background)
    }

    /// A mapped cache larger than half the memory budget is read without read-ahead (else a folder
    /// larger than memory thrashes); a smaller one is fetched ahead. The budget is the smaller of
    /// MemAvailable and the control group's limit, and positive.
    func testMappedCacheAdviceFollowsTheMemoryBudget() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/blob"
        try FormatsFixture.writeFile([UInt8](repeating: 7, count: 64 * 1024), path)
        let file = try MappedFile(path: path)
        XCTAssertTrue(file.adviseForRandomReads(budget: 64 * 1024))
        XCTAssertFalse(file.adviseForRandomReads(budget: 1 << 30))
        let budget = MemoryBudget.availableBytes()
        XCTAssertGreaterThan(budget, 0)
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let total = try XCTUnwrap(text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") })?.split(separator: " ").dropFirst().first)
        XCTAssertLessThanOrEqual(budget, try XCTUnwrap(Int(total)) * 1024, "more than the machine's memory")
    }

    /// Each bad file is one line naming it; --skip-bad-files skips and lists them.
    func testBadFiles() throws {
        let good = PNG.encode(width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        var huge = PNG.signature
        PNG.appendChunk(&huge, "IHDR", [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 0, 0, 0, 0])
        PNG.appendChunk(&huge, "IDAT", [0])
        PNG.appendChunk(&huge, "IEND", [])
        var bomb = PNG.signature
        PNG.appendChunk(&bomb, "IHDR", [0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0])
        PNG.appendChunk(&bomb, "IDAT", PNG.zlibCompress([UInt8](repeating: 0, count: 32 << 20)))
        PNG.appendChunk(&bomb, "IEND", [])
        var corrupt = good
        corrupt[good.count - 20] ^= 0xFF
        // a wrong Adler-32 under a valid CRC: zlib's words, not its number (-3)
        var idat = PNG.zlibCompress([0, 1, 2, 0, 3, 4])
        idat[idat.count - 1] ^= 0xFF
        var badCheck = PNG.signature
        PNG.appendChunk(&badCheck, "IHDR", [0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0])
        PNG.appendChunk(&badCheck, "IDAT", idat)
        PNG.appendChunk(&badCheck, "IEND", [])
        let cases: [(String, [UInt8], String)] = [
            ("badcheck.png", badCheck, "the image data does not decompress (zlib: data error) — the file is damaged"),
            ("text.png", Array("this is not an image\n".utf8), "neither PNG nor JPEG (text)"),
            ("empty.png", [], "is empty"),
            ("truncated.png", Array(good.prefix(good.count - 15)), "truncated"),
            ("corrupt.png", corrupt, "CRC"),
            ("huge.png", huge, "100000×100000"),
            ("bomb.png", bomb, "the image data holds more than the 6 bytes its width and height need — the file is damaged"),
            ("fake.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], JPEG.isAvailable ? "not a valid JPEG" : "libturbojpeg0"),
            ("start.jpg", [0xFF, 0xD8], "is a JPEG cut short: 2 bytes, nothing after the start marker"),   // was "neither PNG nor JPEG (starts with ff d8)"
        ]
        for (name, bytes, fragment) in cases {
            let dir = try FormatsFixture.makeTempDirectory(self)
            for i in 0..<3 { try FormatsFixture.writeFile(good, "\(dir)/ok\(i).png") }
            try FormatsFixture.writeFile(bytes, "\(dir)/\(name)")
            FormatsFixture.assertVAEError([dir + "/" + name, fragment]) {
                _ = try Dataset.load(directory: dir, imageOptions: self.options())
            }
            var o = options()
            o.skipBadFiles = true
            if name == "fake.jpg" && !JPEG.isAvailable {
                // A missing library is not a bad file: it stops the load even with --skip-bad-files.
                FormatsFixture.assertVAEError(["apt-get install libturbojpeg0"]) { _ = try Dataset.load(directory: dir, imageOptions: o) }
                continue
            }
            let d = try Dataset.load(directory: dir, imageOptions: o)
            XCTAssertEqual(d.train.count + d.test.count, 3, name)
            XCTAssertEqual(d.imageFolder?.skipped.count, 1, name)
            XCTAssertTrue(d.imageFolder?.skipped.first?.contains(name) == true, name)
            XCTAssertFalse(d.imageFolder?.skipped.first?.contains("\n") ?? true)
            XCTAssertFalse(d.imageFolder?.skipped.first?.contains("--skip-bad-files") ?? true, "the skip log advises what was done")
            // The skip list survives a cache hit.
            XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: o).imageFolder?.skipped, d.imageFolder?.skipped)
        }
    }

    /// A truncated file's header still reads; its pixels do not. With --skip-bad-files such a file
    /// is skipped, and must not choose the folder's channels or size on its way out.
    func testSkippedFilesChooseNeitherChannelsNorSize() throws {
        let gray = PNG.encode(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 9, count: 16))
        let rgb = PNG.encode(width: 4, height: 4, channels: 3, pixels: (0..<48).map { UInt8($0) })
        let big = PNG.encode(width: 8, height: 8, channels: 1, pixels: (0..<64).map { UInt8($0 * 3) })
        var o = options()
        o.skipBadFiles = true
        // a gray folder and one truncated RGB file: gray, as without the broken file
        let chan = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<5 { try FormatsFixture.writeFile(gray, "\(chan)/g\(i).png") }
        try FormatsFixture.writeFile(Array(rgb.prefix(rgb.count - 15)), "\(chan)/broken.png")
        let d = try Dataset.load(directory: chan, imageOptions: o)
        XCTAssertEqual(d.trainImages.channels, 1)
        XCTAssertEqual(d.train.count + d.test.count, 5)
        XCTAssertTrue(d.imageFolder?.skipped.first?.contains("broken.png") == true, "\(d.imageFolder?.skipped ?? [])")
        // one RGB image that decodes makes it RGB (the broken one beside it still skipped)
        try FormatsFixture.writeFile(rgb, "\(chan)/colour.png")
        let withColour = try Dataset.load(directory: chan, imageOptions: o)
        XCTAssertEqual(withColour.trainImages.channels, 3)
        XCTAssertEqual(withColour.imageFolder?.skipped.count, 1)
        // 4×4 images and a truncated 8×8 one: 4×4, not "the images differ in size"
        let size = try FormatsFixture.makeTempDirectory(self)
        try FormatsFixture.writeFile(Array(big.prefix(big.count - 15)), "\(size)/a-broken.png")   // first in path order
        for i in 0..<5 { try FormatsFixture.writeFile(gray, "\(size)/g\(i).png") }
        let sized = try Dataset.load(directory: size, imageOptions: o)
        XCTAssertEqual([sized.trainImages.height, sized.trainImages.width], [4, 4])
        XCTAssertEqual(sized.imageFolder?.skipped.count, 1)
        // without the flag the broken file stops the load; a whole 8×8 image is a size that differs
        FormatsFixture.assertVAEError(["a-broken.png"]) { _ = try Dataset.load(directory: size, imageOptions: self.options()) }
        try FormatsFixture.writeFile(big, "\(size)/a-broken.png")
        FormatsFixture.assertVAEError(["the images differ in size", "8×8", "4×4", "--image-size"]) { _ = try Dataset.load(directory: size, imageOptions: o) }
        // a file read alone (--images) whose header gives another size but whose pixels are broken
        // is a broken file (which --skip-bad-files skips), not an image to resize
        try FormatsFixture.writeFile(Array(big.prefix(big.count - 15)), "\(size)/cut.png")
        FormatsFixture.assertVAEError(["cut.png", "truncated"]) {
            _ = try ImageFolder.readFile("\(size)/cut.png", channels: 1, height: 4, width: 4, options: ImageFolderOptions())
        }
    }

    /// train/ with val/ (torchvision's and Kaggle's layout) is a split too; train/ alone holds the classes.
    func testTrainWithValidationOrAlone() throws {
        let png = PNG.encode(width: 1, height: 1, channels: 1, pixels: [7])
        let dir = try FormatsFixture.makeTempDirectory(self)
        for part in ["train", "val"] {
            for cls in ["a", "b"] {
                for i in 0..<(part == "train" ? 3 : 1) {
                    try FileManager.default.createDirectory(atPath: "\(dir)/\(part)/\(cls)", withIntermediateDirectories: true)
                    try FormatsFixture.writeFile(png, "\(dir)/\(part)/\(cls)/\(i).png")
                }
            }
        }
        let d = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(d.classNames, ["a", "b"])
        XCTAssertEqual([d.train.count, d.test.count], [6, 2])
        XCTAssertEqual(d.imageFolder?.ownSplit, true)
        XCTAssertTrue(d.notes.contains { $0.contains("val/ is the test split") }, "\(d.notes)")
        // a run's config from before the layout was recorded (no "layout": nil) reads the folder
        // as that run trained on it — train and val as two classes, split by the fraction
        var old = options()
        old.layout = nil
        let before = try Dataset.load(directory: dir, imageOptions: old)
        XCTAssertEqual(before.classNames, ["train", "val"])
        XCTAssertEqual(before.train.count + before.test.count, 8)
        XCTAssertEqual(try JSONDecoder().decode(ImageFolderOptions.self, from: Data(#"{"testFraction":0.1,"skipBadFiles":false}"#.utf8)).layout, nil)
        XCTAssertEqual(try JSONDecoder().decode(ImageFolderOptions.self, from: try JSONEncoder().encode(ImageFolderOptions())).layout, 3)
        // val/ beside train/ and test/ is not read, and said
        try FileManager.default.createDirectory(atPath: "\(dir)/test/a", withIntermediateDirectories: true)
        try FormatsFixture.writeFile(png, "\(dir)/test/a/t.png")
        let t = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual([t.train.count, t.test.count], [6, 1])
        XCTAssertTrue(t.notes.contains { $0.contains("val/ not read") }, "\(t.notes)")
        // train/ alone: its class folders are the classes, split by the fraction
        try FileManager.default.removeItem(atPath: dir + "/test")
        try FileManager.default.removeItem(atPath: dir + "/val")
        let alone = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(alone.classNames, ["a", "b"])
        XCTAssertEqual(alone.train.count + alone.test.count, 6)
        XCTAssertEqual(alone.imageFolder?.ownSplit, false)
        XCTAssertTrue(alone.notes.contains { $0.contains("train/ but no test/") }, "\(alone.notes)")
        // train/ beside another folder, no test split: train/'s folders are the classes, the other
        // is not read, and said (the classes were 'train' and 'unlabeled': a and b merged into one)
        try FileManager.default.createDirectory(atPath: "\(dir)/unlabeled", withIntermediateDirectories: true)
        try FormatsFixture.writeFile(png, "\(dir)/unlabeled/u.png")
        let beside = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual(beside.classNames, ["a", "b"])
        XCTAssertEqual(beside.train.count + beside.test.count, 6)
        XCTAssertTrue(beside.notes.contains { $0.contains("unlabeled/ not read (train/ is the data)") }, "\(beside.notes)")
        // a run of layout 2 read it as two classes, and still does
        var two = options()
        two.layout = 2
        XCTAssertEqual(try Dataset.load(directory: dir, imageOptions: two).classNames, ["train", "unlabeled"])
        // a class folder named train among others (CIFAR-100 has one) is a class: the folder's classes stay
        let vehicles = try FormatsFixture.makeTempDirectory(self)
        for cls in ["bus", "train", "tractor"] { for i in 0..<3 { try writePNG("\(vehicles)/\(cls)/\(i).png", width: 1, height: 1, channels: 1, pixels: [UInt8(i)]) } }
        let v = try Dataset.load(directory: vehicles, imageOptions: options())
        XCTAssertEqual(v.classNames, ["bus", "tractor", "train"])
        XCTAssertEqual(v.train.count + v.test.count, 9)
        XCTAssertFalse(v.notes.contains { $0.contains("not read") }, "\(v.notes)")
    }

    func testLayoutErrors() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let png = PNG.encode(width: 1, height: 1, channels: 1, pixels: [7])
        try FileManager.default.createDirectory(atPath: dir + "/cats", withIntermediateDirectories: true)
        try FormatsFixture.writeFile(png, dir + "/cats/a.png")
        try FormatsFixture.writeFile(png, dir + "/loose.png")
        FormatsFixture.assertVAEError(["mixes images", "loose.png"]) { _ = try Dataset.load(directory: dir, imageOptions: self.options()) }

        let split = try FormatsFixture.makeTempDirectory(self)
        for (part, cls) in [("train", "cat"), ("test", "dog")] {
            try FileManager.default.createDirectory(atPath: "\(split)/\(part)/\(cls)", withIntermediateDirectories: true)
            try FormatsFixture.writeFile(png, "\(split)/\(part)/\(cls)/a.png")
        }
        FormatsFixture.assertVAEError(["dog is not a class in train/"]) { _ = try Dataset.load(directory: split, imageOptions: self.options()) }
        FormatsFixture.assertVAEError(["--test-fraction"]) {
            var o = self.options()
            o.testFraction = 1
            _ = try Dataset.load(directory: dir + "/cats", imageOptions: o)
        }

        // an image that is a symbolic link to a missing file is named, not silently left out
        let linked = try FormatsFixture.makeTempDirectory(self)
        try FileManager.default.createDirectory(atPath: linked + "/cats", withIntermediateDirectories: true)
        try FormatsFixture.writeFile(png, linked + "/cats/a.png")
        XCTAssertEqual(symlink(linked + "/gone.png", linked + "/cats/b.png"), 0)
        FormatsFixture.assertVAEError(["cats/b.png", "symbolic link to a missing file", "remove it"]) {
            _ = try Dataset.load(directory: linked, imageOptions: self.options())
        }
        // --skip-bad-files leaves it out, and logs it with the other skipped files
        var skipping = self.options()
        skipping.skipBadFiles = true
        let kept = try Dataset.load(directory: linked, imageOptions: skipping)
        XCTAssertEqual(kept.trainImages.count, 1)
        XCTAssertTrue(kept.imageFolder?.skipped.contains { $0.contains("cats/b.png") && $0.contains("missing file") } == true, "\(kept.imageFolder?.skipped ?? [])")
        // a non-image dangling link is no image: ignored
        unlink(linked + "/cats/b.png")
        XCTAssertEqual(symlink(linked + "/gone.txt", linked + "/cats/notes.txt"), 0)
        XCTAssertEqual(try Dataset.load(directory: linked, imageOptions: self.options()).trainImages.count, 1)

        // an image whose name is not UTF-8 cannot be named back to the system: refused, asking to rename it
        let latin1 = try FormatsFixture.makeTempDirectory(self)
        try FileManager.default.createDirectory(atPath: latin1 + "/cats", withIntermediateDirectories: true)
        try FormatsFixture.writeFile(png, latin1 + "/cats/a.png")
        let badName = Array((latin1 + "/cats/caf").utf8) + [0xE9] + Array(".png".utf8)
        let fd = open(badName.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = png.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        FormatsFixture.assertVAEError(["not valid UTF-8", "rename it"]) {
            _ = try Dataset.load(directory: latin1, imageOptions: self.options())
        }
    }

    /// JPEG class folders (written with libturbojpeg's own encoder) load close to their PNG twins.
    func testJPEGFolder() throws {
        guard JPEG.isAvailable else { throw XCTSkip("libturbojpeg.so.0 not installed (apt-get install libturbojpeg0)") }
        let set = try idxDigits(40)
        let dir = try FormatsFixture.makeTempDirectory(self)
        for i in 0..<40 {
            let px = Array(set.images[(i * 784)..<((i + 1) * 784)])
            try FileManager.default.createDirectory(atPath: "\(dir)/train/\(set.labels[i])", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(dir)/test/\(set.labels[i])", withIntermediateDirectories: true)
            try FormatsFixture.writeFile(try JPEG.encode(width: 28, height: 28, channels: 1, pixels: px, quality: 100),
                                         "\(dir)/train/\(set.labels[i])/\(String(format: "%03d", i)).jpg")
        }
        try FormatsFixture.writeFile(try JPEG.encode(width: 28, height: 28, channels: 1, pixels: Array(set.images[0..<784])),
                                     "\(dir)/test/\(set.labels[0])/0.jpg")
        let d = try Dataset.load(directory: dir, imageOptions: options())
        XCTAssertEqual([d.train.count, d.trainImages.channels], [40, 1])
        let order = (0..<40).sorted { (set.labels[$0], $0) < (set.labels[$1], $1) }
        let expected = order.flatMap { Array(set.images[($0 * 784)..<(($0 + 1) * 784)]) }
        let meanError = zip(d.trainImages.images.array, expected).map { abs(Double($0) - Double($1)) }.reduce(0, +) / Double(expected.count)
        XCTAssertLessThan(meanError, 2.0)
    }

    /// Short in-process fuzzing of the folder loader's decode path (PNG of several kinds, and JPEG
    /// when libturbojpeg is present): every mutated input decodes or throws a `VAEError`.
    func testMutatedImagesNeverCrash() throws {
        var seeds = [PNG.encode(width: 6, height: 5, channels: 4, pixels: FormatsFixture.bytes(count: 120, seed: 3)),
                     PNG.encode(width: 7, height: 3, channels: 1, pixels: FormatsFixture.bytes(count: 21, seed: 4))]
        if JPEG.isAvailable {
            seeds.append(try JPEG.encode(width: 16, height: 8, channels: 3, pixels: FormatsFixture.bytes(count: 384, seed: 5)))
            seeds.append(try JPEG.encode(width: 8, height: 8, channels: 1, pixels: FormatsFixture.bytes(count: 64, seed: 6)))
        }
        var mutator = ParserFuzzTests.Mutator(seed: 77)
        var decoded = 0
        for i in 0..<3000 {
            let bytes = mutator.mutate(seeds[i % seeds.count])
            do {
                let px = try ImageFolder.decode(bytes, source: "m.img", channels: 1 + 2 * (i & 1), height: 4, width: 5, maxPixels: 1 << 20)
                XCTAssertEqual(px.count, (1 + 2 * (i & 1)) * 20)
                decoded += 1
            } catch let e as VAEError {
                XCTAssertTrue(e.message.hasPrefix("m.img"), e.message)
            }
        }
        XCTAssertGreaterThan(decoded, 0)
    }
}
