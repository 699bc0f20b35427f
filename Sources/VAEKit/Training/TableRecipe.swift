/// The model and training settings for a CSV table that `vae train` chooses where its flags say
/// nothing — here for a library caller, who otherwise assembled the groups, σ floors, sizes and
/// lengths by hand (they lived in the command-line tool alone).
///
/// An mlp over the encoded row: Gaussian groups for the numbers (a σ per cell from
/// ``fewRows`` training rows on, one σ per column below), categorical ones for the text columns,
/// each numeric column's smallest σ floored (``TableData/resolutionFloors(_:train:)``); latent
/// min(8, max(2, width / 2)); one hidden layer of 64 units below 5,000 rows, else 128; batches of
/// up to 128 rows (16 below ``fewRows``); at least 2,000 optimizer steps; with early stopping,
/// 250 steps (at least 20 epochs) without a better validation score end it.
///
/// ```swift
/// let data = try Dataset.loadTable(path: "patients.csv", options: TableOptions())
/// let recipe = try TableRecipe.make(VAEConfig(inputShape: data.itemShape), data: data)
/// var options = TrainingOptions()
/// recipe.apply(to: &options)
/// let run = try TrainingRun.start(directory: "runs/patients", model: recipe.config, options: options, data: data)
/// ```
public struct TableRecipe: Sendable {
    /// Below this many training rows a table gets one σ per column and small batches: measured on
    /// scikit-learn's wine (62 rows) and iris (42), a σ per cell and one batch of the whole table
    /// learned the rows by heart (docs/tables.md).
    public static let fewRows = 100
    public static let fewRowsBatch = 16

    /// What the caller chose (the flags of `vae train`); nil: the recipe's choice.
    public struct Choices: Sendable {
        /// For the numeric columns: `.gaussian`, `.gaussianLearned` or `.gaussianHeteroscedastic`.
        public var likelihood: VAEConfig.Likelihood?
        public var latent: Int?
        public var hidden: [Int]?
        /// The fixed σ of `.gaussian` (1: standardised units).
        public var sigma: Double?
        public var batchSize: Int?
        public var epochs: Int?
        /// The share of training rows held out for early stopping (0: none, the default — on small
        /// tables a fixed length measured better).
        public var validationFraction: Double = 0
        public var patience: Int?
        /// The classes trained on (`TrainingOptions.classes`; nil: all).
        public var classes: Set<Int>?
        public init() {}
    }

    /// The model: `base` with the table's groups, σ, latent and hidden sizes.
    public var config: VAEConfig
    public var batchSize: Int
    public var epochs: Int
    /// The early-stopping share and patience (nil without early stopping).
    public var validationFraction: Double?
    public var patience: Int?
    /// The rows trained on: those of the classes chosen, less the hold-out.
    public var rows: Int
    /// The classes chosen (nil: all).
    public var classes: [Int]?
    /// Under ``fewRows`` rows: one σ per column and batches of ``fewRowsBatch`` unless chosen.
    public var small: Bool { TableRecipe.isSmall(rows) }
    /// The batch size a small table gets.
    public var smallBatch: Int { TableRecipe.smallBatch(rows) }

    static func isSmall(_ rows: Int) -> Bool { rows < fewRows }
    static func smallBatch(_ rows: Int) -> Int { min(fewRowsBatch, max(1, rows)) }

    /// Sets the batch size, epochs, early stopping and classes of `options`.
    public func apply(to options: inout TrainingOptions) {
        options.batchSize = batchSize
        options.epochs = epochs
        options.validationFraction = validationFraction
        options.patience = patience
        options.classes = classes
    }

    /// The recipe for `data` (a table: `Dataset.loadTable`), from `base` (its input shape, condition,
    /// activation, β, …) and the caller's `choices`. Throws a usage error for a likelihood that is
    /// not a table's, and for data that is not a table.
    public static func make(_ base: VAEConfig, data: Dataset, _ choices: Choices = Choices()) throws -> TableRecipe {
        guard let table = data.table else { throw VAEError.usage("\(data.directory) is not a table: TableRecipe is for data read by Dataset.loadTable") }
        if choices.patience != nil && !(choices.validationFraction > 0) {
            throw VAEError.usage("patience needs a validation share to score (validationFraction above 0; --validation-fraction)")
        }
        var rows = choices.classes.map { data.train.filtered(classes: $0).count } ?? data.train.count
        let fraction = choices.validationFraction
        if fraction > 0 { rows -= Trainer.holdOutCount(count: rows, fraction: fraction) }
        let small = isSmall(rows)
        let numeric: FeatureGroup.Kind
        switch choices.likelihood ?? (small ? .gaussianLearned : .gaussianHeteroscedastic) {
        case .gaussian: numeric = .gaussian
        case .gaussianLearned: numeric = .gaussianLearned
        case .gaussianHeteroscedastic: numeric = .gaussianHeteroscedastic
        case .discretizedLogistic, .betaBinomial:
            throw VAEError.usage("--likelihood \(choices.likelihood!.rawValue) is for 8-bit images; a table's numbers are gaussian, gaussian-learned (the default under \(fewRows) rows) or gaussian-heteroscedastic (the default)")
        case .bernoulli:
            throw VAEError.usage("--likelihood bernoulli is for images; a table's numbers are gaussian, gaussian-learned (the default under \(fewRows) rows) or gaussian-heteroscedastic (the default)")
        }
        var config = base
        config.groups = TableData.resolutionFloors(table.groups(numeric: numeric), train: data.train)
        config.gaussianSigma = choices.sigma ?? 1
        config.latent = choices.latent ?? min(8, max(2, table.schema.width / 2))
        // small tables overfit a wide network: 64 units below 5,000 rows
        config.hidden = choices.hidden ?? [rows < 5000 ? 64 : 128]
        let batchSize = choices.batchSize ?? (small ? smallBatch(rows) : max(1, min(128, rows)))
        // at least 2,000 optimizer steps (a 500-row table gets 500 epochs); with early stopping 250
        // steps (at least 20 epochs) without a better validation score end it
        let perEpoch = max(1, (rows + batchSize - 1) / batchSize)
        let epochs = choices.epochs ?? max(10, (2000 + perEpoch - 1) / perEpoch)
        return TableRecipe(config: config, batchSize: batchSize, epochs: epochs,
                           validationFraction: fraction > 0 ? fraction : nil,
                           patience: fraction > 0 ? choices.patience ?? max(20, (250 + perEpoch - 1) / perEpoch) : nil,
                           rows: rows, classes: choices.classes.map { $0.sorted() })
    }
}
