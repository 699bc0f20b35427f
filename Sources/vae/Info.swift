import ArgumentParser
import Foundation
import VAECore
import VAEKit
import VAEImageIO

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The compute backend and threads; for a run folder, its config and last metrics.")
    @Argument(help: ArgumentHelp("A run folder (optional).", valueName: "run")) var folder: String?
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        threadOptions.apply()
        print("SwiftVAE \(SwiftVAE.version)")
        print("GEMM:        \(GEMM.description)")
        print("kernel:      level \(GEMM.kernelLevel) (\(GEMM.kernelLevelName))")
        print("CPU:         \(GEMM.cpuFeatures)")
        print("CPU model:   \(CPUModel.description)")
        print("threads:     \(ThreadPool.threadCount)")
        print("OpenBLAS:    \(GEMM.isOpenBLASAvailable ? "available (select with VAE_GEMM=blas)" : "not found (optional: apt-get install libopenblas0-pthread)")")
        print("JPEG:        \(JPEG.isAvailable ? "\(JPEG.library) (.jpg and .jpeg files are read)" : "not found (optional, to read .jpg files: apt-get install \(JPEG.package))")")
        print("MPI:         \(Communicator.libraryDescription.map { "\($0) (train on N processes: mpirun -np N vae train …)" } ?? "not found (optional, to train on N processes: \(Communicator.packageHint))")")
        guard let run = folder else { return }
        let loaded = try Checkpoint.load(run)
        let c = loaded.model.config
        print("")
        print("run:         \(run)")
        if let q = c.sequence {
            // a sequence VAE: GRUs over tokens, a categorical over the vocabulary per token
            print("model:       gru sequence VAE, encoder \(q.encoderLayers)x\(q.encoderHidden)\(q.bidirectional ? " bidirectional" : ""), decoder \(q.decoderLayers)x\(q.decoderHidden), latent \(c.latent), \(q.inputDescription), \(loaded.model.parameterCount) parameters")
            print("tokens:      \(q.tokenizer.rawValue), vocabulary \(q.vocabulary.count) (with \(Vocabulary.specials.joined(separator: " "))), at most \(q.maxLength) per item\(q.molecules ? ", SMILES" : "")\(q.wordDropout > 0 ? ", word dropout \(q.wordDropout)" : "")")
            print("likelihood:  categorical per token, β \(c.beta), warm-up \(c.warmupEpochs) epochs\(c.freeBits.map { $0 > 0 ? ", free bits \($0)" : "" } ?? "")")
        } else {
            print("model:       \(c.architecture.rawValue), input \(c.inputShape.map(String.init).joined(separator: "×")), latent \(c.latent), hidden \(c.hidden.map(String.init).joined(separator: ","))\(c.architecture == .mlp ? " \(c.activation.rawValue)" : ""), \(loaded.model.parameterCount) parameters")
            print("likelihood:  \(c.groups != nil ? "per column (the table's numbers and categories)" : c.likelihood.rawValue)\(c.likelihood == .gaussian && c.groups == nil ? " (σ = \(c.gaussianSigma))" : ""), β \(c.beta), warm-up \(c.warmupEpochs) epochs\(c.freeBitsValue > 0 ? ", free bits \(c.freeBitsValue)" : "")")
            if c.conditionSize > 0 {   // (the report said so; info did not)
                let names = loaded.config?.data?.classNames ?? []
                let name = { (i: Int) in i < names.count ? names[i] : String(i) }
                print("condition:   conditional on the label, \(c.conditionSize) classes\(loaded.options.classes.map { "; trained on \($0.sorted().map(name).joined(separator: ", ")) only" } ?? "")")
            }
        }
        let o = loaded.options
        print("training:    \(loaded.state.epoch) of \(o.epochs) epochs\(loaded.state.batchInEpoch > 0 ? " (+\(loaded.state.batchInEpoch) batches)" : ""), batch \(o.batchSize), lr \(o.learningRate), seed \(o.seed)\(o.binarize ? ", binarized" : "")")
        print("recipe:      \(Train.describe(o))")
        if let d = loaded.config?.data { print("data:        \(d.name) (\(d.directory)), \(d.trainCount) train, \(d.testCount) test") }
        // a save cut short (a full disk) can leave metrics.jsonl an epoch ahead of the checkpoint:
        // the run stands where its checkpoint does (resume drops the extra lines too)
        let metrics = try TrainingRun.readMetrics(run + "/" + TrainingRun.metricsFile).filter { $0.epoch <= loaded.state.epoch }
        if let m = metrics.last {
            // per image, per table row or per sequence item
            let item = ProgressDisplay.itemNoun(loaded.model)
            print(String(format: "last epoch:  %d: train %.2f, test %.2f (z=μ %.2f), recon %.2f, KL %.2f nats/",
                          m.epoch, m.train_loss, m.test_loss, m.test_loss_mu, m.test_recon, m.test_kl)
                  + item + String(format: ", %.1f s, %.0f ", m.seconds, m.images_per_second) + item + "s/s")
            // early stopping keeps the best validation epoch's model, which need not be the last
            if let b = loaded.state.bestEpoch, b != m.epoch, let k = metrics.last(where: { $0.epoch == b }) {
                let score = loaded.state.bestValidation.map { String(format: ", %.2f", $0) } ?? ""
                if loaded.bestWeights != nil {
                    // stopped before its end: the checkpoint's weights are the latest, the best ones wait beside them
                    print(String(format: "best so far: epoch %d's (the best validation score%@): test %.2f (z=μ %.2f) — kept beside the latest weights, which the commands use until the run ends",
                                 b, score, k.test_loss, k.test_loss_mu))
                } else {
                    print(String(format: "model kept:  epoch %d's (the best validation score%@): test %.2f (z=μ %.2f)", b, score, k.test_loss, k.test_loss_mu))
                }
            }
        }
    }
}
