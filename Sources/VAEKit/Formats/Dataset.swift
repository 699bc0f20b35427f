/// A set of same-sized images with optional labels.
public struct ImageSet: Sendable {
    /// count × (channels·height·width) bytes; each image CHW, row-major, raw 0...255. In memory, or
    /// memory-mapped from an image-folder cache (`Pixels`).
    public var images: Pixels
    /// `count` labels, or empty when the set has no labels.
    public var labels: [UInt8]
    public var count: Int
    public var channels: Int, height: Int, width: Int
    public var pixelsPerImage: Int { channels * height * width }
    /// An image folder's files, relative to the folder, one per image (nil for IDX and CIFAR-10):
    /// what `vae encode` and `vae anomaly` name an image by, beside its index.
    public var names: [String]? = nil
    /// Each image's index in the set it was taken from (`subset`: a conditional model's test images
    /// of its trained classes), so that ids name the same images as in the whole set; nil: 0, 1, ….
    public var sourceIndices: [Int]? = nil

    public init(images: [UInt8], labels: [UInt8], count: Int, channels: Int, height: Int, width: Int) {
        self.init(pixels: Pixels(images), labels: labels, count: count, channels: channels, height: height, width: width)
    }

    public init(pixels images: Pixels, labels: [UInt8], count: Int, channels: Int, height: Int, width: Int) {
        precondition(count >= 0 && channels >= 0 && height >= 0 && width >= 0, "ImageSet sizes must not be negative")
        precondition(count == 0 || images.count / count == channels * height * width && images.count % count == 0,
                     "ImageSet: \(images.count) bytes are not \(count) images of \(channels)×\(height)×\(width)")
        precondition(labels.isEmpty || labels.count == count, "ImageSet: \(labels.count) labels for \(count) images")
        self.images = images
        self.labels = labels
        self.count = count
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// The first `n` images (and labels); all of them when `n >= count`, none when `n <= 0`.
    public func prefix(_ n: Int) -> ImageSet {
        let kept = min(max(n, 0), count)
        if kept == count { return self }
        var s = ImageSet(pixels: images.bytes(0..<(kept * pixelsPerImage)),
                         labels: labels.isEmpty ? [] : Array(labels[0..<kept]),
                         count: kept, channels: channels, height: height, width: width)
        s.names = names.map { Array($0[0..<kept]) }
        s.sourceIndices = sourceIndices.map { Array($0[0..<kept]) }
        return s
    }
}

/// A training and a test set read from a folder: MNIST / Fashion-MNIST IDX files (plain or .gz) or
/// the CIFAR-10 binary version.
public struct Dataset: Sendable {
    /// "mnist", "fashion-mnist", "cifar10" or the folder name.
    public var name: String
    public var directory: String
    public var train: any DataSource
    public var test: any DataSource
    /// One name per class (10 for the known sets; the class folders' names for an image folder,
    /// none for a flat one).
    public var classNames: [String]
    /// How an image folder was read (nil for IDX and CIFAR-10).
    public var imageFolder: ImageFolderInfo? = nil
    /// How a CSV table was read (nil for images).
    public var table: TableInfo? = nil
    /// How a file of sequences was read for training (nil otherwise).
    public var sequence: SequenceOptions? = nil
    /// Things the user should be told about the data (rows dropped, a layout detected).
    public var notes: [String] = []
    /// A table read with a run's schema that is not the file the run trained on: every row is a
    /// test row, and `train` holds the same rows (not the run's training rows).
    public var isNewTable = false
    /// The class names are only the labels' numbers: an IDX folder whose path names neither
    /// MNIST nor Fashion-MNIST (its labels may be a named set's, by index).
    public var classNamesAreNumbers = false

    /// One item's shape [C, H, W].
    public var itemShape: [Int] { train.itemShape }
    /// Whether the items are images (pictures can be drawn of them); a table is not.
    public var isImages: Bool { train is ImageSet }

    public init(name: String, directory: String, train: any DataSource, test: any DataSource, classNames: [String]) {
        self.name = name
        self.directory = directory
        self.train = train
        self.test = test
        self.classNames = classNames
    }

    public static let mnistClassNames = (0..<10).map(String.init)
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]
    public static let cifar10ClassNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// The most a single dataset file may hold, compressed or decompressed. MNIST's largest file is
    /// 47 MB decompressed, a CIFAR-10 batch 31 MB; anything past this is corrupt or a gzip bomb.
    public static let maxFileBytes = 512 << 20

    static let idxFiles = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    static let cifarFiles = (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]
    static let cifarRecordBytes = 1 + 3 * 32 * 32

    /// Loads the dataset in `directory`, detecting its format from the file names: IDX, CIFAR-10,
    /// else a folder of PNG/JPEG images (`ImageFolder`, read with `imageOptions`).
    public static func load(directory: String, imageOptions: ImageFolderOptions = ImageFolderOptions()) throws -> Dataset {
        guard AtomicFile.exists(directory) else {
            // a table or text file named by its extension is no "data directory"
            if [".csv", ".tsv", ".txt", ".smi", ".gz", ".text"].contains(where: { directory.lowercased().hasSuffix($0) }) {
                throw VAEError("data file \(directory) does not exist — check its path (a relative one starts in the folder the command runs in)")
            }
            throw VAEError("data directory \(directory) does not exist — pass --data with a folder of PNG/JPEG images (class subfolders for labels), of MNIST-style IDX files or CIFAR-10 .bin batches, or a CSV table or text file (`apt-get install dataset-fashion-mnist` puts Fashion-MNIST in /usr/share/datasets/fashion-mnist)")
        }
        guard AtomicFile.isDirectory(directory) else {
            throw VAEError("\(directory) is a file, not a data directory — pass --data DIR with the folder that holds the dataset files")
        }
        // IDX: any of the four files (plain or .gz) present means "this is an IDX folder".
        let idxPaths = idxFiles.map { findIDXFile(directory, $0) }
        if idxPaths.contains(where: { $0 != nil }) {
            let missing = zip(idxFiles, idxPaths).filter { $0.1 == nil }.map { "\($0.0)[.gz]" }
            guard missing.isEmpty else {
                throw VAEError("\(directory) is missing \(missing.joined(separator: ", ")) — an MNIST-style dataset needs all four IDX files (plain or .gz)")
            }
            return try loadIDX(directory: directory, paths: idxPaths.map { $0! })
        }
        for folder in [directory, join(directory, "cifar-10-batches-bin")] {
            let present = cifarFiles.map { AtomicFile.exists(join(folder, $0)) }
            if present.contains(true) {
                let missing = zip(cifarFiles, present).filter { !$0.1 }.map { $0.0 }
                guard missing.isEmpty else {
                    throw VAEError("\(folder) is missing \(missing.joined(separator: ", ")) — CIFAR-10 needs data_batch_1.bin … data_batch_5.bin and test_batch.bin (the \"binary version\" of CIFAR-10)")
                }
                return try loadCIFAR10(directory: directory, folder: folder)
            }
        }
        if try ImageFolderScan.looksLikeImageFolder(directory) {
            return try ImageFolder.load(directory: directory, options: imageOptions)
        }
        throw VAEError("\(directory) holds no dataset: looked for .png/.jpg images (flat, in class subfolders, or in train/ and test/), \(idxFiles.map { "\($0)[.gz]" }.joined(separator: ", ")) (MNIST/Fashion-MNIST) and \(cifarFiles.joined(separator: ", ")) (CIFAR-10, also in cifar-10-batches-bin/) — pass --data DIR with such a folder, or `apt-get install dataset-fashion-mnist` and use --data /usr/share/datasets/fashion-mnist")
    }

    // MARK: IDX

    static func findIDXFile(_ directory: String, _ name: String) -> String? {
        let plain = join(directory, name)
        if AtomicFile.exists(plain) && !AtomicFile.isDirectory(plain) { return plain }
        let gz = plain + ".gz"
        if AtomicFile.exists(gz) && !AtomicFile.isDirectory(gz) { return gz }
        return nil
    }

    /// Reads a dataset file, decompressing it when it starts with the gzip magic (whatever its name).
    public static func readMaybeGzip(_ path: String) throws -> [UInt8] {
        let raw = try AtomicFile.readAll(path: path, maxBytes: maxFileBytes)
        guard Gzip.isGzip(raw) else { return raw }
        return try Gzip.decompress(raw, maxOutput: maxFileBytes, source: path)
    }

    static func loadIDX(directory: String, paths: [String]) throws -> Dataset {
        let trainImages = try IDX.parseImages(readMaybeGzip(paths[0]), source: paths[0])
        let trainLabels = try IDX.parseLabels(readMaybeGzip(paths[1]), source: paths[1])
        let testImages = try IDX.parseImages(readMaybeGzip(paths[2]), source: paths[2])
        let testLabels = try IDX.parseLabels(readMaybeGzip(paths[3]), source: paths[3])

        for (images, labels, imagePath, labelPath) in [(trainImages, trainLabels, paths[0], paths[1]),
                                                        (testImages, testLabels, paths[2], paths[3])] {
            guard images.count > 0, images.rows > 0, images.cols > 0 else {
                throw VAEError("\(imagePath) holds no images (dimensions [\(images.count), \(images.rows), \(images.cols)]) — is the file complete?")
            }
            guard labels.count == images.count else {
                throw VAEError("\(labelPath) has \(FormatText.grouped(labels.count)) labels but \(imagePath) has \(FormatText.grouped(images.count)) images — the two files must come from the same set")
            }
        }
        guard trainImages.rows == testImages.rows, trainImages.cols == testImages.cols else {
            throw VAEError("\(paths[0]) holds \(trainImages.rows)×\(trainImages.cols) images but \(paths[2]) holds \(testImages.rows)×\(testImages.cols) — the training and test files must come from the same dataset")
        }

        let (name, classNames) = idxNameAndClasses(directory)
        var names = classNames
        if name == "mnist" || name == "fashion-mnist" {
            for (labels, path) in [(trainLabels, paths[1]), (testLabels, paths[3])] {
                if let index = labels.firstIndex(where: { $0 >= 10 }) {
                    throw VAEError("\(path): label \(labels[index]) at index \(index) is out of range 0...9 for \(name) — is the file corrupt?")
                }
            }
        } else {
            let maxLabel = max(trainLabels.max() ?? 0, testLabels.max() ?? 0)
            if Int(maxLabel) >= names.count { names = (0...Int(maxLabel)).map(String.init) }
        }
        // every value up to the largest label is a class: a stray byte (200 among 0…9) makes 201
        var occurring = Set<UInt8>(trainLabels)
        occurring.formUnion(testLabels)
        var idxNotes: [String] = []
        if names.count >= 4 && occurring.count * 2 < names.count {
            let present = occurring.sorted().map(String.init)
            // (the classes are 0…9 for an IDX set whose labels stay below 10, whatever its largest)
            let top = Int(occurring.max() ?? 0)
            let range = top == names.count - 1 ? "labels run to \(top), so there are \(names.count) classes" : "there are \(names.count) classes (0…\(names.count - 1), as in MNIST)"
            idxNotes.append("\(paths[1]) and \(paths[3]): \(range), but only \(occurring.count) of these values occur (\(present.prefix(12).joined(separator: ", "))\(present.count > 12 ? ", …" : "")) — is a label byte damaged?")
        }
        var d = Dataset(
            name: name, directory: directory,
            train: ImageSet(images: trainImages.pixels, labels: trainLabels, count: trainImages.count,
                            channels: 1, height: trainImages.rows, width: trainImages.cols),
            test: ImageSet(images: testImages.pixels, labels: testLabels, count: testImages.count,
                           channels: 1, height: testImages.rows, width: testImages.cols),
            classNames: names)
        d.classNamesAreNumbers = name != "mnist" && name != "fashion-mnist"
        d.notes = idxNotes
        return d
    }

    /// "fashion-mnist" if the folder's path mentions "fashion", "mnist" if it mentions "mnist", else
    /// the folder's name. A relative path such as "." is resolved first.
    static func idxNameAndClasses(_ directory: String) -> (String, [String]) {
        var candidates = [directory]
        if let resolved = AtomicFile.realPath(directory) { candidates.append(resolved) }
        let lowered = candidates.map { $0.lowercased() }
        if lowered.contains(where: { $0.contains("fashion") }) { return ("fashion-mnist", fashionMNISTClassNames) }
        if lowered.contains(where: { $0.contains("mnist") }) { return ("mnist", mnistClassNames) }
        return (folderName(candidates.last ?? directory), mnistClassNames)
    }

    static func folderName(_ path: String) -> String {
        let name = AtomicFile.split(path).name
        return name.isEmpty ? path : name
    }

    // MARK: CIFAR-10

    static func loadCIFAR10(directory: String, folder: String) throws -> Dataset {
        var trainImages: [UInt8] = []
        var trainLabels: [UInt8] = []
        for file in cifarFiles.dropLast() {
            let (images, labels) = try readCIFARBatch(join(folder, file))
            trainImages += images
            trainLabels += labels
        }
        let (testImages, testLabels) = try readCIFARBatch(join(folder, "test_batch.bin"))
        // the class names: batches.meta.txt, one per line, as CIFAR-10 ships it (a folder made in its
        // layout names its own classes there; they were called airplane, automobile, … regardless)
        var names = cifar10ClassNames
        let meta = join(folder, "batches.meta.txt")
        if AtomicFile.exists(meta) {
            let text = String(decoding: try AtomicFile.readAll(path: meta, maxBytes: 1 << 20), as: UTF8.self)
            // (each name with its line in the file, blank lines counted)
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbered = lines.enumerated().filter { !$0.element.isEmpty }
            let given = numbered.map(\.element)
            if given.isEmpty {
                throw VAEError("\(meta) names no class (its lines are blank): give one name per label, one per line, or remove the file (CIFAR-10's names are then used)")
            }
            if let top = (trainLabels + testLabels).max(), Int(top) >= given.count {
                throw VAEError("\(meta) names \(given.count) classes, but a record has label \(top): give one name per label 0…\(top), one per line")
            }
            // a name given twice is two classes no command can tell apart (--classes NAME took the first)
            var seen: [String: Int] = [:]
            for (i, name) in given.enumerated() {
                if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    throw VAEError("\(meta) line \(numbered[i].offset + 1): the class name holds a control character (a NUL?) — is it a text file?")
                }
                if let first = seen[name] {
                    throw VAEError("\(meta) names '\(TableEncoder.cut(name))' twice (classes \(first) and \(i)): each class needs a name of its own")
                }
                seen[name] = i
            }
            names = given
        }
        var data = Dataset(
            name: names == cifar10ClassNames ? "cifar10" : folderName(directory), directory: directory,
            train: ImageSet(images: trainImages, labels: trainLabels, count: trainLabels.count, channels: 3, height: 32, width: 32),
            test: ImageSet(images: testImages, labels: testLabels, count: testLabels.count, channels: 3, height: 32, width: 32),
            classNames: names)
        let unused = Set(0..<names.count).subtracting(trainLabels.map(Int.init)).sorted()
        if !unused.isEmpty {
            data.notes.append("\(unused.count) of the \(names.count) classes have no training image (\(unused.prefix(5).map { names[$0] }.joined(separator: ", "))\(unused.count > 5 ? ", …" : "")): a conditional model still has them, and draws them from what it never saw\(AtomicFile.exists(meta) ? "" : " — name the classes in batches.meta.txt, one per line")")
        }
        return data
    }

    /// One CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B).
    public static func readCIFARBatch(_ path: String) throws -> (images: [UInt8], labels: [UInt8]) {
        let bytes = try readMaybeGzip(path)
        return try parseCIFARBatch(bytes, source: path)
    }

    public static func parseCIFARBatch(_ bytes: [UInt8], source: String) throws -> (images: [UInt8], labels: [UInt8]) {
        let record = cifarRecordBytes
        guard !bytes.isEmpty else {
            throw VAEError("\(source) is empty — re-download the CIFAR-10 binary version")
        }
        guard bytes.count % record == 0 else {
            var hint = " — is it truncated, or not the CIFAR-10 binary version?"
            if bytes.count % (record + 1) == 0 { hint = " — it looks like CIFAR-100 (2 label bytes per record); SwiftVAE reads CIFAR-10" }
            throw VAEError("\(source) is \(FormatText.bytes(bytes.count)), not a multiple of the \(record)-byte CIFAR-10 record (1 label + 3072 pixels)\(hint)")
        }
        let count = bytes.count / record
        var images = [UInt8](repeating: 0, count: count * (record - 1))
        var labels = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeBufferPointer { input in
            try images.withUnsafeMutableBufferPointer { out in
                for index in 0..<count {
                    let label = input[index * record]
                    guard label < 10 else {
                        throw VAEError("\(source): record \(index + 1) has label \(label); CIFAR-10 labels are 0...9 — is it the CIFAR-10 binary version, and is the file intact?")
                    }
                    labels[index] = label
                    // Pixels are already CHW (1024 R, 1024 G, 1024 B): copy them as they are.
                    let from = input.baseAddress! + index * record + 1
                    (out.baseAddress! + index * (record - 1)).update(from: from, count: record - 1)
                }
            }
        }
        return (images, labels)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

extension Dataset {
    /// The data with its labels numbered as a run's classes, matched by name: the run's classes
    /// first, in its order, then the data's names the run never had (in the data's order). An image
    /// folder numbers its own class folders (a folder holding `devices` and `places` of a run
    /// trained on `devices`, `mimetypes`, `places` calls `places` 1, the run 2): read so, a
    /// conditional model's one-hot and `--classes`/`--normal` mean the same class for both.
    /// Image sets only (a table's encoder matches its labels by name already); self when the
    /// names already agree, the items have no labels, or the classes would pass 256.
    public func relabelled(toClasses known: [String]) -> Dataset {
        guard classNames != known, train is ImageSet || test is ImageSet, test.hasLabels || train.hasLabels else { return self }
        var names = known
        let unseen = classNames.filter { !known.contains($0) }
        names += unseen
        guard names.count <= 256 else { return self }
        let map = classNames.map { UInt8(names.firstIndex(of: $0)!) }
        func remap(_ s: any DataSource) -> any DataSource {
            guard var set = s as? ImageSet else { return s }
            set.labels = set.labels.map { Int($0) < map.count ? map[Int($0)] : $0 }
            return set
        }
        var d = self
        d.train = remap(train)
        d.test = remap(test)
        d.classNames = names
        return d
    }
}
