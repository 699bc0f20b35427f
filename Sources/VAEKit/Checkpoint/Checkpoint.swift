import Foundation
import VAECore

/// The package's version, written into every checkpoint and config.
public enum SwiftVAE {
    public static let version = "0.1.0"
}

/// What a run folder's `config.json` holds: the model, how it was trained, on what, and
/// where training stands. Human-readable; the checkpoint's own metadata is authoritative for
/// resuming (it is written atomically together with the weights).
public struct RunConfig: Codable, Equatable, Sendable {
    /// What the run was trained on: where the data came from, its sizes and classes, and how it was read.
    public struct DataInfo: Codable, Equatable, Sendable {
        public var name: String
        public var directory: String
        public var trainCount: Int
        public var testCount: Int
        public var shape: [Int]
        public var classNames: [String]
        /// How an image folder was read (--image-size, --channels, …); nil for IDX and CIFAR-10.
        public var imageOptions: ImageFolderOptions?
        /// How a CSV table was read: its schema and split (nil for images).
        public var table: TableInfo?
        /// How a file of sequences was read: tokens, lengths, the test file or split (nil otherwise).
        public var sequence: SequenceOptions?
        /// `directory` made absolute (links resolved) when the run trained; nil in runs of before.
        public var absolutePath: String?
        /// An image folder's files when the run trained ("COUNT HASH", `ImageFolderInfo.fileList`);
        /// nil for other data and in runs of before.
        public var imageFiles: String?

        /// Where the run's data is: `directory` as recorded (relative to the folder the run trained
        /// in) when it leads somewhere from here, else the absolute path recorded beside it when
        /// that does — the same place, so the same data, from any folder — else `directory`, for the
        /// message that says it is missing.
        public var recordedPath: String { AtomicFile.resolve(directory, absolute: absolutePath) }

        public init(_ d: Dataset) {
            name = d.name
            directory = d.directory
            absolutePath = AtomicFile.realPath(d.directory)
            trainCount = d.train.count
            testCount = d.test.count
            shape = d.train.itemShape
            classNames = d.classNames
            imageOptions = d.imageFolder?.options
            imageFiles = d.imageFolder.flatMap { $0.fileList.isEmpty ? nil : $0.fileList }
            // the channels the folder was read with, also when they were chosen from its images (gray
            // only when every image is gray): a later command reads another folder into the model's
            // channels — a gray folder for a colour model — instead of refusing it
            if imageOptions != nil && imageOptions?.channels == nil { imageOptions?.channels = shape.first }
            table = d.table
            sequence = d.sequence
        }
    }

    public var format: String = "swiftvae-run-1"
    public var version: String = SwiftVAE.version
    public var model: VAEConfig
    public var training: TrainingOptions
    public var data: DataInfo?
    public var state: TrainingState
    public var parameterCount: Int

    public init(model: VAEConfig, training: TrainingOptions, data: DataInfo?, state: TrainingState, parameterCount: Int) {
        self.model = model
        self.training = training
        self.data = data
        self.state = state
        self.parameterCount = parameterCount
    }

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        // a value JSON has no number for (an overflowed validation score) as metrics.jsonl writes it
        let n = TrainingRun.nonFinite
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: n.positive, negativeInfinity: n.negative, nan: n.nan)
        return String(decoding: try! enc.encode(self), as: UTF8.self) + "\n"
    }

    public static func parse(_ bytes: [UInt8], source: String) throws -> RunConfig {
        do {
            let dec = JSONDecoder(), n = TrainingRun.nonFinite
            dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: n.positive, negativeInfinity: n.negative, nan: n.nan)
            return try dec.decode(RunConfig.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, _) {
            throw VAEError("\(source): missing field \"\(key.stringValue)\"; the file is not a SwiftVAE run config or is damaged")
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            if path.isEmpty { throw VAEError("\(source): not a JSON object (a run config is one); the file is damaged") }
            throw VAEError("\(source): field \"\(path)\" has the wrong type; the file is damaged")
        } catch let DecodingError.dataCorrupted(ctx) {
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            if path.isEmpty {
                // (JSON that parses, with a number a field cannot take — latent 8.5, 1e400 — was
                // called "not valid JSON": the decoder names no field for it)
                if (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil {
                    throw VAEError("\(source): a field holds a number SwiftVAE does not read — a whole number written with a fraction, or one too large?; the file is damaged or was edited")
                }
                throw VAEError("\(source): not valid JSON (or a number too large for a double, such as 1e400); the file is damaged or was edited")
            }
            // valid JSON, a value out of its kind's range (an unknown activation, latent 4.5): the
            // values it may take, when the field is one of a few names
            let key = ctx.codingPath.last?.stringValue ?? ""
            let names: [String: [String]] = [
                "architecture": VAEConfig.Architecture.allCases.map(\.rawValue), "activation": VAEConfig.HiddenActivation.allCases.map(\.rawValue),
                "likelihood": VAEConfig.Likelihood.allCases.map(\.rawValue), "objective": TrainingObjective.allCases.map(\.rawValue),
                "weightInit": WeightInit.allCases.map(\.rawValue), "tokenizer": SequenceConfig.Tokenizer.allCases.map(\.rawValue),
            ]
            let given = ctx.debugDescription.range(of: "invalid String value ").map { " \"" + ctx.debugDescription[$0.upperBound...] + "\"" } ?? ""
            let allowed = names[key].map { ": it takes " + $0.joined(separator: ", ") } ?? " (\(ctx.debugDescription))"
            throw VAEError("\(source): field \"\(path)\" has a value\(given) SwiftVAE does not read\(allowed); the file is damaged or from another version")
        } catch {
            throw VAEError("\(source): cannot read the run config (\(error))")
        }
    }
}

/// A run folder on disk: `model.safetensors` (weights, Adam moments, training state) and
/// `config.json`.
///
/// Tensor names: every parameter under its state-dict name (`encoder.1.weight`, …, PyTorch
/// layouts: Linear [out, in], Conv2d [out, in, kh, kw], ConvTranspose2d [in, out, kh, kw]);
/// Adam's moments as `optimizer.exp_avg.<name>` and `optimizer.exp_avg_sq.<name>`.
/// `__metadata__`: `format`, `version`, `config` (VAEConfig JSON), `training` (TrainingOptions
/// JSON), `state` (TrainingState JSON).
public enum Checkpoint {
    public static let weightsFile = "model.safetensors"
    public static let configFile = "config.json"
    static let format = "swiftvae-checkpoint-1"

    /// Writes the checkpoint atomically (weights first, then config.json), creating `dir`.
    /// `best`: with early stopping under way, the best epoch's weights (parameter-buffer order),
    /// stored as `best.<name>`. `table`: a table run's schema when `data` does not carry it (a
    /// checkpoint read without its config.json).
    public static func save(model: any LatentVariableModel, optimizer: Adam?, options: TrainingOptions, state: TrainingState,
                            data: RunConfig.DataInfo?, table: TableInfo? = nil, best: [Float]? = nil, to dir: String) throws {
        try makeDirectory(dir)
        let enc = JSONEncoder(), n = TrainingRun.nonFinite
        enc.outputFormatting = [.sortedKeys]
        // (a NaN or infinite validation score trapped here: JSON has no number for it)
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: n.positive, negativeInfinity: n.negative, nan: n.nan)
        func json<T: Encodable>(_ v: T) -> String { String(decoding: try! enc.encode(v), as: UTF8.self) }
        var list: [(name: String, shape: [Int], data: UnsafeBufferPointer<Float>)] = []
        for p in model.store.parameters {
            list.append((p.name, p.shape, UnsafeBufferPointer(start: p.value.pointer, count: p.count)))
        }
        if let opt = optimizer {
            var off = 0
            for p in model.store.parameters {
                list.append(("optimizer.exp_avg." + p.name, p.shape, UnsafeBufferPointer(start: opt.m.pointer + off, count: p.count)))
                list.append(("optimizer.exp_avg_sq." + p.name, p.shape, UnsafeBufferPointer(start: opt.v.pointer + off, count: p.count)))
                off += p.count
            }
        }
        // the best epoch's weights live in a buffer of their own for the length of the write
        let bestBuffer = best.map { Tensor(shape: [$0.count], data: $0) }
        if let b = bestBuffer {
            precondition(b.count == model.store.count, "Checkpoint.save: best weights of the wrong size")
            var off = 0
            for p in model.store.parameters {
                list.append(("best." + p.name, p.shape, UnsafeBufferPointer(start: b.pointer + off, count: p.count)))
                off += p.count
            }
        }
        var meta = ["format": format, "version": SwiftVAE.version, "config": json(model.config),
                    "training": json(options), "state": json(state)]
        // A table's schema travels with the weights: without it no new row can be encoded.
        if let t = data?.table ?? table { meta["table"] = json(t) }
        // written a piece at a time (the weights and Adam's moments are never copied whole); what
        // no reader would take back (the safetensors header's limit, config.json's too) is refused
        // before anything is written, not written as a run that no command can read
        try withExtendedLifetime(bestBuffer) {
            try SafeTensorsFile.write(tensors: list, metadata: meta, to: dir + "/" + weightsFile) { header in
                guard header <= SafeTensorsFile.maxHeaderBytes else {
                    throw VAEError("the run's description (its vocabulary or its table's text values) takes \(FormatText.bytes(header)), over the \(FormatText.bytes(SafeTensorsFile.maxHeaderBytes)) a checkpoint may hold: leave free-text columns out (--ignore) or keep fewer tokens (--max-vocab)")
                }
            }
        }
        let rc = RunConfig(model: model.config, training: options, data: data, state: state, parameterCount: model.parameterCount)
        try AtomicFile.write(rc.json(), to: dir + "/" + configFile)
    }

    /// A loaded run: the model with its weights, and what is needed to resume it.
    public struct Loaded {
        public let model: any LatentVariableModel
        public let options: TrainingOptions
        public let state: TrainingState
        public let config: RunConfig?
        /// Adam moments in parameter-buffer order, when the checkpoint has them.
        public let adamM: [Float]?
        public let adamV: [Float]?
        /// What is wrong with the checkpoint's Adam moments (missing, of another shape, not finite),
        /// when they are damaged: the model's weights are sound and every command but a resume
        /// uses them (`vae export` keeps them); `TrainingRun.resume` refuses with this. nil: sound.
        public var optimizerDamage: String? = nil
        /// Early stopping under way: the best epoch's weights in parameter-buffer order.
        public let bestWeights: [Float]?
        /// How the run's CSV table is read (nil for images).
        public let table: TableInfo?

        /// The model as a feed-forward VAE (mlp or conv), for what works on images and tables;
        /// a sequence model is an error. `what` only words that error: what the caller wanted to
        /// do ("sampling images" → "sampling images works on image and table models …").
        public func feedForward(_ what: String) throws -> VAE {
            guard let vae = model as? VAE else {
                throw VAEError("\(what) works on image and table models (mlp, conv); this run is a \(model.config.architecture.rawValue) sequence model")
            }
            return vae
        }
    }

    /// A run's file is a regular file (or a link to one): not a FIFO, a device or a folder.
    public static func requireRegular(_ path: String) throws {
        guard AtomicFile.regularFileSize(path) == nil else { return }
        throw VAEError("\(path) is not a regular file (a FIFO, a device or a folder by that name): a run's files are plain files — put the run's own file there")
    }

    /// Loads a run folder (or a path to its `model.safetensors`), validating everything.
    public static func load(_ path: String) throws -> Loaded {
        var dir = path
        if path.hasSuffix(".safetensors") { dir = AtomicFile.split(path).directory }
        guard AtomicFile.isDirectory(dir) else {
            if AtomicFile.exists(dir) {   // e.g. vae decompress ARCHIVE RUN: the run comes first
                throw VAEError("\(path) is a file, not a run folder; the run folder (what `vae train --out` wrote) is the command's first argument")
            }
            throw VAEError("\(path) is not a run folder (no such directory); pass the folder that `vae train --out` wrote")
        }
        let weightsPath = path.hasSuffix(".safetensors") ? path : dir + "/" + weightsFile
        guard AtomicFile.exists(weightsPath) else {
            // another .safetensors file there (renamed, or written by PyTorch under its own name): say how to use it
            // (a folder that cannot be listed gets the plain message below)
            let others = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
            if !path.hasSuffix(".safetensors"), let other = others.first {
                throw VAEError("\(dir) has no \(weightsFile) but holds \(other)\(others.count > 1 ? " (and \(others.count - 1) more)" : ""): pass that file as the run (\(dir)/\(other)), or rename it \(weightsFile)")
            }
            if AtomicFile.exists(dir + "/" + configFile) {   // a run's folder without its weights (e.g. a model still in training)
                throw VAEError("\(dir) has a \(configFile) but no \(weightsFile): the model's weights are not there (not yet written, or not copied with the folder); point at a folder that has them")
            }
            throw VAEError("\(dir) has no \(weightsFile); it is not a SwiftVAE run folder (train one with `vae train --out \(dir)`)")
        }
        // a FIFO (or a device, a folder) in the weights' place: reading it waited for a writer forever
        try Checkpoint.requireRegular(weightsPath)
        let file = try SafeTensorsFile.read(path: weightsPath)
        let src = weightsPath
        func meta<T: Decodable>(_ key: String, _ type: T.Type) throws -> T {
            guard let s = file.metadata[key] else {
                throw VAEError("\(src): metadata has no \"\(key)\"; the file was not written by SwiftVAE")
            }
            let dec = JSONDecoder(), n = TrainingRun.nonFinite
            dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: n.positive, negativeInfinity: n.negative, nan: n.nan)
            do { return try dec.decode(T.self, from: Data(s.utf8)) } catch {
                throw VAEError("\(src): metadata \"\(key)\" is not valid; the file is damaged")
            }
        }
        guard file.metadata["format"] == format else {
            // (PyTorch's save_file writes no SwiftVAE metadata: the weights alone cannot say which model they are)
            throw VAEError("\(src): not a SwiftVAE checkpoint (format \"\(file.metadata["format"] ?? "none")\", expected \"\(format)\"): SwiftVAE reads its own checkpoints, whose metadata describes the model — to load weights changed in PyTorch, write them with save_file(tensors, PATH, metadata=the original file's metadata)")
        }
        let cfg = try meta("config", VAEConfig.self)
        let options = try meta("training", TrainingOptions.self)
        let state = try meta("state", TrainingState.self)
        do { try cfg.validate() } catch let e as VAEError { throw VAEError("\(src): \(e.message)") }
        do { try options.validate() } catch let e as VAEError { throw VAEError("\(src): training options: \(e.message)") }
        try validate(state, source: src)
        // Before building the model (which allocates every parameter): a config describing a model
        // much bigger than the weights in the file is a mismatch, and could ask for terabytes. Small
        // models are built, so that the checks below name the tensor that does not match.
        let stored = file.tensors.lazy.filter { !$0.key.hasPrefix("optimizer.") }.reduce(0) { $0 + $1.value.data.count }
        let needed = try parameterCount(cfg)
        guard let needed, needed <= max(stored, 1 << 22) else {
            let size = needed.map { "\(FormatText.grouped($0)) parameters" } ?? "more parameters than can be counted"
            throw VAEError("\(src): the config describes a \(cfg.architecture.rawValue) model (input \(cfg.inputShape), latent \(cfg.latent), hidden \(cfg.hidden)) with \(size), but the file holds only \(FormatText.grouped(stored)) weights; the weights and the config do not match")
        }
        var runConfig: RunConfig? = nil
        let cfgPath = dir + "/" + configFile
        if AtomicFile.exists(cfgPath) {
            try Checkpoint.requireRegular(cfgPath)
            let rc: RunConfig
            do {
                rc = try RunConfig.parse(try AtomicFile.readAll(path: cfgPath, maxBytes: SafeTensorsFile.maxHeaderBytes), source: cfgPath)
            } catch let e as VAEError {
                // the weights file holds the model and its state: the run is not lost with its config.json
                throw VAEError(e.message + " — \(weightsFile) holds the model and its state: restore \(configFile) from a copy of the run, or remove it (commands then need --data)")
            }
            guard rc.model == cfg else {
                throw VAEError("\(cfgPath) describes a different model than \(weightsFile) (\(Checkpoint.firstDifference(rc.model, cfg))); the folder mixes two runs, or one file was edited")
            }
            // the same model trained on other data: another run's config.json (its data, its counts,
            // its epochs would be this run's). The data's description is fixed for a run's life; the
            // epoch is not compared (a save cut short leaves config.json one save behind).
            if let mine = state.data, let theirs = rc.state.data,
               !Trainer.sameData(recorded: theirs, now: mine) && !Trainer.sameData(recorded: mine, now: theirs) {
                throw VAEError("\(cfgPath) is another run's: it was trained on other data (\(theirs)) than \(weightsFile) (\(mine)); the folder mixes two runs — put the run's own config.json beside its weights, or remove it (the weights file holds the model and its state; commands then need --data)")
            }
            // a conditional model reads a one-hot over its classes: more names than that are no
            // run's (an edited file; the commands then disagreed on how many classes there are)
            if cfg.conditionSize > 0, let names = rc.data?.classNames, names.count > cfg.conditionSize {
                throw VAEError("\(cfgPath) names \(names.count) classes, and the conditional model in \(weightsFile) reads \(cfg.conditionSize); the file was edited or is another run's — restore it from a copy of the run, or remove it (commands then need --data)")
            }
            runConfig = rc
        }
        let model = try Models.make(cfg, seed: 0)
        var expected = Set<String>()
        for p in model.store.parameters {
            expected.insert(p.name)
            guard let t = file.tensors[p.name] else {
                throw VAEError("\(src) has no tensor \"\(p.name)\" that a \(cfg.architecture.rawValue) model with latent \(cfg.latent) and hidden \(cfg.hidden) needs; the weights and the config do not match")
            }
            guard t.shape == p.shape else {
                throw VAEError("\(src): tensor \"\(p.name)\" has shape \(t.shape) but the config needs \(p.shape); the weights and the config do not match")
            }
            t.data.withUnsafeBufferPointer { p.value.pointer.update(from: $0.baseAddress!, count: p.count) }
        }
        var m: [Float]? = nil, v: [Float]? = nil, damage: String? = nil
        if file.tensors.keys.contains(where: { $0.hasPrefix("optimizer.") }) {
            var mm: [Float] = [], vv: [Float] = []
            for p in model.store.parameters {
                for (prefix, into) in [("optimizer.exp_avg.", 0), ("optimizer.exp_avg_sq.", 1)] {
                    let name = prefix + p.name
                    expected.insert(name)
                    guard damage == nil else { continue }
                    // damaged moments stop a resume, not the model's use (one bad tensor made every
                    // command refuse the run, vae export too, which would have saved its weights)
                    guard let t = file.tensors[name], t.shape == p.shape else {
                        damage = "\(src): optimizer state \"\(name)\" is missing or has the wrong shape; the checkpoint is damaged"
                        continue
                    }
                    // Adam's moments: finite, and the second (a mean of squares) never negative — else
                    // the first step of a resumed run diverges, blamed on the learning rate
                    guard t.data.allSatisfy({ $0.isFinite && (into == 0 || $0 >= 0) }) else {
                        damage = "\(src): optimizer state \"\(name)\" holds \(into == 0 ? "NaN or infinite values" : "NaN, infinite or negative values"); the checkpoint is damaged"
                        continue
                    }
                    if into == 0 { mm += t.data } else { vv += t.data }
                }
            }
            if damage == nil {
                m = mm
                v = vv
            }
        }
        var best: [Float]? = nil
        if file.tensors.keys.contains(where: { $0.hasPrefix("best.") }) {
            var bb: [Float] = []
            for p in model.store.parameters {
                let name = "best." + p.name
                expected.insert(name)
                guard let t = file.tensors[name], t.shape == p.shape, t.data.allSatisfy({ $0.isFinite }) else {
                    throw VAEError("\(src): the best epoch's weights \"\(name)\" are missing, have the wrong shape or are not finite; the checkpoint is damaged")
                }
                bb += t.data
            }
            best = bb
        }
        if let extra = file.tensors.keys.first(where: { !expected.contains($0) }) {
            throw VAEError("\(src) has a tensor \"\(extra)\" that the config's model does not have; the weights and the config do not match")
        }
        for p in model.store.parameters where !p.value.array.allSatisfy({ $0.isFinite }) {
            throw VAEError("\(src): tensor \"\(p.name)\" holds NaN or infinite values; the checkpoint is damaged")
        }
        var table: TableInfo? = nil
        if file.metadata["table"] != nil {
            let t = try meta("table", TableInfo.self)
            try t.schema.validate(source: src)
            guard t.schema.width == cfg.inputSize else {
                throw VAEError("\(src): the table schema has \(t.schema.width) encoded columns but the model takes \(cfg.inputSize); the checkpoint is damaged")
            }
            table = t
        }
        return Loaded(model: model, options: options, state: state, config: runConfig, adamM: m, adamV: v, optimizerDamage: damage, bestWeights: best, table: table)
    }

    /// The parameter count of `config`'s model, from its description (no storage allocated);
    /// nil when it overflows `Int`. Call after `config.validate()`.
    static func parameterCount(_ config: VAEConfig) throws -> Int? {
        try Models.parameterCount(config)
    }

    /// A training state that `resume` can continue from (counts not negative, sums finite).
    static func validate(_ state: TrainingState, source: String) throws {
        func bad(_ what: String) -> VAEError {
            VAEError("\(source): metadata \"state\" is not valid (\(what)); the file is damaged")
        }
        guard (0...1_000_000).contains(state.epoch) else { throw bad("epoch \(state.epoch)") }
        guard state.batchInEpoch >= 0 else { throw bad("batch \(state.batchInEpoch)") }
        guard state.adamStep >= 0 else { throw bad("optimizer step \(state.adamStep)") }
        guard state.partialCount >= 0 else { throw bad("image count \(state.partialCount)") }
        guard state.partialRecon.isFinite, state.partialKL.isFinite, state.partialSeconds.isFinite else {
            throw bad("the sums of the epoch under way are not finite")
        }
    }

    /// The first field (in key order) where two configs differ, as "field: a vs b".
    static func firstDifference(_ a: VAEConfig, _ b: VAEConfig) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        func fields(_ c: VAEConfig) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: enc.encode(c))) as? [String: Any] ?? [:]
        }
        func text(_ v: Any?) -> String {
            guard let v else { return "absent" }
            if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed]) { return String(decoding: d, as: UTF8.self) }
            return "\(v)"
        }
        // the first field that differs, by its path into nested objects (sequence.embedding)
        func difference(_ x: [String: Any], _ y: [String: Any], _ path: String) -> String? {
            for key in Set(x.keys).union(y.keys).sorted() where text(x[key]) != text(y[key]) {
                if let u = x[key] as? [String: Any], let v = y[key] as? [String: Any], let d = difference(u, v, path + key + ".") { return d }
                return "\(path)\(key): \(text(x[key]).prefix(60)) in config.json, \(text(y[key]).prefix(60)) in the weights' file"
            }
            return nil
        }
        return difference(fields(a), fields(b), "")
            ?? "\(a.architecture.rawValue), latent \(a.latent) vs \(b.architecture.rawValue), latent \(b.latent)"
    }

    static func makeDirectory(_ dir: String) throws {
        if AtomicFile.exists(dir) && !AtomicFile.isDirectory(dir) { throw VAEError("\(dir) exists and is not a folder; choose another --out") }
        try AtomicFile.makeFolders(dir, what: "the run folder")
    }
}
