import Foundation
import XCTest
import VAEKit

/// `mpirun -np 2 vae train` on the other data sources and models: a CSV table (mask, categories,
/// learned σ in the parameter store) and a conditional denoising model, each against one process.
/// Skipped when Open MPI is absent (apt-get install openmpi-bin).
final class MPIDataSourceTests: XCTestCase {
    /// A table of 200 rows: three numbers, a text column, a class; some cells missing.
    static func writeTable() throws -> String {
        var lines = ["id_x,temp,load,colour,kind"]
        var r = RNG(seed: 11)
        let colours = ["red", "green", "blue"]
        for i in 0..<200 {
            let kind = i % 3 == 0 ? "b" : "a"
            let t = Double(r.normal()) + (kind == "b" ? 2 : 0)
            let l = 0.5 * t + 0.3 * Double(r.normal())
            let x = String(format: "%.3f", Double(r.normal()))
            // row i misses a cell every 7 rows (which one rotates), never the class
            let cells = [i % 7 == 1 ? "" : x, i % 7 == 2 ? "NA" : String(format: "%.4f", t),
                         String(format: "%.4f", l), i % 7 == 3 ? "?" : colours[(i + (kind == "b" ? 1 : 0)) % 3], kind]
            lines.append(cells.joined(separator: ","))
        }
        let path = tempRunDir("mpi-table") + ".csv"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        return path
    }

    func compareLosses(_ one: String, _ two: String, epochs: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let m1 = try metricsWithoutTimes(one), m2 = try metricsWithoutTimes(two)
        XCTAssertEqual(m1.count, epochs, file: file, line: line)
        XCTAssertEqual(m2.count, epochs, file: file, line: line)
        // the same batches and noise; only the order of the gradient sums differs: here ~1e-9
        // (the loss averaged over a rank's rows instead of the global batch: 2e-5 to 3e-4)
        for (a, b) in zip(m1, m2) {
            for key in ["train_loss", "test_loss", "test_loss_mu"] {
                let x = a[key]!, y = b[key]!
                XCTAssertLessThan(abs(x - y) / max(abs(x), 1e-3), 1e-6,
                                  "epoch \(a["epoch"]!): \(key) \(x) (1 process) vs \(y) (2 ranks)", file: file, line: line)
            }
        }
    }

    func testTableWithLearnedSigmaMatchesOneProcessAndOverlaps() throws {
        _ = try MPIRun.require()
        let csv = try MPIDataSourceTests.writeTable()
        defer { try? FileManager.default.removeItem(atPath: csv) }
        // batch 33 splits unevenly over 2 ranks; 160 training rows
        func args(_ out: String, _ extra: [String] = []) -> [String] {
            ["train", "--data", csv, "--label", "kind", "--epochs", "3", "--batch", "33", "--hidden", "32", "--latent", "2",
             "--seed", "5", "--threads", "1", "--no-report", "--likelihood", "gaussian-learned", "--out", out] + extra
        }
        let one = tempRunDir("mpi-t1"), two = tempRunDir("mpi-t2"), twoSerial = tempRunDir("mpi-t3")
        let r1 = try CLI.run(args(one))
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let loaded = try Checkpoint.load(one)
        XCTAssertNotNil(loaded.table, "the run did not read the CSV as a table")
        XCTAssertFalse(try loaded.feedForward("the test").likelihood.parameters.isEmpty, "the table model has no learned σ in the store")
        // small buckets: the first holds the likelihood's σ and must still start during the backward
        let r2 = try MPIRun.run(args(two, ["--bucket-kb", "1"]), env: ["VAE_MPI_STATS": "1"])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("data: table"), r2.stderr)
        XCTAssertTrue(r2.stderr.contains("100% of the buckets started during it"), r2.stderr)
        try compareLosses(one, two, epochs: 3)
        // without overlap: the same sums, so the same weights to the bit
        let r3 = try MPIRun.run(args(twoSerial, ["--bucket-kb", "1", "--no-overlap"]), env: ["VAE_MPI_STATS": "1"])
        XCTAssertEqual(r3.status, 0, r3.stderr)
        XCTAssertTrue(r3.stderr.contains(" 0% of the buckets started during it"), r3.stderr)
        let w2 = try Data(contentsOf: URL(fileURLWithPath: two + "/model.safetensors"))
        let w3 = try Data(contentsOf: URL(fileURLWithPath: twoSerial + "/model.safetensors"))
        XCTAssertEqual(w2, w3, "overlapping the all-reduce changed the weights")
        // the 2-rank checkpoint keeps the table's schema: it resumes in a plain process
        let p = try CLI.run(["train", "--resume", "--out", two, "--data", csv, "--epochs", "4", "--threads", "1", "--no-report"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(try metricsWithoutTimes(two).map { $0["epoch"]! }, [1, 2, 3, 4])
        // ranks that read the table otherwise (another --ignore) are told so in the table's words (it
        // was "another value of --image-size or --channels (the item's shape) (model inputShape)")
        let four = tempRunDir("mpi-t4")
        let split = try MPIRun.runTwoCommandLines(args(four), args(four, ["--ignore", "id_x"]))
        XCTAssertNotEqual(split.status, 0)
        XCTAssertTrue(split.stderr.contains("rank 1 of 2 reads other data than rank 0 — another file, or another --label, --ignore or --test-fraction"),
                      split.stderr.replacingOccurrences(of: "\n", with: " | "))
        // another file on one rank: said to be other data (it was "another value of --batch", which
        // neither rank gave: a table's batch follows its rows)
        let short = csv + ".short.csv"
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        try AtomicFile.write(lines.prefix(150).joined(separator: "\n") + "\n", to: short)
        defer { try? FileManager.default.removeItem(atPath: short) }
        func plain(_ data: String) -> [String] { ["train", "--data", data, "--label", "kind", "--epochs", "1", "--threads", "1", "--no-report", "--out", four + "-b"] }
        let other = try MPIRun.runTwoCommandLines(plain(csv), plain(short))
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("rank 1 of 2 reads other data than rank 0 — another file"), other.stderr.replacingOccurrences(of: "\n", with: " | "))
    }

    func testConditionalDenoisingModelMatchesOneProcess() throws {
        _ = try MPIRun.require()
        let data = try TinyData.make(train: 200, test: 50)
        defer { try? FileManager.default.removeItem(atPath: data) }
        // the corruption draws from the training stream: each rank must draw the whole batch's
        func args(_ out: String) -> [String] {
            ["train", "--data", data, "--conditional", "--corrupt", "gaussian:0.2", "--epochs", "2", "--latent", "3",
             "--hidden", "32", "--batch", "25", "--seed", "9", "--threads", "1", "--no-report", "--out", out]
        }
        let one = tempRunDir("mpi-c1"), two = tempRunDir("mpi-c2")
        let r1 = try CLI.run(args(one))
        XCTAssertEqual(r1.status, 0, r1.stderr)
        let r2 = try MPIRun.run(args(two))
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("2 MPI ranks"), r2.stderr)
        XCTAssertGreaterThan(try Checkpoint.load(two).model.config.conditionSize, 0)
        try compareLosses(one, two, epochs: 2)
    }
}
