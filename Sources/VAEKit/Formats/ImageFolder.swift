#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAECore
import VAEImageIO

/// How an image folder was read: the options, the files skipped (`--skip-bad-files`), the cache.
public struct ImageFolderInfo: Sendable {
    public var options: ImageFolderOptions
    /// "path: what is wrong", one per skipped file.
    public var skipped: [String]
    /// The cache file the pixels are mapped from ("" when it could not be kept).
    public var cacheFile: String
    /// True when the folder was not decoded again but read from `cacheFile`.
    public var fromCache: Bool
    /// True when the folder's train/ and test/ are the split (not --test-fraction's).
    public var ownSplit = false
    /// "COUNT HASH" of the image files the folder holds, by their names (`ImageFolder.fileList`):
    /// a run records it, and a command on its folder tells a changed one.
    public var fileList = ""
}

/// A folder of PNG / JPEG images as a `Dataset` (see `ImageFolderScan` for the layout). Decoded
/// once into a cache file that later loads memory-map.
public enum ImageFolder {
    static let formatVersion = "3"   // 2: the files' names in the cache; 3: --skip-bad-files decides the shape on readable files only

    public static func load(directory: String, options: ImageFolderOptions = ImageFolderOptions()) throws -> Dataset {
        try options.validate()
        let scan = try ImageFolderScan(directory: directory, skipBad: options.skipBadFiles, layout: options.layout)
        var (train, test) = scan.hasOwnSplit ? (scan.train, scan.test)
            : (options.split ?? 1) >= 2 ? stableSplit(scan.train, fraction: options.testFraction, directory: directory, classNames: scan.classNames)
            : split(scan.train, fraction: options.testFraction)
        // Test images in a seeded shuffled order, so the first ones (pictures, --test-limit) mix classes.
        var rng = RNG(seed: ImageFolderOptions.splitSeed ^ 0x7E57)
        shuffle(&test, &rng)

        let name = Dataset.folderName(resolved(directory))
        let key = cacheKey(directory: directory, options: options, scan: scan, train: train, test: test)
        let hash = ImageFolderCache.hash(key)
        let folderHash = String(ImageFolderCache.hash(resolved(directory)).prefix(12))
        let cacheDir = options.cacheDirectory ?? ImageFolderCache.defaultDirectory()
        let fileName = "\(folderHash)-\(hash).\(ImageFolderCache.fileExtension)"
        // A run trained with the channels left to the images (auto) stores the channels they chose,
        // and every later command asks for those: the training's cache, made under "auto", holds
        // the same pixels when it chose them. (Each command decoded the folder again, and replaced
        // the training's cache with its own, which the next training replaced again.)
        var candidates = [(fileName, hash, options.channels)]
        if options.channels != nil {
            var auto = options
            auto.channels = nil
            let h = ImageFolderCache.hash(cacheKey(directory: directory, options: auto, scan: scan, train: train, test: test))
            candidates.append(("\(folderHash)-\(h).\(ImageFolderCache.fileExtension)", h, options.channels))
        }
        for (file, key, channels) in candidates {
            guard let dir = cacheDir, let (meta, mapped) = ImageFolderCache.open(dir + "/" + file, key: key),
                  channels == nil || meta.channels == channels else { continue }
            var data = ImageFolderCache.dataset(meta, mapped, name: name, directory: directory)
            data.imageFolder = ImageFolderInfo(options: options, skipped: meta.skipped, cacheFile: dir + "/" + file, fromCache: true,
                                              ownSplit: scan.hasOwnSplit, fileList: fileList(scan, directory: directory))
            data.notes = emptyFolderNotes(scan)
            return data
        }

        // Where to decode to: the cache folder, else a temporary file that is unlinked once mapped.
        var target: String
        var keep = true
        if let dir = cacheDir, ImageFolderCache.makeDirectories(dir), access(dir, W_OK) == 0 {
            AtomicFile.removeStaleTemporaries(in: dir)
            target = dir + "/" + fileName
        } else {
            let tmp = ProcessInfo_tmp()
            target = tmp + "/swiftvae-\(getpid())-" + fileName
            keep = false
        }
        var skipped: [String] = scan.skipped
        let shape = try outputShape(&train, &test, options: options, skipped: &skipped)
        let writer = try ImageFolderCache.Writer(path: target)
        var trainLabels: [UInt8] = [], testLabels: [UInt8] = []
        try decodeAll(&train, shape: shape, options: options, writer: writer, labels: &trainLabels, skipped: &skipped)
        try decodeAll(&test, shape: shape, options: options, writer: writer, labels: &testLabels, skipped: &skipped)
        guard !train.isEmpty else { throw VAEError("\(directory): no training image could be read (\(skipped.count) skipped)") }
        let meta = ImageFolderCache.Meta(key: hash, directory: resolved(directory), trainCount: train.count, testCount: test.count,
                                         channels: shape.channels, height: shape.height, width: shape.width,
                                         classNames: scan.classNames, labelled: !scan.classNames.isEmpty, skipped: skipped,
                                         trainFiles: train.map { relative($0.path, to: directory) },
                                         testFiles: test.map { relative($0.path, to: directory) })
        try writer.finish(meta: meta, trainLabels: trainLabels, testLabels: testLabels)
        guard let (m, file) = ImageFolderCache.open(target, key: hash) else {
            _ = try MappedFile(path: target)   // the error of the file system, when it is one (it was dropped for a guess)
            throw VAEError("the image cache \(target) just written reads back damaged — delete it and run again (is the disk full?)")
        }
        if keep {
            removeOtherCaches(in: AtomicFile.split(target).directory, prefix: folderHash + "-", keeping: fileName)
        } else {
            unlink(target)  // the mapping stays valid
        }
        var data = ImageFolderCache.dataset(m, file, name: name, directory: directory)
        data.imageFolder = ImageFolderInfo(options: options, skipped: skipped, cacheFile: keep ? target : "", fromCache: false,
                                          ownSplit: scan.hasOwnSplit, fileList: fileList(scan, directory: directory))
        data.notes = emptyFolderNotes(scan)
        return data
    }

    /// Class folders without an image are no classes (torchvision refuses them; here a note).
    static func emptyFolderNotes(_ scan: ImageFolderScan) -> [String] {
        guard !scan.emptyFolders.isEmpty else { return scan.layoutNotes }
        let shown = scan.emptyFolders.prefix(5).joined(separator: ", ") + (scan.emptyFolders.count > 5 ? ", …" : "")
        return scan.layoutNotes + ["\(scan.emptyFolders.count == 1 ? "a class folder holds" : "\(scan.emptyFolders.count) class folders hold") no image, so \(scan.emptyFolders.count == 1 ? "it is" : "they are") no class: \(shown)"]
    }

    /// One image file's bytes as the folder loader reads them: PNG or JPEG (told apart by their
    /// first bytes), converted to `channels` (1 or 3), resized and centre-cropped to height×width.
    /// Returns CHW bytes; a problem is a `VAEError` naming `source`.
    public static func decode(_ bytes: [UInt8], source: String, channels: Int, height: Int, width: Int,
                              maxPixels: Int = ImageFolderOptions.maxSourcePixels, background: UInt8 = 0) throws -> [UInt8] {
        precondition((channels == 1 || channels == 3) && height > 0 && width > 0, "ImageFolder.decode: bad output shape")
        let image = try ImageFile.decode(bytes, path: source, channels: channels, maxPixels: maxPixels)
        var out = [UInt8](repeating: 0, count: channels * height * width)
        image.pixels.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { o in
                ImageResize.convert(px, width: image.width, height: image.height, channels: image.channels,
                                    outChannels: channels, outHeight: height, outWidth: width, background: background,
                                    into: o.baseAddress!)
            }
        }
        return out
    }

    /// One image file read as a run trained on a folder reads its images: PNG or JPEG, converted
    /// to `channels`, transparent pixels on `options.background`, and — when the run was trained
    /// with `--image-size` — resized and centre-cropped to height×width. Without it an image of
    /// another size is an error naming the file (training refuses mixed sizes the same way).
    /// `options` nil: a run trained on IDX/CIFAR files (black background, exact size). CHW bytes.
    /// An image file's width and height, from its header.
    public static func fileDimensions(_ path: String) throws -> (width: Int, height: Int) {
        let h = try ImageFile.header(try ImageFile.read(path), path: path)
        return (h.width, h.height)
    }

    public static func readFile(_ path: String, channels: Int, height: Int, width: Int,
                                options: ImageFolderOptions?) throws -> [UInt8] {
        let bytes = try ImageFile.read(path)
        if options?.imageSize == nil {
            let h = try ImageFile.header(bytes, path: path)
            guard h.width == width && h.height == height else {
                // a file whose pixels do not decode is broken, whatever size its header gives (the
                // decoder's error is the one --skip-bad-files skips)
                _ = try ImageFile.decode(bytes, path: path, channels: h.isColor ? 3 : 1)
                // (width and height named: the model's shape reads C×H×W, --image-size H×W, an image viewer W×H)
                throw VAEError("\(path) is \(h.width) wide × \(h.height) tall, but the model takes images \(width) wide × \(height) tall; resize it to \(width) wide × \(height) tall")
            }
        }
        return try decode(bytes, source: path, channels: channels, height: height, width: width,
                          background: UInt8(clamping: options?.background ?? 0))
    }

    /// The image file extensions a folder is read with (PNG and JPEG).
    public static func isImageName(_ name: String) -> Bool { ImageFolderScan.isImageName(name) }

    /// The split of runs since 2026-12-07 (`ImageFolderOptions.split` 2): each class's images
    /// ranked by a seeded hash of their names within the class folder, the first round(fraction·n)
    /// (at least 1 when fraction > 0, never the whole class) the test set. An image's place depends
    /// on its own name only: a file added, removed or renamed in one class moves at most one other
    /// image of that class across the line, and another class's changes (or a class folder's new
    /// name) move none. (`split` below, the runs of before, shuffled the classes in turn from one
    /// random stream: one file added to a class reshuffled every class after it, so commands on a
    /// changed folder scored the run's training images as test images.)
    static func stableSplit(_ items: [ImageFolderScan.Item], fraction: Double, directory: String,
                            classNames: [String]) -> ([ImageFolderScan.Item], [ImageFolderScan.Item]) {
        var byLabel: [Int: [(rank: UInt64, item: ImageFolderScan.Item)]] = [:]
        for item in items {
            // the name within its class folder (the class's own name left out)
            var parts = relative(item.path, to: directory).split(separator: "/", omittingEmptySubsequences: true)
            if classNames.indices.contains(item.label), let c = parts.firstIndex(where: { $0 == classNames[item.label] }), c + 1 < parts.count {
                parts = Array(parts[(c + 1)...])
            }
            var h = FNV64()
            h.add(ImageFolderOptions.splitSeed)
            Array(parts.joined(separator: "/").utf8).withUnsafeBytes { h.add($0) }
            byLabel[item.label, default: []].append((RNG.mixed(h.value), item))   // (FNV's low bits mix poorly)
        }
        var train: [ImageFolderScan.Item] = [], test: [ImageFolderScan.Item] = []
        for label in byLabel.keys.sorted() {
            let group = byLabel[label]!.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.item.path.utf8.lexicographicallyPrecedes($1.item.path.utf8) }
            let k = min(max(Int((fraction * Double(group.count)).rounded()), fraction > 0 ? 1 : 0), group.count - 1)
            test += group[0..<max(0, k)].map(\.item)
            train += group[max(0, k)...].map(\.item)
        }
        train.sort(by: labelThenPath)
        test.sort(by: labelThenPath)
        return (train, test)
    }

    /// The folder's image files by their names under it (sorted; the split's input): "COUNT HASH".
    static func fileList(_ scan: ImageFolderScan, directory: String) -> String {
        let names = (scan.train + scan.test).map { relative($0.path, to: directory) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var h = FNV64()
        for n in names { Array(n.utf8 + [0]).withUnsafeBytes { h.add($0) } }
        return "\(names.count) \(String(h.value, radix: 16))"
    }

    /// What changed between two `fileList`s, for a message ("files added, removed or renamed: then
    /// 60 images, now 61"); nil when they are the same.
    public static func changedFiles(then: String, now: String) -> String? {
        guard then != now else { return nil }
        let count = { (list: String) in list.split(separator: " ").first.map(String.init) ?? "?" }
        return "files added, removed or renamed: then \(count(then)) images, now \(count(now))"
    }

    /// The order of a split's items: by label, then by path.
    static func labelThenPath(_ a: ImageFolderScan.Item, _ b: ImageFolderScan.Item) -> Bool {
        a.label != b.label ? a.label < b.label : a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
    }

    /// The split of runs before 2026-12-07 (`ImageFolderOptions.split` nil), kept for them: each
    /// class's items (in path order) shuffled with the split seed, one random stream over the
    /// classes in turn; round(fraction·n) of them (at least 1 when fraction > 0) go to the test
    /// set, at least one image of a class staying in training.
    static func split(_ items: [ImageFolderScan.Item], fraction: Double) -> ([ImageFolderScan.Item], [ImageFolderScan.Item]) {
        var byLabel: [Int: [ImageFolderScan.Item]] = [:]
        for item in items { byLabel[item.label, default: []].append(item) }
        var rng = RNG(seed: ImageFolderOptions.splitSeed)
        var train: [ImageFolderScan.Item] = [], test: [ImageFolderScan.Item] = []
        for label in byLabel.keys.sorted() {
            var group = byLabel[label]!
            shuffle(&group, &rng)
            // round(fraction·n), but at least one when fraction > 0, and never the whole class.
            let k = min(max(Int((fraction * Double(group.count)).rounded()), fraction > 0 ? 1 : 0), group.count - 1)
            test += group[0..<max(0, k)]
            train += group[max(0, k)...]
        }
        train.sort(by: labelThenPath)
        return (train, test)
    }

    /// Fisher–Yates: for i from the end, swap i with a uniform j ≤ i.
    static func shuffle<T>(_ a: inout [T], _ rng: inout RNG) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.int(below: i + 1)) }
    }

    /// Everything the decoded pixels depend on: the folder, each file (path, size, mtime, label,
    /// split) and the options.
    static func cacheKey(directory: String, options: ImageFolderOptions, scan: ImageFolderScan,
                         train: [ImageFolderScan.Item], test: [ImageFolderScan.Item]) -> String {
        var key = "swiftvae-image-folder \(formatVersion)\n\(resolved(directory))\n"
        key += "size \(options.imageSize.map { "\($0)" } ?? "native") channels \(options.channels.map(String.init) ?? "auto") skip \(options.skipBadFiles)\n"
        if let b = options.background, b != 0 { key += "background \(b)\n" }   // black keeps the older caches valid
        key += "classes \(scan.classNames.joined(separator: "/"))\n"
        for (tag, items) in [("train", train), ("test", test)] {
            key += "\(tag) \(items.count)\n"
            for i in items { key += "\(i.path)\t\(i.size)\t\(i.mtime)\t\(i.label)\n" }
        }
        return key
    }

    /// `path` under `directory` without the folder's part (the name a user finds the file by).
    static func relative(_ path: String, to directory: String) -> String {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    static func resolved(_ directory: String) -> String { AtomicFile.realPath(directory) ?? directory }

    static func ProcessInfo_tmp() -> String {
        if let t = getenv("TMPDIR"), t.pointee != 0 { return String(cString: t) }
        return "/tmp"
    }

    /// Removes the older caches of the same folder (other options or file lists).
    static func removeOtherCaches(in directory: String, prefix: String, keeping: String) {
        guard let listing = try? ImageFolderScan.list(directory) else { return }
        for f in listing.files where f.name.hasPrefix(prefix) && f.name.hasSuffix("." + ImageFolderCache.fileExtension) && f.name != keeping {
            unlink(directory + "/" + f.name)
        }
    }

    struct Shape { var channels: Int, height: Int, width: Int }

    /// Runs `work(i)` for every item, `chunk` at a time across the thread pool, then `use(i, result)`
    /// in item order on the calling thread (so output stays in order and deterministic).
    static func inChunks<R>(_ count: Int, chunk: Int = 256, _ work: (Int) -> R, _ use: (Int, R) throws -> Void) rethrows {
        var results = [R?](repeating: nil, count: chunk)
        for start in stride(from: 0, to: count, by: chunk) {
            let n = min(chunk, count - start)
            results.withUnsafeMutableBufferPointer { buf in
                let base = buf.baseAddress!
                // Task t takes items t, t + T, …: each result slot is written by one task only.
                let tasks = min(n, ThreadPool.threadCount * 4)
                ThreadPool.parallel(tasks: tasks) { t in
                    for k in stride(from: t, to: n, by: tasks) { base[k] = work(start + k) }
                }
            }
            for k in 0..<n { try use(start + k, results[k]!) }
        }
    }

    /// An image file's error: with `skipBadFiles` (--skip-bad-files) it is added to `skipped`
    /// (without its advice to skip, which is taken), else thrown. A missing JPEG library always throws.
    public static func skipOrThrow(_ error: VAEError, skipBadFiles: Bool, into skipped: inout [String]) throws {
        guard skipBadFiles, !error.message.contains(JPEG.package) else { throw error }
        // the log says what was wrong; the advice to skip is already taken
        skipped.append(withoutSkipAdvice(error.message, also: [" — is the file complete? (--skip-bad-files skips broken images)"]))
    }

    /// An image file's message without its advice to pass --skip-bad-files (and the `also` endings):
    /// for the log of skipped files, and for a file the flag does not skip (a mask).
    public static func withoutSkipAdvice(_ message: String, also: [String] = []) -> String {
        var m = message
        for hint in also + [" — remove it, or pass --skip-bad-files", " (--skip-bad-files skips broken images)", " (--skip-bad-files skips it)"]
            where m.hasSuffix(hint) { m.removeLast(hint.count) }
        return m
    }

    /// Reads every header: the output shape (from the options, else the images, which must then
    /// agree in size) and channels (gray only when every image is gray). Bad files are skipped
    /// (`--skip-bad-files`) or stop the load.
    static func outputShape(_ train: inout [ImageFolderScan.Item], _ test: inout [ImageFolderScan.Item],
                            options: ImageFolderOptions, skipped: inout [String]) throws -> Shape {
        var first: (path: String, width: Int, height: Int)?
        var headers: [String: ImageFile.Header] = [:]
        func check(_ items: inout [ImageFolderScan.Item]) throws {
            var kept: [ImageFolderScan.Item] = []
            kept.reserveCapacity(items.count)
            let all = items
            try inChunks(all.count, { i -> Result<ImageFile.Header, VAEError> in
                do { return .success(try ImageFile.header(try ImageFile.read(all[i].path), path: all[i].path)) }
                catch let e as VAEError { return .failure(e) } catch { return .failure(VAEError("\(all[i].path): \(error)")) }
            }) { i, result in
                let header: ImageFile.Header
                switch result {
                case .failure(let e): try skipOrThrow(e, skipBadFiles: options.skipBadFiles, into: &skipped); return
                case .success(let h): header = h
                }
                if let f = first {
                    // (with --skip-bad-files the sizes are compared once the broken files are out, below)
                    if options.imageSize == nil && !options.skipBadFiles && (f.width != header.width || f.height != header.height) {
                        throw sizesDiffer(f, (all[i].path, header.width, header.height))
                    }
                } else {
                    first = (all[i].path, header.width, header.height)
                }
                headers[all[i].path] = header
                kept.append(all[i])
            }
            items = kept
        }
        try check(&train)
        try check(&test)
        if options.skipBadFiles {
            // A truncated file's header reads, its pixels do not (the decoding pass skips it): such a
            // file must not choose the folder's size or channels. The files that would — a size
            // other than most images', the colour images when the channels are the images' choice —
            // are decoded whole here, and the broken ones skipped now.
            var broken = Set<String>()
            func decodes(_ path: String) throws -> Bool {
                do {
                    _ = try ImageFile.decode(try ImageFile.read(path), path: path, channels: headers[path]!.isColor ? 3 : 1)
                    return true
                } catch let e as VAEError {
                    try skipOrThrow(e, skipBadFiles: true, into: &skipped)
                    broken.insert(path)
                    return false
                }
            }
            let all = train + test
            func size(_ item: ImageFolderScan.Item) -> [Int] { let h = headers[item.path]!; return [h.width, h.height] }
            if options.imageSize == nil {
                var counts: [[Int]: Int] = [:]
                for item in all { counts[size(item), default: 0] += 1 }
                if counts.count > 1, let most = all.map(size).max(by: { counts[$0]! < counts[$1]! }) {
                    // the first image of another size that decodes settles it (a folder of two sizes
                    // is not decoded whole to say so)
                    for item in all where size(item) != most {
                        if try decodes(item.path), let m = all.first(where: { size($0) == most }) {
                            throw sizesDiffer((m.path, most[0], most[1]), (item.path, size(item)[0], size(item)[1]))
                        }
                    }
                }
            }
            if options.channels == nil {
                // one colour image that decodes makes the folder RGB
                for item in all where headers[item.path]!.isColor && !broken.contains(item.path) { if try decodes(item.path) { break } }
            }
            train.removeAll { broken.contains($0.path) }
            test.removeAll { broken.contains($0.path) }
            first = (train + test).first.map { ($0.path, size($0)[0], size($0)[1]) }
            if options.imageSize == nil, let f = first, let other = (train + test).first(where: { size($0) != [f.width, f.height] }) {
                throw sizesDiffer(f, (other.path, size(other)[0], size(other)[1]))
            }
        }
        guard let f = first else {
            // the first skipped file's reason, so that the error says why (the list is a note only
            // once some images were read)
            throw VAEError("no image in the folder could be read: \(skipped.count) skipped (--skip-bad-files)\(skipped.first.map { ", the first: \($0)" } ?? "")")
        }
        let anyColor = (train + test).contains { headers[$0.path]!.isColor }
        let size = options.imageSize ?? [f.height, f.width]
        guard size[0] <= ImageFolderOptions.maxSide, size[1] <= ImageFolderOptions.maxSide else {
            throw VAEError("the images are \(f.width)×\(f.height); over \(ImageFolderOptions.maxSide) pixels a side — pass --image-size N to make them smaller")
        }
        return Shape(channels: options.channels ?? (anyColor ? 3 : 1), height: size[0], width: size[1])
    }

    /// How the error of a folder whose images differ in size begins.
    public static let sizesDifferPrefix = "the images differ in size: "

    static func sizesDiffer(_ a: (path: String, width: Int, height: Int), _ b: (path: String, width: Int, height: Int)) -> VAEError {
        VAEError(sizesDifferPrefix + "\(a.path) is \(a.width)×\(a.height), \(b.path) is \(b.width)×\(b.height) — pass --image-size N (or HxW) to resize them all, e.g. --image-size \(max(4, min(a.width, a.height, b.width, b.height, ImageFolderOptions.maxSide) / 4 * 4))")
    }

    /// Decodes, converts and resizes `items` (in parallel, chunk by chunk), appending their pixels
    /// to `writer` in order.
    static func decodeAll(_ items: inout [ImageFolderScan.Item], shape: Shape, options: ImageFolderOptions,
                          writer: ImageFolderCache.Writer, labels: inout [UInt8], skipped: inout [String]) throws {
        var kept: [ImageFolderScan.Item] = []
        let all = items
        try inChunks(all.count, { i -> Result<[UInt8], VAEError> in
            do {
                return .success(try decode(try ImageFile.read(all[i].path), source: all[i].path, channels: shape.channels,
                                           height: shape.height, width: shape.width,
                                           background: UInt8(clamping: options.background ?? 0)))
            } catch let e as VAEError { return .failure(e) } catch { return .failure(VAEError("\(all[i].path): \(error)")) }
        }) { i, result in
            switch result {
            case .failure(let e): try skipOrThrow(e, skipBadFiles: options.skipBadFiles, into: &skipped)
            case .success(let pixels):
                try pixels.withUnsafeBufferPointer { try writer.append($0) }
                if all[i].label >= 0 { labels.append(UInt8(all[i].label)) }
                kept.append(all[i])
            }
        }
        items = kept
    }
}
