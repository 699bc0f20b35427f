#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of an image folder and what they mean, as torchvision's `ImageFolder`: class
/// subfolders (sorted names → labels 0, 1, …) or a flat folder (no labels); `train/` and `test/`
/// subfolders when both are present.
struct ImageFolderScan {
    struct Item {
        var path: String
        var size: Int
        var mtime: Int  // nanoseconds
        var label: Int  // -1 without labels
    }
    var train: [Item] = []
    /// Items from test/ (empty when the folder has no train/test split of its own).
    var test: [Item] = []
    var hasOwnSplit = false
    /// What the layout made of the folder when it is not plain (train/ + val/, train/ alone): notes.
    var layoutNotes: [String] = []
    /// Folders read as the test split beside train/ when there is no test/.
    static let validationNames = ImageFolderOptions.validationFolders
    var classNames: [String] = []
    /// With `skipBad`: the images left out as unusable as listed (a link to a missing file, a
    /// name that is not UTF-8), one line each.
    var skipped: [String] = []
    /// Subfolders that hold no image (no class: said in a note, not left unsaid).
    var emptyFolders: [String] = []

    static let extensions: Set<String> = ["png", "jpg", "jpeg"]
    static let maxDepth = 16

    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), !name.hasPrefix(".") else { return false }
        return extensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// True when `directory` or a folder under it (up to 3 levels: train/class/sub) holds a
    /// .png/.jpg/.jpeg file.
    /// The data folder itself must be readable (a permission error is said as such, not as "holds
    /// no dataset"); a subfolder that is not is no image folder.
    static func looksLikeImageFolder(_ directory: String, depth: Int = 0) throws -> Bool {
        guard depth <= 3 else { return false }
        let listing: Listing
        if depth == 0 { listing = try list(directory) } else if let l = try? list(directory) { listing = l } else { return false }
        if listing.files.contains(where: { isImageName($0.name) }) { return true }
        return try listing.directories.contains { try looksLikeImageFolder(Dataset.join(directory, $0), depth: depth + 1) }
    }

    /// `skipBad` (`--skip-bad-files`): images unusable as listed are left out and logged in
    /// `skipped`; otherwise the first is an error.
    init(directory: String, skipBad: Bool = false, layout: Int? = 2) throws {
        var log: [String]? = skipBad ? [] : nil
        defer { skipped = log ?? [] }
        let top = try ImageFolderScan.list(directory).checked(&log)
        // train/ and test/ are the split; without test/, a validation folder (torchvision's and
        // Kaggle's train/ + val/ layout) is the test split
        let dirs = top.directories
        let newer = (layout ?? 1) >= 2   // (a run's config from before: train/ with test/ alone)
        let testName = dirs.contains("test") ? "test" : newer ? ImageFolderScan.validationNames.first(where: dirs.contains) : nil
        if dirs.contains("train"), let testName {
            let (trainItems, trainClasses) = try ImageFolderScan.part(Dataset.join(directory, "train"), classNames: nil, log: &log, empty: &emptyFolders)
            let (testItems, _) = try ImageFolderScan.part(Dataset.join(directory, testName), classNames: trainClasses, log: &log, empty: &emptyFolders)
            guard !trainItems.isEmpty else { throw VAEError("\(directory)/train holds no .png/.jpg/.jpeg images") }
            guard !testItems.isEmpty else { throw VAEError("\(directory)/\(testName) holds no .png/.jpg/.jpeg images") }
            train = trainItems; test = testItems; classNames = trainClasses; hasOwnSplit = true
            if testName != "test" { layoutNotes.append("\(directory) has train/ and \(testName)/ but no test/: \(testName)/ is the test split") }
            let unread = dirs.filter { $0 != "train" && $0 != testName }
            if newer && !unread.isEmpty { layoutNotes.append("\(directory): \(unread.map { $0 + "/" }.joined(separator: ", ")) not read (train/ and \(testName)/ are the data)") }
        } else if newer && dirs.contains("train") && !top.files.contains(where: { ImageFolderScan.isImageName($0.name) }),
                  dirs == ["train"] || ((layout ?? 1) >= 3 && (try? ImageFolderScan.holdsClassFolders(Dataset.join(directory, "train"))) == true) {
            // train/ without a test split: its class folders are the classes (not one class called
            // train); other folders beside it (unlabeled/, extra/) are not read, as beside train/ and
            // test/ (layout 3: a run of layout 2 read train/ and them as its classes, and still does)
            (train, classNames) = try ImageFolderScan.part(Dataset.join(directory, "train"), classNames: nil, log: &log, empty: &emptyFolders)
            guard !train.isEmpty else { throw VAEError("\(directory)/train holds no .png/.jpg/.jpeg images") }
            layoutNotes.append("\(directory) has train/ but no test/: train/ is the data, split by --test-fraction")
            let unread = dirs.filter { $0 != "train" }
            if !unread.isEmpty { layoutNotes.append("\(directory): \(unread.map { $0 + "/" }.joined(separator: ", ")) not read (train/ is the data)") }
        } else {
            (train, classNames) = try ImageFolderScan.part(directory, classNames: nil, log: &log, empty: &emptyFolders)
            guard !train.isEmpty else {
                throw VAEError("\(directory) holds no .png/.jpg/.jpeg images, neither directly nor in class subfolders")
            }
        }
    }

    /// Whether `directory` holds subfolders and no image of its own: train/ of a train/ + unlabeled/
    /// layout, not a class folder named train (CIFAR-100 has one) among others.
    static func holdsClassFolders(_ directory: String) throws -> Bool {
        let listing = try list(directory)
        return !listing.directories.isEmpty && !listing.files.contains { isImageName($0.name) }
    }

    /// One folder: class subfolders (labels from `classNames` if given, else from the sorted
    /// subfolder names) or flat.
    static func part(_ directory: String, classNames given: [String]?, log: inout [String]?, empty: inout [String]) throws -> ([Item], [String]) {
        let top = try list(directory).checked(&log)
        let images = top.files.filter { isImageName($0.name) }
        var classes: [(name: String, items: [Item])] = []
        var none: [String] = []
        for d in top.directories {
            var items: [Item] = []
            try collect(Dataset.join(directory, d), depth: 1, into: &items, log: &log)
            if !items.isEmpty { classes.append((d, items)) } else { none.append(Dataset.join(directory, d)) }
        }
        if !classes.isEmpty { empty += none }   // beside classes, an empty folder is a class that is not there
        if classes.isEmpty {
            if let given, !given.isEmpty {
                throw VAEError("\(directory) has no class subfolders, but train/ has \(given.count) classes — give test/ the same class folders")
            }
            return (images.map { Item(path: Dataset.join(directory, $0.name), size: $0.size, mtime: $0.mtime, label: -1) }, [])
        }
        if let first = images.first {
            throw VAEError("\(directory) mixes images (\(first.name)) with class subfolders (\(classes[0].name)/) — move the loose images into a class folder, or out of the folder")
        }
        if given == [] {
            throw VAEError("\(directory) has class subfolders but train/ has none — use the same layout in train/ and test/")
        }
        let names = given ?? classes.map(\.name)
        guard names.count <= 256 else {
            throw VAEError("\(directory) has \(names.count) class folders; SwiftVAE supports up to 256 classes")
        }
        var items: [Item] = []
        for c in classes {
            guard let label = names.firstIndex(of: c.name) else {
                throw VAEError("\(directory)/\(c.name) is not a class in train/ (\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")) — test/ classes must also be in train/")
            }
            items += c.items.map { var i = $0; i.label = label; return i }
        }
        return (items, names)
    }

    /// Every image file under `directory`, recursively, in sorted order.
    static func collect(_ directory: String, depth: Int, into items: inout [Item], log: inout [String]?) throws {
        guard depth <= maxDepth else { throw VAEError("\(directory) is nested more than \(maxDepth) folders deep — is there a symbolic-link loop?") }
        let entries = try list(directory).checked(&log)
        for f in entries.files where isImageName(f.name) {
            items.append(Item(path: Dataset.join(directory, f.name), size: f.size, mtime: f.mtime, label: -1))
        }
        for d in entries.directories { try collect(Dataset.join(directory, d), depth: depth + 1, into: &items, log: &log) }
    }

    static func modificationNanoseconds(_ info: stat) -> Int {
        #if canImport(Darwin)
        return Int(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int(info.st_mtimespec.tv_nsec)
        #else
        return Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)
        #endif
    }

    struct Listing {
        var files: [(name: String, size: Int, mtime: Int)] = []
        var directories: [String] = []
        /// Images (or folders) that cannot be used as listed — a symbolic link to a missing file,
        /// a name that is not UTF-8 — one line each; scanning for images refuses the folder, or
        /// with a log (--skip-bad-files) leaves them out and logs them.
        var problems: [String] = []

        func checked(_ log: inout [String]?) throws -> Listing {
            if log == nil, let first = problems.first { throw VAEError(first) }
            log?.append(contentsOf: problems)
            return self
        }
    }

    /// Non-hidden entries of a folder, sorted by byte order of their names (symbolic links followed).
    static func list(_ directory: String) throws -> Listing {
        guard let dir = opendir(directory) else {
            throw VAEError("cannot read the folder \(directory): \(VAEError.errnoText())")
        }
        defer { closedir(dir) }
        var out = Listing()
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            let name = String(decoding: bytes, as: UTF8.self)
            if name.hasPrefix(".") { continue }
            var info = stat()
            // Relative to the open folder: no walk of the whole path per file.
            guard fstatat(dirfd(dir), bytes.map { CChar(bitPattern: $0) } + [0], &info, 0) == 0 else {
                if isImageName(name) {
                    out.problems.append("\(Dataset.join(directory, name)): \(VAEError.errnoText()) (a symbolic link to a missing file?) — remove it or restore what it points to")
                }
                continue
            }
            let kind = info.st_mode & S_IFMT
            if String(validating: bytes, as: UTF8.self) == nil, kind == S_IFDIR || (kind == S_IFREG && isImageName(name)) {
                out.problems.append("\(directory) holds \(kind == S_IFDIR ? "a folder" : "an image") whose name is not valid UTF-8 (\(name)) — rename it")
                continue
            }
            switch kind {
            case S_IFDIR: out.directories.append(name)
            case S_IFREG: out.files.append((name, Int(info.st_size), modificationNanoseconds(info)))
            default: continue
            }
        }
        out.files.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        out.directories.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return out
    }
}
