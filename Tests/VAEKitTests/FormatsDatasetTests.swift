import Foundation
import XCTest
@testable import VAEKit

final class FormatsTestsDataset: XCTestCase {
    /// Writes an IDX dataset: `trainCount`/`testCount` images of rows×cols, labels i % 10.
    func writeIDXSet(_ dir: String, trainCount: Int = 6, testCount: Int = 4, rows: Int = 3, cols: Int = 2,
                     gzip: Bool, testLabelCount: Int? = nil) throws -> (train: [UInt8], test: [UInt8]) {
        let train = FormatsFixture.bytes(count: trainCount * rows * cols, seed: 10)
        let test = FormatsFixture.bytes(count: testCount * rows * cols, seed: 11)
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte", try IDX.encodeImages(train, count: trainCount, rows: rows, cols: cols)),
            ("train-labels-idx1-ubyte", IDX.encodeLabels((0..<trainCount).map { UInt8($0 % 10) })),
            ("t10k-images-idx3-ubyte", try IDX.encodeImages(test, count: testCount, rows: rows, cols: cols)),
            ("t10k-labels-idx1-ubyte", IDX.encodeLabels((0..<(testLabelCount ?? testCount)).map { UInt8(9 - $0 % 10) })),
        ]
        for (name, bytes) in files {
            try FormatsFixture.writeFile(gzip ? Gzip.compress(bytes) : bytes, dir + "/" + name + (gzip ? ".gz" : ""))
        }
        return (train, test)
    }

    func testIDXFolderPlainAndGzip() throws {
        for gzip in [false, true] {
            let dir = try FormatsFixture.makeTempDirectory(self, name: "my-digits")
            let (train, test) = try writeIDXSet(dir, gzip: gzip)
            let set = try Dataset.load(directory: dir)
            XCTAssertTrue(set.name.hasPrefix("my-digits"), set.name)
            XCTAssertEqual(set.directory, dir)
            XCTAssertEqual(set.classNames, (0..<10).map(String.init))
            XCTAssertEqual(set.trainImages.count, 6)
            XCTAssertEqual(set.testImages.count, 4)
            XCTAssertEqual([set.trainImages.channels, set.trainImages.height, set.trainImages.width], [1, 3, 2])
            XCTAssertEqual(set.trainImages.pixelsPerImage, 6)
            XCTAssertEqual(set.trainImages.images.array, train)
            XCTAssertEqual(set.testImages.images.array, test)
            XCTAssertEqual(set.trainImages.labels, [0, 1, 2, 3, 4, 5])
            XCTAssertEqual(set.testImages.labels, [9, 8, 7, 6])
            let first = set.trainImages.prefix(2)
            XCTAssertEqual(first.count, 2)
            XCTAssertEqual(first.images.array, Array(train.prefix(12)))
            XCTAssertEqual(first.labels, [0, 1])
            XCTAssertEqual(set.trainImages.prefix(100).count, 6)
            XCTAssertEqual(set.trainImages.prefix(-1).images, [])
        }
    }

    func testPlainNamedFileThatIsGzipIsDecompressed() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let (train, _) = try writeIDXSet(dir, gzip: false)
        let path = dir + "/train-images-idx3-ubyte"
        try FormatsFixture.writeFile(Gzip.compress(try AtomicFile.readAll(path: path, maxBytes: 1 << 20)), path)
        XCTAssertEqual(try Dataset.load(directory: dir).trainImages.images.array, train)
    }

    func testNameDetection() throws {
        for (folder, name, firstClass) in [("fashion-stuff", "fashion-mnist", "T-shirt/top"), ("MNIST-copy", "mnist", "0")] {
            let parent = try FormatsFixture.makeTempDirectory(self)
            let dir = parent + "/" + folder
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            _ = try writeIDXSet(dir, gzip: true)
            let set = try Dataset.load(directory: dir)
            XCTAssertEqual(set.name, name)
            XCTAssertEqual(set.classNames.count, 10)
            XCTAssertEqual(set.classNames.first, firstClass)
        }
        XCTAssertEqual(Dataset.fashionMNISTClassNames.last, "Ankle boot")
    }

    func testLabelImageCountMismatch() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        _ = try writeIDXSet(dir, gzip: true, testLabelCount: 3)
        FormatsFixture.assertVAEError(["t10k-labels-idx1-ubyte.gz has 3 labels", "t10k-images-idx3-ubyte.gz has 4 images"]) {
            try Dataset.load(directory: dir)
        }
    }

    func testMissingIDXFile() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        _ = try writeIDXSet(dir, gzip: true)
        try FileManager.default.removeItem(atPath: dir + "/t10k-labels-idx1-ubyte.gz")
        FormatsFixture.assertVAEError(["missing t10k-labels-idx1-ubyte[.gz]"]) { try Dataset.load(directory: dir) }
    }

    func testEmptyAndMissingFolders() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        FormatsFixture.assertVAEError(["holds no dataset", "train-images-idx3-ubyte", "data_batch_1.bin", "--data DIR", "apt-get install dataset-fashion-mnist"]) {
            try Dataset.load(directory: dir)
        }
        FormatsFixture.assertVAEError(["does not exist", "--data with a folder of PNG/JPEG images", "or a CSV table"]) { try Dataset.load(directory: dir + "/nope") }
        try FormatsFixture.writeFile([1], dir + "/file")
        FormatsFixture.assertVAEError(["is a file, not a data directory"]) { try Dataset.load(directory: dir + "/file") }
    }

    // MARK: CIFAR-10

    /// A CIFAR-10 record: label, then 1024 R, 1024 G, 1024 B where R = seed, G = seed+1, B = pixel index.
    func cifarRecord(label: UInt8, seed: UInt8) -> [UInt8] {
        var record: [UInt8] = [label]
        record += [UInt8](repeating: seed, count: 1024)
        record += [UInt8](repeating: seed &+ 1, count: 1024)
        record += (0..<1024).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: index) }
        return record
    }

    func writeCIFAR(_ dir: String, skip: Set<String> = []) throws {
        for (fileIndex, name) in Dataset.cifarFiles.enumerated() where !skip.contains(name) {
            var records: [UInt8] = []
            for record in 0..<3 {
                let label = UInt8((fileIndex * 3 + record) % 10)
                records += cifarRecord(label: label, seed: UInt8(fileIndex * 10 + record))
            }
            try FormatsFixture.writeFile(records, dir + "/" + name)
        }
    }

    func testCIFAR10() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try writeCIFAR(dir)
        let set = try Dataset.load(directory: dir)
        XCTAssertEqual(set.name, "cifar10")
        XCTAssertEqual(set.classNames.first, "airplane")
        XCTAssertEqual(set.classNames.last, "truck")
        XCTAssertEqual(set.trainImages.count, 15)
        XCTAssertEqual(set.testImages.count, 3)
        XCTAssertEqual([set.trainImages.channels, set.trainImages.height, set.trainImages.width], [3, 32, 32])
        XCTAssertEqual(set.trainImages.images.count, 15 * 3072)
        XCTAssertEqual(set.trainImages.labels, (0..<15).map { UInt8($0 % 10) })
        XCTAssertEqual(set.testImages.labels, [5, 6, 7])
        // Image 4 = data_batch_2.bin record 1: R plane 11, G plane 12, B plane = pixel index (CHW kept).
        let image = Array(set.trainImages.images.array[(4 * 3072)..<(5 * 3072)])
        XCTAssertEqual(image[0], 11)
        XCTAssertEqual(image[1023], 11)
        XCTAssertEqual(image[1024], 12)
        XCTAssertEqual(image[2047], 12)
        XCTAssertEqual(image[2048], 0)
        XCTAssertEqual(image[2048 + 33], 33)   // row 1, column 1 of the blue plane
        XCTAssertEqual(set.testImages.images[2 * 3072], 52)
    }

    /// batches.meta.txt names the classes (one per line, as CIFAR-10 ships it, trailing blank lines
    /// too): a folder made in CIFAR's layout names its own; a label past them is an error, and
    /// classes without a training image are noted.
    func testCIFARClassNamesFromBatchesMeta() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try writeCIFAR(dir)   // labels 0…9 in the training batches
        try FormatsFixture.writeFile(Array((Dataset.cifar10ClassNames.joined(separator: "\n") + "\n\n").utf8), dir + "/batches.meta.txt")
        let standard = try Dataset.load(directory: dir)
        XCTAssertEqual(standard.name, "cifar10")
        XCTAssertEqual(standard.notes, [])
        let names = (0..<12).map { "icon-kind-\($0)" }
        try FormatsFixture.writeFile(Array(names.joined(separator: "\n").utf8), dir + "/batches.meta.txt")
        let own = try Dataset.load(directory: dir)
        XCTAssertEqual(own.classNames, names)
        XCTAssertNotEqual(own.name, "cifar10")
        XCTAssertEqual(own.notes.count, 1)
        XCTAssertTrue(own.notes[0].hasPrefix("2 of the 12 classes have no training image (icon-kind-10, icon-kind-11)"), own.notes[0])
        try FormatsFixture.writeFile(Array("a\nb\nc\n".utf8), dir + "/batches.meta.txt")
        XCTAssertThrowsError(try Dataset.load(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("batches.meta.txt names 3 classes, but a record has label 9"), "\(e)")
        }
        // a name given twice, a control character, no name at all: refused (accepted silently, the
        // first two made classes no command could tell apart, the last fell back to CIFAR-10's names)
        for (text, said) in [((0..<10).map { _ in "a" }.joined(separator: "\n"), "names 'a' twice (classes 0 and 1)"),
                             ((0..<10).map { "c\($0)" }.joined(separator: "\n") + "\nx\u{0}y", "line 11: the class name holds a control character"),
                             ("\n \n\n", "names no class (its lines are blank)")] {
            try FormatsFixture.writeFile(Array(text.utf8), dir + "/batches.meta.txt")
            XCTAssertThrowsError(try Dataset.load(directory: dir)) { e in XCTAssertTrue("\(e)".contains(said), "\(e)") }
        }
    }

    func testCIFAR10InSubfolder() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/cifar-10-batches-bin", withIntermediateDirectories: false)
        try writeCIFAR(dir + "/cifar-10-batches-bin")
        let set = try Dataset.load(directory: dir)
        XCTAssertEqual(set.name, "cifar10")
        XCTAssertEqual(set.trainImages.count, 15)
    }

    func testCIFAR10Errors() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        try writeCIFAR(dir, skip: ["data_batch_3.bin", "test_batch.bin"])
        FormatsFixture.assertVAEError(["missing data_batch_3.bin, test_batch.bin"]) { try Dataset.load(directory: dir) }

        try writeCIFAR(dir)
        try FormatsFixture.writeFile(cifarRecord(label: 1, seed: 0) + [1, 2], dir + "/data_batch_4.bin")
        FormatsFixture.assertVAEError(["data_batch_4.bin is 3,075 bytes", "multiple of the 3073-byte"]) {
            try Dataset.load(directory: dir)
        }
        try FormatsFixture.writeFile(cifarRecord(label: 1, seed: 0) + cifarRecord(label: 10, seed: 0), dir + "/data_batch_4.bin")
        FormatsFixture.assertVAEError(["data_batch_4.bin", "record 2 has label 10"]) { try Dataset.load(directory: dir) }   // the second record, counted from 1
        try FormatsFixture.writeFile([], dir + "/data_batch_4.bin")
        FormatsFixture.assertVAEError(["data_batch_4.bin is empty"]) { try Dataset.load(directory: dir) }
        try FormatsFixture.writeFile([UInt8](repeating: 0, count: 3074 * 2), dir + "/data_batch_4.bin")
        FormatsFixture.assertVAEError(["CIFAR-100"]) { try Dataset.load(directory: dir) }
    }

    // MARK: Real data

    func testRealMNIST() throws {
        let dir = FormatsFixture.packageRoot.appendingPathComponent("../shared/data/mnist").standardized.path
        guard FileManager.default.fileExists(atPath: dir) else {
            // Part of ../shared: missing there is a failure; a fresh clone without ../shared skips.
            guard AtomicFile.isDirectory(Fixture.shared) else {
                throw XCTSkip("\(Fixture.shared) is absent (a fresh clone): real MNIST not checked")
            }
            throw Fixture.Missing(description: "MNIST not found at \(dir), though \(Fixture.shared) is present")
        }
        let set = try Dataset.load(directory: dir)
        XCTAssertEqual(set.name, "mnist")
        XCTAssertEqual(set.trainImages.count, 60_000)
        XCTAssertEqual(set.testImages.count, 10_000)
        XCTAssertEqual([set.trainImages.channels, set.trainImages.height, set.trainImages.width], [1, 28, 28])
        XCTAssertEqual(set.trainImages.images.count, 60_000 * 784)
        XCTAssertEqual(set.trainImages.labels.first, 5)
        XCTAssertEqual(set.testImages.labels.first, 7)
        XCTAssertEqual(set.trainImages.labels.max(), 9)
        XCTAssertEqual(set.testImages.labels.max(), 9)
        XCTAssertEqual(set.classNames, (0..<10).map(String.init))
    }

    func testRealFashionMNIST() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: dir) else {
            throw XCTSkip("Fashion-MNIST not found at \(dir) (apt-get install dataset-fashion-mnist)")
        }
        let set = try Dataset.load(directory: dir)
        XCTAssertEqual(set.name, "fashion-mnist")
        XCTAssertEqual(set.trainImages.count, 60_000)
        XCTAssertEqual(set.testImages.count, 10_000)
        XCTAssertEqual([set.trainImages.channels, set.trainImages.height, set.trainImages.width], [1, 28, 28])
        XCTAssertEqual(set.trainImages.labels.first, 9)  // the first training image is an ankle boot
        XCTAssertEqual(set.trainImages.labels.max(), 9)
        XCTAssertEqual(set.classNames[9], "Ankle boot")
    }

    /// The sample that ships in the repository: the first 6000 images of Fashion-MNIST's t10k set.
    func testShippedFashionMNISTSample() throws {
        let dir = FormatsFixture.packageRoot.appendingPathComponent("data/fashion-mnist-sample").path
        let set = try Dataset.load(directory: dir)
        XCTAssertEqual(set.name, "fashion-mnist")
        XCTAssertEqual(set.trainImages.count, 5000)
        XCTAssertEqual(set.testImages.count, 1000)
        XCTAssertEqual([set.trainImages.channels, set.trainImages.height, set.trainImages.width], [1, 28, 28])
        XCTAssertEqual(set.trainImages.labels.count, 5000)
        XCTAssertEqual(Set(set.trainImages.labels), Set(0...9))
        XCTAssertEqual(Set(set.testImages.labels), Set(0...9))
        XCTAssertEqual(set.trainImages.labels.prefix(5), [9, 2, 1, 1, 6])  // t10k starts: ankle boot, pullover, trouser, trouser, shirt
        // Identical to the full set when it is installed.
        let full = "/usr/share/datasets/fashion-mnist"
        if FileManager.default.fileExists(atPath: full) {
            let all = try Dataset.load(directory: full).testImages
            XCTAssertEqual(set.trainImages.images.array, Array(all.images.array[0..<(5000 * 784)]))
            XCTAssertEqual(set.testImages.images.array, Array(all.images.array[(5000 * 784)..<(6000 * 784)]))
            XCTAssertEqual(set.testImages.labels, Array(all.labels[5000..<6000]))
        }
    }
}
