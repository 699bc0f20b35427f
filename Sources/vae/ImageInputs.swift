import ArgumentParser
import Foundation
import VAECore
import VAEKit
import VAEViz

/// Images a user hands to a command (`--images DIR`, `--mask FILE.png`, `--masks DIR`), and the
/// per-image output of `--out-dir`.
enum ImageInputs {
    /// The image files of a folder (PNG and JPEG, as training reads; `pngOnly`: PNG), sorted by name.
    static func files(in dir: String, pngOnly: Bool = false) throws -> [String] {
        guard AtomicFile.isDirectory(dir) else { throw VAEError("\(dir) is not a folder of images; pass --images DIR with \(pngOnly ? "PNG" : "PNG or JPEG") files") }
        let all = try FileManager.default.contentsOfDirectory(atPath: dir)
        let names = all.filter { pngOnly ? !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") : ImageFolder.isImageName($0) }   // hidden files are not the user's images
            .sorted()
        // what is left out, said (the count of images written was all there was to notice)
        let folders = all.filter { !$0.hasPrefix(".") && AtomicFile.isDirectory(dir + "/" + $0) }
        if !folders.isEmpty {
            Console.note("note: \(dir) holds \(Console.counted(folders.count, "folder")) (\(folders.sorted().prefix(3).joined(separator: ", "))\(folders.count > 3 ? ", …" : "")); --images reads the images in \(dir) itself, not those in its folders")
        }
        if pngOnly {
            let others = all.filter { !$0.hasPrefix(".") && ImageFolder.isImageName($0) && !$0.lowercased().hasSuffix(".png") }
            if !others.isEmpty { Console.note("note: \(Console.counted(others.count, "JPEG file")) in \(dir) left out: only PNGs are coded exactly (a JPEG's pixels are not its file)") }
        }
        guard !names.isEmpty else { throw VAEError("\(dir) has no image files (\(pngOnly ? ".png" : ".png, .jpg, .jpeg"))") }
        // a FIFO named like an image hung the read; a folder or device is no image either
        if let odd = names.first(where: { AtomicFile.regularFileSize(dir + "/" + $0) == nil && AtomicFile.exists(dir + "/" + $0) }) {
            throw VAEError("\(dir)/\(odd) is not a regular file (a folder, FIFO or device named like an image): move it out of \(dir)")
        }
        // a name that is not UTF-8 comes back with U+FFFD in it, and no file has that name
        if let bad = names.first(where: { $0.unicodeScalars.contains("\u{FFFD}") && !AtomicFile.exists(dir + "/" + $0) }) {
            throw VAEError("\(dir) holds an image whose name is not valid UTF-8 (\(bad)) — rename it")
        }
        return names
    }

    /// One image as [C·H·W] values in [0, 1] in the model's `shape`, read as the run read its
    /// training images (`options`: the run's stored image-folder options — its background, and
    /// resizing when it was trained with --image-size; nil: black, the exact size).
    static func read(_ path: String, shape: [Int], options: ImageFolderOptions?) throws -> [Float] {
        let bytes = try ImageFolder.readFile(path, channels: shape[0], height: shape[1], width: shape[2], options: options)
        return bytes.map { Float($0) / 255 }
    }

    /// All images of `dir` as a [N, D] tensor, with their file names. `skipBadFiles`
    /// (--skip-bad-files): an unreadable image is left out and named in the log, as training does.
    static func load(_ dir: String, shape: [Int], options: ImageFolderOptions?, skipBadFiles: Bool) throws -> (names: [String], x: Tensor) {
        let all = try files(in: dir)
        let d = shape.reduce(1, *)
        var names: [String] = [], values: [Float] = [], skipped: [String] = []
        names.reserveCapacity(all.count)
        for n in all {
            do {
                values += try read(dir + "/" + n, shape: shape, options: options)
                names.append(n)
            } catch let e as VAEError where e.message.contains("--skip-bad-files") {
                // a broken file (its error offers the flag); an image of the wrong size stops the command
                try ImageFolder.skipOrThrow(e, skipBadFiles: skipBadFiles, into: &skipped)
            }
        }
        Console.noteSkipped(skipped)
        guard !names.isEmpty else { throw VAEError("\(dir) has no readable image: all \(all.count) were skipped") }
        return (names, Tensor(shape: [names.count, d], data: values))
    }

    /// The run's image options for `--images`, after checking that the image flags given on this
    /// command line (if any) are the run's: the model sees images read as it was trained.
    static func options(_ loaded: Checkpoint.Loaded, _ flags: DataOptions) throws -> ImageFolderOptions? {
        let stored = loaded.config?.data?.imageOptions
        try flags.checkImageFlags(stored: stored)
        return stored
    }

    /// A mask PNG: white (≥ 0.5) pixels are missing. Returns observed flags [C·H·W].
    /// `--mask FILE.png`, the one mask of every image, must leave something to fill (an all-black
    /// one gave "inf dB" for every method); one of `--masks DIR` may leave its image as it is.
    /// `resizedAs`: the run's image options when the images it goes with are resized to the model
    /// (--image-size): the mask, drawn at the images' own size, is resized the same way.
    /// `forImage`: the image whose mask it is (--masks DIR), named when it is missing.
    static func mask(_ path: String, shape: [Int], oneForAll: Bool = false, resizedAs options: ImageFolderOptions? = nil,
                     forImage: String? = nil) throws -> [Float] {
        if !oneForAll, let image = forImage, !AtomicFile.exists(path) {
            throw VAEError("\(path) does not exist: --masks holds one mask per image, named as the image (\(image))")
        }
        var resize: ImageFolderOptions? = nil
        if let size = options?.imageSize {
            // a mask drawn on the image (its size) is resized and cropped as the image is; one at
            // the model's size is read as it is; any other size matches neither, and resizing it
            // anyway moved its missing pixels (a 40 × 28 mask's left 8 columns became 3)
            let m = try ImageFolder.fileDimensions(path)
            let image = try forImage.map { try ImageFolder.fileDimensions($0) }
            if m.width == shape[2] && m.height == shape[1] {
                resize = nil
            } else if let image, image == m {
                resize = ImageFolderOptions(); resize!.imageSize = size
            } else {
                let sizes = (image.map { ["\(forImage!) (\($0.width) wide × \($0.height) tall)"] } ?? []) + ["the model's images (\(shape[2]) wide × \(shape[1]) tall)"]
                throw VAEError("\(path) is \(m.width) wide × \(m.height) tall: a mask is the size of \(sizes.joined(separator: " or of ")) — it is resized and cropped as its image is, or read as it is")
            }
        }
        let gray: [Float]
        do { gray = try read(path, shape: [1, shape[1], shape[2]], options: resize) } catch let e as VAEError {
            throw VAEError(ImageFolder.withoutSkipAdvice(e.message))   // (--skip-bad-files skips images, not masks)
        }
        let plane = shape[1] * shape[2]
        var out = [Float](repeating: 1, count: shape[0] * plane)
        for ch in 0..<shape[0] { for p in 0..<plane where gray[p] >= 0.5 { out[ch * plane + p] = 0 } }
        if oneForAll && !out.contains(0) {
            throw VAEError("\(path) marks no pixel missing (none is white, ≥ 50% gray): paint the pixels to fill white")
        }
        return out
    }

    /// Writes one PNG per row of `images` into `dir` (created), named `names[i]` (".png" added
    /// when missing), each written atomically.
    static func writeEach(_ images: Tensor, shape: [Int], names: [String], to dir: String) throws {
        let files = outputNames(names)
        // a link in the folder would have the output replace the file it names, outside the folder
        // (as vae decompress --out-dir, refused before anything is written)
        if let link = files.first(where: { AtomicFile.isSymbolicLink(dir + "/" + $0) }) {
            throw VAEError("\(dir)/\(link) is a symbolic link: --out-dir writes its own files there and would replace the file the link names; remove the link or choose another folder (nothing was written)")
        }
        try AtomicFile.makeFolders(dir, what: "--out-dir")
        let d = shape.reduce(1, *)
        for (i, file) in files.enumerated() {
            let png = ImageGrid.png(flat: Array(UnsafeBufferPointer(start: images.pointer + i * d, count: d)), count: 1,
                                    channels: shape[0], height: shape[1], width: shape[2], columns: 1, border: 0, scale: 1)
            try AtomicFile.write(png, to: dir + "/" + file)
        }
        print("wrote \(Console.counted(names.count, "image")) to \(dir)")
        noteOlderNumbered(in: dir, written: Set(files))
    }

    /// Numbered outputs (sample-0001.png …) of an earlier, longer run left in the folder beside
    /// these: said, not removed (the folder mixed two runs' images without a word).
    static func noteOlderNumbered(in dir: String, written: Set<String>) {
        // the prefixes written here: "sample" of sample-0001.png
        let prefixes = Set(written.compactMap(numberedPrefix))
        guard !prefixes.isEmpty, let all = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        let older = all.filter { !written.contains($0) && numberedPrefix($0).map(prefixes.contains) == true }.sorted()
        guard let first = older.first else { return }
        Console.note("note: \(dir) also holds \(Console.counted(older.count, "older numbered image")) (\(first)\(older.count > 1 ? " … \(older.last!)" : "")) that this command did not write: another run's, left as they are")
    }

    /// The PNG written for each input name: its name with .png for its extension (photo.jpg →
    /// photo.png), or .png added when that would be another input's output (a.jpg beside a.png).
    /// One count per output name, so 60,000 names take a moment, not minutes (it compared every
    /// name with every other).
    static func outputNames(_ names: [String]) -> [String] {
        func stem(_ n: String) -> String {
            guard let dot = n.lastIndex(of: "."), dot != n.startIndex else { return n }
            return String(n[..<dot])
        }
        func isPNG(_ n: String) -> Bool { n.lowercased().hasSuffix(".png") }
        var wanted: [String: Int] = [:]   // output name → how many distinct inputs would take it
        for n in Set(names) { wanted[isPNG(n) ? n : stem(n) + ".png", default: 0] += 1 }
        return names.map { name in
            if isPNG(name) { return name }
            let png = stem(name) + ".png"
            return wanted[png, default: 0] > 1 ? name + ".png" : png
        }
    }

    /// "prefix-0001" … names for outputs that have no input file.
    /// A folder as given, without trailing slashes ("png/g16/" named its files png/g16//a.png).
    static func folder(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    /// "sample" of a name `numbered` gives (sample-0001.png: the prefix, a dash, 4 digits, .png).
    static func numberedPrefix(_ name: String) -> String? {
        guard name.hasSuffix(".png"), let dash = name.lastIndex(of: "-") else { return nil }
        let digits = name[name.index(after: dash)...].dropLast(4)
        return digits.count == 4 && digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? String(name[..<dash]) : nil
    }

    /// File names for the first `count` items of a test set: `prefix-NNNN.png` by each item's id —
    /// its place in the whole test set, from 0, as vae encode, --from and the report number it (they
    /// were numbered from 1: test-0001.png was test item 0).
    static func testNames(_ prefix: String, _ set: any DataSource, _ count: Int) -> [String] {
        (0..<count).map { i in String(format: "%@-%04d", prefix, Int(set.itemID(i)) ?? i) }
    }

    static func numbered(_ prefix: String, _ count: Int) -> [String] {
        (0..<count).map { String(format: "%@-%04d", prefix, $0 + 1) }
    }
}

/// `--class NAME|INDEX` of a conditional model.
enum ClassChoice {
    /// A class named (exactly, else ignoring case) or numbered by `token`, among `count` classes; a
    /// name wins over an index, so a table whose labels are 1, 2, 3 is addressed by its values.
    /// (`--class`, `--classes`, `--normal`.)
    static func index(of token: String, classNames: [String], count: Int) -> Int? {
        if let i = classNames.firstIndex(of: token) ?? classNames.firstIndex(where: { $0.lowercased() == token.lowercased() }),
           i < count { return i }
        // a number names the class of that value ("1" the class "1.0", as pandas writes labels of a
        // column that held a NaN) before it is an index
        if let v = Double(token), v.isFinite, let i = classNames.firstIndex(where: { Double($0) == v }), i < count { return i }
        if let i = Int(token), (0..<count).contains(i) { return i }
        return nil
    }

    /// `trained`: the classes the run trained on (`vae train --classes`; nil = all) — the
    /// condition of any other class was never seen, so decoding it is refused.
    static func resolve(_ text: String, model: VAE, classNames: [String], trained: [Int]? = nil) throws -> Int {
        guard model.isConditional else {
            throw ValidationError("--class needs a conditional model; train one with `vae train --conditional`")
        }
        let n = model.config.conditionSize
        let name = { (i: Int) in i < classNames.count ? classNames[i] : String(i) }
        var found = index(of: text, classNames: classNames, count: n)
        if found == nil, let i = Int(text) {
            guard (0..<n).contains(i) else { throw ValidationError("--class \(i) is out of range: the model knows classes 0…\(n - 1)") }
            found = i
        }
        guard let i = found else {
            throw ValidationError("--class \"\(text)\" is not a class of this model; its classes are \(classNames.prefix(n).joined(separator: ", "))")
        }
        if let trained, !trained.contains(i) {
            throw ValidationError("--class \(text): the run was trained on classes \(trained.map(name).joined(separator: ", ")) only (vae train --classes), so the model never saw class \(name(i))")
        }
        return i
    }

    /// The class of the images of `--images` (nil for an unconditional model), resolved before the
    /// folder is read: a conditional model reads every image with its label, and a folder of images
    /// has none, so `--class` gives the one label of them all (`condition(_:count:model:)` makes
    /// the images' condition from it). `command` words the alternative.
    static func forImages(_ cls: String?, model: VAE, loaded: Checkpoint.Loaded, command: String) throws -> Int? {
        guard model.isConditional else {
            if let cls { _ = try resolve(cls, model: model, classNames: []) }   // says that --class needs a conditional model
            return nil
        }
        guard let cls else {
            throw ValidationError("a conditional model reads each image with its label: give --class NAME|INDEX (every image of --images read as that class), or \(command) the labelled test set (--data)")
        }
        return try resolve(cls, model: model, classNames: loaded.config?.data?.classNames ?? [], trained: loaded.options.classes)
    }

    /// `--class` of reconstruct, denoise and inpaint is the label of `--images`; the test set's
    /// images come with their own.
    static func requireImages(_ cls: String?, images: String?) throws {
        if cls != nil && images == nil {
            throw ValidationError("--class is the label of the images of --images DIR; the test set's images are read with their own labels")
        }
    }

    /// The condition for `count` items of class `cls` (nil for an unconditional model).
    static func condition(_ cls: Int?, count: Int, model: VAE) -> Tensor? {
        guard model.isConditional else { return nil }
        return Batch.oneHot(Array(repeating: Int32(cls ?? 0), count: count), classes: model.config.conditionSize)
    }
}
