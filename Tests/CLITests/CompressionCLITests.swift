import Foundation
import XCTest
import VAEKit
@testable import VAEImageIO

/// vae compress / decompress end to end: the IDX comes back byte for byte, an archive written at
/// one kernel level decodes at every other, and bad input is one line.
final class CompressionCLITests: XCTestCase {
    func testArchivesRoundTripAtEveryKernelLevel() throws {
        let data = try TinyData.make(train: 256, test: 64, side: 28)
        let run = tempRunDir("bbrun")
        let t = try CLI.run(["train", "--data", data, "--epochs", "2", "--latent", "4", "--hidden", "32", "--batch", "64",
                             "--binarize", "--seed", "3", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let archive = tempRunDir("bb") + ".bba"
        let c = try CLI.run(["compress", run, "--data", data + "/t10k-images-idx3-ubyte.gz", "--binarize", "--out", archive],
                            env: ["VAE_CPU": "portable"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("compressed 64 images"), c.stdout)
        XCTAssertTrue(c.stdout.contains("bits/dim (initial bits"), c.stdout)
        var outputs: [[UInt8]] = []
        for level in ["portable", "avx2", "native"] {
            let out = tempRunDir("bb-\(level)") + ".idx"
            let d = try CLI.run(["decompress", run, archive, "--out", out], env: level == "native" ? [:] : ["VAE_CPU": level])
            XCTAssertEqual(d.status, 0, "\(level): \(d.stderr)")
            outputs.append(try AtomicFile.readAll(path: out, maxBytes: 1 << 24))
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
        let images = try IDX.parseImages(outputs[0])
        XCTAssertEqual(images.count, 64)
        XCTAssertTrue(images.pixels.allSatisfy { $0 == 0 || $0 == 255 })
        // the decompressed file compressed again (already binary) gives the same archive: the pixels are the ones compressed
        let again = tempRunDir("bb2") + ".bba"
        let c2 = try CLI.run(["compress", run, "--data", try writeTemp(outputs[0]), "--out", again],
                             env: ["VAE_CPU": "avx2"])
        XCTAssertEqual(c2.status, 0, c2.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: again, maxBytes: 1 << 24), try AtomicFile.readAll(path: archive, maxBytes: 1 << 24))
        // through pipes (--out /dev/stdout | …): the archive and the images alone, the summary lines on
        // stderr (they were appended to the data: a damaged archive, an IDX with trailing bytes)
        let piped = tempRunDir("bb-pipe")
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        let q = { (s: String) in "'" + s + "'" }
        sh.arguments = ["-c", "\(q(CLI.binary)) compress \(q(run)) --data \(q(data + "/t10k-images-idx3-ubyte.gz")) --binarize --out - 2>\(q(piped)).err1"
                        + " | \(q(CLI.binary)) decompress \(q(run)) - --out - 2>\(q(piped)).err2 | cat > \(q(piped)).idx"]   // (- for the standard streams: it was "archive - does not exist")
        try sh.run()
        sh.waitUntilExit()
        XCTAssertEqual(sh.terminationStatus, 0, (try? String(contentsOfFile: piped + ".err2", encoding: .utf8)) ?? "")
        XCTAssertEqual(try AtomicFile.readAll(path: piped + ".idx", maxBytes: 1 << 24), outputs[0])
        XCTAssertTrue(try String(contentsOfFile: piped + ".err1", encoding: .utf8).contains("compressed 64 images into /dev/stdout"))
        XCTAssertTrue(try String(contentsOfFile: piped + ".err2", encoding: .utf8).contains("decompressed 64 images into /dev/stdout"))
        // binary output to a terminal is refused (it filled the terminal, exit 0)
        let tty = try CLI.inTerminal("'\(CLI.binary)' compress '\(run)' --data '\(data)/t10k-images-idx3-ubyte.gz' --binarize --limit 2 --out -")
        XCTAssertEqual(tty.status, 2, tty.output)
        XCTAssertTrue(tty.output.contains("standard output, which is a terminal: redirect it"), tty.output)
        let ttyBack = try CLI.inTerminal("'\(CLI.binary)' decompress '\(run)' '\(archive)' --out -")
        XCTAssertEqual(ttyBack.status, 2, ttyBack.output)
        XCTAssertTrue(ttyBack.output.contains("writes an IDX file, binary, to standard output"), ttyBack.output)
        // gray pixels without --binarize, a damaged archive, a missing one: one line each, non-zero exit
        let gray = try CLI.run(["compress", run, "--data", data + "/t10k-images-idx3-ubyte.gz", "--out", again + "x"])
        XCTAssertNotEqual(gray.status, 0)
        XCTAssertTrue(gray.stderr.contains("--binarize"), gray.stderr)
        XCTAssertFalse(AtomicFile.exists(again + "x"), "a refused compress left a file")
        // a gray PNG in a folder is named by its file (it was "DIR: image 2, pixel 0")
        let grayDir = tempRunDir("bbgray")
        try FileManager.default.createDirectory(atPath: grayDir, withIntermediateDirectories: true)
        try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 255, count: 784)), to: grayDir + "/a.png")
        try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: [128] + [UInt8](repeating: 0, count: 783)), to: grayDir + "/b.png")
        let gp = try CLI.run(["compress", run, "--images", grayDir + "/", "--out", again + "g"])   // (a trailing slash named png//b.png)
        XCTAssertEqual(gp.status, 1)
        XCTAssertTrue(gp.stderr.contains("\(grayDir)/b.png: pixel 1 (row 1, column 1) is 128: this model codes binary images"), gp.stderr)
        var bytes = try AtomicFile.readAll(path: archive, maxBytes: 1 << 24)
        bytes.removeLast(3)
        let cut = tempRunDir("cut") + ".bba"
        try AtomicFile.write(bytes, to: cut)
        // padded far past what its header accounts for: refused from the header, not read whole
        let padded = tempRunDir("padded") + ".bba"
        try AtomicFile.write(try AtomicFile.readAll(path: archive, maxBytes: 1 << 24), to: padded)
        XCTAssertEqual(truncate(padded, 200 << 20), 0)
        let folder = tempRunDir("folder-archive")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (file, fragment) in [(cut, "damaged or truncated"), (cut + ".nope", "does not exist"), (padded, "its header can account for"),
                                 (folder, "\(folder) is a folder, not an archive")] {   // (a raw Foundation error before)
            let out = tempRunDir("never") + ".idx"
            let r = try CLI.run(["decompress", run, file, "--out", out])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(fragment), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertFalse(AtomicFile.exists(out))
        }
    }

    /// 8-bit images with a beta-binomial model: the IDX file comes back byte for byte, and
    /// `vae evaluate` gives the −ELBO in bits per dimension beside the archive's.
    /// A run the codec cannot code (a Gaussian likelihood, a conditional model) is a usage error,
    /// as every command a run does not take (it was exit 1 here, 2 for a conv run).
    /// Ctrl-C while decompress writes its IDX: the partial temporary file beside the output is
    /// removed as the signal ends the process (it was left there for good, 2 MB of 15 MB).
    func testCtrlCLeavesNoTemporaryFile() throws {
        let sample = TinyData.root + "/data/fashion-mnist-sample"
        let run = tempRunDir("bbsig"), dir = tempRunDir("bbsig-out")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let t = try CLI.run(["train", "--data", sample, "--epochs", "1", "--latent", "4", "--hidden", "32", "--binarize", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let archive = dir + "/a.bba"
        let c = try CLI.run(["compress", run, "--data", sample + "/train-images-idx3-ubyte.gz", "--binarize", "--out", archive])
        XCTAssertEqual(c.status, 0, c.stderr)
        let h = try CLI.start(["decompress", run, archive, "--out", dir + "/x.idx"])
        let temporary = { (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.contains(".tmp-") } ?? [] }
        let deadline = Date().addingTimeInterval(60)
        while temporary().isEmpty && h.0.isRunning && Date() < deadline { usleep(1000) }
        guard h.0.isRunning, !temporary().isEmpty else {
            _ = CLI.finish(h)
            return XCTFail("decompress ended before its temporary file was seen (the archive is too small for this machine)")
        }
        kill(h.0.processIdentifier, SIGINT)
        let r = CLI.finish(h)
        XCTAssertEqual(h.0.terminationReason, .uncaughtSignal, r.stderr)
        XCTAssertEqual(r.status, SIGINT)
        XCTAssertEqual(temporary(), [], "a partial temporary file was left")
        XCTAssertFalse(AtomicFile.exists(dir + "/x.idx"))
        // into a new --out-dir: all or nothing (a Ctrl-C left some thousands of the images, no word)
        let p = try CLI.start(["decompress", run, archive, "--out-dir", dir + "/images"])
        let until = Date().addingTimeInterval(60)
        while temporary().isEmpty && p.0.isRunning && Date() < until { usleep(1000) }
        guard p.0.isRunning, !temporary().isEmpty else {
            _ = CLI.finish(p)
            return XCTFail("decompress ended before its hidden folder was seen")
        }
        usleep(200_000)
        kill(p.0.processIdentifier, SIGINT)
        _ = CLI.finish(p)
        XCTAssertEqual(temporary(), [], "the hidden folder was left")
        XCTAssertFalse(AtomicFile.exists(dir + "/images"))
        let whole = try CLI.run(["decompress", run, archive, "--out-dir", dir + "/images"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/images").count, 5000)
        XCTAssertEqual(temporary(), [])
    }

    func testRunsTheCodecCannotCodeAreUsageErrors() throws {
        let data = try TinyData.make(train: 64, test: 16)
        for extra in [["--likelihood", "gaussian"], ["--conditional"]] {
            let run = tempRunDir("bbno")
            XCTAssertEqual(try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", run] + extra).status, 0)
            let r = try CLI.run(["compress", run, "--data", data, "--out", run + "/x.bba"])
            XCTAssertEqual(r.status, 2, "\(extra): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: vae compress: compression "), r.stderr)
            XCTAssertFalse(AtomicFile.exists(run + "/x.bba"))
        }
    }

    func testEightBitImagesComeBackByteForByte() throws {
        let data = try TinyData.make(train: 256, test: 64, side: 28)
        let run = tempRunDir("bb8")
        let t = try CLI.run(["train", "--data", data, "--epochs", "2", "--latent", "4", "--hidden", "32", "--batch", "64",
                             "--likelihood", "beta-binomial", "--seed", "3", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let archive = tempRunDir("bb8") + ".bba", out = tempRunDir("bb8") + ".idx"
        let c = try CLI.run(["compress", run, "--data", data + "/t10k-images-idx3-ubyte.gz", "--out", archive])
        XCTAssertEqual(c.status, 0, c.stderr)
        let d = try CLI.run(["decompress", run, archive, "--out", out], env: ["VAE_CPU": "portable"])
        XCTAssertEqual(d.status, 0, d.stderr)
        let original = try Gzip.decompress(try AtomicFile.readAll(path: data + "/t10k-images-idx3-ubyte.gz", maxBytes: 1 << 24), maxOutput: 1 << 24)
        XCTAssertEqual(try AtomicFile.readAll(path: out, maxBytes: 1 << 24), original, "the IDX file did not come back byte for byte")
        let e = try CLI.run(["evaluate", run])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("\"bits_per_dim\""), e.stdout)
        // a folder of gray PNGs comes back with the same names and pixels; an RGB one is refused
        let pngDir = tempRunDir("bb8-png"), outDir = tempRunDir("bb8-png-out")
        try FileManager.default.createDirectory(atPath: pngDir, withIntermediateDirectories: true)
        let names = ["seven.png", "b 2.png", "ünïcode.png"]
        for (i, name) in names.enumerated() {
            try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: Array(original[(16 + i * 784)..<(16 + (i + 1) * 784)])),
                                 to: pngDir + "/" + name)
        }
        try AtomicFile.write([1, 2, 3], to: pngDir + "/.hidden.png")   // not the user's image: skipped
        let cp = try CLI.run(["compress", run, "--images", pngDir, "--out", archive + "p"])
        XCTAssertEqual(cp.status, 0, cp.stderr)
        let dp = try CLI.run(["decompress", run, archive + "p", "--out-dir", outDir])
        XCTAssertEqual(dp.status, 0, dp.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir).sorted(), names.sorted())
        for name in names {
            let a = try PNG.decode(try AtomicFile.readAll(path: pngDir + "/" + name, maxBytes: 1 << 20))
            let b = try PNG.decode(try AtomicFile.readAll(path: outDir + "/" + name, maxBytes: 1 << 20))
            XCTAssertEqual(a.pixels, b.pixels, name)
            XCTAssertEqual(b.channels, 1)
        }
        // --out naming one of the input images would replace it: refused, the image untouched
        let seven = try AtomicFile.readAll(path: pngDir + "/seven.png", maxBytes: 1 << 20)
        let onto = try CLI.run(["compress", run, "--images", pngDir, "--out", pngDir + "/seven.png"])
        XCTAssertEqual(onto.status, 1)
        XCTAssertTrue(onto.stderr.contains("is the input image"), onto.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: pngDir + "/seven.png", maxBytes: 1 << 20), seven)
        // a run written inside the folder it trains on would turn its pictures into data
        let inside = try CLI.run(["train", "--data", pngDir, "--epochs", "1", "--out", pngDir + "/run"])
        XCTAssertEqual(inside.status, 2, inside.stderr)
        XCTAssertTrue(inside.stderr.contains("is inside the data folder"), inside.stderr)
        XCTAssertFalse(AtomicFile.exists(pngDir + "/run"))
        // --out naming the input (or the archive) would replace it: refused
        let idxCopy = try writeTemp(original)
        let same = try CLI.run(["compress", run, "--data", idxCopy, "--out", idxCopy])
        XCTAssertEqual(same.status, 1)
        XCTAssertTrue(same.stderr.contains("is the input file"), same.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: idxCopy, maxBytes: 1 << 24), original)
        let sameArchive = try CLI.run(["decompress", run, archive + "p", "--out", archive + "p"])
        XCTAssertEqual(sameArchive.status, 1)
        XCTAssertTrue(sameArchive.stderr.contains("is the archive itself"), sameArchive.stderr)
        // decompress --out-dir: a file in the folder's place, or a folder in a file's place, is one
        // line before anything is written
        let blocked = tempRunDir("bb8-blocked")
        try FileManager.default.createDirectory(atPath: blocked + "/" + names[1], withIntermediateDirectories: true)
        let db = try CLI.run(["decompress", run, archive + "p", "--out-dir", blocked])
        XCTAssertEqual(db.status, 1)
        XCTAssertTrue(db.stderr.contains("cannot write \(blocked)/\(names[1]): a folder of that name is in the way (nothing was written)"), db.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked), [names[1]])
        // a name from the archive that is a link in the folder would write through it, out of the folder
        let linked = tempRunDir("bb8-link"), outside = tempRunDir("bb8-outside") + ".txt"
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
        try AtomicFile.write("precious\n", to: outside)
        try FileManager.default.createSymbolicLink(atPath: linked + "/" + names[0], withDestinationPath: outside)
        let dl = try CLI.run(["decompress", run, archive + "p", "--out-dir", linked])
        XCTAssertEqual(dl.status, 1)
        XCTAssertTrue(dl.stderr.contains("cannot write \(linked)/\(names[0]): it is a symbolic link"), dl.stderr)
        XCTAssertEqual(try String(contentsOfFile: outside, encoding: .utf8), "precious\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: linked), [names[0]])
        // nor may a decoded image replace the archive it comes from
        let selfDir = tempRunDir("bb8-self")
        try FileManager.default.createDirectory(atPath: selfDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: archive + "p", toPath: selfDir + "/" + names[2])
        let ds = try CLI.run(["decompress", run, selfDir + "/" + names[2], "--out-dir", selfDir])
        XCTAssertEqual(ds.status, 1)
        XCTAssertTrue(ds.stderr.contains("it is the archive itself"), ds.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: selfDir + "/" + names[2], maxBytes: 1 << 20), try AtomicFile.readAll(path: archive + "p", maxBytes: 1 << 20))
        // an archive from a pipe is read no further than its header accounts for (it was read whole, to 2 GB)
        let fifo = tempRunDir("bb8-fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let good = try AtomicFile.readAll(path: archive + "p", maxBytes: 1 << 20)
        signal(SIGPIPE, SIG_IGN)   // the reader stops early: the writer gets EPIPE, not a signal that ends the tests
        let writer = Thread {
            guard let h = FileHandle(forWritingAtPath: fifo) else { return }
            try? h.write(contentsOf: Data(good + [UInt8](repeating: 0, count: 4 << 20)))
            try? h.close()
        }
        writer.start()
        let dpipe = try CLI.run(["decompress", run, fifo, "--out", tempRunDir("bb8-fifo-out") + ".idx"])
        XCTAssertEqual(dpipe.status, 1)
        XCTAssertTrue(dpipe.stderr.contains("\(fifo) is damaged: it is over ") && dpipe.stderr.contains("bytes its header can account for"), dpipe.stderr)
        writer.cancel()
        // --out NAME.gz is gzipped, as MNIST's own files, and reads back as the same images
        let gz = tempRunDir("bb8-gz") + ".idx.gz"
        let dg = try CLI.run(["decompress", run, archive, "--out", gz])
        XCTAssertEqual(dg.status, 0, dg.stderr)
        XCTAssertEqual(Array(try AtomicFile.readAll(path: gz, maxBytes: 1 << 24).prefix(2)), [0x1F, 0x8B])
        XCTAssertEqual(try Gzip.decompress(try AtomicFile.readAll(path: gz, maxBytes: 1 << 24), maxOutput: 1 << 24), original)
        XCTAssertTrue(dg.stdout.contains("decompressed 64 images into"), dg.stdout)
        // the arguments the other way round: the archive is named as a file, not "no such directory"
        let swapped = try CLI.run(["decompress", archive, run, "--out", out])
        XCTAssertEqual(swapped.status, 1)
        XCTAssertTrue(swapped.stderr.contains("\(archive) is a file, not a run folder; the run folder (what `vae train --out` wrote) is the command's first argument"), swapped.stderr)
        // an IDX file of no images is nothing to compress (it wrote an archive, "inf bits/dim")
        let empty = try writeTemp([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])
        let ce = try CLI.run(["compress", run, "--data", empty, "--out", archive + "e"])
        XCTAssertEqual(ce.status, 1)
        XCTAssertTrue(ce.stderr.contains("holds no images: nothing to compress"), ce.stderr)
        XCTAssertFalse(AtomicFile.exists(archive + "e"))
        // a FIFO named like an image hung compress: refused
        let odd = tempRunDir("bb8-odd")
        try FileManager.default.createDirectory(atPath: odd, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(odd + "/pipe.png", 0o600), 0)
        let cf = try CLI.run(["compress", run, "--images", odd, "--out", archive + "f"])
        XCTAssertEqual(cf.status, 1)
        XCTAssertTrue(cf.stderr.contains("\(odd)/pipe.png is not a regular file"), cf.stderr)
        let df = try CLI.run(["decompress", run, archive + "p", "--out-dir", archive])
        XCTAssertEqual(df.status, 1)
        XCTAssertEqual(df.stderr, "error: --out-dir \(archive) is a file, not a folder: give a folder (it is made if missing)\n")
        // a 16-bit gray PNG would lose its low byte, a gray one with a transparent level its transparency: refused
        let deep = tempRunDir("bb8-16")
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        try AtomicFile.write(CompressionCLITests.grayPNG(side: 28, bitDepth: 16, trns: nil), to: deep + "/deep.png")
        let c16 = try CLI.run(["compress", run, "--images", deep, "--out", archive + "16"])
        XCTAssertEqual(c16.status, 1)
        XCTAssertTrue(c16.stderr.contains("deep.png has 16 bits per sample"), c16.stderr)
        XCTAssertFalse(AtomicFile.exists(archive + "16"))
        // --limit: the files past it are not read (each was decoded and checked, its error ending the command)
        try AtomicFile.write(CompressionCLITests.grayPNG(side: 28, bitDepth: 8, trns: nil), to: deep + "/a-good.png")
        let cl = try CLI.run(["compress", run, "--images", deep, "--limit", "1", "--out", archive + "16"])
        XCTAssertEqual(cl.status, 0, cl.stderr)
        try FileManager.default.removeItem(atPath: archive + "16")
        try FileManager.default.removeItem(atPath: deep + "/a-good.png")
        try FileManager.default.removeItem(atPath: deep + "/deep.png")
        try AtomicFile.write(CompressionCLITests.grayPNG(side: 28, bitDepth: 8, trns: [0, 7]), to: deep + "/key.png")
        let ct = try CLI.run(["compress", run, "--images", deep, "--out", archive + "16"])
        XCTAssertEqual(ct.status, 1)
        XCTAssertTrue(ct.stderr.contains("key.png is gray with a transparent gray level"), ct.stderr)
        // a palette of gray entries holds gray pixels: coded exactly (it was refused as "3 channels"); a coloured one is not
        let pal = tempRunDir("bb8-pal"), palOut = tempRunDir("bb8-pal-out")
        try FileManager.default.createDirectory(atPath: pal, withIntermediateDirectories: true)
        try AtomicFile.write(CompressionCLITests.palettePNG(side: 28, entries: [[0, 0, 0], [90, 90, 90], [255, 255, 255]]), to: pal + "/p.png")
        XCTAssertEqual(try CLI.run(["compress", run, "--images", pal, "--out", archive + "pal"]).status, 0)
        XCTAssertEqual(try CLI.run(["decompress", run, archive + "pal", "--out-dir", palOut]).status, 0)
        XCTAssertEqual(try PNG.decode(try AtomicFile.readAll(path: palOut + "/p.png", maxBytes: 1 << 20)).pixels,
                       (0..<784).map { [0, 90, 255][(($0 % 28) + ($0 / 28)) % 3] })
        try AtomicFile.write(CompressionCLITests.palettePNG(side: 28, entries: [[0, 0, 0], [255, 0, 0]]), to: pal + "/p.png")
        let colour = try CLI.run(["compress", run, "--images", pal, "--out", archive + "pal2"])
        XCTAssertEqual(colour.status, 1)
        XCTAssertTrue(colour.stderr.contains("p.png is a palette PNG with colours"), colour.stderr)
        try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 3, pixels: [UInt8](repeating: 9, count: 3 * 784)), to: pngDir + "/rgb.png")
        let rgb = try CLI.run(["compress", run, "--images", pngDir, "--out", archive + "q"])
        XCTAssertNotEqual(rgb.status, 0)
        XCTAssertTrue(rgb.stderr.contains("rgb.png has 3 channels"), rgb.stderr)
        // an exported copy (no Adam moments) is a third of the size and codes the very same archive
        let exported = tempRunDir("bb8-export")
        let x = try CLI.run(["export", run, "--out", exported])
        XCTAssertEqual(x.status, 0, x.stderr)
        let full = try AtomicFile.readAll(path: run + "/model.safetensors", maxBytes: 1 << 26).count
        let small = try AtomicFile.readAll(path: exported + "/model.safetensors", maxBytes: 1 << 26).count
        XCTAssertLessThan(small, full / 2)
        let c3 = try CLI.run(["compress", exported, "--data", data + "/t10k-images-idx3-ubyte.gz", "--out", archive + "3"])
        XCTAssertEqual(c3.status, 0, c3.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: archive + "3", maxBytes: 1 << 24), try AtomicFile.readAll(path: archive, maxBytes: 1 << 24))
        XCTAssertNotEqual(try CLI.run(["export", run, "--out", exported]).status, 0, "export over a run")
        // written whole or not at all: into a hidden folder beside --out, renamed when whole; one a
        // killed export left (its process gone) is removed by the next export there
        let parent = tempRunDir("bb8-exports")
        let dead = parent + "/.copy.tmp-2147483646-abc"   // no such process (above any pid_max)
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
        try AtomicFile.write([1, 2, 3], to: dead + "/model.safetensors")
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, dead, &old, 0), 0)   // untouched for an hour and more
        let recent = parent + "/.copy.tmp-2147483645-def"   // touched now: perhaps another machine's, kept
        try FileManager.default.createDirectory(atPath: recent, withIntermediateDirectories: true)
        let again = try CLI.run(["export", run, "--out", parent + "/copy"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent).sorted(), [".copy.tmp-2147483645-def", "copy"])
        XCTAssertEqual(try AtomicFile.readAll(path: parent + "/copy/model.safetensors", maxBytes: 1 << 26).count, small)
        // folders that do not exist yet are made, as before the copy went through a hidden folder
        let nested = try CLI.run(["export", run, "--out", parent + "/new/sub/copy"])
        XCTAssertEqual(nested.status, 0, nested.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent + "/new/sub"), ["copy"])
        // an existing folder is written into, keeping its mode; weights without a config.json (an
        // export killed between them) are written over, not "already holds a run"
        let kept = tempRunDir("bb8-private")
        try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(kept, 0o700), 0)
        try FileManager.default.copyItem(atPath: exported + "/model.safetensors", toPath: kept + "/model.safetensors")   // weights, no Adam moments
        let into = try CLI.run(["export", run, "--out", kept])
        XCTAssertEqual(into.status, 0, into.stderr)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: kept)[.posixPermissions] as? Int), 0o700)
        XCTAssertEqual(try AtomicFile.readAll(path: kept + "/model.safetensors", maxBytes: 1 << 26).count, small)
        // a run's own checkpoint (its Adam moments) without config.json is a run still: not written over
        let bare = tempRunDir("bb8-bare")
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: run + "/model.safetensors", toPath: bare + "/model.safetensors")
        let over = try CLI.run(["export", run, "--out", bare])
        XCTAssertEqual(over.status, 1, over.stderr)
        XCTAssertTrue(over.stderr.contains("already holds a run"), over.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: bare + "/model.safetensors", maxBytes: 1 << 26).count, full)
        let itself = try CLI.run(["export", run, "--out", run])
        XCTAssertEqual(itself.status, 1, itself.stderr)
        XCTAssertTrue(itself.stderr.contains("is the run folder itself"), itself.stderr)
        let dotDir = tempRunDir("bb8-dot")   // --out . in an empty folder (it was "Device or resource busy")
        try FileManager.default.createDirectory(atPath: dotDir, withIntermediateDirectories: true)
        let dot = try CLI.run(["export", run, "--out", "."], cwd: dotDir)
        XCTAssertEqual(dot.status, 0, dot.stderr)
        XCTAssertTrue(AtomicFile.exists(dotDir + "/config.json"))
        let b = try CLI.run(["compress", run, "--data", data + "/t10k-images-idx3-ubyte.gz", "--binarize", "--out", archive + "2"])
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.stderr.contains("8-bit pixels as they are"), b.stderr)
    }

    /// A gray PNG (filter 0, not interlaced) of varied samples at 8 or 16 bits, with an optional tRNS chunk.
    /// An 8-bit palette PNG: pixel (x, y) is entry (x + y) % entries.count of `entries` (RGB triples).
    static func palettePNG(side: Int, entries: [[UInt8]]) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<side { raw.append(0); for x in 0..<side { raw.append(UInt8((x + y) % entries.count)) } }
        var png = PNG.signature, ihdr: [UInt8] = []
        PNG.appendBE32(&ihdr, UInt32(side)); PNG.appendBE32(&ihdr, UInt32(side))
        ihdr += [8, 3, 0, 0, 0]
        PNG.appendChunk(&png, "IHDR", ihdr)
        PNG.appendChunk(&png, "PLTE", entries.flatMap { $0 })
        PNG.appendChunk(&png, "IDAT", PNG.zlibCompress(raw))
        PNG.appendChunk(&png, "IEND", [])
        return png
    }

    static func grayPNG(side: Int, bitDepth: Int, trns: [UInt8]?) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<side {
            raw.append(0)
            for x in 0..<side {
                let v = (y * 977 + x * 131) & 0xffff
                raw += bitDepth == 16 ? [UInt8(v >> 8), UInt8(v & 255)] : [UInt8(v & 255)]
            }
        }
        var png = PNG.signature, ihdr: [UInt8] = []
        PNG.appendBE32(&ihdr, UInt32(side)); PNG.appendBE32(&ihdr, UInt32(side))
        ihdr += [UInt8(bitDepth), 0, 0, 0, 0]
        PNG.appendChunk(&png, "IHDR", ihdr)
        if let trns { PNG.appendChunk(&png, "tRNS", trns) }
        PNG.appendChunk(&png, "IDAT", PNG.zlibCompress(raw))
        PNG.appendChunk(&png, "IEND", [])
        return png
    }

    func writeTemp(_ bytes: [UInt8]) throws -> String {
        let p = tempRunDir("idx") + ".idx"
        try AtomicFile.write(bytes, to: p)
        return p
    }
}
