import Foundation
import XCTest
import VAECore
import VAEKit

/// Opens report.html in a real browser (headless Chromium) and checks that the page's
/// JavaScript decoder gives the Swift decoder's pixel means (within 1e-4) for a few z, for an
/// mlp with latent 2, an mlp with latent > 2, a conv model and conditional mlp and conv models (class 0
/// by default; the page's class menu redraws as another class). Skips when Chromium is absent
/// (Debian: apt-get install chromium; .ci/run installs it).
final class BrowserReportTests: XCTestCase {
    static func chromium() -> String? {
        let env = ProcessInfo.processInfo.environment["CHROMIUM"].map { [$0] } ?? []
        return (env + ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"])
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// `chromium --headless --dump-dom` of `url`, killed after `timeout` seconds.
    static func dumpDOM(_ browser: String, url: String, timeout: TimeInterval = 90) throws -> String {
        let profile = NSTemporaryDirectory() + "vae-chromium-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile,
                       "--virtual-time-budget=10000", "--dump-dom", url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let timer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        timer.cancel()
        return String(decoding: data, as: UTF8.self)
    }

    /// `trained`: the classes of `--classes` (the page's menu offers those only, the first chosen).
    func check(model: String, latent: Int, hidden: String, extra: [String] = [], trained: [Int]? = nil,
               file: StaticString = #filePath, line: UInt = #line) throws {
        guard let browser = Self.chromium() else { throw XCTSkip("Chromium is not installed (apt-get install chromium)") }
        let data = try TinyData.make()
        let run = tempRunDir("browser-\(model)-\(latent)")
        defer { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: data) }
        let r = try CLI.run(["train", "--data", data, "--model", model, "--epochs", "1", "--latent", String(latent),
                             "--hidden", hidden, "--batch", "64", "--seed", "5", "--out", run] + extra)
        XCTAssertEqual(r.status, 0, "train failed: \(r.stderr)", file: file, line: line)
        let loaded = try Checkpoint.load(run)

        // z: the origin, a fixed pattern, and a far point
        let zs: [[Float]] = [
            [Float](repeating: 0, count: latent),
            (0..<latent).map { Float($0 % 3) - 1 + 0.25 * Float($0) },
            (0..<latent).map { $0 % 2 == 0 ? 2.5 : -1.75 },
        ]
        // a conditional model decodes as the start image's own class (test image 0's label), or the
        // first class of the menu when the model never saw that one, unless told otherwise; a model
        // trained on some classes shows the test items of those classes only
        let classes = loaded.model.config.conditionSize
        let test = try Dataset.load(directory: data).test
        let own = (trained.map { test.filtered(classes: Set($0)) } ?? test).label(0)
        let first = Int32((trained ?? Array(0..<max(classes, 1))).contains(own) ? own : (trained?.first ?? 0))
        let condition = classes > 0 ? Batch.oneHot([Int32](repeating: first, count: zs.count), classes: classes,
                                                   into: Tensor(shape: [zs.count, classes])) : nil
        let expected = try loaded.feedForward("the explorer test").decode(Tensor(shape: [zs.count, latent], data: zs.flatMap { $0 }), condition: condition)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertFalse(html.contains("not available"), "the explorer fell back to a note", file: file, line: line)
        let json = "[" + zs.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        let hash = json.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let dom = try Self.dumpDOM(browser, url: URL(fileURLWithPath: run + "/report.html").absoluteString + "#selftest=" + hash)

        let open = "<pre id=\"swiftvae-selftest\" hidden=\"\">"
        guard let start = dom.range(of: open), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            return XCTFail("the page wrote no self-test result; DOM starts: \(dom.prefix(300))", file: file, line: line)
        }
        let text = String(dom[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], file: file, line: line)
        XCTAssertNil(obj["error"], "page error: \(obj["error"] ?? "")", file: file, line: line)
        XCTAssertEqual((obj["errors"] as? [Any])?.count, 0, "script errors: \(obj["errors"] ?? "")", file: file, line: line)
        XCTAssertEqual(obj["latent"] as? Int, latent, file: file, line: line)
        XCTAssertEqual(obj["classes"] as? Int, classes, file: file, line: line)
        XCTAssertEqual(obj["shape"] as? [Int], loaded.model.config.inputShape, file: file, line: line)
        XCTAssertEqual(obj["sliders"] as? Int, min(latent, 64), file: file, line: line)
        // the controls: arrow key, drag, slider and interpolation slider change z and the pictures
        let ui = try XCTUnwrap(obj["ui"] as? [String: Any], "no UI result", file: file, line: line)
        for key in ["keyMoves", "dragMoves", "sliderSets", "paintedMatches", "apiRefuses"] {
            XCTAssertEqual(ui[key] as? Bool, true, "UI check \(key) failed: \(ui)", file: file, line: line)
        }
        XCTAssertEqual(ui["interpolationLabel"] as? String, "1.00", file: file, line: line)
        if classes > 1 {
            XCTAssertEqual(ui["classMenu"] as? Bool, true, "the class menu: \(ui)", file: file, line: line)
            XCTAssertEqual(ui["menuClasses"] as? [Int], trained ?? Array(0..<classes), "the class menu's classes", file: file, line: line)
            XCTAssertEqual(ui["openedClass"] as? Int, Int(first), "the class the page opens on", file: file, line: line)
            XCTAssertEqual(ui["startSetsClass"] as? Bool, true, "a typed start image sets its class: \(ui)", file: file, line: line)
        }
        XCTAssertTrue((ui["hoverCaption"] as? String ?? "").hasPrefix("test image "), "\(ui)", file: file, line: line)
        Self.checkTicks(ui, axes: min(latent, 2), file: file, line: line)
        let results = try XCTUnwrap(obj["results"] as? [[Double]], file: file, line: line)
        XCTAssertEqual(results.count, zs.count, file: file, line: line)
        let d = loaded.model.config.inputSize
        var worst = 0.0
        for (i, row) in results.enumerated() {
            XCTAssertEqual(row.count, d, file: file, line: line)
            // |x̂_page − x̂_swift| per pixel
            for j in 0..<min(d, row.count) { worst = max(worst, abs(row[j] - Double(expected[i * d + j]))) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4, "page decode differs from Swift's by \(worst)", file: file, line: line)
        // the decoded images are not trivially constant
        XCTAssertGreaterThan(Set(results[1].map { ($0 * 1000).rounded() }).count, 10, file: file, line: line)
        print("browser check \(model) latent \(latent): max |page − swift| = \(worst), page ready in \(obj["readyMs"] ?? "?") ms")
    }

    /// The pad's tick values: on each of its axes 3 to 12 evenly spaced multiples of a step of
    /// 1, 2 or 5 × 10^k, 0 among them, all inside the pad's extent and spanning most of it.
    static func checkTicks(_ ui: [String: Any], axes: Int, file: StaticString = #filePath, line: UInt = #line) {
        guard let ticks = ui["ticks"] as? [[Double]], ticks.count == 2, let range = ui["padRange"] as? [[Double]], range.count == 2 else {
            return XCTFail("no tick values in the UI result: \(ui)", file: file, line: line)
        }
        XCTAssertEqual(ticks[1].isEmpty, axes < 2, "an axis of a latent-1 pad has no ticks: \(ticks)", file: file, line: line)
        // tick values are drawn, none over an axis title (boxes: x0, y0, x1, y1 in canvas pixels)
        let labels = ui["labelBoxes"] as? [[Double]] ?? [], titles = ui["titleBoxes"] as? [[Double]] ?? []
        XCTAssertGreaterThanOrEqual(labels.count, 2 * axes, "tick values drawn: \(labels)", file: file, line: line)
        XCTAssertEqual(titles.count, axes, "\(titles)", file: file, line: line)
        for l in labels {
            for t in titles {
                XCTAssertTrue(l[2] < t[0] || l[0] > t[2] || l[3] < t[1] || l[1] > t[3], "tick value \(l) over the axis title \(t)", file: file, line: line)
            }
        }
        for d in 0..<axes {
            let t = ticks[d], lo = range[0][d], hi = range[1][d]
            XCTAssertTrue((3...12).contains(t.count), "axis \(d): \(t)", file: file, line: line)
            guard t.count >= 2 else { continue }
            let step = t[1] - t[0]
            let exponent = (log10(step)).rounded(.down), mantissa = step / pow(10, exponent)
            XCTAssertTrue([1.0, 2.0, 5.0].contains { abs(mantissa - $0) < 1e-6 }, "axis \(d): step \(step)", file: file, line: line)
            for (a, b) in zip(t, t.dropFirst()) { XCTAssertEqual(b - a, step, accuracy: 1e-9 * max(1, abs(b)), "axis \(d): \(t)", file: file, line: line) }
            XCTAssertTrue(t.contains { abs($0) < 1e-9 }, "axis \(d): 0 is not a tick: \(t)", file: file, line: line)
            XCTAssertTrue(t.allSatisfy { $0 >= lo - 1e-9 && $0 <= hi + 1e-9 }, "axis \(d): \(t) outside [\(lo), \(hi)]", file: file, line: line)
            XCTAssertGreaterThanOrEqual(t.last! - t.first!, 0.5 * (hi - lo), "axis \(d): \(t) over [\(lo), \(hi)]", file: file, line: line)
        }
    }

    func testMLPLatent2() throws { try check(model: "mlp", latent: 2, hidden: "32") }
    func testMLPLatent5() throws { try check(model: "mlp", latent: 5, hidden: "48,24") }
    func testConv() throws { try check(model: "conv", latent: 3, hidden: "16") }
    func testConditionalMLP() throws { try check(model: "mlp", latent: 3, hidden: "32", extra: ["--conditional"]) }
    // trained on two classes: the menu offers those two, and the page starts on the first
    func testConditionalSomeClasses() throws { try check(model: "mlp", latent: 2, hidden: "32", extra: ["--conditional", "--classes", "1,2"], trained: [1, 2]) }
    func testConditionalConv() throws { try check(model: "conv", latent: 2, hidden: "16", extra: ["--conditional"]) }
    // likelihoods with two decoder outputs per pixel: the page takes the mean from them as Swift does
    func testBetaBinomial() throws { try check(model: "mlp", latent: 2, hidden: "32", extra: ["--likelihood", "beta-binomial"]) }
    func testDiscretizedLogistic() throws { try check(model: "mlp", latent: 3, hidden: "32", extra: ["--likelihood", "discretized-logistic"]) }
    func testHeteroscedastic() throws { try check(model: "mlp", latent: 2, hidden: "24", extra: ["--likelihood", "gaussian-heteroscedastic"]) }

    /// A sequence run's report: the page's GRU decoder (JavaScript) gives Swift's greedy decodings
    /// of a few z token for token, and the test items' −log p(x | z = μ) within 1e-3 nats; the pad,
    /// keys and interpolation slider rewrite the text.
    /// `markup`: every third item holds "<!--<script>", which the page carries as its test items' text
    /// (it once stopped the page's scripts: the HTML parser read it inside the JSON's <script>).
    func checkSequence(tokens: String, decoder: String, latent: Int, extra: [String] = [], markup: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        guard let browser = Self.chromium() else { throw XCTSkip("Chromium is not installed (apt-get install chromium)") }
        let path = tempRunDir("browser-seq-data") + ".txt"
        var lines: [String] = SequenceCLITests.sentences(400)
        if markup { for i in stride(from: 0, to: lines.count, by: 3) { lines[i] += " <!--<script> " } }
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("browser-seq-\(tokens)")
        defer { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: path) }
        let r = try CLI.run(["train", "--model", "gru", "--data", path, "--tokens", tokens, "--encoder", "1x16", "--decoder", decoder,
                             "--latent", String(latent), "--epochs", "3", "--batch", "32", "--lr", "3e-3", "--seed", "4", "--out", run] + extra)
        XCTAssertEqual(r.status, 0, "train failed: \(r.stderr)", file: file, line: line)
        let model = try XCTUnwrap(try Checkpoint.load(run).model as? SequenceVAE, file: file, line: line)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("sx-out"), "no sequence explorer in the report", file: file, line: line)

        // the test items the page carries, read back from its metadata
        let open = "<script type=\"application/json\" id=\"swiftvae-meta\">"
        let m0 = try XCTUnwrap(html.range(of: open), file: file, line: line)
        let m1 = try XCTUnwrap(html.range(of: "</script>", range: m0.upperBound..<html.endIndex), file: file, line: line)
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(html[m0.upperBound..<m1.lowerBound].utf8)) as? [String: Any])
        let itemTokens = try XCTUnwrap(meta["itemTokens"] as? [[Int]], file: file, line: line)
        let n = min(3, itemTokens.count)
        XCTAssertEqual(n, 3, file: file, line: line)
        var ids: [UInt16] = [], starts = [0]
        for t in itemTokens.prefix(n) { ids += t.map { UInt16($0) }; starts.append(ids.count) }
        let items = SequenceSource(ids: ids, starts: starts, lines: (0..<n).map { Int32($0 + 1) }, maxLength: model.sequence.maxLength)
        let batch = items.batch(0..<n)
        let mu = model.encode(batch).mu
        var expectedNLL = [Double](repeating: 0, count: n)
        model.negLogLikelihood(batch, z: mu, samples: 1, into: &expectedNLL)

        // z: the origin, a pattern, a far point and the first item's mean
        let zs: [[Float]] = [
            [Float](repeating: 0, count: latent),
            (0..<latent).map { Float($0 % 3) - 1 + 0.25 * Float($0) },
            (0..<latent).map { $0 % 2 == 0 ? 2.5 : -1.75 },
            Array(UnsafeBufferPointer(start: mu.pointer, count: latent)),
        ]
        let expected = model.generate(Tensor(shape: [zs.count, latent], data: zs.flatMap { $0 }), greedy: true)
        let json = "[" + zs.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        let dom = try Self.dumpDOM(browser, url: URL(fileURLWithPath: run + "/report.html").absoluteString + "#selftest=" + json.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        let pre = "<pre id=\"swiftvae-selftest\" hidden=\"\">"
        guard let a = dom.range(of: pre), let b = dom.range(of: "</pre>", range: a.upperBound..<dom.endIndex) else {
            return XCTFail("the page wrote no self-test result; DOM starts: \(dom.prefix(300))", file: file, line: line)
        }
        let text = String(dom[a.upperBound..<b.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], file: file, line: line)
        XCTAssertNil(obj["error"], "page error: \(obj["error"] ?? "")", file: file, line: line)
        XCTAssertEqual((obj["errors"] as? [Any])?.count, 0, "script errors: \(obj["errors"] ?? "")", file: file, line: line)
        XCTAssertEqual(obj["latent"] as? Int, latent, file: file, line: line)
        let pageTokens = try XCTUnwrap(obj["tokens"] as? [[Int]], file: file, line: line)
        XCTAssertEqual(pageTokens, expected.map { $0.map { Int($0) } }, "the page's greedy decodings differ from Swift's", file: file, line: line)
        let texts = try XCTUnwrap(obj["texts"] as? [String], file: file, line: line)
        XCTAssertEqual(texts, expected.map { Vocabulary.text($0, model.sequence) }, file: file, line: line)
        XCTAssertTrue(texts.contains { !$0.isEmpty }, "every decoding is empty: \(texts)", file: file, line: line)
        let nll = try XCTUnwrap(obj["nll"] as? [Double], file: file, line: line)
        XCTAssertEqual(nll.count, n, file: file, line: line)
        for (page, swift) in zip(nll, expectedNLL) {
            XCTAssertEqual(page, swift, accuracy: 1e-3, "−log p(x | μ): page \(page), Swift \(swift)", file: file, line: line)
        }
        let ui = try XCTUnwrap(obj["ui"] as? [String: Any], "no UI result", file: file, line: line)
        for key in ["keyMoves", "dragMoves", "shownMatches", "interpolationEnd", "apiRefuses"] {
            XCTAssertEqual(ui[key] as? Bool, true, "UI check \(key) failed: \(ui)", file: file, line: line)
        }
        XCTAssertEqual(ui["interpolationLabel"] as? String, "1.00", file: file, line: line)
        // the page numbers its items by their lines in the file, as vae encode does (and vae interpolate --from takes)
        let pageIDs = try XCTUnwrap(meta["ids"] as? [Int], file: file, line: line)
        let enc = try CLI.run(["encode", run, "--split", "test"])
        XCTAssertEqual(enc.status, 0, enc.stderr, file: file, line: line)
        let encodedIDs = try String(contentsOfFile: run + "/latents.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { Int($0.split(separator: ",", maxSplits: 2)[1]) ?? -1 }
        XCTAssertEqual(Array(encodedIDs.prefix(pageIDs.count)), pageIDs, file: file, line: line)
        XCTAssertNotEqual(pageIDs.prefix(2), [0, 1], "the test items' lines look like places", file: file, line: line)
        XCTAssertEqual(ui["hoverCaption"] as? String, "test item \(pageIDs[0])", file: file, line: line)
        XCTAssertEqual(ui["idInput"] as? Bool, true, "the interpolation's inputs do not take ids: \(ui)", file: file, line: line)
        Self.checkTicks(ui, axes: min(latent, 2), file: file, line: line)
        print("browser check gru \(tokens) \(decoder): decodings equal, max |nll page − swift| = \(zip(nll, expectedNLL).map { abs($0 - $1) }.max() ?? 0), \(obj["decodeMs"] ?? "?") ms per decoding")
    }

    func testSequenceCharactersTwoLayers() throws { try checkSequence(tokens: "characters", decoder: "2x24", latent: 5, markup: true) }
    func testSequenceWordsLatent2() throws { try checkSequence(tokens: "words", decoder: "1x32", latent: 2) }
    // a learned token embedding: the page looks tokens up in the table and runs W_ih on them, as the model does
    func testSequenceWordsEmbedding() throws { try checkSequence(tokens: "words", decoder: "2x24", latent: 3, extra: ["--embedding", "6"]) }
}
