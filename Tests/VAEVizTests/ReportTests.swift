import Foundation
import XCTest
@testable import VAEViz

final class ReportTests: XCTestCase {
    func testReportContainsSectionsAndEscapes() throws {
        var page = ReportPage(title: "VAE run <script>alert(1)</script>", subtitle: "mnist · 2 latent dims")
        page.addKeyValues("Configuration", [("dataset", "mnist"), ("latent", "2"), ("note", "a & b <i>")])
        page.addTable("Metrics", columns: ["epoch", "train loss", "val loss"],
                      rows: [["1", "180.5", "170.1"], ["2", "150.2", "149.9"]])
        page.addTable("Numbers", columns: ["a", "b"], rows: [[1.5, .nan], [2, 3]], decimals: 2)
        let grid = ImageGrid.png(images: [[0, 0.5, 1, 0.25]], channels: 1, height: 2, width: 2, columns: 1)
        page.addImage("Samples", png: grid, caption: "Decoded samples <b>", pixelated: true)
        var chart = LineChart(title: "Loss", xLabel: "epoch", yLabel: "loss")
        chart.addSeries("train", values: [3, 2, 1.5, 1.2])
        page.addSVG("Loss curve", svg: chart.svg(width: 600, height: 360), caption: "per epoch")
        page.addParagraph("Notes", "First paragraph.\n\nSecond <em>paragraph</em>.")
        let html = page.html()

        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("a &amp; b &lt;i&gt;"))
        XCTAssertTrue(html.contains("Decoded samples &lt;b&gt;"))
        for s in ["<h2>Configuration</h2>", "<h2>Metrics</h2>", "<h2>Samples</h2>", "<h2>Loss curve</h2>",
                  "<th>train loss</th>", "<td>149.9</td>", "<td>1.50</td>", "<td>nan</td>",
                  "class=\"pixelated\"", "<svg", "image-rendering: pixelated", "Second &lt;em&gt;paragraph"] {
            XCTAssertTrue(html.contains(s), "missing \(s)")
        }
        // The PNG is embedded as a base64 data URI that decodes back to the same bytes.
        let prefix = "data:image/png;base64,"
        let start = try XCTUnwrap(html.range(of: prefix)).upperBound
        let end = try XCTUnwrap(html[start...].firstIndex(of: "\""))
        XCTAssertEqual(Data(base64Encoded: String(html[start..<end])).map { [UInt8]($0) }, grid)
        XCTAssertEqual(ReportPage.escapeHTML("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;")
    }

    /// A realistic sample page, written to a file and checked: its sections in order, the
    /// metrics, and the embedded PNGs decode at the chart's and the grid's sizes. (Also written
    /// to $VAEVIZ_DUMP for a human to look at, when that is set.)
    func testSampleReport() throws {
        var page = ReportPage(title: "VAE on MNIST — run 2026-11-21", subtitle: "vae train --latent 2 --epochs 40")
        page.addKeyValues("Run configuration", [
            ("dataset", "mnist (60000 train / 10000 test)"), ("model", "MLP 784-512-256-2"),
            ("latent dims", "2"), ("optimizer", "Adam lr=1e-3, batch 128"), ("seed", "1234"),
            ("output", "/very/long/path/that/should/wrap/nicely/runs/2026-11-21T11-00-00/checkpoint.safetensors"),
        ])
        var chart = LineChart(title: "Negative ELBO", xLabel: "epoch", yLabel: "nats")
        chart.addSeries("train", values: (1...40).map { 140 + 60 * exp(-Double($0) / 5) })
        chart.addSeries("validation", values: (1...40).map { 143 + 58 * exp(-Double($0) / 6) })
        var rows: [[Double]] = []
        for e in 1...5 {
            let d = Double(e)
            let row: [Double] = [d, 200 - d * 10, 201 - d * 9, 4 + d / 3, 12.3]
            rows.append(row)
        }
        page.addTable("Metrics", columns: ["epoch", "train ELBO", "val ELBO", "KL", "time (s)"], rows: rows, decimals: 2)
        page.addSVG("Loss curves (SVG)", svg: chart.svg(width: 800, height: 450), caption: "Lower is better.")
        page.addImage("Loss curves (PNG)", png: chart.png(width: 800, height: 450), caption: "Same chart, raster.")
        var flat: [Float] = []
        for n in 0..<32 {
            for y in 0..<28 {
                for x in 0..<28 {
                    let dx = Double(x) - 13.5, dy = Double(y) - 13.5
                    let d = (dx * dx / Double(1 + n % 3) + dy * dy).squareRoot() - 8
                    flat.append(Float(exp(-d * d / 3)))
                }
            }
        }
        page.addImage("Samples", png: ImageGrid.png(flat: flat, count: 32, channels: 1, height: 28, width: 28,
                                                    columns: 8, scale: 2),
                      caption: "Decoder means for z ~ N(0, I).", pixelated: true)
        let html = page.html()
        dump("report.html", html)

        let dir = NSTemporaryDirectory() + "vaeviz-report-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try html.write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
        let read = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        XCTAssertEqual(read, html)
        XCTAssertTrue(read.hasPrefix("<!DOCTYPE html>"))
        var at = read.startIndex
        for heading in ["Run configuration", "Metrics", "Loss curves (SVG)", "Loss curves (PNG)", "Samples"] {
            let r = try XCTUnwrap(read.range(of: "<h2>\(heading)</h2>", range: at..<read.endIndex), "missing or out of order: \(heading)")
            at = r.upperBound
        }
        for s in ["VAE on MNIST — run 2026-11-21", "MLP 784-512-256-2", "runs/2026-11-21T11-00-00/checkpoint.safetensors",
                  "<th>train ELBO</th>", "<td>190.00</td>", "<td>150.00</td>", "<td>5.67</td>", "Lower is better.", "<svg"] {
            XCTAssertTrue(read.contains(s), "missing \(s)")
        }
        XCTAssertEqual(read.components(separatedBy: "<td>12.30</td>").count - 1, 5, "one metrics row per epoch")
        // The embedded PNGs: the raster chart, then the 8×4 grid of 2×-scaled 28×28 tiles.
        var sizes: [[Int]] = []
        var rest = read[...]
        while let r = rest.range(of: "data:image/png;base64,") {
            let end = try XCTUnwrap(rest[r.upperBound...].firstIndex(of: "\""))
            let bytes = try XCTUnwrap(Data(base64Encoded: String(rest[r.upperBound..<end])))
            let img = try PNG.decode([UInt8](bytes))
            sizes.append([img.width, img.height])
            rest = rest[end...]
        }
        let grid = ImageGrid.size(count: 32, height: 28, width: 28, columns: 8, scale: 2)
        XCTAssertEqual(sizes, [[800, 450], [grid.width, grid.height]])
        XCTAssertEqual([grid.width, grid.height], [8 * 56 + 9, 4 * 56 + 5])
    }
}
