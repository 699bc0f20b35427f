import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import VAEViz

final class PlotTests: XCTestCase {
    func lossChart() -> LineChart {
        var chart = LineChart(title: "Training loss", xLabel: "epoch", yLabel: "negative ELBO (nats)")
        let train = (1...40).map { e -> Double in 95 + 120 * exp(-Double(e) / 6) + Double(e % 3) }
        let val = (1...40).map { e -> Double in 100 + 115 * exp(-Double(e) / 7) }
        chart.addSeries("train", values: train)
        chart.addSeries("validation", values: val)
        return chart
    }

    func latentScatter(n: Int = 1500) -> ScatterPlot {
        var pts: [(x: Double, y: Double, cls: Int)] = []
        let noise = pseudoRandomBytes(2 * n, seed: 3)
        for i in 0..<n {
            let c = i % 10
            let angle = Double(c) / 10 * 2 * Double.pi
            let r = 2.0 + Double(noise[2 * i]) / 128
            pts.append((r * cos(angle) + Double(noise[2 * i + 1]) / 200 - 0.6, r * sin(angle) * 0.8, c))
        }
        return ScatterPlot(title: "Latent space (test set means)", xLabel: "z1", yLabel: "z2", points: pts,
                           classNames: (0...9).map { "digit \($0)" })
    }

    func parseXML(_ s: String, file: StaticString = #filePath, line: UInt = #line) {
        let parser = XMLParser(data: Data(s.utf8))
        let ok = parser.parse()
        XCTAssertTrue(ok, "SVG is not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
    }

    func assertNotBlank(_ png: [UInt8], width: Int, height: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let d = try PNG.decode(png)
        XCTAssertEqual(d.width, width, file: file, line: line)
        XCTAssertEqual(d.height, height, file: file, line: line)
        let nonWhite = stride(from: 0, to: d.pixels.count, by: d.channels).filter { d.pixels[$0] < 250 }.count
        XCTAssertGreaterThan(nonWhite, width * height / 200, "image looks blank", file: file, line: line)
    }

    func testLineChartSVG() {
        let svg = lossChart().svg(width: 800, height: 500)
        dump("line.svg", svg)
        parseXML(svg)
        XCTAssertTrue(svg.hasPrefix("<svg"))
        for s in ["train", "validation", "Training loss", "epoch", "negative ELBO (nats)", ">20<", ">40<"] {
            XCTAssertTrue(svg.contains(s), "missing \(s)")
        }
        XCTAssertTrue(svg.contains("<polyline"))
        // a screen reader names the chart by its title (it read out the loose tick numbers)
        XCTAssertTrue(svg.contains(" role=\"img\" aria-label=\"Training loss\">\n<title>Training loss</title>"), String(svg.prefix(300)))
    }

    /// A ROC curve's plot is square (it was about 260 × 340, which bends the curve against the diagonal).
    func testSquarePlotIsSquare() {
        var chart = LineChart(title: "ROC curve", xLabel: "false-positive rate", yLabel: "true-positive rate")
        chart.addSeries("model", points: [(0, 0), (0.2, 0.7), (1, 1)])
        chart.addSeries("chance", points: [(0, 0), (1, 1)])
        chart.squarePlot = true
        for (w, h) in [(520, 480), (800, 420), (300, 600)] {
            let f = chart.frame(width: w, height: h, x: .linear([0, 1]), y: .padded([0, 1], fraction: 0.02),
                                legend: [.init(name: "model", color: Palette.color(0), kind: .line), .init(name: "chance", color: Palette.color(1), kind: .line)])
            XCTAssertEqual(f.right - f.left, f.bottom - f.top, accuracy: 2, "\(w)×\(h): plot \(f.right - f.left) × \(f.bottom - f.top)")
        }
    }

    func testLineChartPNG() throws {
        let png = lossChart().png(width: 800, height: 500)
        dump("line.png", png)
        try assertNotBlank(png, width: 800, height: 500)
        var log = lossChart()
        log.logY = true
        log.title = "Training loss (log scale)"
        let logPNG = log.png(width: 640, height: 400)
        dump("line-log.png", logPNG)
        try assertNotBlank(logPNG, width: 640, height: 400)
    }

    func testScatterPlot() throws {
        let plot = latentScatter()
        let svg = plot.svg(width: 700, height: 600)
        dump("scatter.svg", svg)
        parseXML(svg)
        for i in 0...9 { XCTAssertTrue(svg.contains("digit \(i)")) }
        XCTAssertTrue(svg.contains("role=\"img\" aria-label=\"\(xmlEscape(plot.title))\""), String(svg.prefix(300)))
        let png = plot.png(width: 700, height: 600)
        dump("scatter.png", png)
        try assertNotBlank(png, width: 700, height: 600)
        // Colours come from the tab10 palette.
        XCTAssertTrue(svg.contains(Palette.tab10[3].hexString))
        // a class name too long for the legend is cut, and the plot keeps its width (it ran past
        // the image's edge)
        let long = ScatterPlot(title: "t", xLabel: "z1", yLabel: "z2", points: [(0, 0, 0), (1, 1, 1)],
                               classNames: ["an-extremely-long-class-name-to-test-legend", "b"])
        let frame = PlotFrame(width: 700, height: 600, title: "t", xLabel: "z1", yLabel: "z2", x: AxisScale.linear([0, 1]),
                              y: AxisScale.linear([0, 1]), legend: [.init(name: "an-extremely-long-class-name-to-test-legend", color: .init(hex: 0), kind: .marker)])
        let cut = frame.legend[0].name
        XCTAssertTrue(cut.hasPrefix("an-extreme") && cut.contains("...") && cut.hasSuffix("legend") && cut.count < 30, cut)
        // two names that differ at their ends stay apart (cut at the end, both read the same)
        let pair = PlotFrame(width: 700, height: 600, title: "t", xLabel: "z1", yLabel: "z2", x: AxisScale.linear([0, 1]), y: AxisScale.linear([0, 1]),
                             legend: ["beach", "mountains"].map { .init(name: "photos-from-the-summer-holiday-2024-" + $0, color: .init(hex: 0), kind: .marker) })
        XCTAssertNotEqual(pair.legend[0].name, pair.legend[1].name, "\(pair.legend.map(\.name))")
        // names alike at both ends keep what differs (three read "Iris gathe...ey of 2021")
        let sites = ["northern", "southern", "western"].map { "Iris gathered at the \($0) meadow site, summer survey of 2021" }
        let cutSites = PlotFrame.cutNames(sites, fits: 28)
        XCTAssertEqual(Set(cutSites).count, 3, "\(cutSites)")
        XCTAssertTrue(cutSites.allSatisfy { $0.count <= 28 } && cutSites[0].contains("north"), "\(cutSites)")
        XCTAssertEqual(PlotFrame.cutNames(["a", "b"], fits: 28), ["a", "b"])
        XCTAssertGreaterThanOrEqual(frame.right - frame.left, 700 * 0.3, "the plot keeps its room")
        XCTAssertLessThanOrEqual(frame.right + 8 * 2 + 33 * 2 + CanvasMetrics.width(cut, 2), 700, "the legend stays on the image")
        XCTAssertTrue(long.svg(width: 700, height: 600).contains(cut))
    }

    /// A latent-1 scatter names its rows by class, the first at the top (as the legend lists them):
    /// its ticks were 0, 2, … 10, naming no class, and the rows ran bottom to top.
    func testScatterRowsNamedTopToBottom() {
        var plot = ScatterPlot(title: "t", xLabel: "z1", yLabel: "class", points: [(0, 0, 0), (1, 2, 2), (0.5, 1, 1)],
                               classNames: ["T-shirt", "Trouser", "Pullover"])
        plot.yRows = ["T-shirt", "Trouser", "a-class-name-far-too-long-for-a-tick"]
        let c = plot.canvas(width: 700, height: 600)
        var texts: [(String, Double)] = [], dots: [Double] = []
        for op in c.ops {
            if case .text(let str, _, let y, _, .end, _, _, _) = op { texts.append((str, y)) }   // (the y axis's tick labels)
            if case .circle(_, let cy, _, _, _) = op { dots.append(cy) }
        }
        dots = Array(dots.prefix(3))   // (the points; the legend's markers follow)
        let y = { (name: String) in texts.first { $0.0 == name }?.1 }
        XCTAssertNotNil(y("T-shirt"), "\(texts)")
        XCTAssertLessThan(y("T-shirt") ?? 0, y("Trouser") ?? 0, "row 0 above row 1 (y grows downwards)")
        XCTAssertTrue(texts.contains { $0.0.count <= 16 && $0.0.hasPrefix("a-class") && $0.0.contains("...") }, "a long name cut: \(texts)")
        XCTAssertEqual(texts.count, 3, "every row named: \(texts)")
        XCTAssertLessThan(dots[0], dots[2], "class 0's point above class 2's")
        // items without a label (-1) are named so, last in the legend (they were "class -1", first)
        let unlabelled = ScatterPlot(points: [(0, 0, 0), (1, 1, -1), (0, 1, 1)], classNames: ["a", "b"]).canvas(width: 700, height: 600)
        let legend = unlabelled.ops.compactMap { op -> String? in if case .text(let t, _, _, _, .start, _, _, _) = op { return t } else { return nil } }
        XCTAssertEqual(legend.suffix(3), ["a", "b", "(no label)"], "\(legend)")
    }

    /// Epochs are whole numbers: three epochs' axis reads 1, 2, 3 (it read 1.2, 1.4, …).
    func testIntegerXAxisHasWholeTicks() {
        XCTAssertEqual(AxisScale.linear([1, 2, 3], integerStep: true).labels, ["1", "2", "3"])
        XCTAssertTrue(AxisScale.linear([1, 2, 3]).labels.contains("1.5") || AxisScale.linear([1, 2, 3]).labels.contains("1.2"))
        XCTAssertTrue(AxisScale.linear([1, 2000], integerStep: true).ticks.allSatisfy { $0 == $0.rounded() })
        XCTAssertEqual(AxisScale.linear([1, 1], integerStep: true).labels, ["1"])
    }

    func testEdgeCases() throws {
        let cases: [(String, LineChart)] = [
            ("empty", LineChart(title: "Nothing yet")),
            ("empty-series", LineChart(title: "Empty", series: [("a", []), ("b", [])])),
            ("one-point", LineChart(title: "One", series: [("loss", [(x: 1, y: 3.5)])])),
            ("flat", LineChart(title: "Flat", series: [("c", (0..<5).map { (x: Double($0), y: 2.0) })])),
            ("nonfinite", LineChart(title: "Non-finite values", xLabel: "x", yLabel: "y", series: [
                ("s", [(x: 0, y: 1), (x: 1, y: .nan), (x: 2, y: 3), (x: 3, y: .infinity), (x: .nan, y: 1),
                       (x: 5, y: 2), (x: 6, y: 2.5)]),
            ])),
            ("tiny", LineChart(series: [("s", [(x: 0, y: 1e-9), (x: 1, y: 3e-9)])])),
            ("huge", LineChart(series: [("s", [(x: 0, y: -1e300), (x: 1, y: 1e300)])])),
            ("log-nonpositive", LineChart(series: [("s", [(x: 0, y: 0), (x: 1, y: -1)])], logY: true)),
        ]
        for (name, chart) in cases {
            let svg = chart.svg(width: 400, height: 300)
            parseXML(svg)
            XCTAssertFalse(svg.contains("nan"), name)
            XCTAssertFalse(svg.contains("inf"), name)
            let looked = name == "nonfinite" || name == "one-point"
            let png = chart.png(width: looked ? 400 : 200, height: looked ? 300 : 150)
            let d = try PNG.decode(png)
            XCTAssertEqual(d.width, looked ? 400 : 200, name)
            if name == "nonfinite" || name == "one-point" { dump("edge-\(name).png", png) }
        }
        // Tiny and degenerate canvas sizes do not trap.
        for (w, h) in [(1, 1), (10, 10), (0, 0), (40, 900)] {
            _ = lossChart().png(width: w, height: h)
            _ = latentScatter(n: 20).png(width: w, height: h)
        }
        let scatterCases = [
            ScatterPlot(),
            ScatterPlot(points: [(x: 1, y: 1, cls: 0)]),
            ScatterPlot(points: [(x: .nan, y: 1, cls: 0), (x: 2, y: 2, cls: -3), (x: 2, y: 2, cls: 42)]),
        ]
        for p in scatterCases {
            parseXML(p.svg(width: 300, height: 300))
            XCTAssertEqual(try PNG.decode(p.png(width: 200, height: 200)).height, 200)
        }
    }

    func testCrowdedSmallPlot() throws {
        var pts: [(x: Double, y: Double, cls: Int)] = []
        for i in 0..<400 { pts.append((Double(i % 37) * 1e6, Double(i % 23) * 1e-5, i % 20)) }
        let plot = ScatterPlot(title: "A rather long title for such a small plot, really", xLabel: "x (big)",
                               yLabel: "y (tiny)", points: pts)
        let png = plot.png(width: 400, height: 300)
        dump("edge-crowded.png", png)
        try assertNotBlank(png, width: 400, height: 300)
        parseXML(plot.svg(width: 400, height: 300))
    }

    func testTextIsEscapedInSVG() {
        let chart = LineChart(title: "a < b & \"c\"", xLabel: "<x>", series: [("<script>", [(x: 0, y: 0), (x: 1, y: 1)])])
        let svg = chart.svg(width: 400, height: 300)
        parseXML(svg)
        XCTAssertFalse(svg.contains("<script>"))
        XCTAssertTrue(svg.contains("&lt;script&gt;"))
    }

    func testNiceTicks() {
        let a = AxisScale.linear([0.13, 9.7])
        XCTAssertEqual(a.lo, 0)
        XCTAssertEqual(a.hi, 10)
        XCTAssertEqual(a.labels, ["0", "2", "4", "6", "8", "10"])
        let b = AxisScale.linear([0.1, 0.35])
        XCTAssertEqual(b.labels, ["0.1", "0.2", "0.3", "0.4"])
        let c = AxisScale.linear([5, 5])
        XCTAssertLessThan(c.lo, 5)
        XCTAssertGreaterThan(c.hi, 5)
        let d = AxisScale.linear([])
        XCTAssertEqual(d.lo, 0)
        XCTAssertEqual(d.hi, 1)
        XCTAssertEqual(AxisScale.linear([0, 2e7]).labels.last, "2.0e7")
        XCTAssertFalse(AxisScale.linear([-1, 1]).labels.contains("-0"))
        XCTAssertEqual(AxisScale.logarithmic([0.5, 2000]).labels, ["0.1", "1", "10", "100", "1000", "1e4"])
    }
}
