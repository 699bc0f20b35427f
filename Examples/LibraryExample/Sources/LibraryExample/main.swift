import VAEKit

// Fashion-MNIST from Debian's package, or the sample that ships with SwiftVAE.
let folder = CommandLine.arguments.dropFirst().first ?? "/usr/share/datasets/fashion-mnist"
let data = try Dataset.load(directory: folder)
var options = TrainingOptions()
options.epochs = 2
let run = try TrainingRun.start(directory: "runs/library-example",
                                model: VAEConfig(architecture: .mlp, inputShape: data.itemShape, latent: 20),
                                options: options, data: data, replacing: true)   // starts over at each run
_ = try run.run(events: { event in
    if case .epochEnd(let m) = event { print("epoch", m.epoch, "test loss", m.test_loss) }
})

let loaded = try Checkpoint.load("runs/library-example")
let model = try loaded.feedForward("sampling images")   // the mlp or conv VAE (a gru run's model is a SequenceVAE)
var rng = RNG(seed: 1)
let images = try Analysis.sample(model, count: 16, rng: &rng)                 // [16, 784] in [0, 1]
let test = data.test.batch(0..<min(100, data.test.count))   // a range past the set traps, as an array index
let nll = try Evaluator.iwae(model, test, k: 100, rng: &rng)    // data the model cannot read throws
print("samples", images.shape, "IWAE −log p(x) of \(test.count) test images:", nll.reduce(0, +) / Double(nll.count))
