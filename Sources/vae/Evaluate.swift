import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Test-set negative ELBO (one sample and z = μ), reconstruction, KL and the IWAE estimate of −log p(x), as one JSON object."
    )
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Importance samples for the IWAE bound (0 to skip).") var iwae = 100
    @Option(help: "Use the first N test images (default: all for the ELBO, 1000 for IWAE).") var limit: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Binarize the test images once (fixed seed), as for a model trained with --binarize; default: as the run was trained.", valueName: "true|false"))
    var binarize: Bool?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (0...1_000_000).contains(iwae) else { throw ValidationError("--iwae must be between 0 and 1000000") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be ≥ 1") }
    }

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        if binarize != nil && loaded.model.config.sequence != nil {   // it was ignored
            throw ValidationError("--binarize is for image runs; \(runArg.run) is a sequence run")
        }
        if binarize != nil && loaded.table != nil {   // a table's standardised numbers are no intensities: it changed nothing
            throw ValidationError("--binarize is for image runs; \(runArg.run) is a table run")
        }
        let data = try runArg.testSet(loaded, dataOptions)
        let binary = binarize ?? loaded.options.binarize
        let test = data.test.scored(binarize: binary)
        let set = test.first(limit ?? test.count)
        var rng = RNG(seed: seed)
        let t0 = Date()
        let e = try Evaluator.elbo(loaded.model, set, rng: &rng)
        var out: [String: Any] = [
            "run": runArg.run, "data": data.name, "count": set.count, "binarized": binary,
            "loss": e.sample.loss, "recon": e.sample.recon, "kl": e.sample.kl,
            "loss_mu": e.mean.loss, "recon_mu": e.mean.recon,
            "elbo_seconds": Date().timeIntervalSince(t0),
        ]
        // sequences: per predicted token (each item's tokens and its <eos>), and the perplexity
        func predicted(_ s: any DataSource) -> Int? { (s as? SequenceSource).map { $0.tokenCount + $0.count } }
        if let tokens = predicted(set) {
            out["tokens"] = tokens
            out["loss_per_token"] = e.sample.loss * Double(set.count) / Double(tokens)
            out["recon_per_token"] = e.sample.recon * Double(set.count) / Double(tokens)
        }
        // a discrete likelihood of images is a code length: bits per dimension (what vae compress approaches)
        let cfg = loaded.model.config
        let discrete = cfg.groups == nil && cfg.architecture != .gru
            && ((cfg.likelihood == .bernoulli && binary) || cfg.likelihood == .betaBinomial || cfg.likelihood == .discretizedLogistic)
        let dims = Double(cfg.inputSize) * Foundation.log(2)
        if discrete {
            out["bits_per_dim"] = e.sample.loss / dims
            Console.note("−ELBO \(Evaluate.shown(e.sample.loss, 2)) nats per image = \(Evaluate.shown(e.sample.loss / dims, 4)) bits per dimension")
        }
        let active = try Evaluator.activeUnits(loaded.model, set)
        out["active_units"] = active.count
        Console.note("active units (variance of μ over the \(Console.counted(set.count, "test item")) > 0.01, Burda et al. 2015): \(active.count) of \(loaded.model.latent)")
        if iwae > 0 {
            let n = min(limit ?? 1000, test.count)
            let t1 = Date()
            // the batch carries a table's mask and a conditional model's labels
            var r = RNG(seed: seed &+ 1)   // in passes (bounded memory); ε in item order, as in one pass
            let shown = Progress(total: n, label: "IWAE k = \(iwae)")
            let nll = try Evaluator.iwae(loaded.model, test.first(n), k: iwae, batch: 1000, rng: &r, progress: { shown.update($0) })
            shown.finish()
            let est = MeanEstimate(nll)
            out["iwae_nll"] = est.mean
            out["iwae_sem"] = est.standardError
            out["iwae_k"] = iwae
            out["iwae_count"] = n
            out["iwae_seconds"] = Date().timeIntervalSince(t1)
            if discrete { out["iwae_bits_per_dim"] = est.mean / dims }
            if let tokens = predicted(test.first(n)) {
                let perToken = nll.reduce(0, +) / Double(tokens)
                out["iwae_nll_per_token"] = perToken
                out["iwae_tokens"] = tokens   // (the IWAE's items' tokens; "tokens" counts the ELBO's)
                out["perplexity"] = Foundation.exp(perToken)
                Console.note(String(format: "per token (the %d tokens of these %d items, <eos> included): −log p ≈ %.4f nats, perplexity %.2f", tokens, n, perToken, Foundation.exp(perToken)))
            }
            // one item has no standard error: said, not "± nan"
            let spread = est.standardError.isFinite ? String(format: " ± %.2f nats (standard error)", est.standardError)
                : (n == 1 ? " nats (one item: no standard error)" : " nats")
            Console.note(String(format: "IWAE k = %d on %@%@: −log p(x) ≈ %@%@, %.0f s",
                                iwae, Console.counted(n, data.isImages ? "test image" : "test item"), binary ? " (binarized, the fixed binarization of the test set)" : "", Evaluate.shown(est.mean, 2), spread,
                                Date().timeIntervalSince(t1)))
        }
        // a number JSON cannot hold: NaN (one item's standard error; an overflowed model) is null, an
        // infinite loss (an item whose values overflow the model: its loss is inf) "inf", as in metrics.jsonl
        let nan = ["loss", "iwae_nll"].filter { ((out[$0] as? Double)?.isNaN) == true }
        let infinite = ["loss", "loss_mu", "kl", "recon", "recon_mu", "iwae_nll"].filter { ((out[$0] as? Double).map { $0.isInfinite }) == true }
        for (key, value) in out {
            guard let d = value as? Double, !d.isFinite else { continue }
            out[key] = d.isNaN ? NSNull() : (d > 0 ? "inf" : "-inf") as Any
        }
        if nan.isEmpty && !infinite.isEmpty {
            Console.note("note: \(infinite.joined(separator: ", ")) \(infinite.count == 1 ? "is" : "are") inf: some item's values overflow the model's 32-bit numbers (a value far outside the data it trained on, a typing or unit error?); vae anomaly ranks such items first (score inf)")
        }
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        // no number at all is no result: a script must not take it for one (nothing on stdout: the
        // JSON with its nulls was printed before the error, and `> out.json` kept it)
        if !nan.isEmpty {
            // a few items that overflow (a value far outside the training data) are the data's doing,
            // not a damaged model's: name them
            var r = RNG(seed: seed)
            let scores = try Analysis.anomalyScores(loaded.model, set, rng: &r)
            let bad = scores.indices.filter { !scores[$0].isFinite }
            // … when the model itself is sound: prior samples decode to finite numbers (a damaged
            // model's overflow on every input; the items' on theirs)
            let sound: Bool = {
                guard let vae = loaded.model as? VAE else { return bad.count * 10 <= set.count }
                let z = Tensor(shape: [8, vae.latent])
                var prior = RNG(seed: 1)
                prior.fillNormal(z.pointer, count: z.count)
                return vae.decodeLogitsInPasses(z, condition: ClassChoice.condition(0, count: 8, model: vae)).array.allSatisfy { $0.isFinite }
            }()
            if sound && !bad.isEmpty && bad.count < set.count {
                let ids = bad.prefix(10).map { set.itemID($0) }.joined(separator: ", ") + (bad.count > 10 ? ", …" : "")
                throw VAEError("\(nan.joined(separator: " and ")) is not a number: \(bad.count) of \(set.count) items overflow the model's 32-bit numbers (\(ids)) — values far outside the data it trained on (a typing or unit error?); vae anomaly ranks them first (score inf): evaluate the data without them")
            }
            throw VAEError("\(nan.joined(separator: " and ")) is not a number on these items: the model's values overflow float32 (weights far too large: a damaged checkpoint, or training that diverged)")
        }
        print(String(decoding: json, as: UTF8.self))
    }

    /// A number for the console: "nan", not "-nan" (a NaN's sign bit, printed by %f).
    static func shown(_ v: Double, _ digits: Int) -> String { v.isNaN ? "nan" : String(format: "%.\(digits)f", v) }
}
