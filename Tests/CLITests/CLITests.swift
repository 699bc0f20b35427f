import Foundation
import XCTest
import VAEKit
import VAEViz

/// End-to-end: the `vae` executable on a tiny model, checking what it writes.
final class CLITests: XCTestCase {
    nonisolated(unsafe) static var data = ""
    nonisolated(unsafe) static var run = ""
    nonisolated(unsafe) static var trainResult: Result<CLI.Result, Error>?

    override class func setUp() {
        super.setUp()
        trainResult = Result {
            data = try TinyData.make()
            run = tempRunDir("run")
            return try CLI.run(["train", "--data", data, "--epochs", "2", "--latent", "2", "--hidden", "32",
                                "--batch", "64", "--seed", "3", "--out", run])
        }
    }

    /// The shared run folder; a setup error (no data, no executable) or a failed `train` fails
    /// the calling test.
    func trained() throws -> String {
        let r = try XCTUnwrap(CLITests.trainResult).get()
        guard r.status == 0 else { throw CLISetupError("vae train exited \(r.status): \(r.stderr)") }
        return CLITests.run
    }

    func decodePNG(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> (width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        let bytes = try AtomicFile.readAll(path: path, maxBytes: 1 << 26)
        let img = try PNG.decode(bytes)
        XCTAssertGreaterThan(img.width, 10, file: file, line: line)
        XCTAssertGreaterThan(Set(img.pixels).count, 2, "\(path) looks blank", file: file, line: line)
        return img
    }

    /// The live progress bar on a terminal (a pseudo-terminal from util-linux's `script`) fits its
    /// width: a line that wraps left a copy at every redraw on an 80-column window (the bar was 84
    /// wide). TERM=dumb gets no escape sequences.
    func testProgressBarFitsTheTerminal() throws {
        let out = tempRunDir("pty")
        func capture(columns: Int, term: String) throws -> String {
            let r = try CLI.inTerminal("stty cols \(columns); TERM=\(term) '\(CLI.binary)' train --data '\(CLITests.data)' --epochs 2 --batch 8 --hidden 16 --latent 2 --no-report --out '\(out)-\(term)'")
            XCTAssertEqual(r.status, 0)
            return r.output
        }
        let raw = try capture(columns: 50, term: "xterm")
        let bars = raw.components(separatedBy: "\r\u{1B}[2K").dropFirst()
            .map { $0.split(separator: "\n", omittingEmptySubsequences: false)[0].split(separator: "\r", omittingEmptySubsequences: false)[0] }
            .filter { $0.contains("ETA") }
        XCTAssertFalse(bars.isEmpty, raw)
        for bar in bars {
            XCTAssertLessThanOrEqual(bar.count, 49, String(bar))
            // what does not fit goes by whole fields, the ETA kept: the line was cut mid-word ("(ru")
            XCTAssertTrue(bar.range(of: #"ETA \d+:\d\d$"#, options: .regularExpression) != nil, String(bar))
        }
        XCTAssertFalse(try capture(columns: 80, term: "dumb").contains("\u{1B}"))
        // on a wide terminal the bar also gives the run's time left, until the last epoch
        let wide = try capture(columns: 140, term: "xterm-wide").components(separatedBy: "\r\u{1B}[2K").dropFirst()
            .map { String($0.split(separator: "\n", omittingEmptySubsequences: false)[0].split(separator: "\r", omittingEmptySubsequences: false)[0]) }
            .filter { $0.contains("ETA") }
        let first = wide.filter { $0.hasPrefix("epoch 1/2") }, last = wide.filter { $0.hasPrefix("epoch 2/2") }
        XCTAssertFalse(first.isEmpty || last.isEmpty, wide.joined(separator: "\n"))
        for bar in first { XCTAssertNotNil(bar.range(of: #"ETA \d+:\d\d  \(run \d+:\d\d\)$"#, options: .regularExpression), bar) }
        for bar in last { XCTAssertFalse(bar.contains("(run"), bar) }
    }

    func testTrainWritesARunFolder() throws {
        let run = try trained()
        let r = try CLITests.trainResult!.get()
        XCTAssertTrue(r.stderr.contains("data: "), r.stderr)
        XCTAssertTrue(r.stdout.contains("epoch 2/2"), r.stdout)
        XCTAssertTrue(r.stdout.contains("report: "), r.stdout)
        for f in ["model.safetensors", "config.json", "metrics.jsonl", "report.html", "samples.png", "reconstructions.png",
                  "manifold.png", "latent.png", "latent.svg", "loss.png", "loss.svg", "interpolation.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + f), "missing \(f)")
        }
        // and nothing else: a new run refuses a folder holding one of these (RunReport.isRunFile)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: run)).subtracting([RunFolderLock.fileName]),
                       ["model.safetensors", "config.json", "metrics.jsonl", "report.html", "samples.png", "reconstructions.png",
                        "manifold.png", "latent.png", "latent.svg", "loss.png", "loss.svg", "interpolation.png",
                        "inpaint-0.png", "inpaint-1.png", "inpaint-2.png"])
        let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for (i, l) in lines.enumerated() {
            let o = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            for k in ["epoch", "train_loss", "train_recon", "train_kl", "test_loss", "test_recon", "test_kl", "test_loss_mu", "seconds", "images_per_second"] {
                XCTAssertNotNil(o[k], "metrics lack \(k)")
            }
            XCTAssertEqual(o["epoch"] as? Int, i + 1)
            let loss = o["test_loss"] as! Double
            XCTAssertTrue(loss > 50 && loss < 1000, "test loss \(loss) out of range")
        }
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json"))) as! [String: Any]
        XCTAssertEqual((cfg["model"] as! [String: Any])["latent"] as? Int, 2)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        for s in ["Loss curves", "Metrics", "Samples", "Reconstructions", "Latent manifold", "Latent space", "Interpolation", "data:image/png;base64,"] {
            XCTAssertTrue(html.contains(s), "report lacks \(s)")
        }
        // the inpainting strips start with the original, as the denoising strips and vae inpaint's rows
        let inpainting = try XCTUnwrap(html.range(of: "<h2>Inpainting</h2>").map { String(html[$0.upperBound...]) })
        let original = try XCTUnwrap(inpainting.range(of: ">original<")), missing = try XCTUnwrap(inpainting.range(of: ">bottom half missing<"))
        XCTAssertLessThan(original.lowerBound, missing.lowerBound, "the original strip comes first")
        for f in ["samples.png", "reconstructions.png", "manifold.png", "latent.png", "loss.png", "interpolation.png"] {
            _ = try decodePNG(run + "/" + f)
        }
    }

    func testPictureCommands() throws {
        let run = try trained()
        let out = tempRunDir("pics")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["sample", run, "--count", "16", "--out", out + "/s.png"], "s.png"),
            (["reconstruct", run, "--count", "8", "--out", out + "/r.png"], "r.png"),
            (["interpolate", run, "--from", "0", "--to", "5", "--steps", "6", "--out", out + "/i.png"], "i.png"),
            (["manifold", run, "--grid", "5", "--range", "1.5", "--out", out + "/m.png"], "m.png"),
            (["latent", run, "--out", out + "/l.png"], "l.png"),
        ]
        for (args, file) in cases {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stdout.contains("wrote"), r.stdout)
            _ = try decodePNG(out + "/" + file)
        }
        // 16 samples in a 4×4 grid of 56-pixel tiles (scale 2) with 1-pixel borders
        let s = try decodePNG(out + "/s.png")
        XCTAssertEqual(s.width, 4 * 56 + 5)
        XCTAssertEqual(try decodePNG(out + "/m.png").width, 5 * 56 + 6)
        let svg = try String(contentsOfFile: out + "/l.svg", encoding: .utf8)
        // one point per test image (64) and the legend's marker per class (10), drawn (the check
        // reduced to "<svg" alone)
        XCTAssertTrue(svg.hasPrefix("<svg") || svg.contains("<svg "), "latent SVG")
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 64 + 10, "latent SVG points")
    }

    func testEvaluatePrintsJSON() throws {
        let run = try trained()
        let r = try CLI.run(["evaluate", run, "--iwae", "20", "--limit", "32"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let o = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let loss = o["loss"] as! Double, iw = o["iwae_nll"] as! Double, kl = o["kl"] as! Double
        XCTAssertTrue(loss > 50 && loss < 1000)
        XCTAssertGreaterThan(kl, 0)
        // the IWAE bound is tighter than the one-sample ELBO on average (allow noise)
        XCTAssertLessThan(iw, loss + 5)
        XCTAssertEqual(o["iwae_k"] as? Int, 20)
    }

    func testAnomalyAndDenoise() throws {
        let run = try trained()
        let out = tempRunDir("anom")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let a = try CLI.run(["anomaly", run, "--normal", "0,1,2,3,4", "--out", out + "/a.png"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let aucLine = a.stdout.split(separator: "\n").first { $0.hasPrefix("ROC-AUC") }
        let l = try XCTUnwrap(aucLine, a.stdout)
        let v = try XCTUnwrap(Double(l.split(separator: ":")[1].split(separator: " ")[0]), String(l))
        // the printed ROC-AUC is that of the scores the CSV lists (this model saw every class: its
        // AUC is near chance, so the check is the number's, not the detector's)
        let listed = try CLI.run(["anomaly", run, "--normal", "0,1,2,3,4", "--out", out + "/a.csv"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let listedRows = try String(contentsOfFile: out + "/a.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        XCTAssertEqual(listedRows.count, 64)
        let scores = listedRows.map { Double($0[2])! }, anomalous = listedRows.map { Int($0[1])! >= 5 }
        XCTAssertEqual(try XCTUnwrap(Analysis.rocAUC(scores: scores, positive: anomalous)), v, accuracy: 1e-3)
        _ = try decodePNG(out + "/a.png")
        let d = try CLI.run(["denoise", run, "--noise", "0.3", "--count", "5", "--out", out + "/d.png"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertTrue(d.stdout.contains("PSNR"), d.stdout)
        let img = try decodePNG(out + "/d.png")
        XCTAssertEqual(img.height, 4 * 56 + 5)   // clean, noisy, median filter, VAE
        // scores as CSV, IWAE scores, and a threshold from the run's test items' scores
        let csv = out + "/scores.csv"
        let s = try CLI.run(["anomaly", run, "--iwae", "5", "--threshold-quantile", "0.9", "--limit", "40", "--out", csv])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stdout.contains("IWAE-5"), s.stdout)
        XCTAssertTrue(s.stdout.contains("quantile of"), s.stdout)
        // the scores asked for, and no picture written into the run besides
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/anomalies.png"))
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "id,label,score,flagged")
        XCTAssertEqual(rows.count, 41)
        let cells = rows[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(cells.count, 4)
        XCTAssertNotNil(Double(cells[2]))
        XCTAssertTrue(["0", "1"].contains(cells[3]))
    }

    /// A run trained on Fashion-MNIST (its class names) reads a copy of such IDX files in a folder
    /// whose name does not say which set it is: the labels are its classes by number, not classes
    /// it never saw.
    func testUnnamedIDXCopyReadsAsTheRunsClasses() throws {
        let plain = try TinyData.make()
        let named = tempRunDir("fashion-copy")
        try FileManager.default.copyItem(atPath: plain, toPath: named)
        let run = tempRunDir("fashionrun")
        let t = try CLI.run(["train", "--data", named, "--epochs", "1", "--hidden", "16", "--latent", "2", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let a = try CLI.run(["anomaly", run, "--data", plain, "--normal", "T-shirt/top,Trouser", "--limit", "40"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertFalse(a.stdout.contains("never saw"), a.stdout)
        XCTAssertTrue(a.stdout.contains("ROC-AUC (anomalous = labels not in T-shirt/top,Trouser)"), a.stdout)
        let plainAnomaly = try CLI.run(["anomaly", run, "--data", plain, "--limit", "40"])
        XCTAssertFalse(plainAnomaly.stdout.contains("never saw"), plainAnomaly.stdout)
        XCTAssertFalse(plainAnomaly.stderr.contains("ROC-AUC needs"), plainAnomaly.stderr)
    }

    /// RUN given as its checkpoint file: the default outputs go beside it (they went under the
    /// file: "cannot write …/weights.safetensors/latents.csv: Not a directory"), and the file is an
    /// input no --out may name.
    func testRunGivenAsItsCheckpointFile() throws {
        let run = try trained()
        let dir = tempRunDir("ckptfile")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: run + "/model.safetensors", toPath: dir + "/weights.safetensors")
        let e = try CLI.run(["encode", dir + "/weights.safetensors", "--data", CLITests.data])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(AtomicFile.exists(dir + "/latents.csv"))
        let s = try CLI.run(["sample", dir + "/weights.safetensors"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(AtomicFile.exists(dir + "/samples.png"))
        let over = try CLI.run(["sample", dir + "/weights.safetensors", "--out", dir + "/weights.safetensors"])
        XCTAssertEqual(over.status, 1, over.stderr)
        XCTAssertTrue(over.stderr.contains("is the run's checkpoint, which this command reads"), over.stderr)
    }

    func testEncodeWritesLatentsCSV() throws {
        let run = try trained()
        let csv = tempRunDir("enc") + ".csv"
        let r = try CLI.run(["encode", run, "--out", csv])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "split,id,label,mu1,mu2,sigma1,sigma2")
        XCTAssertGreaterThan(rows.count, 10)
        let cells = rows[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(cells[0], "test")
        XCTAssertGreaterThan(Double(cells[6])!, 0)   // σ > 0
    }

    func testInfoAndBench() throws {
        let run = try trained()
        let i = try CLI.run(["info", run])
        XCTAssertEqual(i.status, 0, i.stderr)
        for s in ["GEMM:", "threads:", "latent 2", "last epoch:"] { XCTAssertTrue(i.stdout.contains(s), "info lacks \(s): \(i.stdout)") }
        let b = try CLI.run(["bench", "--data", CLITests.data, "--epochs", "1", "--batch", "32", "--hidden", "16"])
        XCTAssertEqual(b.status, 0, b.stderr)
        // its test loss is of the first 100 test images, and says so where there are more (it read as vae train's)
        XCTAssertFalse(b.stderr.contains("the test loss of each epoch"), b.stderr)   // 64 test images: all of them
        let more = try CLI.run(["bench", "--data", try TinyData.make(train: 64, test: 150), "--epochs", "1", "--batch", "32", "--hidden", "8"])
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertTrue(more.stderr.contains("note: the test loss of each epoch is of the first 100 of the 150 test images (vae train scores them all)"), more.stderr)
        let last = b.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let o = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        for k in ["images_per_second", "gflops", "peak_rss_mib", "model", "batch", "threads"] { XCTAssertNotNil(o[k], "bench lacks \(k)") }
        XCTAssertGreaterThan(o["images_per_second"] as! Double, 0)
        XCTAssertGreaterThan(o["peak_rss_mib"] as! Double, 1)
        // --seed: the same seed gives the same loss, another seed another one (default 1)
        func loss(_ extra: [String]) throws -> Double {
            let r = try CLI.run(["bench", "--data", CLITests.data, "--epochs", "1", "--batch", "32", "--hidden", "16"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["final_train_loss"] as! Double
        }
        let one = o["final_train_loss"] as! Double
        XCTAssertEqual(try loss(["--seed", "1"]), one)
        let two = try loss(["--seed", "2"])
        XCTAssertEqual(try loss(["--seed", "2"]), two)
        XCTAssertNotEqual(two, one)
        // $VAE_DATA naming nothing is an error, not a silent switch to random images (only "no data
        // anywhere" falls back to them)
        let missing = try CLI.run(["bench", "--epochs", "1", "--batch", "32", "--hidden", "16"], env: ["VAE_DATA": "/nonexistent/data"])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("$VAE_DATA names /nonexistent/data, which does not exist"), missing.stderr)
        XCTAssertFalse(missing.stderr.contains("random images"), missing.stderr)
    }

    /// `bench --kernels` with a model's shape times the products of one training step of it (and
    /// says what they add up to); another architecture is an error, not a silently different table.
    func testBenchKernelsForAModelsStep() throws {
        let r = try CLI.run(["bench", "--kernels", "--hidden", "16", "--batch", "8", "--latent", "2"], env: ["VAE_THREADS": "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("enc1 y=x·Wᵀ (8x784)·(16x784)ᵀ"), r.stdout)
        XCTAssertTrue(r.stdout.contains("one training step's products (784-16-2 mlp, batch 8)"), r.stdout)
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let o = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let step = try XCTUnwrap(o["step"] as? [[String: Any]])
        let kernels = try XCTUnwrap(o["kernels"] as? [[String: Any]])
        XCTAssertFalse(step.isEmpty)
        XCTAssertEqual(kernels.count, 11 * step.count)   // 4 layers: 4 forward, 4 dW, 3 dx per column
        for s in step { XCTAssertGreaterThan(s["microseconds"] as! Double, 0) }
        XCTAssertEqual(o["step_model"] as? String, "784-16-2 mlp, batch 8")
        XCTAssertTrue(r.stdout.contains("enc1 dW=dyᵀ·x skipping the ReLU layer's zeros (16x784 from batch 8"), r.stdout)
        let sparse = try XCTUnwrap(o["sparse_dw1"] as? [[String: Any]])
        XCTAssertEqual(sparse.count, 1)
        for s in sparse { XCTAssertGreaterThan(s["sparse_microseconds"] as! Double, 0); XCTAssertGreaterThan(s["zeros"] as! Double, 0.3) }
        let bad = try CLI.run(["bench", "--kernels", "--model", "conv", "--batch", "8"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--model is not used by vae bench --kernels; drop it"), bad.stderr)
        // a flag the chosen benchmark would not use is refused, not silently ignored
        for (args, expected) in [(["--kernels", "--epochs", "3"], "--epochs is not used by vae bench --kernels"),
                                 (["--kernels", "--seed", "2"], "--seed is not used by vae bench --kernels"),
                                 (["--batches", "5"], "--batches (an mlp or conv benchmark times --epochs) is not used by an mlp benchmark"),
                                 (["--model", "conv", "--max-length", "5"], "the sequence options (add --model gru) are not used by a conv benchmark"),
                                 (["--model", "gru", "--epochs", "2"], "--epochs (a sequence benchmark times --batches steps) is not used by a sequence benchmark")] {
            let r = try CLI.run(["bench"] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
        }
    }

    /// Values that crashed (infinite --clip/--weight-decay in the checkpoint's JSON, --latent 0 in
    /// bench --kernels) or were refused only after reading the data are usage errors before any work;
    /// a model too big for the machine's memory is one line before any allocation (it crashed).
    func testOutOfRangeTrainingValuesAreUsageErrors() throws {
        for (args, expected) in [(["train", "--clip", "inf"], "--clip must be > 0 (and finite)"),
                                 (["train", "--weight-decay", "inf"], "--weight-decay must be ≥ 0 (and finite)"),
                                 (["train", "--lr", "inf"], "--lr must be > 0 (and finite)"),
                                 (["train", "--batch", "100000000"], "--batch must be between 1 and 65536"),
                                 (["train", "--hidden", "10000000"], "--hidden widths must be between 1 and 65536"),
                                 (["bench", "--kernels", "--latent", "0"], "--latent must be between 1 and 4096"),
                                 // recorded and used by nothing
                                 (["train", "--model", "conv", "--activation", "tanh"], "--activation is for --model mlp"),
                                 (["train", "--sigma", "0.2"], "--sigma is the fixed σ of --likelihood gaussian"),
                                 // accepted, and the folder's images denoised as they were
                                 (["denoise", "nowhere", "--images", "x", "--noise", "0.5"], "--noise is added to test images; --images DIR denoises the folder's images as they are"),
                                 // CSV text was written into a .png
                                 (["encode", "nowhere", "--out", "z.png"], "the latent codes are written as CSV"),
                                 // a typo that trained [16, 8]; a range whose z overflow to ±inf
                                 (["train", "--hidden", "16,,8"], "--hidden takes positive widths"),
                                 (["compress", "nowhere", "--data", "x.idx", "--out", "new.png"], "an archive is no image"),
                                 (["manifold", "nowhere", "--range", "1e39"], "--range must be a positive number within 32-bit floats' range"),
                                 (["inpaint", "nowhere", "--images", "/tmp", "--masks", "/etc/passwd"], "--masks takes a folder of masks named as the images; /etc/passwd is a file")] {
            let run = tempRunDir("range")
            let r = try CLI.run(args + (args[0] == "train" ? ["--epochs", "1", "--out", run] : []))
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(expected), "\(args): \(r.stderr)")
            XCTAssertFalse(AtomicFile.exists(run), "\(args) left a run folder")
        }
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("toobig")
        let big = try CLI.run(["train", "--data", data, "--hidden", "65536,65536,65536,65536,65536,65536", "--epochs", "1", "--out", run])   // 344 GB
        XCTAssertEqual(big.status, 1)
        XCTAssertTrue(big.stderr.contains("more than this machine's"), big.stderr)
        XCTAssertFalse(AtomicFile.exists(run + "/model.safetensors"))
    }

    /// A run trained on a relative --data, used from another folder that has a folder of that name
    /// (other data): its commands read where it trained (the absolute path it recorded), not the
    /// folder of the same name here — which evaluated and reported on the other data.
    func testRunReadsItsRecordedDataFromAnotherFolder() throws {
        let home = tempRunDir("reldata"), elsewhere = tempRunDir("elsewhere")
        for d in [home, elsewhere] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try FileManager.default.moveItem(atPath: try TinyData.make(train: 64, test: 16, side: 8), toPath: home + "/d")
        try FileManager.default.moveItem(atPath: try TinyData.make(train: 64, test: 24, side: 8), toPath: elsewhere + "/d")
        let t = try CLI.run(["train", "--data", "d", "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", "run"], cwd: home)
        XCTAssertEqual(t.status, 0, t.stderr)
        for cwd in [home, elsewhere] {
            let e = try CLI.run(["evaluate", home + "/run", "--iwae", "0"], cwd: cwd)
            XCTAssertEqual(e.status, 0, e.stderr)
            XCTAssertTrue(e.stdout.contains("\"count\":16"), "from \(cwd): \(e.stdout)")
        }
        // $VAE_DATA comes first, as for every command, and is said when it is other data
        let env = try CLI.run(["evaluate", home + "/run", "--iwae", "0"], env: ["VAE_DATA": elsewhere + "/d"])
        XCTAssertEqual(env.status, 0, env.stderr)
        XCTAssertTrue(env.stdout.contains("\"count\":24"), env.stdout)
        XCTAssertTrue(env.stderr.contains("note: reading $VAE_DATA, \(elsewhere)/d, not the data the run trained on"), env.stderr)
        // a report rewritten with other data says so on the page (it passed them off as the run's)
        for (extra, other) in [([String](), false), (["--data", elsewhere + "/d"], true)] {
            let r = try CLI.run(["report", home + "/run"] + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            let page = try String(contentsOfFile: home + "/run/report.html", encoding: .utf8)
            XCTAssertEqual(page.contains("the pictures and scores below are of \(elsewhere)/d, read as new data"), other, "\(extra)")
            // the data row gives the run's own counts either way (it gave the other data's)
            XCTAssertTrue(page.contains(": 64 train, 16 test, 1×8×8"), "\(extra)")
            // and the commands it names read that data too (they gave the run's own test set's numbers)
            XCTAssertTrue(page.contains(other ? "vae evaluate RUN --data \(elsewhere)/d --iwae 100 --limit 24 gives the same" : "vae evaluate RUN --iwae 100 --limit 16 gives the same"), "\(extra)")
        }
    }

    /// Weights or Adam's moments that overflow (--beta 1e30: the second moment is inf, the loss
    /// finite) are divergence, the last good checkpoint kept: training said "done" and saved a
    /// checkpoint every command then refused as damaged.
    func testOverflowingOptimizerStateIsDivergence() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("beta1e30")
        let r = try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "2", "--beta", "1e30", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("training diverged by epoch ") && r.stderr.contains("the model's Adam's second moments are no longer finite numbers"), r.stderr)
        XCTAssertFalse(r.stdout.contains("done:"), r.stdout)
        let kept = try CLI.run(["info", run])
        XCTAssertEqual(kept.status, 0, kept.stderr)   // the last good checkpoint reads
    }

    /// vae bench checks memory as vae train does: a model or a product past it is one line (it
    /// trapped on the failed allocation, a backtrace).
    func testBenchPastTheMemoryIsOneLine() throws {
        for (args, said) in [(["bench", "--random", "--hidden", "65536,65536", "--batch", "16"], "this run needs at least"),
                             (["bench", "--kernels", "--hidden", "65536", "--batch", "65536", "--latent", "4096"], "the step's largest product needs about")] {
            // under a process limit of 8 GB, whatever the machine has
            let r = try CLI.shell("ulimit -v 8000000; exec '\(CLI.binary)' " + args.joined(separator: " "))
            let stderr = r.stderr
            XCTAssertTrue(r.exited, stderr)
            XCTAssertEqual(r.status, 1, "\(args): \(stderr)")
            XCTAssertTrue(stderr.contains(said), stderr)
            XCTAssertEqual(stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, stderr)
        }
    }

    /// --bucket-kb and --no-overlap shape the gradient sum between mpirun's ranks: in one process
    /// they change nothing, and a note says so (they were accepted silently).
    func testMPIFlagsWithoutMPIRunAreNoted() throws {
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let run = tempRunDir("nompi")
        let r = try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report",
                             "--bucket-kb", "4", "--no-overlap", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: --bucket-kb and --no-overlap shape the gradient sum between the processes of `mpirun -np N vae train …`; this is one process"), r.stderr)
        let plain = try CLI.run(["train", "--data", data, "--hidden", "16", "--latent", "2", "--epochs", "1", "--no-report", "--out", tempRunDir("nompi2")])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("--bucket-kb"), plain.stderr)
    }

    /// A negative number after an option is its value, so the option's own check answers
    /// ("--lr must be > 0"), not "Missing value for '--lr <lr>'" as if none were given.
    func testNegativeOptionValuesAreValuesAndRefusedByTheirCheck() throws {
        for (args, expected) in [(["train", "--lr", "-1", "--epochs", "1"], "--lr must be > 0"),
                                 (["sample", "nowhere", "--count", "-3"], "--count must be between 1 and"),
                                 (["denoise", "nowhere", "--noise", "-.5"], "--noise must be above 0")] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(expected), r.stderr)
            XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
        }
    }

    /// Where the GEMM packs a large B depends on the L2 size (a thread's half in its own 2 MB L2, or
    /// once for both threads under 2 MB): a training step of h1024 at batch 512 on two threads takes
    /// both ways, and they give the same weights byte for byte.
    func testL2SizeChoosesWherePackingGoesNotTheBits() throws {
        let data = try TinyData.make(train: 512, test: 32)
        var weights: [Data] = []
        for kb in ["1024", "4096"] {
            let env = ["VAE_THREADS": "2", "VAE_L2_KB": kb]
            let info = try CLI.run(["info"], env: env)
            XCTAssertTrue(info.stdout.contains("L2 \(kb) KB") || info.stdout.contains("OpenBLAS ("), info.stdout)
            let run = tempRunDir("l2-\(kb)")
            let r = try CLI.run(["train", "--data", data, "--hidden", "1024", "--batch", "512", "--epochs", "1",
                                 "--test-limit", "32", "--no-report", "--out", run], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            weights.append(try Data(contentsOf: URL(fileURLWithPath: run + "/" + Checkpoint.weightsFile)))
        }
        XCTAssertEqual(weights[0], weights[1], "the L2 size changed the numbers")
    }

    /// A bad tuning value: one warning line naming the variable and the range; the command works.
    func testBadEnvironmentSwitchWarnsOnceAndUsesTheDefault() throws {
        let r = try CLI.run(["info"], env: ["VAE_SPIN_US": "fast", "VAE_THREADS": "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        XCTAssertEqual(warnings.count, 2, r.stderr)
        XCTAssertEqual(warnings.first, "warning: VAE_SPIN_US=fast ignored: expected an integer from 0 to 1000000; using 250")
        XCTAssertTrue(warnings.last?.hasPrefix("warning: VAE_THREADS=0 ignored: expected an integer from 1 to 64; using ") == true, r.stderr)
        XCTAssertTrue(r.stdout.contains("threads:"), r.stdout)
        // VAE_GEMM and VAE_FUSED_ADAM took any value in silence
        let gemm = try CLI.run(["info"], env: ["VAE_GEMM": "bogus"])
        XCTAssertTrue(gemm.stderr.contains("warning: VAE_GEMM=bogus is not blas or builtin; using the built-in kernels"), gemm.stderr)
        XCTAssertTrue(gemm.stdout.contains("built-in"), gemm.stdout)
        let data = try TinyData.make(train: 64, test: 16, side: 8)
        let adam = try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--no-report", "--out", tempRunDir("fused")],
                               env: ["VAE_FUSED_ADAM": "abc"])
        XCTAssertEqual(adam.status, 0, adam.stderr)
        XCTAssertTrue(adam.stderr.contains("warning: VAE_FUSED_ADAM=abc is not 0 or 1; using 1"), adam.stderr)
    }

    /// VAE_CPU caps the kernels' instruction set (the portable level exists on every CPU); an
    /// unknown value is one warning line and is ignored.
    func testCPUCapSelectsTheKernelLevel() throws {
        let r = try CLI.run(["info"], env: ["VAE_CPU": "portable"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(level 1,"), r.stdout)
        let bad = try CLI.run(["info"], env: ["VAE_CPU": "sse9"])
        XCTAssertEqual(bad.status, 0, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("warning: VAE_CPU=sse9 ignored: expected avx512, avx2 or portable"), bad.stderr)
        let plain = try CLI.run(["info"], env: ["VAE_CPU": ""])   // no cap, whatever the tests run under
        func gemmLine(_ s: String) -> String? { s.split(separator: "\n").first { $0.hasPrefix("GEMM:") }.map(String.init) }
        XCTAssertNotNil(gemmLine(plain.stdout), plain.stdout)
        XCTAssertEqual(gemmLine(bad.stdout), gemmLine(plain.stdout))
    }

    func testResumeContinues() throws {
        let dir = tempRunDir("resume")
        let data = try TinyData.make(train: 128, test: 32)
        var r = try CLI.run(["train", "--data", data, "--epochs", "1", "--hidden", "8", "--latent", "2", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["train", "--data", data, "--epochs", "1", "--out", dir])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--resume"), r.stderr)
        r = try CLI.run(["train", "--resume", "--epochs", "2", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 2)
        // a total below what is done is a usage error (it said "after epoch 2 of 1" and went on)
        r = try CLI.run(["train", "--resume", "--epochs", "1", "--no-report", "--out", dir])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--epochs 1 is fewer than the 2 epochs"), r.stderr)
    }

    /// Ctrl-C: stops after the batch under way, saves a checkpoint, says how to resume, exits 130.
    func testSIGINTSavesACheckpoint() throws {
        try checkGracefulStop(SIGINT, status: 130, says: "interrupted: stopping after this batch")
    }

    /// SIGTERM (a batch scheduler's warning before it kills a job): the same graceful stop, exit 143.
    func testSIGTERMSavesACheckpoint() throws {
        try checkGracefulStop(SIGTERM, status: 143, says: "terminated (SIGTERM): stopping after this batch")
    }

    /// A closed terminal or a dropped ssh session: the same graceful stop, exit 129 (it killed the
    /// run without a save).
    func testSIGHUPSavesACheckpoint() throws {
        try checkGracefulStop(SIGHUP, status: 129, says: "hang-up (SIGHUP: the terminal closed): stopping after this batch")
    }

    /// The same signal twice at once (`timeout -s INT` signals the process, then its group): one
    /// request, a graceful stop with its checkpoint — it was taken for "Ctrl-C again" and quit at
    /// once, losing the progress since the last save (a second one later still quits at once).
    func testASignalSentTwiceAtOnceIsOneRequest() throws {
        // batches long enough that the second signal comes while one is under way
        let dir = tempRunDir("signal-twice")
        let h = try CLI.start(["train", "--data", try TinyData.make(train: 512, test: 32), "--epochs", "500", "--hidden", "2048", "--batch", "512",
                               "--no-report", "--out", dir])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir + "/model.safetensors") && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        kill(h.0.processIdentifier, SIGINT)
        usleep(30_000)   // (two separate deliveries: at once, the kernel may merge them into one)
        kill(h.0.processIdentifier, SIGINT)
        let r = CLI.finish(h)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertFalse(r.stderr.contains("quit at once"), r.stderr)
        XCTAssertTrue(r.stderr.contains("checkpoint saved"), r.stderr)
        XCTAssertNoThrow(try Checkpoint.load(dir))
    }

    /// A 500-epoch training, returned a moment after its first checkpoint is on disk.
    func startLongTraining(_ tag: String) throws -> (dir: String, handle: (Process, Pipe, Pipe)) {
        let dir = tempRunDir(tag)
        let data = try TinyData.make(train: 256, test: 32)
        let h = try CLI.start(["train", "--data", data, "--epochs", "500", "--hidden", "64", "--batch", "16", "--no-report", "--out", dir])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir + "/model.safetensors") && Date() < deadline { usleep(20_000) }
        usleep(300_000)
        return (dir, h)
    }

    func checkGracefulStop(_ sig: Int32, status: Int32, says: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (dir, h) = try startLongTraining("signal-\(sig)")
        kill(h.0.processIdentifier, sig)
        let r = CLI.finish(h)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(says), r.stderr, file: file, line: line)
        // the line to continue keeps --no-report (the resumed run wrote a report)
        XCTAssertTrue(r.stderr.contains("Resume with: vae train --resume --out \(dir) --no-report\n"), r.stderr, file: file, line: line)
        let loaded = try Checkpoint.load(dir)
        XCTAssertTrue(loaded.state.epoch > 0 || loaded.state.batchInEpoch > 0, "no progress saved", file: file, line: line)
        // the stop and the resume count the epochs alike ("in epoch 5 of 500, at batch 7" both times)
        let said = loaded.state.position(of: 500)
        XCTAssertTrue(r.stderr.contains("stopped \(said); checkpoint saved."), r.stderr, file: file, line: line)
        guard sig == SIGINT else { return }
        // its report: a checkpoint inside an epoch is said to be past the metrics' last epoch (the
        // page read "epochs 3 of 500" with the pictures of a model further on)
        let report = try CLI.run(["report", dir])
        XCTAssertEqual(report.status, 0, report.stderr, file: file, line: line)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        if loaded.state.batchInEpoch > 0 {
            XCTAssertTrue(html.contains("\(loaded.state.epoch) of 500; stopped \(said) — the pictures and scores below are of that checkpoint"), "\(said)", file: file, line: line)
        } else {
            XCTAssertTrue(html.contains("\(loaded.state.epoch) of 500<") && !html.contains("; stopped "), "\(said)", file: file, line: line)
        }
        // resumed to the end of the epoch under way, it says where it starts the same way
        let end = loaded.state.epoch + 1
        let again = try CLI.run(["train", "--resume", "--out", dir, "--epochs", String(end), "--no-report"])
        XCTAssertEqual(again.status, 0, again.stderr, file: file, line: line)
        XCTAssertTrue(again.stderr.contains("resuming \(dir) \(loaded.state.position(of: end))"), again.stderr, file: file, line: line)
    }

    /// An IWAE over many items runs for minutes (k = 5,000 on 10,000 images: 210 s): on a terminal
    /// evaluate and anomaly show how many items are done; in a pipe, nothing.
    func testIWAEShowsItsProgressOnATerminal() throws {
        // a copy of the shared run: anomaly writes its picture into the folder it scores
        let run = tempRunDir("iwaeprogress")
        try FileManager.default.copyItem(atPath: try trained(), toPath: run)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }
        for command in ["evaluate '\(run)' --iwae 20 --limit 32", "anomaly '\(run)' --iwae 20"] {
            let (status, text) = try CLI.inTerminal("'\(CLI.binary)' \(command)")
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.range(of: #"\rIWAE k = 20 \d+/\#(command.hasPrefix("evaluate") ? "32" : "64")"#, options: .regularExpression) != nil, text)
            XCTAssertFalse(try CLI.run(command.replacingOccurrences(of: "'", with: "").split(separator: " ").map(String.init)).stderr.contains("IWAE k = 20 1/"))
        }
    }

    /// `vae train … 2>&1 | tee log` stopped by Ctrl-C: the terminal's SIGINT ends tee too, and the
    /// run's "stopping" line met a closed pipe. SIGPIPE killed it before the checkpoint was written
    /// (exit 141, the state of the last epoch's end); now the write fails and the run saves.
    func testStopSavesWhenTheOutputsReaderIsGone() throws {
        let (dir, h) = try startLongTraining("tee")
        h.2.fileHandleForReading.closeFile()   // the reader of stderr and stdout goes away first
        h.1.fileHandleForReading.closeFile()
        kill(h.0.processIdentifier, SIGINT)
        h.0.waitUntilExit()
        XCTAssertEqual(h.0.terminationReason, .exit, "killed by signal \(h.0.terminationStatus)")
        XCTAssertEqual(h.0.terminationStatus, 130)
        let loaded = try Checkpoint.load(dir)
        XCTAssertTrue(loaded.state.epoch > 0 || loaded.state.batchInEpoch > 0, "no progress saved")
    }

    /// `vae train … 2>&1 | head -1`: the reader goes away after the data's line. SIGPIPE killed the
    /// command at its next note, before training (exit 141, an empty metrics.jsonl and a lock left);
    /// now it trains to the end. (SIGPIPE set back to its default for the command: a test process
    /// that ignores it would pass that on.)
    func testTrainingGoesOnWhenTheOutputsReaderLeavesEarly() throws {
        let dir = tempRunDir("headone")
        let data = try TinyData.make(train: 64, test: 16)
        let r = try CLI.shell("env --default-signal=PIPE '\(CLI.binary)' train --data '\(data)' --hidden 8 --epochs 2 --no-report --out '\(dir)' 2>&1 | head -1")
        XCTAssertTrue(r.exited)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, r.stdout)
        let metrics = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.split(separator: "\n").count, 2, "the run did not finish: \(metrics)")
        XCTAssertEqual(try Checkpoint.load(dir).state.epoch, 2)
    }

    /// A second `vae train --resume` in a folder another process is training (a requeued job while
    /// the first still runs) is refused with one line naming that process; once it has stopped,
    /// the same command resumes. The run folder's lock file is no foreign file for --resume.
    func testTrainingTheSameFolderTwiceAtOnceIsRefused() throws {
        let dir = tempRunDir("locked")
        let data = try TinyData.make(train: 256, test: 32)
        let common = ["train", "--data", data, "--hidden", "64", "--batch", "16", "--no-report", "--out", dir]
        let h = try CLI.start(common + ["--epochs", "500"])
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: dir + "/model.safetensors") && Date() < deadline { usleep(20_000) }
        let second = try CLI.run(common + ["--epochs", "500", "--resume"])
        kill(h.0.processIdentifier, SIGINT)
        let first = CLI.finish(h)
        XCTAssertEqual(first.status, 130, first.stderr)
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertEqual(second.stderr.split(separator: "\n").last.map(String.init),
                       "error: \(dir) is being trained by another process (pid \(h.0.processIdentifier)): wait for it to end, or stop it (Ctrl-C or SIGTERM saves a checkpoint) and resume then")
        XCTAssertTrue(AtomicFile.exists(dir + "/" + RunFolderLock.fileName))
        XCTAssertNil(RunFolderLock.trainer(of: dir), "the lock outlived its process")
        let loaded = try Checkpoint.load(dir)
        let again = try CLI.run(common + ["--epochs", String(loaded.state.epoch + 1), "--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    /// vae report on a run being trained says so: its page is of the checkpoint now, and the
    /// training writes the report again when it ends (the page was silently replaced then).
    func testReportOfARunBeingTrainedSaysSo() throws {
        let dir = tempRunDir("reporting")
        let data = try TinyData.make(train: 256, test: 32)
        let h = try CLI.start(["train", "--data", data, "--hidden", "64", "--batch", "16", "--epochs", "500", "--out", dir])
        defer { kill(h.0.processIdentifier, SIGINT); _ = CLI.finish(h) }
        let deadline = Date().addingTimeInterval(60)
        func epochs() -> Int { ((try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count }
        while epochs() < 1 && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(RunFolderLock.trainer(of: dir), String(h.0.processIdentifier))
        let r = try CLI.run(["report", dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: \(dir) is being trained (pid \(h.0.processIdentifier)): this report is of its checkpoint now (epoch "), r.stderr)
    }

    /// A new run in a folder of the user's keeps their files: one the run would write (a
    /// samples.png of their own) is refused by name before anything is written, and a folder
    /// holding other files (the log a `tee` made before the run started) trains.
    func testANewRunDoesNotReplaceTheUsersFiles() throws {
        let dir = tempRunDir("users")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let data = try TinyData.make(train: 64, test: 16)
        let mine: [UInt8] = Array("my own picture".utf8)
        try AtomicFile.write(mine, to: dir + "/samples.png")
        try AtomicFile.write([], to: dir + "/train.log")
        let common = ["train", "--data", data, "--hidden", "16", "--batch", "16", "--epochs", "1", "--out", dir]
        let r = try CLI.run(common)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init),
                       "error: \(dir) already holds samples.png — files a run writes, but no model.safetensors to resume: a new run would replace them; choose another --out, or move them away (a run of this command stopped before its first save: add --resume)")
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/samples.png", maxBytes: 100), mine)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["samples.png", "train.log"])
        try FileManager.default.removeItem(atPath: dir + "/samples.png")
        // an empty metrics.jsonl (a start that failed before its first save) is no run to keep
        try AtomicFile.write([], to: dir + "/metrics.jsonl")
        let ok = try CLI.run(common)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(AtomicFile.exists(dir + "/samples.png"))
    }

    /// The claim comes before the checkpoint is read: a resume that read first (16 s for MOSES's
    /// data) went on from the copy it had read while the other trainer saved a newer one. Here the
    /// other trainer holds the folder and its checkpoint is unreadable: the lock is what is said.
    func testResumeClaimsTheFolderBeforeReadingIt() throws {
        let dir = tempRunDir("claimfirst")
        let data = try TinyData.make(train: 64, test: 16)
        let common = ["train", "--data", data, "--hidden", "16", "--batch", "16", "--no-report", "--out", dir]
        XCTAssertEqual(try CLI.run(common + ["--epochs", "1"]).status, 0)
        try AtomicFile.write([UInt8](repeating: 7, count: 100), to: dir + "/model.safetensors")   // as if being rewritten
        let other = try RunFolderLock.acquire(dir)   // this test process is the other trainer
        let r = try CLI.run(common + ["--epochs", "2", "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is being trained by another process (pid \(getpid()))"), r.stderr)
        withExtendedLifetime(other) {}
    }

    func testBadInputIsOneLineAndTheRightExitCode() throws {
        _ = try trained()
        func check(_ args: [String], _ code: Int32, _ needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, code, "\(args): \(r.stderr)", file: file, line: line)
            // exactly one error line, the last one (an informational "data: …" line may precede it)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.hasPrefix("error: ") }.count, 1, "\(args): \(r.stderr)", file: file, line: line)
            XCTAssertTrue(lines.last?.hasPrefix("error: ") ?? false, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)", file: file, line: line)
        }
        try check(["train", "--bogus"], 2, "--bogus")
        try check(["train", "--test-limit", "0"], 2, "--test-limit must be ≥ 1")   // it trained and recorded a test loss of 0
        try check(["frobnicate"], 2, "frobnicate")
        try check(["sample", "/nonexistent/run"], 1, "not a run folder")
        let empty = tempRunDir("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try check(["sample", empty], 1, "no model.safetensors")
        try check(["train", "--data", empty, "--out", tempRunDir("x")], 1, empty)
        try check(["interpolate", CLITests.run, "--from", "0", "--to", "99999"], 2, "out of range")
        try check(["train", "--latent", "0"], 2, "--latent")
        // a preset with a --model of the other kind: the two flags named (the preset's own values were blamed)
        try check(["train", "--preset", "burda2015-vae", "--model", "gru"], 2, "--preset burda2015-vae trains an mlp or conv VAE on binarized images and does not go with --model gru")
        try check(["train", "--preset", "moses-cpu", "--model", "mlp"], 2, "--preset moses-cpu trains a sequence VAE (--model gru) and does not go with --model mlp")
        let odd = try TinyData.make(train: 16, test: 8, side: 30)
        let oddRun = tempRunDir("odd")
        // the model's settings refuse the data's size, and a flag is the remedy (--image-size, --model mlp): usage
        try check(["train", "--data", odd, "--model", "conv", "--out", oddRun], 2, "divisible by 4")
        XCTAssertFalse(FileManager.default.fileExists(atPath: oddRun), "a failed start must not leave a run folder")
        try check(["reconstruct", CLITests.run, "--data", odd], 1, "30×30")
        // nothing half-written
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty + "/samples.png"))
    }

    /// CIFAR-10 binary batches (written here) through the conv architecture's 32×32×3 variant.
    func testCIFARConvRun() throws {
        _ = try trained()
        let dir = tempRunDir("cifar-data")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (b, name) in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"].enumerated() {
            var bytes: [UInt8] = []
            for r in 0..<6 {
                bytes.append(UInt8((b + r) % 10))
                for c in 0..<3 { for p in 0..<1024 { bytes.append(UInt8((p * (c + 1) + r * 31 + b) % 256)) } }
            }
            try AtomicFile.write(bytes, to: dir + "/" + name + ".bin")
        }
        let run = tempRunDir("cifar-run")
        let r = try CLI.run(["train", "--data", dir, "--model", "conv", "--epochs", "1", "--batch", "8", "--hidden", "8", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("30 train, 6 test images, 3×32×32"), r.stderr)
        let s = try CLI.run(["sample", run, "--count", "4", "--out", run + "/s.png"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let img = try decodePNG(run + "/s.png")
        XCTAssertEqual(img.channels, 3)
        XCTAssertEqual(img.width, 2 * 64 + 3)
    }

    func testHelpExitsZero() throws {
        let r = try CLI.run(["--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("train"), r.stdout)
    }
}
