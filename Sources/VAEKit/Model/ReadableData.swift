import VAECore

extension LatentVariableModel {
    /// Throws a `VAEError` naming what does not fit when the model cannot read `set`: items of
    /// another shape than `config.inputShape`, a sequence model given items that are not token
    /// sequences (or tokens past its vocabulary), a conditional model given items without labels
    /// or with a label past its classes, values an image likelihood cannot model (outside [0, 1];
    /// a table's: not finite). `Trainer`, `Evaluator` and `Analysis` check this before
    /// they read a set, so that data of another model is an error, not a trap or a wrong number.
    /// `what` names the set in the message ("the test set", a folder, …).
    /// `values`: check the values too (the trainer checks them itself, naming the folder).
    public func checkReadable(_ set: any DataSource, _ what: String = "the data", values: Bool = true) throws {
        let shape = { (s: [Int]) in s.map(String.init).joined(separator: "×") }
        if let seq = self as? SequenceVAE {
            guard let tokens = set as? SequenceSource else {
                throw VAEError("\(what) holds items of \(shape(set.itemShape)) values, not token sequences, and this is a sequence model: read text with Dataset.loadSequences and the model's SequenceConfig")
            }
            guard tokens.itemShape == config.inputShape else {
                throw VAEError("\(what) holds items of up to \(tokens.maxLength) tokens, and the model reads \(seq.sequence.maxLength): read it with the model's SequenceConfig")
            }
            let vocabulary = seq.sequence.vocabulary.count
            if let i = (0..<tokens.count).first(where: { tokens.tokens($0).contains { Int($0) >= vocabulary } }) {
                throw VAEError("\(what) item \(tokens.itemID(i)) holds a token id past the model's vocabulary of \(vocabulary): read it with the model's SequenceConfig")
            }
        } else {
            guard !(set is SequenceSource) else {
                throw VAEError("\(what) holds token sequences, and this is a \(config.architecture.rawValue) model of \(shape(config.inputShape)) items: a sequence model (architecture gru) reads them")
            }
            guard set.itemShape == config.inputShape else {
                throw VAEError("\(what) holds items of \(shape(set.itemShape)), and the model reads \(shape(config.inputShape)): give it data of the shape it was trained on")
            }
        }
        if isConditional {
            guard set.hasLabels else {
                throw VAEError("\(what) has no labels, and the model is conditional (each item's label is one of its inputs): give labelled data")
            }
            // a label past the one-hot's width would be an all-zero condition, silently
            if let i = (0..<set.count).first(where: { !(0..<config.conditionSize).contains(set.label($0)) }) {
                if set.label(i) < 0 {   // a table row whose label cell is empty
                    throw VAEError("\(what) item \(set.itemID(i)) has no label, and the model is conditional (each item's label is one of its inputs): give every item its label, or leave that item out")
                }
                throw VAEError("\(what) item \(set.itemID(i)) has label \(set.label(i)), but the conditional model was built for classes 0…\(config.conditionSize - 1)")
            }
        }
        // values the likelihood cannot model: a negative −ELBO and scores of any size, silently
        if values { try Trainer.checkValueRange(config, set, nil, split: what) }
    }

    /// The same for one batch (`Evaluator.iwae` of a tensor or a batch): its width, and a
    /// conditional model's labels (or condition).
    public func checkReadable(_ batch: Batch) throws {
        let shape = { (t: Tensor) in t.shape.map(String.init).joined(separator: "×") }
        guard batch.x.shape.count == 2, batch.x.shape[1] == config.inputSize else {
            throw VAEError("the batch is \(shape(batch.x))\(batch.x.shape.count == 2 ? "" : " (one dimension: give it as [items, values])"), and the model reads rows of \(config.inputSize) values ([items, \(config.inputSize)])")
        }
        // the mask and the encoder's input are read row for row beside x (a smaller one was read past its end)
        for (name, t) in [("mask", batch.mask), ("input", batch.input)] {
            if let t, t.shape != batch.x.shape { throw VAEError("the batch's \(name) is \(shape(t)), and its x \(shape(batch.x)): give them the same shape") }
        }
        if !isConditional, batch.condition != nil {
            throw VAEError("the batch has a condition, and the model is not conditional: it would be ignored")
        }
        if let seq = self as? SequenceVAE {
            let vocabulary = seq.sequence.vocabulary.count
            if let v = (0..<batch.x.count).lazy.map({ batch.x.pointer[$0] }).first(where: { !($0 >= 0 && $0 < Float(vocabulary) && $0.rounded() == $0) }) {
                throw VAEError("the batch holds \(v), which is no token id of the model's vocabulary of \(vocabulary)")
            }
        }
        if isConditional {
            if let c = batch.condition {
                guard c.shape == [batch.count, config.conditionSize] else {
                    throw VAEError("the batch's condition is \(c.shape.map(String.init).joined(separator: "×")), and the model needs [\(batch.count), \(config.conditionSize)]")
                }
            } else {
                guard let labels = batch.labels, labels.count == batch.count else {
                    throw VAEError("the batch has no labels, and the model is conditional (each item's label is one of its inputs)")
                }
                if let l = labels.first(where: { !(0..<config.conditionSize).contains(Int($0)) }) {
                    throw VAEError("the batch holds label \(l), but the conditional model was built for classes 0…\(config.conditionSize - 1)")
                }
            }
        }
        if config.architecture != .gru, let j = Trainer.firstUnmodelled(config, batch.x, mask: batch.mask) {
            let d = config.inputSize
            throw VAEError(Trainer.unmodelled(config, "the batch's item \(j / d) has \(batch.x.pointer[j]) at value \(j % d + 1) of \(d)", training: false))
        }
    }
}
