import Foundation
import XCTest
import VAEKit
import VAEViz

/// Conditional sampling, inpainting and denoising end to end on tiny models: the files they
/// write and the numbers they print.
final class GenerationCLITests: XCTestCase {
    nonisolated(unsafe) static var data = ""
    nonisolated(unsafe) static var conditional = ""
    nonisolated(unsafe) static var denoising = ""
    nonisolated(unsafe) static var boxed = ""
    nonisolated(unsafe) static var setupError: Error?

    override class func setUp() {
        super.setUp()
        do {
            data = try TinyData.make(train: 256, test: 64, side: 28)
            conditional = tempRunDir("cvae")
            denoising = tempRunDir("dvae")
            boxed = tempRunDir("boxvae")
            for (run, extra) in [(conditional, ["--conditional"]), (denoising, ["--corrupt", "gaussian:0.3"]),
                                 (boxed, ["--corrupt", "box:0.5"])] {
                let r = try CLI.run(["train", "--data", data, "--epochs", "2", "--latent", "2", "--hidden", "32", "--batch", "64",
                                     "--seed", "3", "--out", run, "--no-report"] + extra)
                guard r.status == 0 else { throw VAEError("train \(extra) failed: \(r.stderr)") }
            }
        } catch { setupError = error }
    }

    func ready() throws {
        if let e = GenerationCLITests.setupError { throw e }
    }

    func pngs(in dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".png") }.sorted()
    }

    /// The report's denoising PSNRs are vae denoise's: the page names the command, and it gives the
    /// same numbers (the page drew its noise from the training seed: 13.32 / 17.11 / 15.16 dB on
    /// the page, 13.30 / 17.12 / 15.17 from the command).
    func testReportDenoisingNumbersAreTheCommands() throws {
        try ready()
        let copy = tempRunDir("dvae-report")
        try FileManager.default.copyItem(atPath: GenerationCLITests.denoising, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let rep = try CLI.run(["report", copy])
        XCTAssertEqual(rep.status, 0, rep.stderr)
        let page = try String(contentsOfFile: copy + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("vae denoise RUN --noise 0.3 --limit 64 gives the same numbers"), "the caption names the command")
        func number(_ pattern: String, _ text: String) -> String? {
            (text.range(of: pattern, options: .regularExpression).map { String(text[$0]) })?
                .split(separator: " ").compactMap { Double($0) != nil ? String($0) : nil }.last
        }
        let d = try CLI.run(["denoise", copy, "--noise", "0.3", "--limit", "64", "--out", copy + "/d.png"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertEqual(number(#"corrupted \(gaussian:0\.3\): [0-9.]+"#, page), number(#"noisy [0-9.]+"#, d.stdout), d.stdout)
        XCTAssertEqual(number(#"denoised by the VAE: [0-9.]+"#, page), number(#"VAE [0-9.]+"#, d.stdout), d.stdout)
        XCTAssertEqual(number(#"3×3 median filter: [0-9.]+"#, page), number(#"median filter [0-9.]+"#, d.stdout), d.stdout)
        XCTAssertNotNil(number(#"noisy [0-9.]+"#, d.stdout))
        // an image run given a CSV table is told so (it read a table of 1×1×5 "images")
        try AtomicFile.write("a,b,label\n1,2,x\n3,4,y\n", to: copy + "/t.csv")
        for command in ["evaluate", "encode", "report"] {
            let r = try CLI.run([command, copy, "--data", copy + "/t.csv"])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("t.csv is a CSV table, and the run in \(copy) was trained on images: pass --data DIR"), r.stderr)
        }
        // files of test items are named by the items' ids, from 0 as everywhere (test-0001.png was item 0)
        for (command, prefix) in [("reconstruct", "test"), ("denoise", "denoised"), ("inpaint", "inpainted")] {
            let dir = copy + "/each-" + command
            let r = try CLI.run([command, copy, "--count", "3", "--out", dir + ".png", "--out-dir", dir] + (command == "inpaint" ? ["--mask", "top", "--limit", "3"] : []))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try pngs(in: dir), ["\(prefix)-0000.png", "\(prefix)-0001.png", "\(prefix)-0002.png"], command)
        }
    }

    /// A conditional model given data without labels (a flat folder of images) is one line, exit 1,
    /// in every command that reads a test set: it was a precondition failure and a backtrace.
    func testConditionalModelOnUnlabelledDataIsOneLine() throws {
        try ready()
        let flat = tempRunDir("flat")
        try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        for i in 0..<4 {
            try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: (0..<784).map { UInt8(($0 * 3 + i * 50) % 256) }), to: "\(flat)/\(i).png")
        }
        let run = GenerationCLITests.conditional
        for args in [["evaluate", run], ["anomaly", run], ["encode", run, "--out", flat + "/z.csv"], ["latent", run, "--out", flat + "/l.png"],
                     ["reconstruct", run, "--out", flat + "/r.png"], ["denoise", run, "--out", flat + "/d.png"],
                     ["inpaint", run, "--mask", "top", "--out", flat + "/i.png"]] {
            let r = try CLI.run(args + ["--data", flat])
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init),
                           "error: \(flat) has no labels, and the model in \(run) is conditional (each item's label is one of its inputs): give labelled data (class folders, IDX/CIFAR labels, a table's label column)", args[0])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: flat).count, 4, "an output was written")
        let zero = try CLI.run(["anomaly", run, "--limit", "0"])
        XCTAssertEqual(zero.status, 2, zero.stderr)
        XCTAssertTrue(zero.stderr.contains("--limit must be ≥ 1"), zero.stderr)
        let both = try CLI.run(["anomaly", run, "--samples", "5", "--iwae", "5"])   // --samples was ignored
        XCTAssertEqual(both.status, 2, both.stderr)
        XCTAssertTrue(both.stderr.contains("give one of them"), both.stderr)
    }

    /// A conditional model reconstructs, denoises and inpaints a folder of images under the class
    /// --class names (it refused every folder: the images have no labels); the class given is the
    /// one decoded (another gives other pictures). Without --class, one line saying to give it.
    func testConditionalModelReadsAFolderUnderTheClassGiven() throws {
        try ready()
        let flat = tempRunDir("cflat"), out = tempRunDir("cflat-out")
        try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: true)
        for i in 0..<3 {
            try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: (0..<784).map { UInt8(($0 * 3 + i * 50) % 256) }), to: "\(flat)/\(i).png")
        }
        let run = GenerationCLITests.conditional
        let commands = [["reconstruct", run], ["denoise", run], ["inpaint", run, "--mask", "top"]]
        for args in commands {
            let r = try CLI.run(args + ["--images", flat, "--out", out + "-x.png"])
            XCTAssertEqual(r.status, 2, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("a conditional model reads each image with its label: give --class NAME|INDEX (every image of --images read as that class), or \(args[0]) the labelled test set (--data)"), r.stderr)
            var pictures: [[UInt8]] = []
            for cls in ["3", "5"] {
                let dir = "\(out)-\(args[0])-\(cls)"
                let ok = try CLI.run(args + ["--images", flat, "--class", cls, "--out", dir + ".png", "--out-dir", dir])
                XCTAssertEqual(ok.status, 0, "\(args[0]): \(ok.stderr)")
                pictures.append(try AtomicFile.readAll(path: dir + "/0.png", maxBytes: 1 << 20))
            }
            XCTAssertTrue(pictures[0] != pictures[1], "\(args[0]): --class 3 and --class 5 decoded the same")
            let stray = try CLI.run(args + ["--class", "3", "--out", out + "-y.png"])
            XCTAssertEqual(stray.status, 2, stray.stderr)
            XCTAssertTrue(stray.stderr.contains("--class is the label of the images of --images DIR"), stray.stderr)
        }
        XCTAssertFalse(AtomicFile.exists(out + "-x.png") || AtomicFile.exists(out + "-y.png"))
        let plain = try CLI.run(["denoise", GenerationCLITests.denoising, "--images", flat, "--class", "3", "--out", out + "-z.png"])
        XCTAssertEqual(plain.status, 2, plain.stderr)
        XCTAssertTrue(plain.stderr.contains("--class needs a conditional model"), plain.stderr)
    }

    /// A second, shorter sample into the same --out-dir says that the first one's later images are
    /// still there (the folder mixed two runs' images without a word); they are left as they are.
    func testOlderNumberedImagesInOutDirAreNoted() throws {
        try ready()
        let dir = tempRunDir("outdir-older")
        let first = try CLI.run(["sample", GenerationCLITests.denoising, "--count", "6", "--out", dir + ".png", "--out-dir", dir])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertFalse(first.stderr.contains("older numbered"), first.stderr)
        let second = try CLI.run(["sample", GenerationCLITests.denoising, "--count", "2", "--out", dir + ".png", "--out-dir", dir])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("note: \(dir) also holds 4 older numbered images (sample-0003.png … sample-0006.png) that this command did not write"), second.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).count, 6)
    }

    /// --out-dir naming a file is one line before any work: it was a raw Foundation error after the
    /// --out picture had been written.
    func testOutDirThatIsAFileIsRefusedFirst() throws {
        try ready()
        let dir = tempRunDir("outdir-file")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AtomicFile.write("x", to: dir + "/afile")
        for command in [["sample", GenerationCLITests.denoising], ["reconstruct", GenerationCLITests.denoising],
                        ["interpolate", GenerationCLITests.denoising, "--from", "0", "--to", "1"], ["denoise", GenerationCLITests.denoising],
                        ["inpaint", GenerationCLITests.boxed, "--mask", "bottom"]] {
            let r = try CLI.run(command + ["--out", dir + "/pic.png", "--out-dir", dir + "/afile"])
            XCTAssertEqual(r.status, 1, "\(command[0]): \(r.stderr)")
            XCTAssertEqual(r.stderr, "error: --out-dir \(dir)/afile is a file, not a folder: give a folder (it is made if missing)\n", command[0])
            XCTAssertFalse(AtomicFile.exists(dir + "/pic.png"), command[0])
        }
        // an --out-dir under a file (one part of its path a file): one line naming the path and the part
        let under = try CLI.run(["sample", GenerationCLITests.denoising, "--out", dir + "/pic.png", "--out-dir", dir + "/afile/sub"])
        XCTAssertEqual(under.status, 1)
        XCTAssertEqual(under.stderr, "error: --out-dir \(dir)/afile/sub: \(dir)/afile is a file, not a folder: give a folder (it is made if missing)\n")
        // one-character names were a crash (Foundation's deletingLastPathComponent); a folder is no file name
        let cwd = tempRunDir("onechar")
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let enc = try CLI.run(["encode", GenerationCLITests.denoising, "--out", "a"], cwd: cwd)
        XCTAssertEqual(enc.status, 0, enc.stderr)
        XCTAssertTrue(AtomicFile.exists(cwd + "/a"))
        // impute on an image run is a run that does not take the command: exit 2, as a picture command on a table run
        let imp = try CLI.run(["impute", GenerationCLITests.denoising, "--data", cwd + "/a", "--out", cwd + "/b.csv"])
        XCTAssertEqual(imp.status, 2, imp.stderr)
        XCTAssertTrue(imp.stderr.contains("was trained on images; vae impute fills tables"), imp.stderr)
        let dot = try CLI.run(["sample", GenerationCLITests.denoising, "--out", "."], cwd: cwd)
        XCTAssertEqual(dot.status, 1, "a file of the wrong kind, as --out-dir's: exit 1")
        XCTAssertTrue(dot.stderr.contains("--out . is a folder: give a file name"), dot.stderr)
        let inFile = try CLI.run(["encode", GenerationCLITests.denoising, "--out", dir + "/afile/x.csv"])
        XCTAssertEqual(inFile.status, 1)
        XCTAssertTrue(inFile.stderr.contains("\(dir)/afile is a file, not a folder"), inFile.stderr)
        // a picture under another name would be PNG bytes that no reader of .csv or .jpg expects
        let csv = try CLI.run(["sample", GenerationCLITests.denoising, "--out", dir + "/pic.csv"])
        XCTAssertEqual(csv.status, 2)
        XCTAssertTrue(csv.stderr.contains("pictures are written as PNG"), csv.stderr)
        XCTAssertFalse(AtomicFile.exists(dir + "/pic.csv"))
        // no noise, no PSNR ("inf dB")
        XCTAssertEqual(try CLI.run(["denoise", GenerationCLITests.denoising, "--noise", "0", "--out", dir + "/pic.png"]).status, 2)
        // the sequence runs' sampling flags were ignored on an image run
        let greedy = try CLI.run(["sample", GenerationCLITests.denoising, "--greedy", "--out", dir + "/pic.png"])
        XCTAssertEqual(greedy.status, 2)
        XCTAssertTrue(greedy.stderr.contains("--temperature, --greedy and --valid-only are for sequence runs"), greedy.stderr)
    }

    func testConditionalModelStoresItsConditionAndSamplesByClass() throws {
        try ready()
        let loaded = try Checkpoint.load(GenerationCLITests.conditional)
        XCTAssertEqual(loaded.model.config.conditionSize, 10)
        // vae info says it (the report did; info did not), and interpolate which class it decodes
        let info = try CLI.run(["info", GenerationCLITests.conditional])
        XCTAssertTrue(info.stdout.contains("condition:   conditional on the label, 10 classes\n"), info.stdout)
        let line = try CLI.run(["interpolate", GenerationCLITests.conditional, "--from", "0", "--to", "1", "--out", tempRunDir("cline") + ".png"])
        XCTAssertEqual(line.status, 0, line.stderr)
        let first = try Dataset.load(directory: GenerationCLITests.data).test.label(0)
        XCTAssertTrue(line.stderr.contains("note: a conditional model; decoding the first image's class, \(first) (choose with --class)"), line.stderr)
        let out = tempRunDir("cls")
        let r = try CLI.run(["sample", GenerationCLITests.conditional, "--class", "7", "--count", "5", "--out", out + ".png", "--out-dir", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try pngs(in: out), (1...5).map { String(format: "sample-%04d.png", $0) })
        let one = try PNG.decode(try AtomicFile.readAll(path: out + "/sample-0001.png", maxBytes: 1 << 20))
        XCTAssertEqual([one.width, one.height], [28, 28])
        // without --class: one row per class, 10 classes × 10
        let grid = tempRunDir("grid") + ".png"
        let g = try CLI.run(["sample", GenerationCLITests.conditional, "--out", grid])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("one row per class"), g.stderr)
        let img = try PNG.decode(try AtomicFile.readAll(path: grid, maxBytes: 1 << 24))
        XCTAssertEqual(img.width, img.height)   // 10 × 10 tiles
        // a bad class is one line naming the classes; a usage error (exit 2), like other option values
        let bad = try CLI.run(["sample", GenerationCLITests.conditional, "--class", "banana"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("is not a class of this model"), bad.stderr)
        // --class on an unconditional model
        let plain = try CLI.run(["sample", GenerationCLITests.denoising, "--class", "1"])
        XCTAssertEqual(plain.status, 2)
        XCTAssertTrue(plain.stderr.contains("--conditional"), plain.stderr)
        // the IWAE estimate of a conditional model scores each image under its own label
        let ev = try CLI.run(["evaluate", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--iwae", "5", "--limit", "8"])
        XCTAssertEqual(ev.status, 0, ev.stderr)
        XCTAssertTrue(ev.stdout.contains("iwae_nll"), ev.stdout)
        // manifold and interpolation take --class
        for args in [["manifold", GenerationCLITests.conditional, "--class", "3", "--grid", "4"],
                     ["interpolate", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--from", "0", "--to", "1", "--class", "2"]] {
            let m = try CLI.run(args + ["--out", tempRunDir("m") + ".png"])
            XCTAssertEqual(m.status, 0, m.stderr)
        }
    }

    /// A conditional model trained on some classes (`--classes`) never saw the others' condition:
    /// sampling, the manifold and interpolation refuse them (exit 2, naming the trained classes),
    /// and sampling without --class gives a row per trained class only.
    func testConditionalModelTrainedOnSomeClassesOffersOnlyThose() throws {
        try ready()
        let run = tempRunDir("cvae-some")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let t = try CLI.run(["train", "--data", GenerationCLITests.data, "--epochs", "1", "--latent", "2", "--hidden", "16", "--batch", "32",
                             "--conditional", "--classes", "1,2", "--out", run])
        XCTAssertEqual(t.status, 0, t.stderr)
        let g = try CLI.run(["sample", run, "--out", run + "/rows.png"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("one row per class: 1, 2"), g.stderr)
        let img = try PNG.decode(try AtomicFile.readAll(path: run + "/rows.png", maxBytes: 1 << 24))
        XCTAssertLessThan(img.height * 4, img.width)   // 2 rows of 10
        let ok = try CLI.run(["sample", run, "--class", "2", "--count", "4", "--out", run + "/p.png"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        // many per class: the picture's rows stop at 100 (a row of 1,000 made a picture viewers cannot
        // open), --out-dir has every image
        let wide = try CLI.run(["sample", run, "--count", "150", "--out", run + "/wide.png", "--out-dir", run + "/all"])
        XCTAssertEqual(wide.status, 0, wide.stderr)
        XCTAssertTrue(wide.stderr.contains("the picture shows the first 100 of each (--out-dir writes all 150)"), wide.stderr)
        let w = try PNG.decode(try AtomicFile.readAll(path: run + "/wide.png", maxBytes: 1 << 26))
        XCTAssertEqual(w.width, (img.width - 1) * 10 + 1, "rows of 100 where --count 10 gave rows of 10 (a border of 1 between and around)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run + "/all").count, 300)
        for args in [["sample", run, "--class", "7"], ["manifold", run, "--class", "0", "--grid", "3"],
                     ["interpolate", run, "--data", GenerationCLITests.data, "--from", "0", "--to", "1", "--class", "9"]] {
            let r = try CLI.run(args + ["--out", run + "/x.png"])
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("trained on classes 1, 2 only"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/x.png"))
        }
        // without --class the manifold decodes a trained class (it decoded class 0, never trained)
        let m = try CLI.run(["manifold", run, "--grid", "3", "--out", run + "/m.png"])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.stderr.contains("decoding class 1 (choose with --class)"), m.stderr)
        // the report's manifold is that class's too, and its captions name the class (it decoded
        // class 0 and said nothing of a class)
        let m15 = try CLI.run(["manifold", run, "--out", run + "/m15.png"])
        XCTAssertEqual(m15.status, 0, m15.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: run + "/m15.png", maxBytes: 1 << 24), try AtomicFile.readAll(path: run + "/manifold.png", maxBytes: 1 << 24))
        let reportPage = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(reportPage.contains("Decoded 15×15 grid over z₁, z₂ ∈ [−2, 2]. Decoded as class 1 (the model is conditional: vae manifold --class C for another)."), "manifold caption")
        XCTAssertTrue(reportPage.range(of: #"between their latent means\. Decoded as class [12], the first image"#, options: .regularExpression) != nil, "interpolation caption")
        // the commands that read test items leave out the classes the model cannot read, and say so
        // (they read all of them: reconstructions, scores and codes under never-trained one-hots)
        let e = try CLI.run(["encode", run, "--data", GenerationCLITests.data, "--out", run + "/z.csv"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.contains("test items are of classes the run did not train on, and are left out"), e.stderr)
        let labels = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[2] }
        XCTAssertFalse(labels.isEmpty)
        XCTAssertEqual(Set(labels), ["1", "2"])
        // each kept item keeps its id in the whole test set (they were renumbered 0, 1, … after the
        // filtering): the label of id i is test item i's, and interpolate takes the same ids
        let whole = try Dataset.load(directory: GenerationCLITests.data).test
        let rows = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let ids = rows.map { Int($0[1])! }
        XCTAssertEqual(rows.map { String($0[2]) }, ids.map { String(whole.label($0)) })
        XCTAssertNotEqual(ids, Array(0..<ids.count), "the ids are the whole test set's: \(ids)")
        let line = try CLI.run(["interpolate", run, "--data", GenerationCLITests.data, "--from", String(ids[0]), "--to", String(ids.last!),
                                "--out", run + "/line.png"])
        XCTAssertEqual(line.status, 0, line.stderr)
        // --split all: the training items of the trained classes too, by their ids in the training set
        let all = try CLI.run(["encode", run, "--data", GenerationCLITests.data, "--split", "all", "--out", run + "/all.csv"])
        XCTAssertEqual(all.status, 0, all.stderr)
        let train = try Dataset.load(directory: GenerationCLITests.data).train
        let trainRows = try String(contentsOfFile: run + "/all.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",") }.filter { $0[0] == "train" }
        XCTAssertEqual(trainRows.count, (0..<train.count).filter { [1, 2].contains(train.label($0)) }.count)
        XCTAssertEqual(trainRows.map { String($0[2]) }, trainRows.map { String(train.label(Int($0[1])!)) })
        let other = (0..<whole.count).first { ![1, 2].contains(whole.label($0)) }!
        let refused = try CLI.run(["interpolate", run, "--data", GenerationCLITests.data, "--from", String(other), "--to", String(ids[0])])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--from \(other) is not a test image of the classes the model was trained on"), refused.stderr)
        // and so does the run's test loss (metrics.jsonl's epochs): evaluate's z = μ loss is that of these items
        let ev = try CLI.run(["evaluate", run, "--data", GenerationCLITests.data, "--iwae", "0"])
        XCTAssertEqual(ev.status, 0, ev.stderr)
        let evaluated = try JSONSerialization.jsonObject(with: Data((ev.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(evaluated?["count"] as? Int, labels.count, ev.stdout)
        // --mask random:0 leaves nothing to fill (it printed "inf dB" for every method)
        let none = try CLI.run(["inpaint", run, "--data", GenerationCLITests.data, "--mask", "random:0"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("leaves no pixel missing"), none.stderr)
        // so does an all-black mask PNG
        let black = run + "/black.png"
        try AtomicFile.write(PNG.encode(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 0, count: 784)), to: black)
        let blank = try CLI.run(["inpaint", run, "--data", GenerationCLITests.data, "--mask", black, "--out", run + "/blank.png"])
        XCTAssertEqual(blank.status, 1, blank.stderr)
        XCTAssertTrue(blank.stderr.contains("\(black) marks no pixel missing"), blank.stderr)
        XCTAssertFalse(AtomicFile.exists(run + "/blank.png"))
        // the report's class-conditional grid has the two trained rows
        let page = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("test (those classes: a conditional model reads no others)"))
        XCTAssertTrue(page.contains("so it cannot score the others: train without --conditional to detect them"))   // no empty ROC section
        XCTAssertTrue(page.contains("\"trainedClasses\":[1,2]"), "the explorer's menu classes")
        // one section of per-class samples (a "Samples" section showed the same grid as "64 draws")
        XCTAssertTrue(page.contains("Conditional samples"))
        XCTAssertFalse(page.contains("<h2>Samples</h2>"))
    }

    /// A run trained with --image-size: a mask drawn at the images' own size is resized as they are
    /// (it was refused: "resize it to 8×8", a frame the user cannot know); a missing mask of
    /// --masks names its image; a folder inside --images is said to be left out; three pairs make
    /// a grid three wide.
    func testMasksAtTheImagesSizeAndWhatIsLeftOut() throws {
        let dir = tempRunDir("wide"), run = tempRunDir("wide-run"), out = tempRunDir("wide-out")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for i in 0..<24 {
            let px = (0..<(37 * 23)).map { UInt8(($0 * 7 + i * 31) % 256) }
            try AtomicFile.write(PNG.encode(width: 37, height: 23, channels: 1, pixels: px), to: dir + "/img\(i).png")
        }
        var r = try CLI.run(["train", "--data", dir, "--image-size", "8", "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let few = dir + "-few"
        try FileManager.default.createDirectory(atPath: few + "/sub", withIntermediateDirectories: true)
        for i in 0..<3 { try FileManager.default.copyItem(atPath: dir + "/img\(i).png", toPath: few + "/img\(i).png") }
        var mask = [UInt8](repeating: 0, count: 37 * 23)
        for y in 12..<23 { for x in 0..<37 { mask[y * 37 + x] = 255 } }   // the bottom half, at 37×23
        try AtomicFile.write(PNG.encode(width: 37, height: 23, channels: 1, pixels: mask), to: dir + "-mask.png")
        r = try CLI.run(["inpaint", run, "--images", few, "--mask", dir + "-mask.png", "--iterations", "2", "--out-dir", out, "--out", out + ".png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try pngs(in: out), ["img0.png", "img1.png", "img2.png"])
        XCTAssertTrue(r.stderr.contains("note: \(few) holds 1 folder (sub); --images reads the images in \(few) itself"), r.stderr)
        // the grid: three pairs, three tiles wide (8×8 at scale 4 with a border of 1: 3·33 + 1 = 100)
        let grid = try PNG.decode(try AtomicFile.readAll(path: out + ".png", maxBytes: 1 << 20))
        XCTAssertLessThan(grid.width, 4 * 33 + 1, "\(grid.width) px wide for 3 pairs")
        let masks = dir + "-masks"
        try FileManager.default.createDirectory(atPath: masks, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "-mask.png", toPath: masks + "/img0.png")
        r = try CLI.run(["inpaint", run, "--images", few, "--masks", masks, "--iterations", "2", "--out-dir", out + "2"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(masks)/img1.png does not exist: --masks holds one mask per image, named as the image (\(few)/img1.png)"), r.stderr)
        // a mask of the model's size (8×8) is read as it is; one of neither size is refused (it was
        // resized as the images are, and its missing pixels moved)
        var small = [UInt8](repeating: 0, count: 64)
        for y in 4..<8 { for x in 0..<8 { small[y * 8 + x] = 255 } }
        try AtomicFile.write(PNG.encode(width: 8, height: 8, channels: 1, pixels: small), to: dir + "-mask8.png")
        r = try CLI.run(["inpaint", run, "--images", few, "--mask", dir + "-mask8.png", "--iterations", "2", "--out-dir", out + "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try AtomicFile.write(PNG.encode(width: 40, height: 28, channels: 1, pixels: [UInt8](repeating: 255, count: 40 * 28)), to: dir + "-mask40.png")
        r = try CLI.run(["inpaint", run, "--images", few, "--mask", dir + "-mask40.png", "--iterations", "2", "--out-dir", out + "4"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("-mask40.png is 40 wide × 28 tall: a mask is the size of \(few)/img0.png (37 wide × 23 tall) or of the model's images (8 wide × 8 tall)"), r.stderr)
        XCTAssertFalse(AtomicFile.exists(out + "4"))
    }

    /// A folder image whose name is not UTF-8 is named, with what to do (it read as a missing file).
    func testImageNameNotUTF8IsNamed() throws {
        try ready()
        let dir = tempRunDir("latin1")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let png = PNG.encode(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 9, count: 784))
        let path = Array((dir + "/caf").utf8) + [0xE9] + Array(".png".utf8)
        let fd = open(path.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = png.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let r = try CLI.run(["reconstruct", GenerationCLITests.denoising, "--images", dir, "--out", dir + ".png"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("whose name is not valid UTF-8") && r.stderr.contains("rename it"), r.stderr)
    }

    func testInpaintTestSetPrintsPSNRAgainstBaselines() throws {
        try ready()
        let out = tempRunDir("inpaint")
        let r = try CLI.run(["inpaint", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--mask", "bottom",
                             "--limit", "16", "--iterations", "4", "--chains", "2", "--out", out + ".png", "--out-dir", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("PSNR on the missing pixels of 16 test images (mask bottom): mean training image"), r.stdout)
        XCTAssertTrue(r.stdout.contains("single encode-decode"), r.stdout)
        XCTAssertTrue(r.stdout.contains("pseudo-Gibbs mean"), r.stdout)
        XCTAssertTrue(r.stdout.contains("--fill mean"), r.stdout)
        XCTAssertEqual(try pngs(in: out).count, 10)
        // a random mask that leaves no pixel missing on the images drawn has nothing to measure
        // (it printed "inf dB" four times, exit 0)
        let none = try CLI.run(["inpaint", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--mask", "random:1e-9",
                                "--limit", "4", "--iterations", "2", "--out", out + "-none.png"])
        XCTAssertEqual(none.status, 1, none.stderr)
        XCTAssertTrue(none.stderr.contains("mask random:1e-9 leaves no pixel of the 4 test images missing"), none.stderr)
        XCTAssertFalse(none.stdout.contains("inf dB"), none.stdout)
        // a model trained on whole images is told about --corrupt box; one trained with it is not
        XCTAssertTrue(r.stderr.contains("--corrupt box:0.5"), r.stderr)
        let b = try CLI.run(["inpaint", GenerationCLITests.boxed, "--data", GenerationCLITests.data, "--mask", "center",
                             "--limit", "16", "--iterations", "4", "--chains", "2", "--fill", "pseudo-gibbs",
                             "--out", tempRunDir("inpaint-box") + ".png"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("--fill pseudo-gibbs"), b.stdout)
        XCTAssertFalse(b.stderr.contains("--corrupt box"), b.stderr)
        XCTAssertEqual(try Checkpoint.load(GenerationCLITests.boxed).options.corrupt, .box(0.5))
        // where the holes start: named, a value, or refused in one line
        let z = try CLI.run(["inpaint", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--mask", "top",
                             "--limit", "8", "--iterations", "2", "--chains", "1", "--start", "zero",
                             "--out", tempRunDir("inpaint-zero") + ".png"])
        XCTAssertEqual(z.status, 0, z.stderr)
        let bad = try CLI.run(["inpaint", GenerationCLITests.conditional, "--data", GenerationCLITests.data, "--mask", "top",
                               "--start", "1.5"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--start must be model-mean, zero or a value in [0, 1]"), bad.stderr)
        // a misspelt built-in mask is a usage error before anything is read
        for m in ["diagonal", "random:2"] {
            let r = try CLI.run(["inpaint", GenerationCLITests.conditional, "--mask", m])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("mask \"\(m)\" is not center, top, bottom, left, right or random:P"), r.stderr)
        }
    }

    func testInpaintFolderKeepsObservedPixelsAndFileNames() throws {
        try ready()
        // two 28×28 test images as PNG files, and a mask whose left half is white (missing)
        let dir = tempRunDir("imgs"), outDir = tempRunDir("filled")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let set = try Dataset.load(directory: GenerationCLITests.data).test
        let x = set.batch(0..<2).x
        for (i, name) in ["a.png", "b.png"].enumerated() {
            let png = ImageGrid.png(flat: Array(x.array[(i * 784)..<((i + 1) * 784)]), count: 1, channels: 1, height: 28, width: 28,
                                    columns: 1, border: 0, scale: 1)
            try AtomicFile.write(png, to: dir + "/" + name)
        }
        var mask = [Float](repeating: 0, count: 784)
        for y in 0..<28 { for c in 0..<14 { mask[y * 28 + c] = 1 } }
        try AtomicFile.write(ImageGrid.png(flat: mask, count: 1, channels: 1, height: 28, width: 28, columns: 1, border: 0, scale: 1),
                             to: dir + "-mask.png")
        let r = try CLI.run(["inpaint", GenerationCLITests.denoising, "--images", dir, "--mask", dir + "-mask.png",
                             "--fill", "sample", "--iterations", "3", "--out-dir", outDir, "--out", outDir + ".png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try pngs(in: outDir), ["a.png", "b.png"])
        let inPNG = try PNG.decode(try AtomicFile.readAll(path: dir + "/a.png", maxBytes: 1 << 20))
        let outPNG = try PNG.decode(try AtomicFile.readAll(path: outDir + "/a.png", maxBytes: 1 << 20))
        for y in 0..<28 {
            for c in 14..<28 { XCTAssertEqual(inPNG.pixels[y * 28 + c], outPNG.pixels[y * 28 + c], "observed pixel (\(y), \(c)) changed") }
        }
        // a missing mask file is one line
        let bad = try CLI.run(["inpaint", GenerationCLITests.denoising, "--images", dir, "--mask", dir + "-nope.png"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)

        // --out-dir the folder read: refused before anything is written (the images were replaced)
        let before = try AtomicFile.readAll(path: dir + "/a.png", maxBytes: 1 << 20)
        for args in [["inpaint", GenerationCLITests.denoising, "--images", dir, "--mask", dir + "-mask.png", "--iterations", "3", "--out-dir", dir + "/"],
                     ["denoise", GenerationCLITests.denoising, "--images", dir, "--out-dir", dir],
                     ["reconstruct", GenerationCLITests.denoising, "--images", dir, "--out-dir", dir]] {
            let same = try CLI.run(args)
            XCTAssertEqual(same.status, 1, same.stderr)
            XCTAssertTrue(same.stderr.contains("is the --images folder: the outputs, named as the images, would replace the files read"), same.stderr)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/a.png", maxBytes: 1 << 20), before)
        // --out naming one of the images read, or the mask: refused (the picture replaced the input)
        let maskBefore = try AtomicFile.readAll(path: dir + "-mask.png", maxBytes: 1 << 20)
        for (args, said) in [(["reconstruct", GenerationCLITests.denoising, "--images", dir, "--out", dir + "/a.png"], "is a file of the --images folder"),
                             (["denoise", GenerationCLITests.denoising, "--images", dir, "--out", dir + "/./b.png"], "is a file of the --images folder"),
                             (["inpaint", GenerationCLITests.denoising, "--images", dir, "--mask", dir + "-mask.png", "--iterations", "1",
                               "--out", dir + "-mask.png"], "is the --mask file, which this command reads")] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(said), r.stderr)
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/a.png", maxBytes: 1 << 20), before)
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "-mask.png", maxBytes: 1 << 20), maskBefore)
        // a link in --out-dir named as an output: refused, the file it names untouched
        let linked = tempRunDir("linked"), victim = tempRunDir("victim") + ".txt"
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
        try AtomicFile.write("precious\n", to: victim)
        try FileManager.default.createSymbolicLink(atPath: linked + "/a.png", withDestinationPath: victim)
        let link = try CLI.run(["denoise", GenerationCLITests.denoising, "--images", dir, "--out-dir", linked])
        XCTAssertEqual(link.status, 1, link.stderr)
        XCTAssertTrue(link.stderr.contains("a.png is a symbolic link: --out-dir writes its own files there"), link.stderr)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: linked + "/b.png"))
    }

    func testDenoisePrintsPSNRNextToTheMedianFilter() throws {
        try ready()
        let out = tempRunDir("den")
        let r = try CLI.run(["denoise", GenerationCLITests.denoising, "--data", GenerationCLITests.data, "--noise", "0.3",
                             "--limit", "32", "--out", out + ".png", "--out-dir", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("3×3 median filter"), r.stdout)
        XCTAssertTrue(r.stdout.contains("noise σ = 0.30"), r.stdout)
        XCTAssertEqual(try pngs(in: out).count, 10)
        let opts = try Checkpoint.load(GenerationCLITests.denoising).options
        XCTAssertEqual(opts.corrupt, .gaussian(0.3))
        let bad = try CLI.run(["train", "--data", GenerationCLITests.data, "--corrupt", "blur:3", "--out", tempRunDir("x")])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("gaussian, saltpepper, mask or box"), bad.stderr)
    }
}
