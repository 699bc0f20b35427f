import ArgumentParser
import Foundation
import VAEKit

/// `vae train --resume`: the command line the run was started with is accepted again. A flag that
/// defines the model, its data or its random streams may be given with the run's own value; a
/// different value is refused with one line naming the flag, the run's value and the given one.
/// A folder with no checkpoint yet (a job killed before its first save) starts the run.
extension Train {
    /// What `--out` holds when `--resume` is given.
    enum ResumeTarget {
        /// A run with its checkpoint.
        case run(Checkpoint.Loaded)
        /// Nothing yet (absent, empty, or only what a killed first save leaves): start the run there.
        case nothingYet
    }

    /// Looks at `dir`: a run, nothing yet, or something else (an error naming what is there).
    static func resumeTarget(_ dir: String) throws -> ResumeTarget {
        if AtomicFile.exists(dir + "/" + Checkpoint.weightsFile) { return .run(try Checkpoint.load(dir)) }
        guard AtomicFile.exists(dir) else { return .nothingYet }
        guard AtomicFile.isDirectory(dir) else {
            throw VAEError("--out \(dir) is a file, not a run folder; choose another --out")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        // A first save is killed at most between its writes: metrics.jsonl (empty at epoch 0) and
        // the writers' temporaries (.NAME.tmp-PID-RANDOM) may be there, nothing else.
        let foreign = names.filter { name in
            if name.hasPrefix(".") && name.contains(".tmp-") || name == RunFolderLock.fileName { return false }
            if name == TrainingRun.metricsFile, (try? AtomicFile.readAll(path: dir + "/" + name, maxBytes: 1 << 20))?.isEmpty == true {
                return false
            }
            return true
        }
        if names.contains(Checkpoint.configFile) {
            throw VAEError("--resume: \(dir) has a \(Checkpoint.configFile) but no \(Checkpoint.weightsFile) (the weights and the optimizer's state): restore it from a copy of the run, or choose another --out")
        }
        if let first = foreign.first {
            throw VAEError("--resume: \(dir) holds \(first)\(foreign.count > 1 ? " and \(foreign.count - 1) more" : "") but no checkpoint (\(Checkpoint.weightsFile)), so it is not a SwiftVAE run to continue; choose another --out")
        }
        return .nothingYet
    }

    /// The first run-defining flag given with a value other than the run's, as
    /// (flag, the run's value, the given value); nil when every given value is the run's.
    /// `self` has a preset's values filled in already.
    func resumeMismatch(_ cfg: VAEConfig, _ o: TrainingOptions, classNames: [String], reading: SequenceOptions? = nil) throws -> (flag: String, stored: String, given: String)? {
        var checks: [(flag: String, given: String?, stored: String?)] = []
        func add(_ flag: String, _ given: String?, _ stored: String?) { checks.append((flag, given, stored)) }
        func list<T>(_ a: [T]) -> String { a.map { "\($0)" }.joined(separator: ",") }

        add("--model", model?.rawValue, cfg.architecture.rawValue)
        add("--latent", latent.map(String.init), String(cfg.latent))
        add("--hidden", try hiddenSizes().map(list), list(cfg.hidden))
        add("--beta", beta.map { "\($0)" }, "\(cfg.beta)")
        add("--warmup", warmup.map(String.init), String(cfg.warmupEpochs))
        add("--free-bits", freeBits.map { "\($0)" }, "\(cfg.freeBitsValue)")
        add("--likelihood", likelihood?.rawValue, Train.storedLikelihood(cfg)?.rawValue)
        add("--sigma", sigma.map { "\($0)" }, "\(cfg.gaussianSigma)")
        add("--activation", activation?.rawValue, cfg.activation.rawValue)
        add("--binarize", binarize ? "on" : nil, o.binarize ? "on" : "off")
        add("--conditional", conditional ? "on" : nil, cfg.conditionSize > 0 ? "on" : "off")
        add("--seed", seed.map(String.init), String(o.seed))
        add("--batch", batch.map(String.init), String(o.batchSize))
        if let given = try Anomaly.parseClasses(classes, classNames: classNames, option: "--classes") {
            func names(_ s: [Int]) -> String { list(s.sorted().map { $0 < classNames.count ? classNames[$0] : String($0) }) }
            add("--classes", names(Array(given)), o.classes.map(names) ?? "all")
        }
        add("--corrupt", try corrupt.map { try Corruption(parsing: $0).description }, o.corrupt?.description ?? "none")
        add("--objective", objective?.rawValue, (o.objective ?? .elbo).rawValue)
        add("--k", k.map(String.init), String(o.samples ?? 1))
        add("--adam-eps", adamEps.map { "\($0)" }, "\(o.adamEpsilon ?? 1e-8)")
        let schedule = o.learningRateSchedule.map { s in ScheduleChoice.allCases.first { $0.schedule == s }?.rawValue ?? "a custom schedule" }
        add("--lr-schedule", lrSchedule?.rawValue, schedule ?? ScheduleChoice.constant.rawValue)
        add("--init", weightInit?.rawValue, (o.weightInit ?? .pytorch).rawValue)
        // early stopping: which items are held out, and when training stops (0 given: none)
        add("--validation-fraction", validationFraction.map { $0 == 0 ? "0 (none)" : "\($0)" }, o.validationFraction.map { "\($0)" } ?? "0 (none)")
        add("--patience", patience.map(String.init), o.patience.map(String.init) ?? "none (no validation share)")
        if let on = outputBiasFromData {
            add(on ? "--output-bias-from-data" : "--no-output-bias-from-data", on ? "on" : "off", o.outputBiasFromData == true ? "on" : "off")
        }
        if let s = cfg.sequence {  // a sequence run: its tokens and networks, and how its file was read
            let q = sequenceOptions
            add("--tokens", q.tokens?.rawValue, s.tokenizer.rawValue)
            add("--max-length", q.maxLength.map(String.init), String(s.maxLength))
            add("--encoder", try SequenceTrainOptions.shape(q.encoder, "--encoder").map { "\($0.layers)x\($0.width)" }, "\(s.encoderLayers)x\(s.encoderHidden)")
            add("--decoder", try SequenceTrainOptions.shape(q.decoder, "--decoder").map { "\($0.layers)x\($0.width)" }, "\(s.decoderLayers)x\(s.decoderHidden)")
            add("--word-dropout", q.wordDropout.map { "\($0)" }, "\(s.wordDropout)")
            add("--bidirectional", q.bidirectional ? "on" : nil, s.bidirectional ? "on" : "off")
            add("--embedding", q.embedding.map(String.init), String(s.embedding))
            add("--max-vocab", q.maxVocab.map(String.init), reading.map { String($0.maxVocabulary) })
            add("--test", q.testFile, reading.map { $0.testFile ?? "none (a split of --data)" })
            add("--text-column", dataOptions.textColumn, reading.map { $0.textColumn ?? "none (one item per line)" })
        } else if sequenceOptions.given {
            throw ValidationError("--tokens, --max-length, --max-vocab, --test, --encoder, --decoder, --word-dropout, --bidirectional and --embedding are for sequence runs; \(out ?? "the run") is a \(cfg.architecture.rawValue) run")
        }
        for c in checks {
            if let given = c.given, let stored = c.stored, given != stored { return (c.flag, stored, given) }
        }
        return nil
    }

    /// The likelihood `--likelihood` chose: the config's, or for a table the kind of its numeric columns.
    static func storedLikelihood(_ cfg: VAEConfig) -> VAEConfig.Likelihood? {
        guard let groups = cfg.groups else { return cfg.likelihood }
        for g in groups {
            switch g.kind {
            case .gaussian: return .gaussian
            case .gaussianLearned: return .gaussianLearned
            case .gaussianHeteroscedastic: return .gaussianHeteroscedastic
            case .bernoulli: return .bernoulli
            case .categorical: continue
            }
        }
        return nil  // only text columns: --likelihood chose nothing
    }

    /// Refuses a resume whose command line changes the run; `raw` is the command line before a
    /// preset filled it in, so that the message can say where a value came from.
    func checkResume(_ loaded: Checkpoint.Loaded, raw: Train) throws {
        let cfg = loaded.model.config
        let names = loaded.config?.data?.classNames ?? [], reading = loaded.config?.data?.sequence
        guard let m = try resumeMismatch(cfg, loaded.options, classNames: names, reading: reading) else { return }
        let fromPreset = try preset != nil && raw.resumeMismatch(cfg, loaded.options, classNames: names, reading: reading)?.flag != m.flag
        let source = fromPreset ? "--preset \(preset!.rawValue) gives" : "this command line gives"
        throw ValidationError("\(m.flag) cannot change when resuming: the run in \(out ?? "RUN") has \(m.stored), \(source) \(m.given); give the run's value or drop the flag, or start a new run with another --out (resume honours --epochs, --lr, --clip, --weight-decay, --test-limit, --threads)")
    }
}
