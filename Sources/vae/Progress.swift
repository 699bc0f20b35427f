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
            let width = 24
            let filled = batches > 0 ? width * batch / batches : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let eta = ips > 0 ? Double((batches - batch) * batchImages) / ips : .nan
            let line = String(format: "epoch %d/%d %@ %d/%d  loss %.2f  %@ %@  ETA %@",
                              epoch, totalEpochs, bar, batch, batches, loss, ProgressDisplay.grouped(ips), rateUnit, ProgressDisplay.clock(eta))
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
            drawn = true
        case .epochEnd(let m):
            clear()
            print(ProgressDisplay.epochLine(m, total: totalEpochs, unit: rateUnit))
            fflush(nil)
            if !m.test_loss.isFinite && !toldNonFinite {
                toldNonFinite = true
                Console.note("note: the test loss is not finite: some test \(rateUnit.hasPrefix("rows") ? "row's" : "item's") loss overflows 32-bit floats\(rateUnit.hasPrefix("rows") ? " — a value far outside the training rows' range (a typing or unit error?)" : ""); `vae anomaly RUN` ranks such items first (score inf)")
            }
        }
    }
    private var toldNonFinite = false

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

    func clear() {
        if drawn {
            FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
            drawn = false
        }
    }

    static func epochLine(_ m: EpochMetrics, total: Int, unit: String = "img/s") -> String {
        if let k = m.train_iwae_k {
            return String(format: "epoch %d/%d  train −L_%d %.2f  test −ELBO %.2f (z=μ %.2f)  %.1f s  %@ %@",
                          m.epoch, total, k, m.train_loss, m.test_loss, m.test_loss_mu, m.seconds, grouped(m.images_per_second), unit)
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
