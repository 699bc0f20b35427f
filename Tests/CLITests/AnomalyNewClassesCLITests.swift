import Foundation
import XCTest
import VAEKit
import VAEViz

/// `vae anomaly` on items of classes the model never saw: every item is scored in file order, the
/// new labels are named and count as not normal; a conditional model refuses with the reason.
final class AnomalyNewClassesCLITests: XCTestCase {
    /// A table of `normal` rows near the origin and `odd` rows far from it (label column `kind`).
    func writeTable(normal: Int, odd: Int, seed: UInt64) throws -> String {
        var rng = RNG(seed: seed)
        var lines = ["a,b,c,kind"]
        for i in 0..<(normal + odd) {
            let far = i % (normal + odd) >= normal
            let shift: Float = far ? 4 : 0
            let row = (0..<3).map { _ in String(format: "%.3f", rng.normal() + shift) }
            lines.append(row.joined(separator: ",") + (far ? ",malignant" : ",benign"))
        }
        // file order interleaved so that "in file order" is checked: odd rows are not all at the end
        let header = lines.removeFirst()
        var shuffled: [String] = []
        for (i, l) in lines.enumerated() { if i % 2 == 0 { shuffled.append(l) } else { shuffled.insert(l, at: 0) } }
        let path = tempRunDir("anomtable") + ".csv"
        try AtomicFile.write(([header] + shuffled).joined(separator: "\n") + "\n", to: path)
        return path
    }

    func testTableRowsOfANewClassAreScored() throws {
        let trainCSV = try writeTable(normal: 200, odd: 0, seed: 1)
        let newCSV = try writeTable(normal: 40, odd: 30, seed: 2)
        let run = tempRunDir("anomnew")
        var r = try CLI.run(["train", "--data", trainCSV, "--label", "kind", "--epochs", "20", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).table?.schema.classNames, ["benign"])

        let scores = run + "/scores.csv"
        r = try CLI.run(["anomaly", run, "--data", newCSV, "--out", scores])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("30 of 70 items have labels the model never saw (they count as not normal): malignant (30)"), r.stdout)
        let aucLine = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("ROC-AUC") }, r.stdout)
        XCTAssertTrue(aucLine.contains("anomalous = labels the model did not train on; normal: benign"), String(aucLine))
        XCTAssertTrue(aucLine.contains("(40 normal, 30 anomalous)"), String(aucLine))
        let auc = try XCTUnwrap(Double(aucLine.split(separator: ":")[2].split(separator: " ")[0]), String(aucLine))
        XCTAssertGreaterThan(auc, 0.9, "rows shifted by 4σ are not told apart: \(aucLine)")

        // every row, in file order, with its label
        let csvLines = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n")
        let fileLabels = try String(contentsOfFile: newCSV, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").last! }
        XCTAssertEqual(csvLines.count - 1, 70)
        XCTAssertEqual(csvLines.dropFirst().map { Int($0.split(separator: ",")[0])! }, Array(1...70))
        XCTAssertEqual(csvLines.dropFirst().map { $0.split(separator: ",")[1] }, fileLabels)

        // the user can still say which classes are normal; the new one by its name
        r = try CLI.run(["anomaly", run, "--data", newCSV, "--normal", "benign"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("ROC-AUC (anomalous = labels not in benign): "), r.stdout)
        r = try CLI.run(["anomaly", run, "--data", newCSV, "--normal", "malignant"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(30 normal, 40 anomalous)"), r.stdout)
        // and then the unseen labels do not "count as not normal" (the line contradicted the AUC's counts)
        XCTAssertTrue(r.stdout.contains("30 of 70 items have labels the model never saw (--normal names the normal ones among the data's labels)"), r.stdout)
    }

    func testAConditionalModelRefusesANewClassSayingWhy() throws {
        let trainCSV = try writeTable(normal: 100, odd: 0, seed: 3)
        let newCSV = try writeTable(normal: 10, odd: 10, seed: 4)
        let run = tempRunDir("anomcond")
        var r = try CLI.run(["train", "--data", trainCSV, "--label", "kind", "--conditional", "--epochs", "2", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        for command in [["anomaly", run, "--data", newCSV], ["encode", run, "--data", newCSV], ["impute", run, "--data", newCSV, "--out", run + "/filled.csv"]] {
            r = try CLI.run(command)
            XCTAssertEqual(r.status, 1, "\(command[0]): \(r.stderr)")
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(newCSV) has labels the model never saw ('malignant'); this model is conditional"), r.stderr)
        }
    }

    /// An image folder with a class folder that was not in training.
    func testImageFolderWithANewClassFolder() throws {
        let base = NSTemporaryDirectory() + "vae-cli-anomimages-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: base) }
        func folder(_ dir: String, classes: [(String, UInt8)], count: Int) throws {
            for (name, level) in classes {
                try FileManager.default.createDirectory(atPath: "\(dir)/\(name)", withIntermediateDirectories: true)
                for i in 0..<count {
                    var px: [UInt8] = []
                    for y in 0..<8 { for x in 0..<8 { px.append(level == 0 ? UInt8((x * 16 + y * 4 + i) % 64) : UInt8(255 - (x * y + i) % 32)) } }
                    try Data(PNG.encode(width: 8, height: 8, channels: 1, pixels: px)).write(to: URL(fileURLWithPath: "\(dir)/\(name)/\(i).png"))
                }
            }
        }
        try folder(base + "/train", classes: [("dark", 0), ("dim", 0)], count: 30)
        try folder(base + "/new", classes: [("bright", 1), ("dark", 0)], count: 10)
        let env = ["XDG_CACHE_HOME": base + "/cache"]
        let run = base + "/run"
        var r = try CLI.run(["train", "--data", base + "/train", "--epochs", "15", "--latent", "2", "--hidden", "16", "--batch", "16",
                             "--no-report", "--out", run], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["anomaly", run, "--data", base + "/new", "--out", run + "/s.csv"], env: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        // the folder's split holds out a tenth of each class: 1 bright and 1 dark image are scored
        XCTAssertTrue(r.stdout.contains("items have labels the model never saw (they count as not normal): bright ("), r.stdout)
        let aucLine = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("ROC-AUC") }, r.stdout)
        XCTAssertTrue(aucLine.contains("normal: dark"), String(aucLine))
        let rows = try String(contentsOfFile: run + "/s.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(Set(rows.map { String($0.split(separator: ",")[2]) }), ["bright", "dark"])
        // each image named by its file in the new folder, beside its index
        XCTAssertTrue(rows.allSatisfy { r in let f = r.split(separator: ","); return f[1].hasPrefix(f[2] + "/") && AtomicFile.exists(base + "/new/" + f[1]) }, "\(rows)")
    }
}
