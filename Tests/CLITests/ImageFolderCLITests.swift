import Foundation
import XCTest
import VAEKit
import VAEViz

/// `vae … --data DIR` on a folder of PNGs the test writes: train, reload with the stored options,
/// size and bad-file errors.
final class ImageFolderCLITests: XCTestCase {
    /// 3 classes of RGB images of two sizes; colour by class, a gradient by index.
    func makeFolder() throws -> String {
        let dir = NSTemporaryDirectory() + "vae-cli-images-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for (k, name) in ["red", "green", "blue"].enumerated() {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
            for i in 0..<20 {
                let (w, h) = i % 2 == 0 ? (20, 16) : (24, 24)
                var px: [UInt8] = []
                for y in 0..<h { for x in 0..<w { for c in 0..<3 { px.append(UInt8(c == k ? 150 + (x + y + i) % 100 : (x * y) % 40)) } } }
                try Data(PNG.encode(width: w, height: h, channels: 3, pixels: px)).write(to: URL(fileURLWithPath: "\(dir)/\(name)/\(i).png"))
            }
        }
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testTrainAndReloadAnImageFolder() throws {
        let dir = try makeFolder()
        let cache = dir + "-cache"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        let env = ["XDG_CACHE_HOME": cache]
        let run = dir + "-run"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }

        let sizes = try CLI.run(["train", "--data", dir, "--epochs", "1", "--out", run], env: env)
        XCTAssertEqual(sizes.status, 1, sizes.stderr)
        XCTAssertTrue(sizes.stderr.contains("--image-size"), sizes.stderr)
        XCTAssertEqual(sizes.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }.count, 1, sizes.stderr)

        let r = try CLI.run(["train", "--data", dir, "--image-size", "12", "--epochs", "1", "--latent", "2", "--hidden", "16",
                             "--batch", "16", "--seed", "1", "--out", run, "--no-report"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("3×12×12, 3 classes"), r.stderr)
        XCTAssertTrue(r.stderr.contains("images decoded"), r.stderr)
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json"))) as! [String: Any]
        let data = cfg["data"] as! [String: Any]
        XCTAssertEqual(data["classNames"] as? [String], ["blue", "green", "red"])
        XCTAssertEqual((data["imageOptions"] as? [String: Any])?["imageSize"] as? [Int], [12, 12])

        // Later commands reload the folder the same way (from the cache) without repeating the options.
        let s = try CLI.run(["reconstruct", run, "--count", "4", "--out", run + "/r.png"], env: env)
        XCTAssertEqual(s.status, 0, s.stderr)
        let png = try PNG.decode(try AtomicFile.readAll(path: run + "/r.png", maxBytes: 1 << 24))
        XCTAssertEqual(png.channels, 3)
        // another --image-size is named as the conflict (a usage error), not the data set
        let other = try CLI.run(["anomaly", run, "--image-size", "16"], env: env)
        XCTAssertEqual(other.status, 2, other.stderr)
        XCTAssertTrue(other.stderr.contains("--image-size is fixed by the run: it read its images with 12x12, this command line gives 16x16; give the run's value or drop the flag"), other.stderr)
        // each image is named by its file as well as its index (before: an index into a shuffled test set)
        let enc = try CLI.run(["encode", run, "--out", run + "/z.csv"], env: env)
        XCTAssertEqual(enc.status, 0, enc.stderr)
        let zLines = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(zLines[0].hasPrefix("split,id,file,label,mu1,"), String(zLines[0]))
        for line in zLines.dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            XCTAssertTrue(AtomicFile.exists(dir + "/" + f[2]) && f[2].hasPrefix(f[3] + "/"), String(line))   // the file, in its class's folder
        }
        let an = try CLI.run(["anomaly", run, "--out", run + "/s.csv"], env: env)
        XCTAssertEqual(an.status, 0, an.stderr)
        XCTAssertTrue(an.stdout.contains("rank  id  file"), an.stdout)
        let sLines = try String(contentsOfFile: run + "/s.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(sLines[0], "id,file,label,score")
        XCTAssertEqual(sLines[1].split(separator: ",")[1], zLines[1].split(separator: ",")[2])   // test item 0 in both

        // so is another background: the model would see images unlike its training ones
        let white = try CLI.run(["reconstruct", run, "--background", "white", "--out", run + "/w.png"], env: env)
        XCTAssertEqual(white.status, 2, white.stderr)
        XCTAssertTrue(white.stderr.contains("--background is fixed by the run: it read its images with black, this command line gives white"), white.stderr)
        XCTAssertFalse(AtomicFile.exists(run + "/w.png"))

        // --images DIR is read as the run read its folder: resized to 12×12 (before: "is 20×16 but the
        // model takes 12×12"), the outputs named after the inputs
        let own = dir + "-own"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: own) }
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        for name in ["red/0.png", "blue/1.png"] {
            try FileManager.default.copyItem(atPath: dir + "/" + name, toPath: own + "/" + name.replacingOccurrences(of: "/", with: "-"))
        }
        // a .jpg beside a .png of the same stem (the reader goes by the bytes) keeps its extension
        try FileManager.default.copyItem(atPath: dir + "/red/0.png", toPath: own + "/red-0.jpg")
        let rec = try CLI.run(["reconstruct", run, "--images", own, "--out", run + "/own.png", "--out-dir", own + "/out"], env: env)
        XCTAssertEqual(rec.status, 0, rec.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: own + "/out").sorted(), ["blue-1.png", "red-0.jpg.png", "red-0.png"])
        let one = try PNG.decode(try AtomicFile.readAll(path: own + "/out/red-0.png", maxBytes: 1 << 20))
        XCTAssertEqual([one.width, one.height, one.channels], [12, 12, 3])
    }

    /// A run whose channels were chosen from its images (colour: 3) keeps them: a gray folder given
    /// to a later command is read into the model's 3 channels (it was refused: "1×12×12 images but
    /// the model expects 3×12×12").
    /// `makeFolder`'s images trained at 12×12 (latent 2, hidden 8, one epoch) with a cache of
    /// their own: the folder, the run and the environment to read it with.
    func trainSmallRun(_ extra: [String] = []) throws -> (dir: String, run: String, env: [String: String]) {
        let dir = try makeFolder()
        let cache = dir + "-cache", run = dir + "-run"
        for d in [cache, run] { addTeardownBlock { try? FileManager.default.removeItem(atPath: d) } }
        let env = ["XDG_CACHE_HOME": cache]
        let r = try CLI.run(["train", "--data", dir, "--image-size", "12", "--epochs", "1", "--latent", "2", "--hidden", "8",
                             "--batch", "16", "--out", run, "--no-report"] + extra, env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        return (dir, run, env)
    }

    /// A command reading the run's own folder after files were added says so, and which images may
    /// have moved between training and test (the split holds each image by its name; a run's config
    /// from before the stable split says its split is drawn anew). An unchanged folder says nothing.
    func testChangedFolderIsNoted() throws {
        let (dir, run, env) = try trainSmallRun()
        // vae anomaly on the run's folder: its messages (the scores to NAME.csv in the run)
        func anomaly(_ name: String) throws -> String {
            let r = try CLI.run(["anomaly", run, "--out", run + "/" + name + ".csv"], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stderr
        }
        let same = try anomaly("a")
        XCTAssertFalse(same.contains("has changed"), same)
        try FileManager.default.copyItem(atPath: dir + "/red/3.png", toPath: dir + "/red/zz-copy.png")
        let changed = try anomaly("b")
        XCTAssertTrue(changed.contains("has changed since the run trained on it (files added, removed or renamed: then 60 images, now 61): each image keeps its side"), changed)
        // resuming on it is refused, as before, saying what changed (it gave the data's fingerprints only)
        let resumed = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2"], env: env)
        XCTAssertEqual(resumed.status, 1, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("has changed since the run trained on it (files added, removed or renamed: then 60 images, now 61): the data is not what the run trained on"), resumed.stderr)
        // the test images of the classes not changed are the same images
        let rows = { (f: String) in Set(try String(contentsOfFile: f, encoding: .utf8).split(separator: "\n").compactMap { l -> String? in
            let name = l.split(separator: ",").first { $0.hasSuffix(".png") }
            return name.map(String.init).flatMap { $0.hasPrefix("red/") ? nil : $0 } }) }
        XCTAssertEqual(try rows(run + "/a.csv"), try rows(run + "/b.csv"))
        XCTAssertEqual(try rows(run + "/a.csv").count, 4)
        // a file renamed (the copy gone again): the same count, another folder
        try FileManager.default.removeItem(atPath: dir + "/red/zz-copy.png")
        try FileManager.default.moveItem(atPath: dir + "/green/4.png", toPath: dir + "/green/4-renamed.png")
        let renamed = try anomaly("d")
        XCTAssertTrue(renamed.contains("(files added, removed or renamed: then 60 images, now 60)"), renamed)
        // a run from before: its config without the split's version or the files' names — told by
        // its counts (a rename is not seen then), and its split said to be drawn anew
        let config = run + "/config.json"
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        var data = try XCTUnwrap(json["data"] as? [String: Any])
        var image = try XCTUnwrap(data["imageOptions"] as? [String: Any])
        XCTAssertEqual(image.removeValue(forKey: "split") as? Int, 2)
        XCTAssertNotNil(data.removeValue(forKey: "imageFiles"))
        data["imageOptions"] = image
        json["data"] = data
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: json)), to: config)
        let quiet = try anomaly("e")
        XCTAssertFalse(quiet.contains("has changed"), quiet)
        try FileManager.default.copyItem(atPath: dir + "/red/3.png", toPath: dir + "/red/zz-copy.png")
        let old = try anomaly("c")
        XCTAssertTrue(old.contains("has changed since the run trained on it (then 60 images, now 61): the run's split (from before the stable split: its config has no split) is drawn anew"), old)
        // runs that read fewer images than the folder holds (--classes, --validation-fraction) on an
        // unchanged folder: no note (the counts differed: "then 43 train …, now 54")
        for extra in [["--validation-fraction", "0.2"], ["--classes", "red"]] {
            let (_, other, otherEnv) = try trainSmallRun(extra)
            let a = try CLI.run(["anomaly", other, "--out", other + "/a.csv"], env: otherEnv)
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertFalse(a.stderr.contains("has changed"), "\(extra): \(a.stderr)")
        }
    }

    func testChosenChannelsAreTheRunsForLaterFolders() throws {
        let (dir, run, env) = try trainSmallRun()
        let gray = dir + "-gray"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: gray) }
        XCTAssertEqual(try Checkpoint.load(run).config?.data?.imageOptions?.channels, 3)
        for name in ["red", "green", "blue"] {
            try FileManager.default.createDirectory(atPath: gray + "/" + name, withIntermediateDirectories: true)
            for i in 0..<3 {
                let px = (0..<(16 * 16)).map { UInt8(($0 * 7 + i * 40) % 256) }
                try AtomicFile.write(PNG.encode(width: 16, height: 16, channels: 1, pixels: px), to: "\(gray)/\(name)/\(i).png")
            }
        }
        let e = try CLI.run(["encode", run, "--data", gray, "--out", run + "/z.csv"], env: env)
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("wrote \(run)/z.csv"), e.stdout)
    }

    /// A folder with some of a conditional run's classes — not the first ones — is read by the
    /// class names: its own numbering (red = 0 of its one class) was refused as "not the run's
    /// classes in the same order"; each image is read under its class, as in the run's folder.
    func testConditionalRunReadsAFolderOfSomeOfItsClassesByName() throws {
        let (dir, run, env) = try trainSmallRun(["--conditional"])
        let sub = dir + "-sub"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: sub) }
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/red", toPath: sub + "/red")
        let mine = try CLI.run(["encode", run, "--split", "all", "--out", run + "/all.csv"], env: env)
        XCTAssertEqual(mine.status, 0, mine.stderr)
        let e = try CLI.run(["encode", run, "--data", sub, "--split", "all", "--out", run + "/sub.csv"], env: env)
        XCTAssertEqual(e.status, 0, e.stderr)
        // file → (label, μ…) of each CSV
        func codes(_ path: String) throws -> [String: [Substring]] {
            var out: [String: [Substring]] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",")
                out[String(f[2])] = Array(f[3...])
            }
            return out
        }
        let whole = try codes(run + "/all.csv"), part = try codes(run + "/sub.csv")
        XCTAssertEqual(part.count, 20)
        for (file, code) in part {
            XCTAssertEqual(code.first, "red", file)
            XCTAssertEqual(code, whole[file], "\(file): another code under another condition")
        }
        // a class the run never had is still refused by the conditional model, by name
        try FileManager.default.createDirectory(atPath: sub + "/purple", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/red/0.png", toPath: sub + "/purple/0.png")
        let unseen = try CLI.run(["encode", run, "--data", sub, "--out", run + "/u.csv"], env: env)
        XCTAssertEqual(unseen.status, 1, unseen.stderr)
        XCTAssertTrue(unseen.stderr.contains("has labels the model never saw ('purple')"), unseen.stderr)
    }

    /// A class folder without an image is no class, and a note says so (it was dropped unsaid).
    func testEmptyClassFolderIsNoted() throws {
        let dir = try makeFolder()
        try FileManager.default.createDirectory(atPath: dir + "/violet", withIntermediateDirectories: true)
        let cache = dir + "-cache", run = dir + "-run"
        for d in [cache, run] { addTeardownBlock { try? FileManager.default.removeItem(atPath: d) } }
        let r = try CLI.run(["train", "--data", dir, "--image-size", "8", "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", run],
                            env: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: a class folder holds no image, so it is no class: \(dir)/violet"), r.stderr)
        XCTAssertTrue(r.stderr.contains("3 classes"), r.stderr)
    }

    /// A model too large for any machine at --image-size is refused before the folder is decoded
    /// and cached (it decoded and cached every image first).
    func testTooLargeAModelIsRefusedBeforeDecoding() throws {
        let dir = try makeFolder()
        let cache = dir + "-cache"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        let r = try CLI.run(["train", "--data", dir, "--image-size", "1024", "--hidden", "65536", "--epochs", "1", "--out", dir + "-run"],
                            env: ["XDG_CACHE_HOME": cache])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: this run needs at least"), r.stderr)
        XCTAssertFalse(r.stderr.contains("images decoded"), r.stderr)
        XCTAssertFalse(AtomicFile.exists(dir + "-run"))
        // the same refusal after loading (IDX images: no --image-size to judge by) leaves no run folder either
        let idx = try TinyData.make(train: 64, test: 16)
        let late = try CLI.run(["train", "--data", idx, "--hidden", "65536,65536,65536", "--epochs", "1", "--out", dir + "-run2"])
        XCTAssertEqual(late.status, 1, late.stderr)
        XCTAssertTrue(late.stderr.contains("error: this run needs at least"), late.stderr)
        XCTAssertFalse(AtomicFile.exists(dir + "-run2"))
    }

    func testBadFilesAndBadOptions() throws {
        let dir = try makeFolder()
        let cache = dir + "-cache"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        let env = ["XDG_CACHE_HOME": cache]
        try Data("just text".utf8).write(to: URL(fileURLWithPath: dir + "/green/notes.png"))
        let run = dir + "-run"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }
        let common = ["train", "--data", dir, "--image-size", "8", "--epochs", "1", "--hidden", "8", "--latent", "2", "--out", run, "--no-report"]

        let bad = try CLI.run(common, env: env)
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains(dir + "/green/notes.png is neither PNG nor JPEG (text)"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--skip-bad-files"), bad.stderr)

        // bench with an explicit --data that cannot be read stops too (no silent random images).
        let bench = try CLI.run(["bench", "--data", dir, "--image-size", "8"], env: env)
        XCTAssertEqual(bench.status, 1, bench.stderr)
        XCTAssertTrue(bench.stderr.contains("notes.png"), bench.stderr)

        let skip = try CLI.run(common + ["--skip-bad-files"], env: env)
        XCTAssertEqual(skip.status, 0, skip.stderr)
        XCTAssertTrue(skip.stderr.contains("skipped 1 bad image file"), skip.stderr)
        XCTAssertTrue(skip.stderr.contains("notes.png"), skip.stderr)

        // --images DIR of the commands that read a folder: a broken file stops them, or with
        // --skip-bad-files is named and left out
        let own = dir + "-own"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: own) }
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/red/0.png", toPath: own + "/good.png")
        try FileManager.default.copyItem(atPath: dir + "/green/notes.png", toPath: own + "/notes.png")
        for command in [["reconstruct"], ["denoise"], ["inpaint", "--mask", "center"]] {
            let out = own + "-" + command[0]
            addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
            let args = [command[0], run] + command.dropFirst() + ["--images", own, "--out", out + ".png", "--out-dir", out]
            let stop = try CLI.run(args, env: env)
            XCTAssertEqual(stop.status, 1, "\(command): \(stop.stderr)")
            XCTAssertTrue(stop.stderr.contains(own + "/notes.png is neither PNG nor JPEG (text)") && stop.stderr.contains("--skip-bad-files"), stop.stderr)
            XCTAssertFalse(AtomicFile.exists(out), "\(command): a failed command left its --out-dir behind")
            let skipped = try CLI.run(args + ["--skip-bad-files"], env: env)
            XCTAssertEqual(skipped.status, 0, "\(command): \(skipped.stderr)")
            XCTAssertTrue(skipped.stderr.contains("skipped 1 bad image file (--skip-bad-files):\n  \(own)/notes.png is neither PNG nor JPEG (text)\n"), skipped.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["good.png"], "\(command)")
        }
        // --limit counts test images: with --images it was ignored
        for command in [["denoise"], ["inpaint", "--mask", "center"]] {
            let r = try CLI.run([command[0], run] + command.dropFirst() + ["--images", own, "--limit", "3", "--skip-bad-files"], env: env)
            XCTAssertEqual(r.status, 2, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--limit counts test images; --images DIR reads every image of the folder"), r.stderr)
        }

        for args in [["--channels", "2"], ["--image-size", "0"], ["--image-size", "12x"], ["--test-fraction", "1"]] {
            let r = try CLI.run(["train", "--data", dir] + args, env: env)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
        }
    }

    /// The image flags read folders of PNG/JPEG files; on IDX files they trained at 28×28 as if
    /// never given (a "16×16 gray" model that was not). --test-fraction on data with a test split
    /// of its own did nothing and was recorded. Both are usage errors now.
    func testFlagsTheDataDoesNotTake() throws {
        let idx = try TinyData.make(train: 64, test: 16)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: idx) }
        let run = tempRunDir("flags")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }
        let common = ["train", "--epochs", "1", "--hidden", "8", "--latent", "2", "--out", run, "--no-report"]
        for (flags, said) in [(["--image-size", "14"], "--image-size is for folders of PNG/JPEG images"),
                              (["--channels", "3", "--background", "white"], "--channels, --background are for folders"),
                              (["--skip-bad-files"], "--skip-bad-files is for folders"),
                              (["--test-fraction", "0.5"], "--test-fraction is for data without a test split of its own")] {
            let r = try CLI.run(common + ["--data", idx] + flags)
            XCTAssertEqual(r.status, 2, "\(flags): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(said) && r.stderr.contains(idx), "\(flags): \(r.stderr)")
            XCTAssertFalse(AtomicFile.exists(run + "/model.safetensors"), "\(flags)")
        }
        // a folder with train/ and test/: its split is its own
        let dir = try makeFolder()
        let split = dir + "-split"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: split) }
        for part in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: split + "/" + part, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: dir + "/red", toPath: "\(split)/\(part)/red")
        }
        let env = ["XDG_CACHE_HOME": dir + "-cache"]
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir + "-cache") }
        let own = try CLI.run(common + ["--data", split, "--image-size", "8", "--test-fraction", "0.5"], env: env)
        XCTAssertEqual(own.status, 2, own.stderr)
        XCTAssertTrue(own.stderr.contains("has one (its own test folder)"), own.stderr)
        // a run started without --background resumes with --background black, the default's value
        let first = try CLI.run(common + ["--data", dir, "--image-size", "8"], env: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        let resumed = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2", "--no-report", "--background", "black"], env: env)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let white = try CLI.run(["train", "--resume", "--out", run, "--epochs", "3", "--no-report", "--background", "white"], env: env)
        XCTAssertEqual(white.status, 2, white.stderr)
        XCTAssertTrue(white.stderr.contains("--background cannot change when resuming: the run's images were read with black, this command line gives white"), white.stderr)

        // a run trained at its images' own size, given a folder of mixed sizes: resize them (the
        // folder's advice to pass --image-size is refused for this run)
        let same = dir + "-same", sameRun = run + "-same"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: same); try? FileManager.default.removeItem(atPath: sameRun) }
        try FileManager.default.createDirectory(atPath: same, withIntermediateDirectories: true)
        for i in stride(from: 1, to: 20, by: 2) { try FileManager.default.copyItem(atPath: "\(dir)/red/\(i).png", toPath: "\(same)/\(i).png") }   // 24×24
        let trained = try CLI.run(common.map { $0 == run ? sameRun : $0 } + ["--data", same], env: env)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let r = try CLI.run(["anomaly", sameRun, "--data", dir], env: env)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the images differ in size") && r.stderr.contains("read its images at their own size, 24×24, without --image-size: resize these to 24×24"), r.stderr)
        XCTAssertFalse(r.stderr.contains("pass --image-size"), r.stderr)
    }

    /// An IDX run scoring a folder of photos read at its shape (--image-size, --channels) with a
    /// threshold: the threshold reads the run's IDX test items without those flags (they were
    /// passed on, and refused on IDX files — no way out).
    func testThresholdOfAnIDXRunForAFolder() throws {
        let idx = try TinyData.make(train: 64, test: 32)
        let dir = try makeFolder()
        let run = tempRunDir("idxthreshold")
        let env = ["XDG_CACHE_HOME": dir + "-cache"]
        addTeardownBlock { for p in [idx, run, dir + "-cache"] { try? FileManager.default.removeItem(atPath: p) } }
        XCTAssertEqual(try CLI.run(["train", "--data", idx, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", run]).status, 0)
        let r = try CLI.run(["anomaly", run, "--data", dir, "--image-size", "28", "--channels", "1", "--threshold-quantile", "0.9"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("quantile of the run's 32 test items"), r.stdout)
    }

    /// A size the conv model refuses is a usage error from --image-size as from the folder's own
    /// size (it was exit 1 one way, 2 the other); a Burda preset with --model conv trains (its mlp
    /// widths 200,200 went to the conv model: "takes one dense width, got [200, 200]").
    func testConvSizesAndPresets() throws {
        let dir = try makeFolder()
        let env = ["XDG_CACHE_HOME": dir + "-cache"]
        let run = tempRunDir("convsize")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir + "-cache"); try? FileManager.default.removeItem(atPath: run) }
        let r = try CLI.run(["train", "--data", dir, "--image-size", "30", "--model", "conv", "--epochs", "1", "--out", run], env: env)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("whose sides are divisible by 4, got 30×30"), r.stderr)
        let idx = try TinyData.make(train: 32, test: 8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: idx) }
        let p = try CLI.run(["train", "--data", idx, "--preset", "burda2015-vae", "--model", "conv", "--epochs", "0", "--out", run])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(try Checkpoint.load(run).model.config.architecture, .conv)
    }

    /// Without libturbojpeg (simulated with VAE_TURBOJPEG=/nonexistent), a JPEG is one line that
    /// names the package, even with --skip-bad-files; PNG folders still work.
    /// --classes on a folder without class folders trained on every image after a note naming the
    /// classes; now a usage error before the run folder.
    func testClassesNeedLabels() throws {
        let dir = try makeFolder() + "/red"   // a flat folder of 20 images
        let run = tempRunDir("flat-classes")
        let r = try CLI.run(["train", "--data", dir, "--image-size", "16", "--classes", "1", "--epochs", "1", "--out", run],
                            env: ["XDG_CACHE_HOME": NSTemporaryDirectory() + "vae-cli-cache-\(getpid())"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--classes needs labels"), r.stderr)
        XCTAssertFalse(AtomicFile.exists(run))
    }

    func testJPEGWithoutTheLibrary() throws {
        let dir = try makeFolder()
        let cache = dir + "-cache"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: cache) }
        // A JPEG's first bytes are enough: the library is needed to read its header.
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8)).write(to: URL(fileURLWithPath: dir + "/red/photo.jpg"))
        let env = ["XDG_CACHE_HOME": cache, "VAE_TURBOJPEG": "/nonexistent/libturbojpeg.so.0"]
        for extra in [[], ["--skip-bad-files"]] {
            let r = try CLI.run(["train", "--data", dir, "--image-size", "8", "--epochs", "1", "--out", dir + "-run"] + extra, env: env)
            XCTAssertEqual(r.status, 1, r.stderr)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, r.stderr)
            XCTAssertTrue(errors.first?.contains(dir + "/red/photo.jpg") == true, r.stderr)
            XCTAssertTrue(errors.first?.contains("apt-get install libturbojpeg0") == true, r.stderr)
            XCTAssertTrue(errors.first?.contains("VAE_TURBOJPEG names /nonexistent/libturbojpeg.so.0, which does not load") == true, r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "-run"))
    }
}
