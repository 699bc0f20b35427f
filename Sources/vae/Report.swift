import ArgumentParser
import Foundation
import VAEKit

/// `vae report RUN`: the run's report written again by this SwiftVAE, from its checkpoint, its
/// metrics.jsonl and its data — what `vae train` writes at its end.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's report.html (and its pictures) again: after an update of SwiftVAE, for a run trained with --no-report, or for an exported one.")
    @OptionGroup var runArg: RunArgument
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        threadOptions.apply()
        let loaded = try runArg.load()
        // a save cut short (kill -9, a full disk) can leave metrics.jsonl an epoch ahead of the
        // checkpoint: the page is of the checkpoint's model (as vae info; resume drops the line)
        let metrics = try TrainingRun.readMetrics(runArg.run + "/" + TrainingRun.metricsFile).filter { $0.epoch <= loaded.state.epoch }
        guard !metrics.isEmpty else {
            throw VAEError("\(runArg.run)/\(TrainingRun.metricsFile) holds no finished epoch: there is nothing to report yet")
        }
        // a run being trained writes its report when it ends: this one is of the checkpoint now
        if let pid = RunFolderLock.trainer(of: runArg.folder) {
            Console.note("note: \(runArg.folder) is being trained\(pid == "?" ? "" : " (pid \(pid))"): this report is of its checkpoint now (epoch \(loaded.state.epoch)), and the training writes the report again when it ends (unless it was started with --no-report)")
        }
        let data = try runArg.testSet(loaded, dataOptions)
        ReportExtras.run = "RUN" + dataOptions.givenFlags
        let path = try RunReport.write(directory: runArg.run, model: loaded.model, metrics: metrics, options: loaded.options,
                                       data: data, seed: loaded.options.seed, state: loaded.state, recorded: loaded.config?.data)
        print("report: \(path)")
    }
}
