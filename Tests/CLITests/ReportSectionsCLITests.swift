import Foundation
import XCTest
import VAEKit
import VAEViz

/// The report's sections that depend on the run: the IWAE summary row, the explorer, and the
/// anomaly section of a run trained with --classes.
final class ReportSectionsCLITests: XCTestCase {
    /// `vae report RUN` writes the page a run trained with --no-report lacks (and rewrites an old
    /// one), from the checkpoint, metrics.jsonl and the run's data; an exported run too.
    func testReportCommandWritesTheRunsPage() throws {
        let data = try TinyData.make()
        let run = tempRunDir("report-again"), exported = tempRunDir("report-exported")
        defer { for p in [run, exported, data] { try? FileManager.default.removeItem(atPath: p) } }
        let t = try CLI.run(["train", "--data", data, "--epochs", "2", "--latent", "2", "--hidden", "24",
                             "--likelihood", "beta-binomial", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertFalse(AtomicFile.exists(run + "/report.html"))
        XCTAssertEqual(try CLI.run(["export", run, "--out", exported]).status, 0)
        for folder in [run, exported] {
            let r = try CLI.run(["report", folder])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, "report: \(folder)/report.html\n")
            let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
            XCTAssertTrue(html.contains("swiftvae-weights") || html.contains("window.swiftvae"), "no explorer in \(folder)")
            XCTAssertFalse(html.contains("not available"), folder)
            XCTAssertTrue(html.contains("2 of 2"), "the epochs row")
        }
        try AtomicFile.write("", to: run + "/metrics.jsonl")
        let empty = try CLI.run(["report", run])
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("holds no finished epoch"), empty.stderr)
    }

    /// Latent 1: the report's manifold is a row over z₁ (it had none), and the scatter puts z₁ across
    /// with a row per label (it drew a z₂ axis with every point at 0).
    func testLatentOneRunHasItsManifoldRowAndNoSecondAxis() throws {
        let data = try TinyData.make()
        let run = tempRunDir("report-latent1")
        defer { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: data) }
        let r = try CLI.run(["train", "--data", data, "--epochs", "1", "--latent", "1", "--hidden", "16", "--batch", "64", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<h2>Latent manifold</h2>") && html.contains("Decoded row of 15 over z₁"), "the manifold row")
        let m = try PNG.decode(try AtomicFile.readAll(path: run + "/manifold.png", maxBytes: 1 << 24))
        XCTAssertGreaterThan(m.width, 10 * m.height, "one row of 15 images")
        let svg = try String(contentsOfFile: run + "/latent.svg", encoding: .utf8)
        XCTAssertFalse(svg.contains("z₂"), "a second axis")
        XCTAssertTrue(svg.contains("class (a row each)"), "the rows' axis")
    }

    func testClassesRunReportHasAnomalySectionExplorerAndIWAE() throws {
        let data = try TinyData.make()
        let run = tempRunDir("report-classes")
        defer { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: data) }
        let r = try CLI.run(["train", "--data", data, "--classes", "0,1,2", "--epochs", "1", "--latent", "3", "--hidden", "32",
                             "--batch", "64", "--seed", "2", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        for s in ["IWAE −log p(x)", "k = 100", "± its standard error", "Explore the latent space", "window.swiftvae", "id=\"swiftvae-weights\"",
                  "<h2>Anomaly scores</h2>", "ROC-AUC 0.", "ROC curve", "<h2>Top anomalies</h2>", "<th>score (nats)</th>"] {
            XCTAssertTrue(html.contains(s), "report lacks \(s)")
        }
        XCTAssertFalse(html.contains("not available"), "the explorer fell back to a note")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/anomalies.png"))
        // the AUC shown is a probability
        let auc = try XCTUnwrap(html.range(of: "ROC-AUC ").map { Double(html[$0.upperBound...].prefix(6)) } ?? nil)
        XCTAssertTrue((0...1).contains(auc), "AUC \(auc)")
        // the command the page names gives the same numbers (the page drew with another seed)
        let said = try XCTUnwrap(html.range(of: "The same scores, per image: vae anomaly RUN ").map { String(html[$0.upperBound...].prefix { $0 != "." }) })
        let a = try CLI.run(["anomaly", run] + said.split(separator: " ").map(String.init))
        XCTAssertEqual(a.status, 0, a.stderr)
        let line = try XCTUnwrap(a.stdout.split(separator: "\n").first { $0.hasPrefix("ROC-AUC") }, a.stdout)
        XCTAssertEqual(line.split(separator: ":")[1].split(separator: " ").first.map(String.init), String(format: "%.4f", auc), "\(said): \(line)")
        // so does the IWAE row's (it drew from the training seed + 7: another number)
        let row = try XCTUnwrap(html.range(of: "IWAE −log p(x)</th><td>").map { String(html[$0.upperBound...].prefix { $0 != "<" }) })
        let args = try XCTUnwrap(row.range(of: "vae evaluate RUN ").map { row[$0.upperBound...].prefix { $0 != ")" }.replacingOccurrences(of: " gives the same", with: "") }, row)
        XCTAssertTrue(args.hasPrefix("--iwae 100 --limit "), args)
        let e = try CLI.run(["evaluate", run] + args.split(separator: " ").map(String.init))
        XCTAssertEqual(e.status, 0, e.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(String(format: "%.2f", try XCTUnwrap(json["iwae_nll"] as? Double)), String(row.prefix { $0 != " " }), "\(row) / \(args)")
    }
}
