import Foundation
import XCTest
import VAEKit

/// Runs `vae` under Open MPI's mpirun (2 ranks over TCP on loopback), or skips when Open MPI
/// is not installed (`apt-get install openmpi-bin`).
enum MPIRun {
    static var mpirun: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// mpirun and a vae that can load libmpi, or XCTSkip.
    static func require() throws -> String {
        guard let m = mpirun else { throw XCTSkip("mpirun not found; apt-get install openmpi-bin to run the MPI tests") }
        let info = try CLI.run(["info"])
        guard info.stdout.contains("MPI:         Open MPI") else {
            throw XCTSkip("vae cannot load Open MPI's libmpi.so.40 (\(info.stdout.split(separator: "\n").last ?? "")); apt-get install openmpi-bin")
        }
        return m
    }

    static func arguments(ranks: Int, _ args: [String], exporting names: [String] = []) -> [String] {
        ["--oversubscribe", "-np", String(ranks), "--mca", "btl", "tcp,self", "--allow-run-as-root"]
            + names.sorted().flatMap { ["-x", $0] } + [CLI.binary] + args
    }

    /// Environment that lets mpirun run as root (CI containers) and keeps the job on loopback.
    static let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                              "OMPI_MCA_btl_tcp_if_include": "lo", "OMPI_MCA_oob_tcp_if_include": "lo",
                              "OMPI_MCA_rmaps_base_oversubscribe": "1"]

    /// `env`: extra variables for every rank (passed on with mpirun's -x).
    static func start(ranks: Int, _ args: [String], env: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        try start(mpirunArguments: arguments(ranks: ranks, args, exporting: Array(env.keys)), env: env)
    }

    /// One rank with `first`, one with `second` (mpirun's `A : B` form).
    static func runTwoCommandLines(_ first: [String], _ second: [String]) throws -> CLI.Result {
        let h = try start(mpirunArguments: arguments(ranks: 1, first) + [":", "-np", "1", CLI.binary] + second)
        // a job that hangs fails the test instead of holding up the suite
        let p = h.0
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) { if p.isRunning { p.terminate() } }
        return CLI.finish(h)
    }

    static func start(mpirunArguments: [String], env: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let m = try require()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: m)
        p.arguments = mpirunArguments
        var e = ProcessInfo.processInfo.environment
        e["VAE_DATA"] = nil
        for (k, v) in environment { e[k] = v }
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    static func run(ranks: Int = 2, _ args: [String], env: [String: String] = [:]) throws -> CLI.Result {
        CLI.finish(try start(ranks: ranks, args, env: env))
    }

    /// The pids of the processes mpirun `parent` started, by their MPI rank.
    static func ranks(of parent: Int32) -> [Int: Int32] {
        var out: [Int: Int32] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent,
                  let env = FileManager.default.contents(atPath: "/proc/\(name)/environ") else { continue }
            for v in env.split(separator: 0) {
                let s = String(decoding: v, as: UTF8.self)
                if s.hasPrefix("OMPI_COMM_WORLD_RANK="), let r = Int(s.dropFirst(21)) { out[r] = pid }
            }
        }
        return out
    }
}

/// metrics.jsonl as objects, without the timing fields (which differ from run to run).
func metricsWithoutTimes(_ run: String) throws -> [[String: Double]] {
    let text = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8)
    return try text.split(separator: "\n").map { line in
        var o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        o["seconds"] = nil
        o["images_per_second"] = nil
        return o.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
}
