import Foundation
import XCTest
import VAEKit

/// The report's sections that depend on the run: the IWAE summary row, the explorer, and the
/// anomaly section of a run trained with --classes.
final class ReportSectionsCLITests: XCTestCase {
    func testClassesRunReportHasAnomalySectionExplorerAndIWAE() throws {
        let data = try TinyData.make()
        let run = tempRunDir("report-classes")
        defer { try? FileManager.default.removeItem(atPath: run); try? FileManager.default.removeItem(atPath: data) }
        let r = try CLI.run(["train", "--data", data, "--classes", "0,1,2", "--epochs", "1", "--latent", "3", "--hidden", "32",
                             "--batch", "64", "--seed", "2", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        for s in ["IWAE −log p(x)", "k = 100", "Explore the latent space", "window.swiftvae", "id=\"swiftvae-weights\"",
                  "<h2>Anomaly scores</h2>", "ROC-AUC 0.", "ROC curve", "<h2>Top anomalies</h2>", "<th>score (nats)</th>"] {
            XCTAssertTrue(html.contains(s), "report lacks \(s)")
        }
        XCTAssertFalse(html.contains("not available"), "the explorer fell back to a note")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/anomalies.png"))
        // the AUC shown is a probability
        let auc = try XCTUnwrap(html.range(of: "ROC-AUC ").map { Double(html[$0.upperBound...].prefix(6)) } ?? nil)
        XCTAssertTrue((0...1).contains(auc), "AUC \(auc)")
    }
}
