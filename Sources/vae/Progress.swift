import Foundation
import VAEKit

/// Training progress: a live bar on a terminal (stderr), one plain line per epoch (stdout).
final class ProgressDisplay {
    let totalEpochs: Int
    let live: Bool
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(totalEpochs: Int, live: Bool = Console.stderrIsTerminal) {
        self.totalEpochs = totalEpochs
        self.live = live
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .batch(epoch, batch, batches, loss, ips):
            guard live else { return }
            let now = Date()
            guard batch == batches || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let eta = ips > 0 ? Double((batches - batch) * batchImages) / ips : .nan
            // the epochs after this one at the pace of those done (their test pass included), or of this one's batches
            let later = Double(max(totalEpochs - epoch, 0))
            let perEpoch = epochSeconds.isEmpty ? Double(batches * batchImages) / ips : epochSeconds.reduce(0, +) / Double(epochSeconds.count)
            let run = later > 0 ? "  (run \(ProgressDisplay.clock(eta + later * perEpoch)))" : ""
            let line = ProgressDisplay.barLine(epoch: epoch, total: totalEpochs, batch: batch, batches: batches,
                                               text: String(format: "%d/%d  loss %.2f  %@ %@  ETA %@", batch, batches, loss,
                                                            ProgressDisplay.grouped(ips), rateUnit, ProgressDisplay.clock(eta)) + run,
                                               columns: ProgressDisplay.terminalColumns())
            Console.write("\r\u{1B}[2K" + line)
            drawn = true
        case .epochEnd(let m):
            clear()
            let now = Date()
            if let last = lastEpochEnd { epochSeconds = Array((epochSeconds + [now.timeIntervalSince(last)]).suffix(5)) }
            lastEpochEnd = now
            print(ProgressDisplay.epochLine(m, total: totalEpochs, unit: rateUnit))
            fflush(nil)
            if !m.test_loss.isFinite && !toldNonFinite {
                toldNonFinite = true
                Console.note("note: the test loss is not finite: some test \(rateUnit.hasPrefix("rows") ? "row's" : "item's") loss overflows 32-bit floats\(rateUnit.hasPrefix("rows") ? " — a value far outside the training rows' range (a typing or unit error?)" : ""); `vae anomaly RUN` ranks such items first (score inf)")
            }
        }
    }
    private var toldNonFinite = false
    /// Wall seconds between the last few epochs' ends (training and test pass), for the run's ETA.
    private var epochSeconds: [Double] = []
    private var lastEpochEnd: Date?

    /// Images per batch, for the ETA (set by the caller).
    var batchImages = 128
    /// What the throughput counts: "img/s", or "items/s" for sequences, "rows/s" for tables.
    var rateUnit = "img/s"

    /// What one of a run's items is: "image", "row" (a table) or "item" (a sequence).
    static func itemNoun(_ model: any LatentVariableModel) -> String {
        model is SequenceVAE ? "item" : model.config.groups != nil ? "row" : "image"
    }

    /// The throughput unit of a run's items.
    static func rateUnit(_ model: any LatentVariableModel) -> String {
        let noun = itemNoun(model)
        return noun == "image" ? "img/s" : noun + "s/s"
    }

    /// "epoch 2/10 ████····· 816/3750  loss …": the bar (up to 24 cells) shrinks, then goes, and the
    /// line is cut, so that it fits in `columns` − 1 — a line that wraps leaves a copy of itself on
    /// the screen at every redraw (`\r` returns to the start of the last row only).
    static func barLine(epoch: Int, total: Int, batch: Int, batches: Int, text full: String, columns: Int) -> String {
        let head = "epoch \(epoch)/\(total) "
        // too narrow for all of it: whole fields ("  " apart) go, not letters mid-word ("(ru") — the
        // run's time left first, then the throughput, then the loss; the count and the ETA stay
        var fields = full.components(separatedBy: "  ")
        for drop in ["(run ", "/s", "loss "] where head.count + fields.joined(separator: "  ").count > columns - 1 {
            fields.removeAll { $0.hasPrefix(drop) || (drop == "/s" && $0.hasSuffix(drop)) }
        }
        let text = fields.joined(separator: "  ")
        let room = columns - 1 - head.count - text.count - 1
        var line = head
        if room >= 6 {
            let width = min(24, room)
            let filled = batches > 0 ? width * batch / batches : width
            line += String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + " "
        }
        line += text
        return line.count > columns - 1 ? String(line.prefix(max(columns - 1, 0))) : line
    }

    /// The terminal's width (stderr's), 80 when it cannot be read.
    static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    func clear() {
        if drawn {
            Console.write("\r\u{1B}[2K")
            drawn = false
        }
    }

    static func epochLine(_ m: EpochMetrics, total: Int, unit: String = "img/s") -> String {
        if let k = m.train_iwae_k {
            return String(format: "epoch %d/%d  train −L_%d %.2f  test −ELBO %.2f (z=μ %.2f)  %.1f s  %@ %@",
                          m.epoch, total, k, m.train_loss, m.test_loss, m.test_loss_mu, m.seconds, grouped(m.images_per_second), unit)
                + (m.validation_loss.map { String(format: "  validation %.2f", $0) } ?? "")   // (early stopping's score: it was left off)
        }
        return String(format: "epoch %d/%d  train %.2f (recon %.2f + KL %.2f)  test %.2f (z=μ %.2f)  %.1f s  %@ %@",
               m.epoch, total, m.train_loss, m.train_recon, m.train_kl, m.test_loss, m.test_loss_mu, m.seconds,
               grouped(m.images_per_second), unit) + (m.sample_valid.map { String(format: "  valid %.1f%%", 100 * $0) } ?? "")
            + (m.validation_loss.map { String(format: "  validation %.2f", $0) } ?? "")
    }

    static func grouped(_ v: Double) -> String {
        let n = Int(v.rounded())
        var s = String(n), out = ""
        while s.count > 3 { out = "," + s.suffix(3) + out; s = String(s.dropLast(3)) }
        return s + out
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite && seconds >= 0 else { return "--:--" }
        let t = Int(seconds.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}

/// A count of items done on a terminal's stderr ("compressing 1234/10000", "IWAE k = 5000 312/10000"),
/// redrawn at most every ½ s; silent otherwise (a log). For long work outside training.
final class Progress {
    let total: Int?, label: String
    let live = Console.stderrIsTerminal
    var last = Date.distantPast
    init(total: Int?, label: String) { self.total = total; self.label = label }
    func update(_ done: Int) {
        guard live, Date().timeIntervalSince(last) > 0.5 else { return }
        last = Date()
        Console.write("\r\(label) \(ProgressDisplay.grouped(Double(done)))\(total.map { "/\(ProgressDisplay.grouped(Double($0)))" } ?? "")  ")
        Progress.setLineOpen(true)
    }
    func finish() {
        if live { Console.write("\r\u{1B}[K") }
        Progress.setLineOpen(false)
    }

    /// Whether a count is on the terminal's last line: an error clears it first (it was printed
    /// after "decompressing 2943  "), and a signal that ends the command ends the line.
    nonisolated(unsafe) private(set) static var lineOpen = false
    static func setLineOpen(_ open: Bool) {
        lineOpen = open
        AtomicFile.setProgressLineOpen(open)
    }
}
