import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Anomaly: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score test images by negative ELBO; with --normal, the ROC-AUC of telling the other classes from them.",
        discussion: "Train on normal data only with `vae train --classes 0,1`, then `vae anomaly RUN --normal 0,1`."
    )
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: ArgumentHelp("Labels that count as normal, comma-separated.", valueName: "c[,c…]")) var normal: String?
    @Option(help: "z samples averaged per score.") var samples = 1
    @Option(help: "Score at most N test images.") var limit: Int?
    @Option(help: "Most anomalous images to list and draw.") var top = 32
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Output PNG of the most anomalous images (default RUN/anomalies.png).", valueName: "file.png")) var out: String?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...1000).contains(samples) else { throw ValidationError("--samples must be between 1 and 1000") }
        guard top >= 1 else { throw ValidationError("--top must be ≥ 1") }
        _ = try Anomaly.parseClasses(normal)
    }

    static func parseClasses(_ s: String?) throws -> Set<Int>? {
        guard let s else { return nil }
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 && $0! < 256 }) else {
            throw ValidationError("class lists are labels 0…255 separated by commas, e.g. --normal 0,1")
        }
        return Set(parts.map { $0! })
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        let data = try runArg.testSet(loaded, dataOptions)
        let set = data.test.first(limit ?? data.test.count)
        var rng = RNG(seed: seed)
        let scores = Analysis.anomalyScores(loaded.model, set, samples: samples, rng: &rng)
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let name: (Int) -> String = { i in
            guard set.hasLabels else { return "-" }
            let l = set.label(i)
            return l < data.classNames.count ? "\(l) \(data.classNames[l])" : "\(l)"
        }
        let sorted = scores.sorted()
        print(String(format: "scored %d images of %@: negative ELBO median %.2f, 95th percentile %.2f, max %.2f nats",
                     scores.count, data.name, sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 95 / 100)], sorted.last!))
        if let normalSet = try Anomaly.parseClasses(normal) {
            guard set.hasLabels else { throw VAEError("--normal needs labels, and \(data.directory) has none") }
            let positive = (0..<set.count).map { !normalSet.contains(set.label($0)) }
            if let auc = Analysis.rocAUC(scores: scores, positive: positive) {
                print(String(format: "ROC-AUC (anomalous = labels not in %@): %.4f  (%d normal, %d anomalous)",
                             normal!, auc, positive.filter { !$0 }.count, positive.filter { $0 }.count))
            } else {
                Console.note("note: ROC-AUC needs both normal and anomalous images among the scored ones")
            }
        }
        print("rank  index  label            score")
        for (r, i) in order.prefix(min(top, 10)).enumerated() {
            print(String(format: "%4d  %5d  %-15@ %8.2f", r + 1, i, name(i) as NSString, scores[i]))
        }
        let n = min(top, set.count)
        let x = Tensor(shape: [n, set.featureCount])
        var unused = RNG(seed: 0)
        order.prefix(n).map { Int32($0) }.withUnsafeBufferPointer {
            set.fill($0, x: x, mask: nil, binarize: false, rng: &unused)
        }
        try Pictures.write(Pictures.grid(x, shape: loaded.model.config.inputShape, columns: 8, scale: Figures.scale(for: loaded.model.config.inputShape)),
                           to: runArg.output(out, default: "anomalies.png"))
    }
}
