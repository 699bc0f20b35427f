import ArgumentParser
import Foundation
import VAECore
import VAEKit

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a run without its optimizer state: a third of the size, to share or ship.",
        discussion: """
        Writes OUT/model.safetensors (the weights, the run's config and state, a table's schema; no Adam moments), \
        OUT/config.json, and copies metrics.jsonl and report.html when the run has them. The copy samples, \
        reconstructs, evaluates, encodes and compresses as the run does. It cannot be trained further \
        (vae train --resume refuses it: without Adam's moments training would not continue as the run would have); \
        keep the run folder for that.
        """)
    @OptionGroup var runArg: RunArgument
    @Option(help: ArgumentHelp("The folder to write (must not hold a run).", valueName: "dir")) var out: String

    func run() throws {
        let loaded = try runArg.load()
        if AtomicFile.exists(out + "/" + Checkpoint.weightsFile) { throw VAEError("\(out) already holds a run; choose another --out") }
        // a table's schema from the checkpoint (config.json may be gone: a folder of model.safetensors
        // alone); the best epoch's weights of a run stopped with early stopping under way, kept
        try Checkpoint.save(model: loaded.model, optimizer: nil, options: loaded.options, state: loaded.state,
                            data: loaded.config?.data, table: loaded.table, best: loaded.bestWeights, to: out)
        if loaded.bestWeights != nil, let b = loaded.state.bestEpoch {
            Console.note("note: \(runArg.run) stopped with early stopping under way: the copy holds its weights as they stood (epoch \(loaded.state.epoch + 1), unfinished) and the best so far, epoch \(b)'s, beside them (best.*); the commands use the former — finish the run (vae train --resume) to export the model it keeps")
        }
        for file in ["metrics.jsonl", "report.html"] where AtomicFile.exists(runArg.run + "/" + file) {
            try AtomicFile.write(try AtomicFile.readAll(path: runArg.run + "/" + file, maxBytes: 1 << 30), to: out + "/" + file)
        }
        let size = try FileManager.default.attributesOfItem(atPath: out + "/" + Checkpoint.weightsFile)[.size] as? Int ?? 0
        print("exported \(runArg.run) to \(out): weights only, \(size) bytes")
    }
}
