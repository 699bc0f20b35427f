import ArgumentParser
import Foundation
import VAECore
import VAEKit
import VAEViz

/// Images a user hands to a command (`--images DIR`, `--mask FILE.png`, `--masks DIR`), and the
/// per-image output of `--out-dir`.
enum ImageInputs {
    static let extensions: Set<String> = ["png"]

    /// The image files of a folder, sorted by name.
    static func files(in dir: String) throws -> [String] {
        guard AtomicFile.isDirectory(dir) else { throw VAEError("\(dir) is not a folder of images; pass --images DIR with PNG files") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { !$0.hasPrefix(".") && extensions.contains(($0 as NSString).pathExtension.lowercased()) }   // hidden files are not the user's images
            .sorted()
        guard !names.isEmpty else { throw VAEError("\(dir) has no .png files") }
        // a name that is not UTF-8 comes back with U+FFFD in it, and no file has that name
        if let bad = names.first(where: { $0.unicodeScalars.contains("\u{FFFD}") && !AtomicFile.exists(dir + "/" + $0) }) {
            throw VAEError("\(dir) holds an image whose name is not valid UTF-8 (\(bad)) — rename it")
        }
        return names
    }

    /// One PNG as [C·H·W] values in [0, 1] in the model's `shape` (gray and RGB are converted,
    /// alpha is composited on black); other sizes are an error.
    static func read(_ path: String, shape: [Int]) throws -> [Float] {
        let bytes = try AtomicFile.readAll(path: path, maxBytes: 64 << 20)
        let img: (width: Int, height: Int, channels: Int, pixels: [UInt8])
        do { img = try PNG.decode(bytes) } catch { throw VAEError("\(path): not a readable PNG (\(error))") }
        let c = shape[0], h = shape[1], w = shape[2]
        guard img.width == w && img.height == h else {
            throw VAEError("\(path) is \(img.width)×\(img.height) but the model takes \(w)×\(h) images; resize it to \(w)×\(h)")
        }
        var out = [Float](repeating: 0, count: c * h * w)
        let ic = img.channels
        for p in 0..<(h * w) {
            let px = Array(img.pixels[(p * ic)..<((p + 1) * ic)]).map { Float($0) / 255 }
            let alpha: Float = (ic == 2 || ic == 4) ? px[ic - 1] : 1
            let rgb: [Float] = ic >= 3 ? [px[0], px[1], px[2]] : [px[0], px[0], px[0]]
            if c == 1 {
                out[p] = alpha * (ic >= 3 ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : rgb[0])
            } else {
                for ch in 0..<c { out[ch * h * w + p] = alpha * rgb[min(ch, 2)] }
            }
        }
        return out
    }

    /// All PNGs of `dir` as a [N, D] tensor, with their file names.
    static func load(_ dir: String, shape: [Int]) throws -> (names: [String], x: Tensor) {
        let names = try files(in: dir)
        let d = shape.reduce(1, *)
        let x = Tensor(shape: [names.count, d])
        for (i, n) in names.enumerated() {
            let v = try read(dir + "/" + n, shape: shape)
            (x.pointer + i * d).update(from: v, count: d)
        }
        return (names, x)
    }

    /// A mask PNG: white (≥ 0.5) pixels are missing. Returns observed flags [C·H·W].
    static func mask(_ path: String, shape: [Int]) throws -> [Float] {
        let gray = try read(path, shape: [1, shape[1], shape[2]])
        let plane = shape[1] * shape[2]
        var out = [Float](repeating: 1, count: shape[0] * plane)
        for ch in 0..<shape[0] { for p in 0..<plane where gray[p] >= 0.5 { out[ch * plane + p] = 0 } }
        return out
    }

    /// Writes one PNG per row of `images` into `dir` (created), named `names[i]` (".png" added
    /// when missing), each written atomically.
    static func writeEach(_ images: Tensor, shape: [Int], names: [String], to dir: String) throws {
        try AtomicFile.makeFolders(dir, what: "--out-dir")
        let d = shape.reduce(1, *)
        for (i, name) in names.enumerated() {
            let png = ImageGrid.png(flat: Array(UnsafeBufferPointer(start: images.pointer + i * d, count: d)), count: 1,
                                    channels: shape[0], height: shape[1], width: shape[2], columns: 1, border: 0, scale: 1)
            let file = name.lowercased().hasSuffix(".png") ? name : name + ".png"
            try AtomicFile.write(png, to: dir + "/" + file)
        }
        print("wrote \(names.count) images to \(dir)")
    }

    /// "prefix-0001" … names for outputs that have no input file.
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

    /// The condition for `count` items of class `cls` (nil for an unconditional model).
    static func condition(_ cls: Int?, count: Int, model: VAE) -> Tensor? {
        guard model.isConditional else { return nil }
        return Batch.oneHot(Array(repeating: Int32(cls ?? 0), count: count), classes: model.config.conditionSize)
    }
}
