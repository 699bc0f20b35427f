/// How a folder of images becomes a data set (`vae … --image-size --channels --test-fraction
/// --skip-bad-files`). Stored in a run's config so later commands reload the folder the same way.
public struct ImageFolderOptions: Codable, Equatable, Sendable {
    /// Output size [height, width]: the shorter side is resized, then the centre cropped
    /// (torchvision's Resize + CenterCrop). nil: every image must already have the same size.
    public var imageSize: [Int]?
    /// 1 (gray) or 3 (RGB). nil: 1 when every image is gray, else 3.
    public var channels: Int?
    /// The share of each class held out as the test set when the folder has no train/ and test/.
    public var testFraction: Double = 0.1
    /// Skip unreadable images (named in the log) instead of stopping at the first.
    public var skipBadFiles: Bool = false
    /// The gray level (0…255) transparent pixels are composited on; nil: 0, black.
    public var background: Int?
    /// Where decoded folders are cached; nil: $XDG_CACHE_HOME/swiftvae or ~/.cache/swiftvae.
    /// Not stored in a run's config.
    public var cacheDirectory: String?
    /// How the folder's layout is read: 3 (runs since 2026-12-07, evening) takes train/ without a
    /// test split as the class folders whatever other folders sit beside it (not read, noted); 2
    /// takes train/ with val/ (or valid/, validation/) as a split and train/ alone as the class
    /// folders (train/ beside another folder: both classes); nil, a run's config from before, reads
    /// only train/ with test/ as a split — each run's data stays what it trained on.
    public var layout: Int? = 3
    /// How --test-fraction splits the images: 2 (runs since 2026-12-07) by a seeded hash of each
    /// image's name within its class (`ImageFolder.stableSplit`: a changed folder keeps its split);
    /// nil, a run's config from before, by the shuffle that run used — its test images stay its own.
    public var split: Int? = 2

    enum CodingKeys: String, CodingKey { case imageSize, channels, testFraction, skipBadFiles, background, layout, split }

    /// Folders read as the test split beside train/ when there is no test/ (layout 2).
    public static let validationFolders = ["val", "valid", "validation"]

    public init(imageSize: [Int]? = nil, channels: Int? = nil, testFraction: Double = 0.1,
                skipBadFiles: Bool = false, cacheDirectory: String? = nil) {
        self.imageSize = imageSize
        self.channels = channels
        self.testFraction = testFraction
        self.skipBadFiles = skipBadFiles
        self.cacheDirectory = cacheDirectory
    }

    /// The seed of the --test-fraction split: fixed, so every run and command sees the same split.
    public static let splitSeed: UInt64 = 0x1_5EED_F01D

    /// Largest accepted image side after resizing, and largest source image (pixels).
    public static let maxSide = 4096
    public static let maxSourcePixels = 1 << 26
    /// Largest image file read.
    public static let maxFileBytes = 256 << 20

    /// A background level as `--background` takes it: "black", "white" or the gray level.
    public static func backgroundName(_ level: Int) -> String { level == 0 ? "black" : level == 255 ? "white" : String(level) }

    /// Parses `black`, `white` or a gray level 0…255 (`--background`).
    public static func parseBackground(_ text: String) throws -> Int {
        switch text.lowercased() {
        case "black": return 0
        case "white": return 255
        default:
            guard let v = Int(text), (0...255).contains(v) else {
                throw VAEError("--background \(text) is not black, white or a gray level 0…255")
            }
            return v
        }
    }

    /// Parses `N` or `HxW` (e.g. "64", "32x48").
    public static func parseSize(_ text: String) throws -> [Int] {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= maxSide }) else {
            throw VAEError("--image-size \(text) is not N or HxW with sides 1...\(maxSide) (e.g. 28, 64 or 32x48)")
        }
        return parts.count == 1 ? [parts[0]!, parts[0]!] : [parts[0]!, parts[1]!]
    }

    public func validate() throws {
        if let s = imageSize, s.count != 2 || !s.allSatisfy({ (1...ImageFolderOptions.maxSide).contains($0) }) {
            throw VAEError("image size \(s) must be [height, width] with sides 1...\(ImageFolderOptions.maxSide)")
        }
        if let c = channels, c != 1 && c != 3 { throw VAEError("--channels must be 1 or 3, not \(c)") }
        if let b = background, !(0...255).contains(b) { throw VAEError("the background must be a gray level 0…255, not \(b)") }
        guard testFraction >= 0 && testFraction < 1 else {
            throw VAEError("--test-fraction must be at least 0 and less than 1, not \(testFraction)")
        }
    }
}
