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
        // the run itself, by any path: its checkpoint would be replaced by a copy without Adam's moments
        if AtomicFile.sameFile(out, runArg.folder) { throw VAEError("--out \(out) is the run folder itself: export to another folder") }
        // weights there are a run, unless they are an export killed before its config.json
        // (weights without Adam's moments and no config.json: the retry was refused)
        let weights = out + "/" + Checkpoint.weightsFile
        if AtomicFile.exists(weights) && (AtomicFile.exists(out + "/" + Checkpoint.configFile) || Export.holdsOptimizerState(weights)) {
            throw VAEError("\(out) already holds a run; choose another --out")
        }
        try Export.wholeFolder(out, option: "--out") { target in try write(loaded, to: target) }
        let size = try FileManager.default.attributesOfItem(atPath: out + "/" + Checkpoint.weightsFile)[.size] as? Int ?? 0
        print("exported \(runArg.run) to \(out): weights only, \(size) bytes")
    }

    private func write(_ loaded: Checkpoint.Loaded, to dir: String) throws {
        // a table's schema from the checkpoint (config.json may be gone: a folder of model.safetensors
        // alone); the best epoch's weights of a run stopped with early stopping under way, kept
        try Checkpoint.save(model: loaded.model, optimizer: nil, options: loaded.options, state: loaded.state,
                            data: loaded.config?.data, table: loaded.table, best: loaded.bestWeights, to: dir)
        if loaded.bestWeights != nil, let b = loaded.state.bestEpoch {
            Console.note("note: \(runArg.run) stopped with early stopping under way: the copy holds its weights as they stood (epoch \(loaded.state.epoch + 1), unfinished) and the best so far, epoch \(b)'s, beside them (best.*); the commands use the former — finish the run (vae train --resume) to export the model it keeps")
        }
        for file in ["metrics.jsonl", "report.html"] where AtomicFile.exists(runArg.run + "/" + file) {
            try Checkpoint.requireRegular(runArg.run + "/" + file)   // (a FIFO: the copy waited forever)
            try AtomicFile.write(try AtomicFile.readAll(path: runArg.run + "/" + file, maxBytes: 1 << 30), to: dir + "/" + file)
        }
    }

    /// Whether a checkpoint file holds Adam's moments (a run, not an export), from its header;
    /// true when the header cannot be read (a file not to write over).
    static func holdsOptimizerState(_ path: String) -> Bool {
        guard let names = try? SafeTensorsFile.tensorNames(path: path) else { return true }
        return names.contains { $0.hasPrefix("optimizer.") }
    }

    /// A folder written all or nothing where it does not exist yet: `fill` writes into a hidden
    /// folder beside it, renamed to it when whole (Ctrl-C, SIGTERM or an error removes the hidden
    /// one). A folder that exists (empty, or with files; its mode and owner are the user's) is
    /// written into as it is. `option` names the folder in messages (not the hidden copy).
    static func wholeFolder(_ out: String, option: String, _ fill: (String) throws -> Void) throws {
        let whole = !AtomicFile.exists(out) && !AtomicFile.isSymbolicLink(out)
        var target = out
        if whole {
            try AtomicFile.checkFolderPath(out, what: option)
            let (parent, name) = AtomicFile.split(out.hasSuffix("/") && out.count > 1 ? String(out.dropLast()) : out)
            Export.removeStaleCopies(in: parent, of: name)
            target = (parent == "." && !out.hasPrefix("./") ? "" : parent + "/") + AtomicFile.temporaryName(for: name)
        }
        do {
            // Ctrl-C while the hidden folder fills removes it (made here, registered once it exists)
            var slot: Int32 = -1
            defer { if slot >= 0 { AtomicFile.forgetTemporaryFolder(slot) } }
            if whole {
                // its parents made as Checkpoint.save made them; a failure names the option, not the hidden copy
                try AtomicFile.makeFolders(AtomicFile.split(target).directory, what: option)
                guard mkdir(target, 0o777) == 0 else { throw VAEError("cannot write \(option) \(out): \(VAEError.errnoText())") }
                slot = AtomicFile.removeOnSignal(folder: target)
            }
            try fill(target)
            if whole {
                guard rename(target, out) == 0 else { throw VAEError("cannot write \(out): \(VAEError.errnoText())") }
            }
        } catch {
            if whole { try? FileManager.default.removeItem(atPath: target) }
            // a file of the hidden copy named as the folder asked for (a full disk's message named
            // ".exp.tmp-21218-…/model.safetensors")
            if whole, let e = error as? VAEError, e.message.contains(target) { throw VAEError(e.message.replacingOccurrences(of: target, with: out)) }
            throw error
        }
    }

    /// Removes the hidden folders (`.NAME.tmp-PID-RANDOM`) that killed exports to NAME left in
    /// `parent`: those of processes that no longer exist here, untouched for an hour (on a file
    /// system shared between machines, another's export may be writing one).
    static func removeStaleCopies(in parent: String, of name: String) {
        let prefix = "." + name + ".tmp"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix + "-") {
            guard AtomicFile.writerIsGone(temporary: entry) else { continue }
            let path = parent + "/" + entry
            guard AtomicFile.isDirectory(path), !AtomicFile.isSymbolicLink(path),
                  let changed = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  Date().timeIntervalSince(changed) > 3600 else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
