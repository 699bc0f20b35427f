import ArgumentParser
import VAEKit

extension TrainingObjective: ExpressibleByArgument {}
extension WeightInit: ExpressibleByArgument {}

/// `--lr-schedule`: constant, the stages of Burda et al. (2015), or the moses-cpu preset's.
enum ScheduleChoice: String, ExpressibleByArgument, CaseIterable {
    case constant, burda2015
    case mosesCPU = "moses-cpu"

    var schedule: LearningRateSchedule? {
        switch self {
        case .constant: return nil
        case .burda2015: return .burda2015
        case .mosesCPU: return .mosesCPU
        }
    }
}

extension LearningRateSchedule {
    /// The moses-cpu preset's: 3 epochs at --lr, 5 at 0.3×, 12 at 0.1× (20 epochs). At 1e-3 the
    /// loss rose after epoch 3; at 0.3× validity levelled off after epoch 6 and 0.1× lifted it
    /// (models/moses-cpu/README.md).
    static let mosesCPU = LearningRateSchedule(epochs: [3, 5, 12], factors: [1, 0.3, 0.1])
}

/// Named training recipes: defaults that explicit flags override.
enum TrainPreset: String, ExpressibleByArgument, CaseIterable {
    /// Burda, Grosse & Salakhutdinov (2015), Table 1, one stochastic layer on MNIST: 784-200-200-50
    /// with tanh hidden units, a Bernoulli decoder, Adam (ε = 1e-4), batch 20, dynamic
    /// binarization, lr 0.001·10^(−i/7) for 3^i epochs (i = 0…7, 3,280 epochs); the VAE (k = 1)
    /// or the IWAE bound with k = 5 or 50. The model starts as their code starts it
    /// (github.com/yburda/iwae): Glorot-uniform weights, zero biases, and (mlp) the output bias at
    /// the logit of the training images' mean.
    case burda2015VAE = "burda2015-vae", burda2015IWAE5 = "burda2015-iwae5", burda2015IWAE50 = "burda2015-iwae50"
    /// MOSES's VAE (Polykovskiy et al. 2020, moses/vae/config.py): characters, encoder GRU 1×256,
    /// decoder GRU 3×512 fed [token, z], latent 128, KL weight rising linearly 0 → 0.05 over the
    /// epochs, Adam 3e-4, batch 512, gradient-norm clip 50, 100 epochs.
    case mosesVAE = "moses-vae"
    /// MOSES's VAE made to fit two CPU cores and 24 hours (issue 27): the same encoder and latent,
    /// a one-layer decoder GRU of 512 (a third of the 3×512's cost per molecule), batch 128 and
    /// Adam 1e-3 (more updates per molecule seen), lowered in stages (moses-cpu schedule: 3 epochs
    /// at 1e-3, 5 at 3e-4, 12 at 1e-4), the KL weight at 1 after one epoch at ½ (prior samples that
    /// decode like training molecules), clip 50, 10,000 test molecules per epoch. See models/moses-cpu.
    case mosesCPU = "moses-cpu"

    /// A sequence preset's values (what `vae train` and `vae bench` share); nil for the image presets.
    struct SequenceRecipe {
        var encoder: String, decoder: String, latent: Int, batch: Int, clip: Double
        var beta: Double, learningRate: Double, schedule: ScheduleChoice?, epochs: Int
        /// Epochs of KL warm-up (nil: all of them).
        var warmup: Int?
        var testLimit: Int?
    }

    var sequenceRecipe: SequenceRecipe? {
        switch self {
        case .mosesVAE:
            return SequenceRecipe(encoder: "1x256", decoder: "3x512", latent: 128, batch: 512, clip: 50, beta: 0.05,
                                  learningRate: 3e-4, schedule: nil, epochs: 100, warmup: nil, testLimit: nil)
        case .mosesCPU:
            return SequenceRecipe(encoder: "1x256", decoder: "1x512", latent: 128, batch: 128, clip: 50, beta: 1,
                                  learningRate: 1e-3, schedule: .mosesCPU, epochs: LearningRateSchedule.mosesCPU.totalEpochs,
                                  warmup: 2, testLimit: 10_000)
        default:
            return nil
        }
    }

    /// `train` with the preset's values in every option the user left unset.
    func apply(to train: Train) -> Train {
        var t = train
        if let r = sequenceRecipe {
            t.model = t.model ?? .gru
            t.sequenceOptions.tokens = t.sequenceOptions.tokens ?? .characters
            t.sequenceOptions.encoder = t.sequenceOptions.encoder ?? r.encoder
            t.sequenceOptions.decoder = t.sequenceOptions.decoder ?? r.decoder
            t.latent = t.latent ?? r.latent
            t.beta = t.beta ?? r.beta
            t.lr = t.lr ?? r.learningRate
            t.lrSchedule = t.lrSchedule ?? r.schedule
            t.epochs = t.epochs ?? r.epochs
            t.warmup = t.warmup ?? r.warmup ?? t.epochs   // moses-vae: over all the epochs
            t.batch = t.batch ?? r.batch
            t.clip = t.clip ?? r.clip
            t.testLimit = t.testLimit ?? r.testLimit
            return t
        }
        t.model = t.model ?? .mlp
        t.latent = t.latent ?? 50
        if t.model == .mlp {   // the conv net's activations are fixed, and its dense layer one width
            t.hidden = t.hidden ?? "200,200"
            t.activation = t.activation ?? .tanh
        }
        t.likelihood = t.likelihood ?? .bernoulli
        t.binarize = true
        t.batch = t.batch ?? 20
        t.lr = t.lr ?? 1e-3
        t.adamEps = t.adamEps ?? 1e-4
        t.lrSchedule = t.lrSchedule ?? .burda2015
        t.epochs = t.epochs ?? LearningRateSchedule.burda2015.totalEpochs
        t.weightInit = t.weightInit ?? .glorot
        // (a likelihood with two outputs per pixel, given with the preset, has no mean logit to start at)
        t.outputBiasFromData = t.outputBiasFromData ?? (t.model == .mlp && VAEConfig.Likelihood.oneOutputPerPixel.contains(t.likelihood!))
        switch self {
        case .burda2015VAE: t.objective = t.objective ?? .elbo
        // (K only for the bound: --objective elbo given with these was refused for a --k never given)
        case .burda2015IWAE5: t.objective = t.objective ?? .iwae; if t.objective == .iwae { t.k = t.k ?? 5 }
        case .burda2015IWAE50: t.objective = t.objective ?? .iwae; if t.objective == .iwae { t.k = t.k ?? 50 }
        case .mosesVAE, .mosesCPU: break
        }
        return t
    }
}
