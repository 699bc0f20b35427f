import Foundation
import XCTest
@testable import VAEViz
import CZlib

final class ExplorerTests: XCTestCase {
    /// latent 2 → dense 2→3 (ReLU) → dense 3→4 → reshape [1, 2, 2]
    func tinyData(count: Int = 3) -> ExplorerData {
        let layers: [DecoderDescription.Layer] = [
            .dense(inputs: 2, outputs: 3, relu: true, weightOffset: 0, biasOffset: 6),
            .dense(inputs: 3, outputs: 4, relu: false, weightOffset: 9, biasOffset: 21),
            .reshape([1, 2, 2]),
        ]
        let desc = DecoderDescription(latent: 2, shape: [1, 2, 2], layers: layers, output: .sigmoid, weightCount: 25)
        return ExplorerData(decoder: desc, weights: (0..<25).map { Float($0) / 10 }, images: [UInt8](repeating: 7, count: count * 4),
                            count: count, labels: [0, 1, 0].prefix(count).map { $0 }, classNames: ["a</script>", "b"],
                            testIndices: Array(0..<count), mu: [Float](repeating: 0.5, count: count * 2),
                            padOrigin: [0, 0], padAxes: [[1, 0], [0, 1]], explained: 1, interpolation: (0, 1), start: 0)
    }

    /// The page's script knows every output kind, with the same number of outputs per value.
    func testScriptKnowsEveryOutput() {
        for o in DecoderDescription.Output.allCases {
            XCTAssertTrue(ExplorerScript.js.contains("\(o.rawValue): \(o.outputsPerValue)"), o.rawValue)
        }
    }

    func testDescriptionChecksShapesAndRanges() {
        XCTAssertNil(tinyData().problem())
        var d = tinyData()
        d.decoder.layers[1].inputs = 4
        XCTAssertNotNil(d.decoder.problem())
        d = tinyData()
        d.decoder.layers[1].biasOffset = 22   // 22 + 4 > 25
        XCTAssertNotNil(d.decoder.problem())
        d = tinyData()
        d.decoder.layers[2] = .reshape([1, 3, 1])
        XCTAssertNotNil(d.decoder.problem())
        d = tinyData()
        d.weights.removeLast()
        XCTAssertNotNil(d.problem())
        d = tinyData()
        d.mu.removeLast()
        XCTAssertNotNil(d.problem())
        // OH = (H − 1)·s − 2p + k + op: 7 → 14 for k 3, s 2, p 1, op 1
        let ct = DecoderDescription(latent: 1, shape: [2, 14, 14], layers: [
            .dense(inputs: 1, outputs: 49, relu: true, weightOffset: 0, biasOffset: 49), .reshape([1, 7, 7]),
            .convTranspose2D(inputs: 1, outputs: 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, relu: false,
                             weightOffset: 98, biasOffset: 116), .flatten, .activation("tanh"),
        ], output: .identity, weightCount: 118)
        XCTAssertNil(ct.problem())
        // a conditional decoder: [z | one-hot of 3 classes] into the first dense layer
        var cond = DecoderDescription(latent: 2, shape: [1, 2, 2], layers: [
            .concatCondition(width: 3), .dense(inputs: 5, outputs: 4, relu: false, weightOffset: 0, biasOffset: 20),
        ], output: .sigmoid, weightCount: 24)
        XCTAssertNil(cond.problem())
        cond.layers[0] = .concatCondition(width: 2)   // 4 inputs, the dense layer takes 5
        XCTAssertNotNil(cond.problem())
        cond.layers = [.reshape([2, 1, 1]), .concatCondition(width: 3)]   // only after a flat input
        XCTAssertNotNil(cond.problem())
    }

    /// The inputs take the images' ids (a conditional --classes run's test images are some of the
    /// set's: the page's places 0 and 1 were ids 0 and 10, and `vae interpolate --to 1` refused).
    func testInputsTakeTheImagesIds() throws {
        var data = tinyData()
        data.testIndices = [4, 10, 17]
        data.interpolation = (0, 2)
        var page = ReportPage(title: "t")
        try page.addExplorer(data)
        let html = page.html()
        XCTAssertTrue(html.contains("id=\"vx-start\" min=\"4\" max=\"17\" value=\"4\""), "start input")
        XCTAssertTrue(html.contains("id=\"vx-ia\" min=\"4\" max=\"17\" value=\"4\""), "from input")
        XCTAssertTrue(html.contains("id=\"vx-ib\" min=\"4\" max=\"17\" value=\"17\""), "to input")
    }

    func testPageEmbedsAPIWeightsAndEscapesText() throws {
        var page = ReportPage(title: "t")
        let data = tinyData()
        try page.addExplorer(data)
        let html = page.html()
        for s in ["window.swiftvae = api", "id=\"vx-pad\"", "tabindex=\"0\"", "aria-label=", "id=\"vx-t\"", "#selftest=", "outputMean"] {
            XCTAssertTrue(html.contains(s), "missing \(s)")
        }
        XCTAssertFalse(html.contains("a</script>"), "class names must not close the script element")
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page must not load anything")
        // the weights decode back from base64 to the same float32 values
        let open = "id=\"swiftvae-weights\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html[start...].range(of: "</script>")).lowerBound
        let bytes = try XCTUnwrap(Data(base64Encoded: String(html[start..<end])))
        let floats = bytes.withUnsafeBytes { raw in (0..<25).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        XCTAssertEqual(floats, data.weights)
        // the metadata is valid JSON with the description
        let mopen = "id=\"swiftvae-meta\">"
        let ms = try XCTUnwrap(html.range(of: mopen)).upperBound
        let me = try XCTUnwrap(html[ms...].range(of: "</script>")).lowerBound
        let meta = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(html[ms..<me].replacingOccurrences(of: "<\\/", with: "</").utf8)) as? [String: Any])
        let dec = try XCTUnwrap(meta["decoder"] as? [String: Any])
        XCTAssertEqual(dec["latent"] as? Int, 2)
        XCTAssertEqual(dec["output"] as? String, "sigmoid")
        XCTAssertEqual((dec["layers"] as? [Any])?.count, 3)
        XCTAssertEqual(meta["classNames"] as? [String], ["a</script>", "b"])
    }

    func testInconsistentDataIsAnErrorNotAPage() {
        var page = ReportPage(title: "t")
        var d = tinyData()
        d.start = 5
        XCTAssertThrowsError(try page.addExplorer(d))
        XCTAssertFalse(page.html().contains("swiftvae-meta"))
    }

    /// A decoder past the weight limit is no page (a 256×256 RGB mlp's page carried 315 MB of weights).
    func testDecoderPastTheWeightLimitIsNoPage() {
        let n = ExplorerData.weightLimit + 4   // dense 2 → … : one layer of (limit + 4 − out) / 3 outputs
        let out = (n - 2) / 3, inputs = 2
        let layers: [DecoderDescription.Layer] = [.dense(inputs: inputs, outputs: out, relu: false, weightOffset: 0, biasOffset: inputs * out), .reshape([1, 1, out])]
        let desc = DecoderDescription(latent: 2, shape: [1, 1, out], layers: layers, output: .sigmoid, weightCount: inputs * out + out)
        let d = ExplorerData(decoder: desc, weights: [Float](repeating: 0, count: inputs * out + out), images: [], count: 0, labels: [], classNames: [],
                             testIndices: [], mu: [], padOrigin: [0, 0], padAxes: [[1, 0], [0, 1]], explained: 1, interpolation: (0, 0), start: 0)
        XCTAssertGreaterThan(inputs * out + out, ExplorerData.weightLimit)
        XCTAssertEqual(d.problem(), "\(inputs * out + out) decoder weights, more than a page carries (\(ExplorerData.weightLimit))")
        var page = ReportPage(title: "t")
        XCTAssertThrowsError(try page.addExplorer(d))
        XCTAssertFalse(page.html().contains("swiftvae-weights"))
    }

    func testAnomalySectionAndHooks() throws {
        var page = ReportPage(title: "t")
        // perfectly separated scores: ROC goes (0,0) → (0,1) → (1,1)
        let scores: [Double] = [1, 2, 3, 10, 11, 12]
        let anomalous = [false, false, false, true, true, true]
        let roc = ReportPage.roc(scores, anomalous)
        XCTAssertEqual(roc.series[0].points.map(\.x), [0, 0, 0, 0, 1 / 3, 2 / 3, 1])
        XCTAssertEqual(roc.series[0].points.map(\.y), [0, 1 / 3, 2 / 3, 1, 1, 1, 1])
        let hist = ReportPage.histogram(scores, anomalous, bins: 4)
        XCTAssertEqual(hist.series.count, 2)
        // each group's shares sum to 1 (two points per bin, between the axis points that close the outline)
        for s in hist.series {
            XCTAssertEqual(s.points.first?.y, 0)
            XCTAssertEqual(s.points.last?.y, 0)
            let bins = Array(s.points.dropFirst().dropLast())
            XCTAssertEqual(stride(from: 0, to: bins.count, by: 2).reduce(0.0) { $0 + bins[$1].y }, 1, accuracy: 1e-12)
        }
        try page.addAnomalyScores(.init(scores: scores, anomalous: anomalous, normalName: "labels 0 <x>", auc: 1, topPNG: [], topRows: [["1", "5", "9", "12.00"]]))
        XCTAssertThrowsError(try page.addAnomalyScores(.init(scores: [1], anomalous: [], normalName: "", auc: nil, topPNG: [], topRows: [])))
        // with one group empty the paragraph says why in a sentence of its own
        var lone = ReportPage(title: "t")
        try lone.addAnomalyScores(.init(scores: [1, 2], anomalous: [true, true], normalName: "labels 0", auc: nil, topPNG: [], topRows: []))
        XCTAssertTrue(lone.html().contains("0 normal images, 2 of the other classes. No ROC-AUC: it needs images of both groups, and none is normal."), lone.html())
        try page.addColumnErrors(columns: ["age", "income"], errors: [0.5, 0.25])
        XCTAssertThrowsError(try page.addColumnErrors(columns: ["age"], errors: []))
        let png = ImageGrid.png(images: [[0, 1, 0.5, 0.2]], channels: 1, height: 2, width: 2, columns: 1)
        page.addConditionalGrid(png: png, rowNames: ["zero", "one"])
        page.addImageStrips("Denoising", strips: [("clean", png), ("noisy", png), ("denoised", png)], caption: "PSNR <x>")
        let html = page.html()
        // the strips are one section: one heading, three figures, the caption (they were four boxes)
        let strips = String(html[html.range(of: "<h2>Denoising</h2>")!.lowerBound...].prefix { _ in true })
        let section = String(strips[..<strips.range(of: "</section>")!.lowerBound])
        XCTAssertEqual(section.components(separatedBy: "<figure>").count - 1, 3)
        XCTAssertTrue(section.contains("<figcaption>noisy</figcaption>") && section.contains("<p>PSNR &lt;x&gt;</p>"), section)
        for s in ["ROC-AUC 1.0000", "labels 0 &lt;x&gt;", "<td class=\"text\">income</td>", "<td>0.25</td>", "Conditional samples", "row 2: one", "<h2>Denoising</h2>", "noisy", "ROC curve"] {
            XCTAssertTrue(html.contains(s), "missing \(s)")
        }
    }
}

/// The sequence explorer's weights travel as zlib-compressed byte planes; the page inflates them.
final class PackedFloatsTests: XCTestCase {
    func testPackedFloatsRoundTripBitForBit() throws {
        var values: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               Float(bitPattern: 0x7FC0_1234)]   // a NaN with a payload
        var seed: UInt64 = 7
        for _ in 0..<10_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            values.append(Float(Int64(bitPattern: seed >> 11) % 2_000_001 - 1_000_000) * 1e-7)   // weights of a trained layer's size
        }
        let packed = try XCTUnwrap(Data(base64Encoded: ExplorerData.packedBase64(values)))
        XCTAssertLessThan(packed.count, 4 * values.count, "the exponent plane should compress")
        var out = [UInt8](repeating: 0, count: 4 * values.count)
        var outLen = uLong(out.count)
        let status = packed.withUnsafeBytes { src in
            uncompress(&out, &outLen, src.bindMemory(to: UInt8.self).baseAddress, uLong(packed.count))
        }
        XCTAssertEqual(status, Z_OK)
        XCTAssertEqual(Int(outLen), 4 * values.count)
        let n = values.count
        for (i, v) in values.enumerated() {
            let bits = UInt32(out[i]) | UInt32(out[n + i]) << 8 | UInt32(out[2 * n + i]) << 16 | UInt32(out[3 * n + i]) << 24
            XCTAssertEqual(bits, v.bitPattern, "value \(i)")
        }
    }
}
