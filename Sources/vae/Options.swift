import ArgumentParser
import Foundation
import VAECore
import VAEKit
import VAEViz

/// Where the images come from: --data, then $VAE_DATA, then Debian's Fashion-MNIST, then the
/// small sample that ships with SwiftVAE.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with MNIST-style IDX files (.gz or not), CIFAR-10 binary batches, or PNG/JPEG images (class subfolders give labels; train/ and test/ used when present); or a CSV table or a file of text items (- reads standard input).", valueName: "dir|file"),
            transform: { $0 == "-" ? "/dev/stdin" : $0 })
    var data: String?

    @Option(name: .long, help: ArgumentHelp("Image folders: resize the shorter side to N, then crop the centre to N×N (or H×W).", valueName: "N|HxW"))
    var imageSize: String?

    @Option(name: .long, help: ArgumentHelp("Image folders: 1 (gray) or 3 (RGB); default 1 if every image file is gray (by its colour type: an RGB file of gray pixels counts as colour), else 3. Alpha is composited on --background (black).", valueName: "1|3"))
    var channels: Int?

    @Option(name: .long, help: ArgumentHelp("The share held out for testing when the data has no test split of its own (image folders without train/ and test/: of each class; CSV tables; sequence files without --test) — seeded, the same every run; default 0.1, tables 0.2.", valueName: "f"))
    var testFraction: Double?

    @Option(name: .long, help: ArgumentHelp("Image folders: what transparent pixels are composited on: black (the default), white or a gray level 0…255.", valueName: "black|white|N"))
    var background: String?

    @Flag(name: .long, help: "Image folders: skip unreadable images (counted and named in the log) instead of stopping.")
    var skipBadFiles = false

    @Option(name: .long, help: ArgumentHelp("CSV tables: the class column (kept out of the features; used for --classes, ROC-AUC, colours, --conditional).", valueName: "column"))
    var label: String?

    @Option(name: .long, help: ArgumentHelp("CSV tables: columns to leave out, comma-separated (ids, names, free text).", valueName: "column[,column…]"))
    var ignore: String?

    @Option(name: .customLong("text-column"), help: ArgumentHelp("Sequences in a CSV file: the column that holds the items (MOSES: SMILES).", valueName: "column"))
    var textColumn: String?

    /// The data flags given, as a command line writes them (" --data 'my images' --skip-bad-files"):
    /// what a page written from this data adds to the commands it names, so that they read it too.
    var givenFlags: String {
        let w = { (v: String) in TableEncoder.shellWord(v) }
        let pairs: [(String, String?)] = [("--data", data.map { $0 == "/dev/stdin" ? "-" : $0 }), ("--image-size", imageSize),
                                          ("--channels", channels.map(String.init)), ("--test-fraction", testFraction.map { "\($0)" }),
                                          ("--background", background), ("--label", label), ("--ignore", ignore), ("--text-column", textColumn)]
        return pairs.compactMap { f, v in v.map { " \(f) \(w($0))" } }.joined() + (skipBadFiles ? " --skip-bad-files" : "")
    }

    func validate() throws {
        if let s = imageSize { do { _ = try ImageFolderOptions.parseSize(s) } catch let e as VAEError { throw ValidationError(e.message) } }
        if let c = channels, c != 1 && c != 3 { throw ValidationError("--channels must be 1 or 3") }
        if let b = background { do { _ = try ImageFolderOptions.parseBackground(b) } catch let e as VAEError { throw ValidationError(e.message) } }
        if let f = testFraction, !(f > 0 && f < 1) { throw ValidationError("--test-fraction must be more than 0 and less than 1, e.g. 0.1") }
        if let data { OutputFile.registerInput(data, "the --data file") }
        try DataOptions.validateTableFlags(label: label, ignore: ignore)
    }

    /// A folder given to a table run (its images were read, and their sizes refused).
    static func folderForATable(_ dir: String) -> VAEError {
        VAEError("\(dir) is a folder, and the run was trained on a CSV table: pass --data FILE.csv (a table with the run's columns)")
    }

    /// --label and --ignore among themselves (also `vae impute`'s).
    static func validateTableFlags(label: String?, ignore: String?) throws {
        if let label, label.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--label needs a column's name") }
        // an empty name ignored nothing without a word (--ignore "" or --ignore date,)
        if let ignore, ignore.split(separator: ",", omittingEmptySubsequences: false).contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--ignore takes column names separated by commas, and '\(ignore)' has an empty one")
        }
        if let label, let ignore, ignore.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == label }) {
            throw ValidationError("--label \(label) is also in --ignore — a column is either the class or dropped")
        }
    }

    /// The image-folder options: those given on the command line, else the run's stored ones.
    func imageOptions(stored: ImageFolderOptions? = nil) throws -> ImageFolderOptions {
        var o = stored ?? ImageFolderOptions()
        if let s = imageSize { o.imageSize = try ImageFolderOptions.parseSize(s) }
        if let c = channels { o.channels = c }
        if let f = testFraction { o.testFraction = f }
        if skipBadFiles { o.skipBadFiles = true }
        if let b = background { o.background = try ImageFolderOptions.parseBackground(b) }
        return o
    }

    /// A run trained on an image folder read its images with its stored options: later commands
    /// read theirs the same way. An image flag given with another value than the run's is refused
    /// (the model would see images unlike its training ones). A run trained on IDX/CIFAR files
    /// (`stored` nil) takes them, to read another folder into its shape.
    func checkImageFlags(stored: ImageFolderOptions?) throws {
        guard let stored else { return }
        let given = try imageOptions(stored: stored)
        func size(_ s: [Int]?) -> String { s.map { $0.map(String.init).joined(separator: "x") } ?? "none (the images' own size)" }
        func shade(_ b: Int?) -> String { b.map { $0 == 0 ? "black" : $0 == 255 ? "white" : "gray \($0)" } ?? "black" }
        var differ: [(String, String, String)] = []
        if imageSize != nil, given.imageSize != stored.imageSize { differ.append(("--image-size", size(stored.imageSize), size(given.imageSize))) }
        if channels != nil, given.channels != stored.channels, stored.channels != nil { differ.append(("--channels", "\(stored.channels!)", "\(given.channels!)")) }
        if background != nil, (given.background ?? 0) != (stored.background ?? 0) { differ.append(("--background", shade(stored.background), shade(given.background))) }
        if let (flag, was, now) = differ.first {
            throw ValidationError("\(flag) is fixed by the run: it read its images with \(was), this command line gives \(now); give the run's value or drop the flag")
        }
    }

    /// `--label` and `--ignore` are fixed by a run's table: given again with the run's values they are
    /// accepted (the command line the run was started with), other values are refused.
    func checkTableFlags(_ schema: TableSchema) throws {
        try DataOptions.checkTableFlags(label: label, ignore: ignore, schema)
    }

    static func checkTableFlags(label: String?, ignore: String?, _ schema: TableSchema) throws {
        // (trimmed, as --ignore's names and the column names are)
        if let label, label.trimmingCharacters(in: .whitespaces) != schema.label?.name {
            throw ValidationError("--label is fixed by the run's table: it has \(schema.label.map { "label \($0.name)" } ?? "no label"), this command line gives \(label); give the run's value or drop the flag")
        }
        if let ignore {
            let given = ignore.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if Set(given) != Set(schema.ignored) {
                throw ValidationError("--ignore is fixed by the run's table: it ignores \(schema.ignored.isEmpty ? "no column" : schema.ignored.joined(separator: ",")), this command line gives \(given.joined(separator: ",")); give the run's value or drop the flag")
            }
        }
    }

    /// `vae train --resume`: how the data is read is part of the run. Image-folder flags given with
    /// the run's values are accepted, other values refused (a table's --label and --ignore: `checkTableFlags`).
    func checkResume(_ loaded: Checkpoint.Loaded) throws {
        if let t = loaded.table, let f = testFraction, f != t.testFraction {
            throw ValidationError("--test-fraction cannot change when resuming: the run's table holds out \(t.testFraction), this command line gives \(f); give the run's value or drop the flag")
        }
        // a sequence file split into training and test items (no --test file): its share is the run's
        if let s = loaded.config?.data?.sequence, s.resolvedTestFile == nil, let f = testFraction, f != s.testFraction {
            throw ValidationError("--test-fraction cannot change when resuming: the run holds out \(s.testFraction) of its items, this command line gives \(f); give the run's value or drop the flag")
        }
        guard let stored = loaded.config?.data?.imageOptions else { return }
        let given = try imageOptions(stored: stored)
        func text<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "the default" }
        let flags: [(String, String, String)] = [
            ("--image-size", text(stored.imageSize.map { $0.map(String.init).joined(separator: "x") }), text(given.imageSize.map { $0.map(String.init).joined(separator: "x") })),
            ("--channels", text(stored.channels), text(given.channels)),
            ("--test-fraction", "\(stored.testFraction)", "\(given.testFraction)"),
            ("--skip-bad-files", stored.skipBadFiles ? "on" : "off", given.skipBadFiles ? "on" : "off"),
            // (black is the default: a run started without the flag resumes with --background black)
            // (a level as the flag takes it: white, not 255)
            ("--background", ImageFolderOptions.backgroundName(stored.background ?? 0), ImageFolderOptions.backgroundName(given.background ?? 0)),
        ]
        if let (flag, was, now) = flags.first(where: { $0.1 != $0.2 }) {
            throw ValidationError("\(flag) cannot change when resuming: the run's images were read with \(was), this command line gives \(now); give the run's value or drop the flag")
        }
    }

    /// A CSV table: fitted here (`vae train`), or read with a run's stored schema.
    func loadTable(_ path: String, why: String, quiet: Bool, stored: TableInfo?, trainedOn: String?, resuming: Bool = false) throws -> Dataset {
        // one of MNIST's four IDX files given as the data (it was "a NUL byte — not a CSV text table")
        let lower = AtomicFile.split(path).name.lowercased()
        // (a regular file only: a pipe's bytes read here would be gone for the table reader, --data -)
        let magic = AtomicFile.regularFileSize(path) == nil ? [] : (try? AtomicFile.readPrefix(path: path, count: 4)) ?? []   // unreadable: the table reader says why
        if lower.contains("-idx1-ubyte") || lower.contains("-idx3-ubyte") || (magic.count == 4 && magic[0] == 0 && magic[1] == 0 && magic[2] == 8 && (magic[3] == 1 || magic[3] == 3)) {
            throw VAEError("\(path) is an IDX file (MNIST's format): --data takes the folder that holds the four (train-images, train-labels, t10k-images, t10k-labels)")
        }
        if imageSize != nil || channels != nil || skipBadFiles || background != nil {
            throw ValidationError("--image-size, --channels, --background and --skip-bad-files are for image folders; \(path) is a file")
        }
        let d: Dataset
        if let stored {
            try checkTableFlags(stored.schema)
            d = try Dataset.loadTable(path: path, stored: stored, trainedOn: trainedOn, resuming: resuming)
        } else {
            var o = TableOptions()
            o.label = label?.trimmingCharacters(in: .whitespaces)   // (as --ignore's names and the header's are)
            o.ignore = ignore.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            if let f = testFraction { o.testFraction = f }
            do {
                d = try Dataset.loadTable(path: path, options: o)
            } catch let e as VAEError where [".txt", ".smi", ".text", ".txt.gz", ".smi.gz"].contains(where: { path.lowercased().hasSuffix($0) }) {
                // a file is read as a CSV table unless --model gru says it holds items, one per line
                throw VAEError(e.message + " — if \(path) holds one item per line (text, SMILES), train a sequence VAE: add --model gru")
            }
        }
        for n in d.notes { Console.note("note: \(n)") }
        if !quiet {
            let t = d.table!.schema
            let numeric = t.columns.filter(\.isNumeric).count
            Console.note("data: table \(path)\(why): \(d.train.count) train, \(d.test.count) test rows; \(numeric) numeric and \(t.columns.count - numeric) text columns (\(t.width) encoded)\(t.label.map { ", label \($0.name) with \(Console.counted(d.classNames.count, "class", plural: "classes"))" } ?? "")")
        }
        return d
    }

    static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// The shipped sample: next to the working directory or the executable (.build/…/vae).
    static func shippedSample() -> String? {
        shipped("data/fashion-mnist-sample", holding: "/train-images-idx3-ubyte.gz")
    }

    /// `relative` (a path in the package) next to the working directory or the executable, when
    /// `relative + holding` exists there.
    static func shipped(_ relative: String, holding: String = "") -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/" + relative]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.path + "/" + relative)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + holding) }
    }

    /// A path the run recorded when it trained (relative to the folder it trained in) must be
    /// there — never another data set in its place; else one line that says where the path came
    /// from and what to pass instead.
    static func requireRecorded(_ path: String, _ what: String, pass: String) throws {
        // standard input or a pipe was read once, when the run trained: it is not the data now
        if AtomicFile.exists(path) && AtomicFile.regularFileSize(path) == nil && !AtomicFile.isDirectory(path) {
            throw VAEError("the run's \(what) was \(path == "/dev/stdin" ? "standard input" : path), which cannot be read again: pass \(pass)")
        }
        guard !FileManager.default.fileExists(atPath: path) else { return }
        throw VAEError("the run's \(what) \(path) is not here (the path was recorded when the run trained, relative to the folder it trained in): run from that folder, or pass \(pass)")
    }

    /// A run that does not say what it trained on is not scored on (or resumed with) whatever data
    /// is around: --data or $VAE_DATA must then say it.
    func requireRecordedOrGiven(_ loaded: Checkpoint.Loaded, run: String) throws {
        if loaded.config?.data == nil && data == nil && (ProcessInfo.processInfo.environment["VAE_DATA"] ?? "").isEmpty {
            // (a checkpoint file given alone, or a folder whose config.json is gone, has no record at all)
            let folder = AtomicFile.regularFileSize(run) != nil ? AtomicFile.split(run).directory : run
            let config = folder + "/" + Checkpoint.configFile
            let why = AtomicFile.exists(config) ? "no \"data\" in its \(Checkpoint.configFile)" : "it has no \(config)"
            throw VAEError("\(run) does not record the data it was trained on (\(why)): pass --data with it")
        }
    }

    /// Resolves and loads the data set, saying which one is used (on stderr).
    /// `stored`: the image-folder options of the run being continued or analysed.
    /// `resuming`: a table is read as the one the run trains on, whatever its path.
    func load(fallback: String? = nil, quiet: Bool = false, stored: ImageFolderOptions? = nil, table: TableInfo? = nil,
              resuming: Bool = false) throws -> Dataset {
        let dir: String
        var why = ""
        if let d = data {
            dir = d
        } else if let env = ProcessInfo.processInfo.environment["VAE_DATA"], !env.isEmpty {
            guard AtomicFile.exists(env) else {
                throw VAEError("$VAE_DATA names \(env), which does not exist — set VAE_DATA to a data folder or table, unset it, or pass --data")
            }
            dir = env
            why = " ($VAE_DATA)"
        } else if let f = fallback {
            // (a table's copy elsewhere is new data to every command but --resume: its rows all scored,
            // the advice led there without a word)
            try DataOptions.requireRecorded(f, "data", pass: table != nil && !resuming
                ? "--data FILE.csv with that table — a copy elsewhere is read as new data (all its rows, those it trained on among them; a note says so)"
                : "--data DIR (or FILE.csv) with the data it was trained on")
            dir = f
            why = " (the run's data)"
        } else if FileManager.default.fileExists(atPath: DataOptions.debianFashionMNIST) {
            dir = DataOptions.debianFashionMNIST
        } else if let s = DataOptions.shippedSample() {
            dir = s
            why = " (the small sample shipped with SwiftVAE; for the full set: apt-get install dataset-fashion-mnist, or --data DIR)"
        } else {
            throw VAEError("no data found: pass --data DIR (a folder with train-images-idx3-ubyte[.gz] …), set VAE_DATA, or apt-get install dataset-fashion-mnist")
        }
        if AtomicFile.exists(dir) && !AtomicFile.isDirectory(dir) {
            return try loadTable(dir, why: why, quiet: quiet, stored: table, trainedOn: fallback, resuming: resuming)
        }
        if (label != nil || ignore != nil) && AtomicFile.isDirectory(dir) {
            throw ValidationError("--label and --ignore are for CSV tables; \(dir) is a folder")
        }   // a path that does not exist is named as such by Dataset.load
        // a table run given a folder: said so (its images were read, and their sizes refused)
        if table != nil && AtomicFile.isDirectory(dir) { throw DataOptions.folderForATable(dir) }
        // a folder with a split of its own given --test-fraction: refused before it is decoded (the
        // check after the load below covers IDX and CIFAR-10 files, read in a moment; a folder that
        // cannot be listed is left to Dataset.load, which says why)
        let layout = try imageOptions(stored: stored).layout ?? 1
        if testFraction != nil && !resuming, let dirs = try? FileManager.default.contentsOfDirectory(atPath: dir), dirs.contains("train"),
           dirs.contains("test") || (layout >= 2 && ImageFolderOptions.validationFolders.contains(where: dirs.contains)) {
            throw ValidationError("--test-fraction is for data without a test split of its own; \(dir) has one (its own test folder): drop the flag")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        let d: Dataset
        do {
            d = try Dataset.load(directory: dir, imageOptions: imageOptions(stored: stored))
        } catch let e as VAEError where why == " ($VAE_DATA)" {
            throw VAEError("$VAE_DATA: \(e.message)")   // the folder came from the environment, not the command line
        }
        // the image flags shape images decoded from a folder; IDX and CIFAR-10 files hold pixels of one size
        let flags = [imageSize.map { _ in "--image-size" }, channels.map { _ in "--channels" }, background.map { _ in "--background" },
                     skipBadFiles ? "--skip-bad-files" : nil].compactMap { $0 }
        // (resuming, a command line that started the run before these were refused is said to do nothing)
        if d.imageFolder == nil, !flags.isEmpty {
            let what = "\(flags.joined(separator: ", ")) \(flags.count == 1 ? "is" : "are") for folders of PNG/JPEG images; \(dir) holds \(d.name)'s \(d.itemShape.map(String.init).joined(separator: "×")) images as they are"
            if resuming { Console.note("note: \(what): ignored, as when the run started") } else { throw ValidationError(what + ": drop \(flags.count == 1 ? "it" : "them")") }
        }
        if testFraction != nil, d.imageFolder?.ownSplit ?? true {
            let what = "--test-fraction is for data without a test split of its own; \(dir) has one (\(d.imageFolder == nil ? "its test files" : "its own test folder"))"
            if resuming { Console.note("note: \(what): ignored, as when the run started") } else { throw ValidationError(what + ": drop the flag") }
        }
        if let info = d.imageFolder {
            Console.noteSkipped(info.skipped)
            if !quiet {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                let how = info.fromCache ? "read from the cache" : "decoded"
                Console.note("images \(how) in \(String(format: "%.2f", seconds)) s\(info.cacheFile.isEmpty ? "" : " (cache: \(info.cacheFile))")")
            }
        }
        for n in d.notes { Console.note("note: \(n)") }
        if !quiet {
            let classes = d.imageFolder != nil ? (d.classNames.isEmpty ? ", no labels" : ", " + Console.counted(d.classNames.count, "class", plural: "classes")) : ""
            Console.note("data: \(d.name == AtomicFile.split(dir.hasSuffix("/") ? String(dir.dropLast()) : dir).name ? dir : "\(d.name) from \(dir)")\(why): \(d.train.count) train, \(d.test.count) test images, \(d.itemShape.map(String.init).joined(separator: "×"))\(classes)")
        }
        return d
    }
}

struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for the kernels (default: all cores, or $VAE_THREADS).")
    var threads: Int?

    func validate() throws {
        if let t = threads, !(1...64).contains(t) { throw ValidationError("--threads must be between 1 and 64") }
    }

    func apply() {
        if let t = threads { ThreadPool.threadCount = t }
    }
}

/// A run folder argument, loaded with its model.
struct RunArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("A run folder written by `vae train`.", valueName: "run"))
    var run: String

    func validate() throws {
        for name in ["model.safetensors", "config.json", "metrics.jsonl"] { OutputFile.registerInput(run + "/" + name, "the run's \(name)") }
        // RUN given as its checkpoint file (…/weights.safetensors), and the config beside it
        if folder != run {
            OutputFile.registerInput(run, "the run's checkpoint")
            OutputFile.registerInput(folder + "/config.json", "the run's config.json")
        }
    }

    func load() throws -> Checkpoint.Loaded {
        let loaded = try Checkpoint.load(run)
        if let damage = loaded.optimizerDamage {   // (a resume refuses; the weights serve every other command)
            Console.note("note: \(damage): Adam's moments are unusable, so the run cannot resume — the model's weights are sound, and this command uses them (vae export RUN --out COPY keeps them)")
        }
        // the table or text file the run trained on (a folder of images cannot be an --out file)
        if let data = loaded.config?.data, !AtomicFile.isDirectory(data.recordedPath) {
            try OutputFile.registerLateInput(data.recordedPath, "the data the run in \(run) trained on")
            if let test = data.sequence?.resolvedTestFile {   // a sequence run's --test file
                try OutputFile.registerLateInput(test, "the test file of the run in \(run)")
            }
        }
        return loaded
    }

    /// The run's test images: from --data if given, else the folder the run was trained on.
    func testSet(_ loaded: Checkpoint.Loaded, _ data: DataOptions) throws -> Dataset {
        if loaded.model.config.sequence != nil {
            let d = try data.loadSequences(for: loaded)
            guard d.test.count > 0 else { throw VAEError("\(d.directory) has no test items") }
            return d
        }
        try data.requireRecordedOrGiven(loaded, run: run)
        // an image run given a table or a text file: said so (it was read as a table of 1×1×5
        // "images", after a note about its label column)
        if loaded.table == nil, let p = data.data, AtomicFile.regularFileSize(p) != nil,
           [".csv", ".csv.gz", ".tsv", ".txt", ".txt.gz", ".smi", ".smi.gz"].contains(where: { p.lowercased().hasSuffix($0) }) {
            throw VAEError("\(p) is a \(p.lowercased().contains(".csv") || p.lowercased().hasSuffix(".tsv") ? "CSV table" : "text file"), and the run in \(run) was trained on images: pass --data DIR, a folder of its kind of images (IDX or CIFAR-10 files, or PNG/JPEG)")
        }
        try data.checkImageFlags(stored: loaded.config?.data?.imageOptions)
        var d: Dataset
        do {
            d = try data.load(fallback: loaded.config?.data?.recordedPath, quiet: true, stored: loaded.config?.data?.imageOptions,
                              table: loaded.table)
        } catch let e as VAEError where e.message.hasPrefix(ImageFolder.sizesDifferPrefix) && loaded.config?.data?.imageOptions.map({ $0.imageSize == nil }) == true {
            // --image-size is the run's (none: it read its images at their own size), so the advice to pass it is no way out
            let shape = loaded.model.config.inputShape, size = "\(shape[shape.count - 1])×\(shape[shape.count - 2])"   // width×height
            throw VAEError(String(e.message.prefix { $0 != "—" }) + "— the run in \(run) read its images at their own size, \(size), without --image-size: resize these to \(size)")
        }
        // $VAE_DATA before the run's own record (the order of every command): said when it is other
        // data (it scored another set of the same shape without a word)
        if data.data == nil, let env = ProcessInfo.processInfo.environment["VAE_DATA"], !env.isEmpty,
           let recorded = loaded.config?.data?.recordedPath, !(env == recorded || AtomicFile.sameFile(env, recorded)) {
            Console.note("note: reading $VAE_DATA, \(env), not the data the run trained on (\(recorded)): unset VAE_DATA or pass --data to choose")
        }
        // the run's own image folder, changed since it trained (files added, removed, renamed): by
        // its files' names, not the counts (a --classes or --validation-fraction run recorded fewer);
        // a run from before the names were recorded by its counts, where they are the folder's
        if let rec = loaded.config?.data, let info = d.imageFolder, !info.ownSplit, rec.imageOptions != nil,
           AtomicFile.sameFile(d.directory, rec.recordedPath) {
            var changed: String?
            if let then = rec.imageFiles {
                changed = ImageFolder.changedFiles(then: then, now: info.fileList)
            } else if loaded.options.classes == nil, loaded.options.validationFraction ?? 0 == 0, data.testFraction == nil,
                      rec.trainCount + rec.testCount != d.train.count + d.test.count {
                changed = "then \(rec.trainCount + rec.testCount) images, now \(d.train.count + d.test.count)"
            }
            if let changed {
                let moved = (rec.imageOptions?.split ?? 1) < 2
                    ? "the run's split (from before the stable split: its config has no split) is drawn anew over a changed folder, so its test images now include some it trained on"
                    : "each image keeps its side of the split by its name: an image added or removed moves at most one other image of its class between training and test"
                Console.note("note: \(d.directory) has changed since the run trained on it (\(changed)): \(moved)")
            }
        }
        // an IDX folder that does not say which set it holds (a copy of Fashion-MNIST's files
        // elsewhere): its labels are the run's classes by number, not classes the run never saw
        if d.classNamesAreNumbers, let known = RunArgument.trainingClassNames(loaded), known.count == d.classNames.count {
            d.classNames = known
        }
        // an image folder's labels numbered as the run's classes, by name (it numbers its own
        // class folders: one holding some of the run's classes, or others, counted them from 0)
        if let known = RunArgument.trainingClassNames(loaded) { d = d.relabelled(toClasses: known) }
        let shape = d.test.itemShape
        guard shape == loaded.model.config.inputShape else {
            let expected = loaded.model.config.inputShape.map(String.init).joined(separator: "×")
            // the flags given that shape the images: they, not the data, are what conflicts
            let flags = [data.imageSize.map { "--image-size \($0)" }, data.channels.map { "--channels \($0)" }].compactMap { $0 }
            if !flags.isEmpty {
                throw ValidationError("\(flags.joined(separator: " and ")) make\(flags.count == 1 ? "s" : "") \(shape.map(String.init).joined(separator: "×")) images, and the model in \(run) expects \(expected): drop \(flags.count == 1 ? "the flag" : "them") (the run reads its images as it was trained) or give the run's values")
            }
            throw VAEError("the data in \(d.directory) has \(shape.map(String.init).joined(separator: "×")) images but the model in \(run) expects \(loaded.model.config.inputShape.map(String.init).joined(separator: "×")); pass --data with the data set it was trained on")
        }
        guard d.test.count > 0 else { throw VAEError("\(d.directory) has no test images") }
        try RunArgument.requireLabels(loaded, hasLabels: d.test.hasLabels, source: d.directory, run: run)
        try RunArgument.checkConditionClasses(loaded, d.classNames, source: d.directory)
        try RunArgument.checkEveryItemLabelled(loaded, d.test, source: d.directory, noun: d.itemNoun)
        // a new table's category levels the model never saw are read as missing: say so (a value
        // the model cannot read scored as if the cell were empty, silently)
        if d.isNewTable, let rows = d.test as? TableSplit, rows.unseenLevelCount > 0 {
            let u = rows.unseenLevelExamples.map { "line \($0.line), \(TableEncoder.cut($0.column)): '\(TableEncoder.shown($0.text))'" }.joined(separator: "; ")
            Console.note("note: \(Console.counted(rows.unseenLevelCount, "cell")) of \(d.directory) hold\(rows.unseenLevelCount == 1 ? "s" : "") a category level the model never saw, read as missing: \(u)\(rows.unseenLevelCount > rows.unseenLevelExamples.count ? "; …" : "")")
        }
        // the run's --ignore'd columns (ids, names) are written beside each row: one the file lacks
        // was left out of the output without a word (a pandas index column moved, its empty name
        // then another place's "column N")
        if let rows = d.test as? TableSplit, !rows.missingKeyNames.isEmpty {
            let names = rows.missingKeyNames.map { "'\(TableEncoder.cut($0))'" }.joined(separator: ", ")
            let unnamed = rows.missingKeyNames.contains { $0.hasPrefix("column ") && Int($0.dropFirst(7)) != nil }
                ? " (a column with an empty name in the header is named by its place: give it a name in both files)" : ""
            Console.note("note: \(d.directory) has no column \(names), which the run ignored in training and its commands write beside each row: the rows are written without \(rows.missingKeyNames.count == 1 ? "it" : "them")\(unnamed)")
        }
        return try RunArgument.trainedClassesOnly(d, conditional: loaded.model.isConditional, classes: loaded.options.classes)
    }

    /// A conditional model reads each item's label as an input: data without labels (a table
    /// without its label column: vae impute trapped in the model) is no input for it.
    static func requireLabels(_ loaded: Checkpoint.Loaded, hasLabels: Bool, source: String, run: String) throws {
        guard loaded.model.isConditional && !hasLabels else { return }
        let column = loaded.table?.schema.label.map { " (its label column '\(TableEncoder.cut($0.name))' is not in the file)" } ?? ""
        throw VAEError("\(source) has no labels\(column), and the model in \(run) is conditional (each item's label is one of its inputs): give labelled data (class folders, IDX/CIFAR labels, a table's label column)")
    }

    /// A conditional model trained with --classes reads only those classes (the label is one of its
    /// inputs, and it never saw the others' one-hots): the test items of the other classes are left
    /// out, with a note. Other models keep every item (an anomaly detector scores the others).
    static func trainedClassesOnly(_ data: Dataset, conditional: Bool, classes: [Int]?, quiet: Bool = false) throws -> Dataset {
        guard conditional, let trained = classes, data.test.hasLabels else { return data }
        let d = data.readable(conditional: conditional, classes: trained)
        let before = data.test.count
        let names = trained.map { Encode.className($0, data.classNames) }.joined(separator: ", ")
        guard d.test.count > 0 else {
            throw VAEError("\(data.directory) has no test items of the classes \(names) that the conditional model was trained on (vae train --classes)")
        }
        if d.test.count < before && !quiet {
            Console.note("note: \(before - d.test.count) of \(before) test items are of classes the run did not train on, and are left out: a conditional model reads only the classes it trained on (\(names))")
        }
        return d
    }

    /// The training split that goes with `testSet`'s test items: the given data's own, except for a
    /// sequence run trained with `--test FILE` read without --data, whose test items come from that
    /// file and whose training items from the training file (the test file's own "train" is its
    /// test items again).
    func trainSplit(_ data: Dataset, _ loaded: Checkpoint.Loaded, _ options: DataOptions) throws -> any DataSource {
        // a conditional model trained on some classes reads only those (as its test items)
        if loaded.model.isConditional, let trained = loaded.options.classes, data.train.hasLabels {
            return data.train.filtered(classes: Set(trained))
        }
        guard options.data == nil, let seq = loaded.model.config.sequence, let stored = loaded.config?.data?.sequence,
              stored.testFile != nil, let path = loaded.config?.data?.recordedPath else { return data.train }
        try DataOptions.requireRecorded(path, "training file", pass: "--data FILE")
        return try Dataset.reloadSequences(path: path, options: stored, vocabulary: seq.vocabulary).train
    }

    /// The class names of the data the run was trained on (nil when the run does not say).
    static func trainingClassNames(_ loaded: Checkpoint.Loaded) -> [String]? {
        loaded.config?.data?.classNames ?? loaded.table?.schema.classNames
    }

    /// A conditional model reads every item with its label: an item whose label is missing (a
    /// table row with an empty label cell) would be read under an all-zero condition, a class
    /// that is none — encoded and filled as if it meant something. Refused, naming the row.
    static func checkEveryItemLabelled(_ loaded: Checkpoint.Loaded, _ set: any DataSource, source: String, noun: String) throws {
        guard loaded.model.isConditional, set.hasLabels, let i = (0..<set.count).first(where: { set.label($0) < 0 }) else { return }
        let column = loaded.table?.schema.label.map { " (its '\($0.name)' cell is empty)" } ?? ""
        throw VAEError("\(source): \(noun) \(set.itemID(i)) has no label\(column), and the model is conditional (each \(noun)'s label is one of its inputs): give every \(noun) its label, or leave that \(noun) out")
    }

    /// A conditional model takes the class as an input (a one-hot over the classes it trained on),
    /// so it can only read data whose classes are those, at the same positions.
    static func checkConditionClasses(_ loaded: Checkpoint.Loaded, _ classNames: [String], source: String) throws {
        let model = loaded.model
        guard model.isConditional else { return }
        let known = trainingClassNames(loaded) ?? (0..<model.config.conditionSize).map(String.init)
        let unseen = classNames.filter { !known.contains($0) }
        if !unseen.isEmpty {
            throw VAEError("\(source) has labels the model never saw (\(TableEncoder.listed(unseen, limit: 10))); this model is conditional — the label is one of its inputs, a one-hot over the \(known.count) classes it trained on — so it cannot read them: leave those items out, or use a model trained without --conditional")
        }
        guard classNames.count <= model.config.conditionSize,
              classNames.enumerated().allSatisfy({ $0.offset < known.count && known[$0.offset] == $0.element }) else {
            throw VAEError("\(source) has the classes \(TableEncoder.listed(classNames, limit: 10)), not the run's \(TableEncoder.listed(known, limit: 10)) in the same order; this model is conditional (the class is one of its inputs), so give it data with the run's classes")
        }
    }

    /// `--out` or RUN/<name> — beside the file when RUN names a checkpoint file (`…/weights.safetensors`;
    /// RUN/<name> under a file was "Not a directory")
    /// Where a command writes: `out`, else `name` in the run's folder — which this user may not be
    /// able to write (a shared, read-only run): said with the way out, --out, before any work (the
    /// error came after the work, and named no --out).
    /// `option`: the flag that chooses it (`--out-dir` for a folder of images).
    func output(_ out: String?, default name: String, option: String = "--out") throws -> String {
        if let out { return out }
        if access(folder, W_OK) != 0 {
            throw VAEError("cannot write \(name) in \(folder), the run's folder, where this command writes by default (\(VAEError.errnoText(errno))): give \(option) with \(option == "--out" ? "a file" : "a folder") elsewhere")
        }
        return folder + "/" + name
    }

    /// The run's folder: RUN, or the folder of the checkpoint file RUN names.
    var folder: String { AtomicFile.regularFileSize(run) != nil ? AtomicFile.split(run).directory : run }

    /// The run's architecture from its config.json, read before the flags are checked — so that a
    /// command a sequence run does not take says that first, not that a flag is missing (`vae
    /// compress SEQRUN` asked for --data or --images). nil when it cannot tell: loading the run
    /// says what is wrong then.
    func peekArchitecture() -> VAEConfig.Architecture? {
        let path = folder + "/" + Checkpoint.configFile
        guard let size = AtomicFile.regularFileSize(path), size <= 1 << 20,
              let bytes = try? AtomicFile.readAll(path: path, maxBytes: 1 << 20) else { return nil }
        return (try? RunConfig.parse(bytes, source: path))?.model.architecture
    }
}

/// Output files: a --out whose folder is not there is refused before any work (a long scoring
/// run that then cannot write its result loses the work).
enum OutputFile {
    /// The files this command reads, with what they are (its run's model, config and metrics, its
    /// --data file), registered as the command line is parsed: an --out naming one of them, by any
    /// path, is refused before any work (it replaced the model or the data it was computed from).
    nonisolated(unsafe) static var inputs: [(path: String, what: String)] = []

    static func registerInput(_ path: String, _ what: String) { inputs.append((path, what)) }

    /// Folders whose files the command reads (--images, --masks): an --out that is one of their
    /// files, by any path, would replace an input.
    nonisolated(unsafe) static var inputFolders: [(path: String, option: String)] = []

    static func registerInputFolder(_ folder: String?, _ option: String) {
        if let folder { inputFolders.append((folder, option)) }
    }

    /// The input folder `path` is a file of (its real path under the folder's), if any.
    static func inputFolder(holding path: String) -> (path: String, option: String)? {
        guard AtomicFile.regularFileSize(path) != nil, let file = AtomicFile.realPath(path) else { return nil }
        return inputFolders.first { f in AtomicFile.realPath(f.path).map { file.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") } ?? false }
    }

    /// The outputs `requireFolder` has checked so far, with their option.
    nonisolated(unsafe) static var checked: [(path: String, option: String)] = []

    /// An input known only once the run is loaded (the file it trained on, recorded in its
    /// config): an output already checked that names it is refused now, still before any work.
    static func registerLateInput(_ path: String, _ what: String) throws {
        registerInput(path, what)
        if let out = checked.first(where: { AtomicFile.sameFile($0.path, path) }) {
            throw VAEError("\(out.option) \(out.path) is \(what), which this command reads: write to another file")
        }
    }

    /// --out-dir: checked before any work, made when the first file is written — a path that
    /// cannot be a folder is one line then, and a command that fails leaves no empty folder behind.
    /// `reads`: the folders the command reads images from (--images, --masks), whose files the
    /// outputs, named as the images, would replace.
    static func requireOutDir(_ dir: String?, reads: [(option: String, folder: String?)] = []) throws {
        guard let dir else { return }
        for case let (option, folder?) in reads where AtomicFile.sameFile(dir, folder) {
            throw VAEError("--out-dir \(dir) is the \(option) folder: the outputs, named as the images, would replace the files read; choose another folder")
        }
        try AtomicFile.checkFolderPath(dir, what: "--out-dir")
    }

    static func requireFolder(_ path: String?, option: String = "--out") throws {
        guard let path else { return }
        if path.isEmpty { throw ValidationError("\(option) is empty: give a file name") }
        if let input = inputs.first(where: { AtomicFile.sameFile(path, $0.path) }) {
            throw VAEError("\(option) \(path) is \(input.what), which this command reads: write to another file")
        }
        if let folder = inputFolder(holding: path) {
            throw VAEError("\(option) \(path) is a file of the \(folder.option) folder \(folder.path), which this command reads: write to another file")
        }
        checked.append((path, option))
        if AtomicFile.isDirectory(path) {
            // a file of the wrong kind: exit 1, as --out-dir's file that is no folder (README, "The vae tool")
            throw VAEError("\(option) \(path) is a folder: give a file name (one inside it: \(path.hasSuffix("/") ? path : path + "/")NAME)")
        }
        // (AtomicFile.split, not NSString's deletingLastPathComponent: that traps on one-character paths)
        let folder = AtomicFile.split(path).directory
        if AtomicFile.isDirectory(folder) { return }
        if AtomicFile.exists(folder) {
            throw VAEError("cannot write \(option) \(path): \(folder) is a file, not a folder; write elsewhere")
        }
        throw VAEError("cannot write \(option) \(path): the folder \(folder) does not exist; create it first (mkdir -p \(folder)) or write elsewhere")
    }
}

extension Checkpoint.Loaded {
    /// The model of an image run, for a command that draws images (`what`: "vae sample"): a
    /// table or sequence run is refused, and so is an --out that is not a .png — before any work.
    func imageModel(_ what: String, out: String? = nil) throws -> VAE {
        if table != nil {
            throw ValidationError("\(what) draws images, and this is a table run (its rows are no pictures): vae impute fills a table's missing cells, vae encode gives its latents, vae anomaly scores its rows")
        }
        if model is SequenceVAE {
            throw ValidationError("\(what) draws images, and this is a sequence run: vae sample, reconstruct and interpolate give its text, vae encode its latents")
        }
        let model = try feedForward(what)
        if let out, !out.lowercased().hasSuffix(".png") {
            throw ValidationError("\(out): pictures are written as PNG; give a file name ending in .png")
        }
        return model
    }
}

extension OutputFile {
    /// Where a command's summary line goes: standard output, unless the file written is standard
    /// output itself or another stream (`--out /dev/stdout | …`: the line was appended to the
    /// archive, or was the last line of encode's CSV). Decided before the write, which may replace
    /// what the path is.
    static func summary(for out: String) -> (String) -> Void {
        let stream = AtomicFile.sameFile(out, "/dev/stdout") || (AtomicFile.exists(out) && AtomicFile.regularFileSize(out) == nil)
        return stream ? { Console.note($0) } : { print($0) }
    }
}

/// Image-grid helpers shared by the picture commands.
enum Pictures {
    static func grid(_ images: Tensor, shape: [Int], columns: Int, scale: Int = 2) -> [UInt8] {
        let flat = images.array
        let separator = ImageGrid.separatorValue(flat: flat, count: images.shape[0], channels: shape[0], height: shape[1], width: shape[2])
        return ImageGrid.png(flat: flat, count: images.shape[0], channels: shape[0], height: shape[1], width: shape[2],
                             columns: columns, border: 1, scale: scale, borderValue: separator)
    }

    static func write(_ png: [UInt8], to path: String) throws {
        // a picture under another name (x.csv, x.jpg) would be PNG bytes that no reader expects
        guard path.lowercased().hasSuffix(".png") else {
            throw ValidationError("\(path): pictures are written as PNG; give a file name ending in .png")
        }
        try AtomicFile.write(png, to: path)
        print("wrote \(path)")
    }
}
