import ArgumentParser
import Foundation
import VAEKit

@main
struct VAECLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Train, explore and show variational autoencoders.",
        discussion: """
        Start with `vae train`: it finds data (--data, $VAE_DATA, /usr/share/datasets/fashion-mnist, \
        or the sample that ships with SwiftVAE), trains, and writes a run folder with the model, \
        its metrics and an HTML report. Every other command takes that run folder.
        """,
        version: SwiftVAE.version,
        subcommands: [Train.self, Sample.self, Reconstruct.self, Interpolate.self, Manifold.self, Latent.self,
                      Encode.self, Anomaly.self, Impute.self, Denoise.self, Inpaint.self, Compress.self, Decompress.self, Export.self, Evaluate.self, Report.self, Info.self, Bench.self,
                      SMILESCheck.self]
    )

    /// Errors become one line on stderr: exit 1 for a user's mistake or a failed operation,
    /// 2 for a usage error, 0 for --help and --version.
    static func main() {
        AtomicFile.removeTemporariesOnSignal()   // (training handles its signals itself, see Interrupt)
        do {
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            // only training is data-parallel: another command under mpirun -np N ran N whole copies
            // (evaluate printed N JSON objects; export worked, then failed on the copies' folder)
            // (help and vae info are not refused: `mpirun -np N vae info` checks each node's Open MPI)
            let computes = VAECLI.configuration.subcommands.contains { ObjectIdentifier($0) == ObjectIdentifier(type(of: command)) }
                && !(command is Train) && !(command is Info)
            if let size = Communicator.launchedSize, size > 1, computes {
                throw ValidationError("only vae train runs under mpirun (data-parallel training); run vae \(type(of: command)._commandName) without mpirun — it uses this machine's cores (--threads)")
            }
            try command.run()
            MPIJob.finish()
        } catch let error as VAEError {
            let code: Int32 = error.isUsage ? 2 : 1
            if MPIJob.comm != nil { MPIJob.fail(error.message, code: code) }  // ends every rank
            // before the ranks joined (Open MPI's library not loaded, a flag refused up front)
            if MPIJob.comm == nil { otherRankSays(error.message, code: code) }
            Console.error(error.message + (error.isUsage ? " (see 'vae --help' or 'vae <command> --help')" : ""))
            Foundation.exit(code)
        } catch let error as ExitCode {
            MPIJob.finish()  // every rank stops together (the ranks agree on a stop)
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                // under mpirun: after the ranks joined, the job's own way (rank 0 says it, and the job
                // ends); before, rank 0 alone unless another rank alone met it (otherRankSays)
                if MPIJob.comm != nil { MPIJob.fail(message(for: error), code: 2) }
                otherRankSays("\(message(for: error)) (see 'vae --help' or 'vae <command> --help'; every rank must run the same command line)", code: 2)
                Console.error("\(message(for: error)) (see 'vae --help' or 'vae <command> --help')")
                Foundation.exit(2)
            }
            Console.error(message(for: error))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    /// Under mpirun, before the ranks joined, every rank usually meets the same error: rank 0 says
    /// it and mpirun ends the job on that first failed rank, so another rank waits two seconds
    /// first (one line, not one per rank). A rank still alive then is the only one with the error
    /// (mpirun's ranks can have command lines of their own): it says it, naming itself, and exits.
    static func otherRankSays(_ line: String, code: Int32) {
        guard let rank = Communicator.launchedRank, rank != 0 else { return }
        sleep(2)
        Console.error("rank \(rank): " + line)
        Foundation.exit(code)
    }

    /// `--lr -1` as `--lr=-1`: a value that is a negative number would otherwise read as an option
    /// ("Missing value for '--lr <lr>'"), and the option's own check never says what is wrong with it
    /// ("--lr must be > 0"). No option name starts with a digit, so nothing else is changed.
    static func joiningNegativeValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("--"), a.count > 2, !a.contains("="), i + 1 < args.count, isNegativeNumber(args[i + 1]) {
                out.append(a + "=" + args[i + 1])
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    static func isNegativeNumber(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let rest = s.dropFirst()
        guard let first = rest.first, first.isNumber || first == "." else { return false }
        return Double(rest) != nil || rest.split(separator: ",").allSatisfy { Double($0) != nil }
    }
}

enum Console {
    /// "1 epoch", "3 epochs": a count with its noun (plural by an s unless given).
    static func counted(_ n: Int, _ noun: String, plural: String? = nil) -> String { "\(n) \(n == 1 ? noun : plural ?? noun + "s")" }

    /// Set on MPI ranks other than 0: no notes (errors are always printed).
    nonisolated(unsafe) static var quiet = false

    /// Writes `text` to standard error (or `fd`) with write(2). An error is ignored: a reader that
    /// went away (`vae train … 2>&1 | tee log` stopped by the same Ctrl-C) must not stop the
    /// command before it saves — FileHandle.write traps on EPIPE once SIGPIPE is ignored, as
    /// training and MPI ranks ignore it.
    static func write(_ text: String, fd: Int32 = 2) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    static func error(_ message: String) {
        if Progress.lineOpen { write("\r\u{1B}[K"); Progress.setLineOpen(false) }
        let line = visible(message.replacingOccurrences(of: "\n", with: " "))
        write("error: \(line)\n")
    }

    static func note(_ message: String) {
        if quiet { return }
        write("\(visible(message))\n")
    }

    /// The images --skip-bad-files left out, one per line (also when a command reads its data
    /// quietly; under MPI rank 0 says it, as every note).
    static func noteSkipped(_ skipped: [String]) {
        guard !quiet, !skipped.isEmpty else { return }
        write(visible("skipped \(counted(skipped.count, "bad image file")) (--skip-bad-files):\n" + skipped.map { "  \($0)\n" }.joined()))
    }

    /// Control characters that a data file put into a message (a column named with an escape
    /// sequence, a bell) shown as \u{1B}, not sent to the terminal; line breaks and tabs stay.
    static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { isHidden($0) }) else { return text }
        var out = ""
        for u in text.unicodeScalars {
            if isHidden(u) { out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}" } else { out.unicodeScalars.append(u) }
        }
        return out
    }

    /// Control characters, and format characters that print as nothing or reorder what follows
    /// (U+FEFF in a cell read "'﻿5.41' is not a number"; U+202E would turn a message around).
    static func isHidden(_ u: Unicode.Scalar) -> Bool {
        (u.value < 0x20 && u != "\n" && u != "\t") || (0x7F...0x9F).contains(u.value) || invisible.contains { $0.contains(u.value) }
    }

    /// Format characters that print as nothing or turn text around — not the joiners (U+200C,
    /// U+200D) that Persian and Indic words and emoji sequences are written with.
    static let invisible: [ClosedRange<UInt32>] = [0xFEFF...0xFEFF, 0x061C...0x061C, 0x200B...0x200B, 0x200E...0x200F, 0x202A...0x202E,
                                                   0x2060...0x2064, 0x2066...0x2069]

    /// A terminal that takes the progress bar's escape sequences (not TERM=dumb, which has none).
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb" }
}
