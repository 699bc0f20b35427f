// Fuzz targets for every SwiftVAE parser (issue 6).
//
// Built normally (`swift build`), this is a reproducer: `vae-fuzz TARGET FILE...` runs each file
// through the target and reports what the parser said. Built with libFuzzer (see fuzz/run.sh:
// `-sanitize=fuzzer,address -DFUZZING -parse-as-library`), `LLVMFuzzerTestOneInput` runs the
// target named by the FUZZ_TARGET environment variable.
//
// The contract checked: a parser either returns a value or throws its error type (`VAEError`,
// `PNGError`); it never traps, hangs or over-allocates (libFuzzer's -timeout / -malloc_limit_mb).

// POSIX (fopen, getenv, exit, …), not maths.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAEKit
import VAEViz

enum FuzzTargets {
    static let names = ["idx", "idx-images", "idx-labels", "gzip", "cifar", "safetensors", "checkpoint", "config", "metrics", "png", "jpeg", "image", "dataset", "csv", "sequences", "archive"]

    /// A small Bernoulli model's codec and an archive of 3 of its images (the "archive" target).
    static func archiveCodec() throws -> BitsBackCodec {
        try BitsBackCodec(model: VAE(config: VAEConfig(inputShape: [1, 4, 4], latent: 2, hidden: [8]), seed: 1))
    }
    static func validArchive(_ codec: BitsBackCodec) throws -> [UInt8] {
        let px: [UInt8] = (0..<48).map { $0 % 3 == 0 ? 255 : 0 }
        return try codec.compress(px, count: 3).archive
    }

    /// Output cap for gzip: well under libFuzzer's 64 MiB malloc limit.
    static let gzipLimit = 16 << 20

    /// Runs one input through `target`. Returns a short description of the outcome.
    /// Throwing anything but the parser's own error type is a bug: it traps, so the fuzzer sees it.
    @discardableResult
    static func run(_ target: String, _ bytes: [UInt8]) -> String {
        do {
            switch target {
            case "idx":
                // One target for all three entry points: the first byte chooses.
                let choice = bytes.first ?? 0
                let rest = Array(bytes.dropFirst())
                switch choice % 3 {
                case 0: let a = try IDX.parse(rest); return "IDX dims \(a.dims)"
                case 1: let i = try IDX.parseImages(rest); return "IDX images \(i.count)×\(i.rows)×\(i.cols)"
                default: return "IDX labels \(try IDX.parseLabels(rest).count)"
                }
            case "idx-images":
                let i = try IDX.parseImages(bytes); return "IDX images \(i.count)×\(i.rows)×\(i.cols)"
            case "idx-labels":
                return "IDX labels \(try IDX.parseLabels(bytes).count)"
            case "gzip":
                // As the data set loader does it: decompress (bounded), then parse as IDX.
                let raw = try Gzip.decompress(bytes, maxOutput: gzipLimit, source: "fuzz.gz")
                if let a = try? IDX.parse(raw) { return "gzip → IDX dims \(a.dims)" }
                return "gzip → \(raw.count) bytes"
            case "cifar":
                let (images, labels) = try Dataset.parseCIFARBatch(bytes, source: "fuzz.bin")
                return "CIFAR \(labels.count) records, \(images.count) pixels"
            case "safetensors":
                let file = try SafeTensorsFile.parse(bytes, source: "fuzz.safetensors")
                // Round trip: what was read must serialize and read back the same.
                let again = try SafeTensorsFile.parse(file.serialized(), source: "round trip")
                guard again.tensors.count == file.tensors.count else { fatalError("safetensors round trip lost tensors") }
                return "safetensors \(file.names.count) tensors, \(file.metadata.count) metadata"
            case "checkpoint":
                // A whole model.safetensors through Checkpoint.load: metadata, config, sizes, state.
                let dir = DatasetFolder.scratch()
                for name in DatasetFolder.files { unlink(dir + "/" + name); unlink(dir + "/" + name + ".gz") }
                try DatasetFolder.writeFile(bytes, to: dir + "/" + Checkpoint.weightsFile)
                let loaded = try Checkpoint.load(dir)
                return "checkpoint \(loaded.model.config.architecture.rawValue), \(loaded.model.parameterCount) parameters, epoch \(loaded.state.epoch)"
            case "config":
                let config = try RunConfig.parse(bytes, source: "config.json")
                // What a resume does with it next.
                try? config.model.validate()
                try? config.training.validate()
                return "config \(config.model.architecture.rawValue) latent \(config.model.latent)"
            case "metrics":
                return "metrics \(try TrainingRun.parseMetrics(bytes, source: "metrics.jsonl").count) lines"
            case "png":
                // Every colour type, bit depth and Adam7; the header alone must agree with the decode.
                let image = try PNG.decodeImage(bytes)
                let header = try PNG.header(bytes)
                guard header.width == image.width, header.height == image.height else { fatalError("PNG header and decode disagree") }
                return "PNG \(image.width)×\(image.height)×\(image.channels)"
            case "jpeg":
                // libturbojpeg (dlopen); the pixel cap keeps the output under the fuzzer's malloc limit.
                guard JPEG.isAvailable else { fatalError("the jpeg target needs libturbojpeg.so.0 (apt-get install libturbojpeg0)") }
                let image = try JPEG.decode(bytes, maxPixels: 1 << 22)
                guard image.pixels.count == image.width * image.height * image.channels else { fatalError("JPEG size mismatch") }
                return "JPEG \(image.width)×\(image.height)×\(image.channels)"
            case "image":
                // The image-folder path: PNG or JPEG by content, channels converted, resized and cropped.
                // The first byte picks the output: gray or RGB, 1...32 pixels a side.
                let choice = Int(bytes.first ?? 0)
                let pixels = try ImageFolder.decode(Array(bytes.dropFirst()), source: "fuzz.img", channels: choice & 1 == 0 ? 1 : 3,
                                                    height: 1 + (choice >> 1) % 32, width: 1 + (choice >> 3) % 32, maxPixels: 1 << 22)
                return "image \(pixels.count) bytes"
            case "dataset":
                return try DatasetFolder.load(bytes)
            case "csv":
                return try CSVFuzz.run(bytes)
            case "sequences":
                // one item per line (or a CSV column when the first byte is odd), tokenized three ways
                guard let first = bytes.first else { return "empty" }
                let items = try Dataset.parseItems(Array(bytes.dropFirst()), source: "fuzz.txt", textColumn: first & 1 == 1 ? "SMILES" : nil)
                var o = SequenceOptions()
                o.tokenizer = SequenceConfig.Tokenizer.allCases[Int(first >> 1) % 3]
                o.maxLength = 1 + Int(first >> 3)
                o.maxVocabulary = 50
                let (set, vocab, skipped, unknown) = try Dataset.encodeItems(items, options: o, vocabulary: nil, source: "fuzz.txt")
                return "sequences \(set.count) items, \(vocab.count) tokens, \(skipped) skipped, \(unknown) unknown"
            case "archive":
                // first byte even: the bytes are an archive; odd: XORed into a valid archive of a small
                // model and resealed, so that the decoder itself meets altered content
                guard let first = bytes.first else { return "empty" }
                let codec = try FuzzTargets.archiveCodec()
                var archive = Array(bytes.dropFirst())
                if first & 1 == 1 {
                    var valid = try FuzzTargets.validArchive(codec)
                    for (i, b) in archive.enumerated() where i < valid.count - 8 { valid[i] ^= b }
                    archive = BitsBackCodec.resealed(valid)
                }
                let (_, count, _) = try codec.decompress(archive, source: "fuzz.bba")
                return "archive of \(count) images"
            default:
                fatalError("unknown fuzz target \(target); one of \(names.joined(separator: ", "))")
            }
        } catch let error as VAEError {
            return "VAEError: \(error.message)"
        } catch let error as PNGError {
            return "PNGError: \(error)"
        } catch let error as JPEGError {
            return "JPEGError: \(error)"
        } catch {
            fatalError("\(target): unexpected error type \(type(of: error)): \(error)")
        }
    }
}

/// The `csv` target: parse a table, write it back and parse that again (the cells must survive),
/// then type and encode it (the last column as the label when the first byte is odd), apply the
/// schema to the file again, decode a row and write the imputed file's bytes.
enum CSVFuzz {
    static func run(_ bytes: [UInt8]) throws -> String {
        var options = CSVTable.Options()
        options.maxColumns = 512
        let table = try CSVTable.parse(bytes, source: "fuzz.csv", options: options)
        let again = try CSVTable.parse(CSVWriter.serialize(table), source: "round trip", options: options)
        guard again.rowCount == table.rowCount, again.columnCount == table.columnCount else {
            fatalError("CSV round trip changed the shape: \(table.rowCount)×\(table.columnCount) → \(again.rowCount)×\(again.columnCount)")
        }
        for row in 0..<table.rowCount {
            for column in 0..<table.columnCount where again.string(row, column) != table.string(row, column) {
                fatalError("CSV round trip changed row \(row + 1), column \(column + 1)")
            }
        }
        var tableOptions = TableOptions()
        tableOptions.maxLevels = 64
        if (bytes.first ?? 0) & 1 == 1, table.columnCount > 1 { tableOptions.label = table.names.last }
        let encoded = try TableEncoder.fit(table, options: tableOptions)
        try encoded.schema.validate()
        let all = try TableEncoder.apply(encoded.schema, to: table, unseenLevels: .missing)
        guard all.count == table.rowCount, all.x.allSatisfy({ $0.isFinite }) else { fatalError("CSV apply: bad rows") }
        if all.count > 0 {
            _ = encoded.schema.decode(Array(all.x[0..<all.width]))
        }
        let filled = try CSVWriter.imputed(table, schema: encoded.schema, ids: all.ids, means: all.x).filled
        return "csv \(table.rowCount)×\(table.columnCount), width \(encoded.schema.width), \(filled) filled"
    }
}

/// The `dataset` target: the input is split into the four IDX files of an MNIST-style folder
/// (at the bytes "\n--\n"), written to a scratch folder, and loaded with `Dataset.load`.
/// A file whose first byte is 0x1f is written as is (usually gzip, as the loader detects it).
enum DatasetFolder {
    nonisolated(unsafe) static var directory: String? = nil
    static let files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    static func scratch() -> String {
        if let directory { return directory }
        var template = Array("/tmp/vae-fuzz-dataset-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "cannot create a scratch folder")
        let path = String(cString: made!)
        directory = path
        // libFuzzer ends a timed run with exit(): remove the folder then too (it was left behind)
        atexit { DatasetFolder.cleanUp() }
        return path
    }

    /// Removes the scratch folder (the reproducer calls this before it exits).
    static func cleanUp() {
        guard let dir = directory else { return }
        for name in files { unlink(dir + "/" + name); unlink(dir + "/" + name + ".gz") }
        unlink(dir + "/" + Checkpoint.weightsFile)
        rmdir(dir)
        directory = nil
    }

    static func writeFile(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0, "cannot write \(path)")
        defer { close(fd) }
        var written = 0
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                precondition(n > 0, "write failed")
                written += n
            }
        }
    }

    static func load(_ bytes: [UInt8]) throws -> String {
        let dir = scratch()
        let separator: [UInt8] = Array("\n--\n".utf8)
        var parts: [[UInt8]] = []
        var start = 0, index = 0
        while index + separator.count <= bytes.count && parts.count < 3 {
            if bytes[index..<(index + separator.count)].elementsEqual(separator) {
                parts.append(Array(bytes[start..<index]))
                index += separator.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(Array(bytes[start...]))
        for (i, name) in files.enumerated() {
            unlink(dir + "/" + name)
            unlink(dir + "/" + name + ".gz")
            guard i < parts.count else { continue }  // a missing file is one more thing to report
            try writeFile(parts[i], to: dir + "/" + name + (parts[i].first == 0x1f ? ".gz" : ""))
        }
        unlink(dir + "/" + Checkpoint.weightsFile)
        let data = try Dataset.load(directory: dir)
        return "dataset \(data.name): \(data.train.count) train, \(data.test.count) test, \(data.train.itemShape)"
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTargets.run(FuzzSelection.target, bytes)
    return 0
}

// SwiftPM links executables with `--defsym main=vae_fuzz_main` (the module's entry point), which
// keeps libFuzzer's own `main` out; this entry point hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("vae_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    _ = FuzzSelection.target  // fail early on a bad FUZZ_TARGET
    return LLVMFuzzerRunDriver(&count, &vector, fuzzTestOneInput)
}

enum FuzzSelection {
    static let target: String = {
        guard let value = getenv("FUZZ_TARGET") else {
            fatalError("set FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))")
        }
        let name = String(cString: value)
        guard FuzzTargets.names.contains(name) else {
            fatalError("FUZZ_TARGET=\(name) is not one of \(FuzzTargets.names.joined(separator: ", "))")
        }
        return name
    }()
}
#else
func printError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}

/// Reproducer: vae-fuzz TARGET FILE...
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count < 3 || !FuzzTargets.names.contains(arguments[1]) {
            let usage = "usage: vae-fuzz TARGET FILE...  (TARGET: \(FuzzTargets.names.joined(separator: ", ")))\n"
            printError(usage)
            exit(2)
        }
        for path in arguments.dropFirst(2) {
            guard let file = fopen(path, "rb") else {
                printError("cannot open \(path)\n")
                exit(1)
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&buffer, 1, buffer.count, file)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            fclose(file)
            print("\(path): \(FuzzTargets.run(arguments[1], bytes))")
        }
        DatasetFolder.cleanUp()
    }
}
#endif
