import Foundation

/// Sections of the run report that take plain data (VAEViz does not know the model): anomaly
/// scores, and hooks for the conditional grid, the denoising and inpainting strips and a
/// table's per-column reconstruction errors.
extension ReportPage {
    /// Anomaly scores of test images, for a run trained on some classes only.
    public struct AnomalyScores: Sendable {
        /// one score per test image (negative ELBO, nats: higher is more anomalous)
        public var scores: [Double]
        /// true for the images of the classes the model was not trained on
        public var anomalous: [Bool]
        /// e.g. "labels 0,1,2 (T-shirt/top, Trouser, Pullover)"
        public var normalName: String
        /// ROC-AUC of the scores for telling anomalous from normal images (nil: a group is empty)
        public var auc: Double?
        /// a picture of the highest-scoring images, and one row per image: rank, test index, label, score
        public var topPNG: [UInt8]
        public var topRows: [[String]]
        /// What an item is: "image" or "row" (a table's).
        public var noun: String
        /// The command line that gives these scores again, for the caption (nil: none named).
        public var command: String?

        public init(scores: [Double], anomalous: [Bool], normalName: String, auc: Double?, topPNG: [UInt8], topRows: [[String]],
                    noun: String = "image", command: String? = nil) {
            self.scores = scores
            self.anomalous = anomalous
            self.normalName = normalName
            self.auc = auc
            self.topPNG = topPNG
            self.topRows = topRows
            self.noun = noun
            self.command = command
        }
    }

    /// Histogram of the scores of normal and other images, the ROC curve with its AUC, and the
    /// top anomalies.
    public mutating func addAnomalyScores(_ a: AnomalyScores) throws {
        guard a.scores.count == a.anomalous.count, !a.scores.isEmpty else {
            throw ReportError("anomaly scores: \(a.scores.count) scores for \(a.anomalous.count) flags")
        }
        let nAnom = a.anomalous.filter { $0 }.count, nNorm = a.scores.count - nAnom
        let aucText = a.auc.map { String(format: "ROC-AUC %.4f", $0) } ?? "no ROC-AUC (one group is empty)"
        let n = a.noun, again = a.command.map { " The same scores, per \(a.noun): \($0)." } ?? ""
        // (with a group empty: a sentence of its own, not "… classes. no ROC-AUC … for telling …")
        let verdict = a.auc.map { String(format: "ROC-AUC %.4f for telling the other classes from the normal ones (0.5 is chance, 1 perfect).", $0) }
            ?? "No ROC-AUC: it needs \(n)s of both groups, and \(nNorm == 0 ? "none is normal" : "none is of the other classes")."
        addParagraph("Anomaly scores", "The model was trained on \(a.normalName) only. Each of \(a.scores.count) test \(n)s is scored by its negative ELBO (nats; one z sample): \(nNorm) normal \(n)s, \(nAnom) of the other classes. \(verdict)\(again)")
        let hist = Self.histogram(a.scores, a.anomalous)
        addSVG("Score histogram", svg: hist.svg(width: 800, height: 420), caption: "Share of each group per score bin (bins up to the 99th percentile; the rest in the last bin).")
        if a.auc != nil {
            addSVG("ROC curve", svg: Self.roc(a.scores, a.anomalous).svg(width: 520, height: 480), caption: "ROC curve: true-positive rate (other classes flagged) against false-positive rate (normal \(n)s flagged) as the threshold falls; the diagonal is chance. \(aucText).")
        }
        if !a.topPNG.isEmpty { addImage("Top anomalies", png: a.topPNG, caption: "The \(a.topRows.count) highest-scoring test images, most anomalous first, row by row.", pixelated: true) }
        if !a.topRows.isEmpty { addTable("The ten highest scores", columns: ["rank", "test \(n)", "label", "score (nats)"], rows: Array(a.topRows.prefix(10))) }
    }

    /// Step curves of the share of each group per bin.
    static func histogram(_ scores: [Double], _ anomalous: [Bool], bins: Int = 40) -> LineChart {
        let finite = scores.filter(\.isFinite).sorted()
        let lo = finite.first ?? 0
        let hi = finite.isEmpty ? 1 : max(finite[min(finite.count - 1, finite.count * 99 / 100)], lo + 1e-9)
        let width = (hi - lo) / Double(bins)
        var chart = LineChart(title: "Anomaly scores", xLabel: "negative ELBO (nats)", yLabel: "share of the group")
        for (name, flag) in [("normal", false), ("other classes", true)] {
            var counts = [Double](repeating: 0, count: bins)
            var total = 0.0
            // bin b = ⌊(s − lo) / width⌋, clipped to the last bin
            for (s, f) in zip(scores, anomalous) where f == flag && s.isFinite {
                counts[min(bins - 1, max(0, Int((s - lo) / width)))] += 1
                total += 1
            }
            guard total > 0 else { continue }
            // closed at both ends: the outline starts and ends on the axis
            var pts: [(x: Double, y: Double)] = [(lo, 0)]
            for b in 0..<bins {
                let y = counts[b] / total
                pts.append((lo + Double(b) * width, y))
                pts.append((lo + Double(b + 1) * width, y))
            }
            pts.append((lo + Double(bins) * width, 0))
            chart.addSeries(name, points: pts)
        }
        return chart
    }

    /// The ROC curve (anomalous = positive), thresholds from high to low scores, ties together.
    static func roc(_ scores: [Double], _ anomalous: [Bool], maxPoints: Int = 400) -> LineChart {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let p = Double(anomalous.filter { $0 }.count), n = Double(anomalous.count) - p
        var pts: [(x: Double, y: Double)] = [(0, 0)]
        var tp = 0.0, fp = 0.0, i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] {
                if anomalous[order[j]] { tp += 1 } else { fp += 1 }
                j += 1
            }
            pts.append((fp / max(n, 1), tp / max(p, 1)))
            i = j
        }
        if pts.count > maxPoints {
            let step = Double(pts.count - 1) / Double(maxPoints - 1)
            pts = (0..<maxPoints).map { pts[Int((Double($0) * step).rounded())] }
        }
        var chart = LineChart(title: "ROC curve", xLabel: "false-positive rate", yLabel: "true-positive rate")
        chart.squarePlot = true   // the curve is read against the diagonal
        chart.addSeries("model", points: pts)
        chart.addSeries("chance", points: [(0, 0), (1, 1)])
        return chart
    }

    // MARK: hooks for sections that other features add

    /// A conditional model's grid: one row per class (`rowNames`), columns of samples.
    public mutating func addConditionalGrid(png: [UInt8], rowNames: [String], caption: String = "") {
        let rows = rowNames.enumerated().map { "row \($0.offset + 1): \($0.element)" }.joined(separator: ", ")
        addImage("Conditional samples", png: png, caption: caption.isEmpty ? "One row per class (\(rows))." : caption, pixelated: true)
    }

    /// Strips of images, one picture per strip with its label (denoising: clean / noisy /
    /// denoised; inpainting: masked / filled in / original).
    /// Pictures one under another, each with its label, in one section under one heading.
    public mutating func addImageStrips(_ title: String, strips: [(label: String, png: [UInt8])], caption: String = "") {
        var body = ""
        for s in strips {
            body += "<figure>\n<img src=\"data:image/png;base64,\(Data(s.png).base64EncodedString())\" alt=\"\(htmlEscape(s.label))\" class=\"pixelated\">\n"
            body += "<figcaption>\(htmlEscape(s.label))</figcaption>\n</figure>\n"
        }
        if !caption.isEmpty { body += "<p>\(htmlEscape(caption))</p>\n" }
        blocks.append(.html(title: title, body: body))
    }

    /// A table model's reconstruction error per column.
    public mutating func addColumnErrors(columns: [String], errors: [Double], measure: String = "mean squared error") throws {
        guard columns.count == errors.count else { throw ReportError("column errors: \(errors.count) errors for \(columns.count) columns") }
        addTable("Reconstruction error per column", columns: ["column", measure],
                 rows: zip(columns, errors).map { [$0, $1.isFinite ? String(format: "%.5g", $1) : "\($1)"] })
    }
}
