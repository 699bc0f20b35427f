import Foundation
import XCTest
import VAEKit

/// A CSV table end to end: train, encode, anomaly scores, imputation — files the test writes.
final class TableCLITests: XCTestCase {
    /// 240 rows: x, y = 2x + noise, a colour that follows x, a kind label; every 7th x and every
    /// 11th colour missing.
    func writeTable() throws -> (path: String, lines: [String]) {
        var rng = RNG(seed: 5)
        var lines = ["id,x,y,colour,kind"]
        for i in 0..<240 {
            let x = Double(rng.normal()) * 3 + 10
            let y = 2 * x + Double(rng.normal()) * 0.5
            let colour = x > 11 ? "red" : (x > 9 ? "green" : "blue")
            let kind = i % 3 == 0 ? "odd" : "even"
            lines.append("r\(i),\(i % 7 == 3 ? "" : String(format: "%.2f", x)),\(String(format: "%.3f", y)),\(i % 11 == 5 ? "NA" : colour),\(kind)")
        }
        let path = tempRunDir("table") + ".csv"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        return (path, lines)
    }

    /// A table whose reading and encoding would pass a process memory limit is one line once its
    /// first rows give its size (a 300 MB file under `ulimit -v 4000000` crashed on a failed
    /// 2.2 GB allocation).
    func testTablePastTheMemoryLimitIsOneLine() throws {
        let path = tempRunDir("memtable") + ".csv"
        var text = [UInt8]("a,b\n".utf8)
        text.reserveCapacity(11_000_000)
        for i in 0..<1_500_000 { text += Array("\(i % 97).5,\(i % 13)\n".utf8) }
        try AtomicFile.write(text, to: path)
        let r = try CLI.shell("ulimit -v 150000; exec '\(CLI.binary)' train --data '\(path)' --epochs 0 --out '\(tempRunDir("memrun"))'")
        let said = r.stderr
        XCTAssertTrue(r.exited, said)
        XCTAssertEqual(r.status, 1, said)
        XCTAssertTrue(said.contains("rows of 2 columns need about") && said.contains("more than the process limit's (ulimit -v)"), said)
        // a wide table of few rows is checked too (under 1,000 rows it was not, and crashed)
        let wide = tempRunDir("memwide") + ".csv"
        let row = Array(repeating: "1", count: 8000).joined(separator: ",") + "\n"
        try AtomicFile.write(Array(((0..<8000).map { "c\($0)" }.joined(separator: ",") + "\n" + String(repeating: row, count: 500)).utf8), to: wide)
        let w = try CLI.shell("ulimit -v 150000; exec '\(CLI.binary)' train --data '\(wide)' --epochs 0 --out '\(tempRunDir("memwiderun"))'")
        XCTAssertTrue(w.exited, w.stderr)
        XCTAssertEqual(w.status, 1, w.stderr)
        XCTAssertTrue(w.stderr.contains("rows of 8000 columns need about"), w.stderr)
    }

    /// A wide table's run describes its 4,000 columns in more than a megabyte of config.json: it
    /// reads back (it was written, then refused by every command as too large).
    /// `--data -` reads standard input; a run trained so records it, and a later command that would
    /// read it again (it is gone) asks for --data instead of reading the terminal or nothing.
    func testStandardInputAsData() throws {
        let (path, _) = try writeTable()
        let run = tempRunDir("stdin")
        // vae ARGS < file: its exit status and stderr
        func withInput(_ args: [String], from file: String) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            // a pipe, as `cat t.csv | vae train --data -` gives (a redirect reopens a file: bytes read
            // ahead of the table reader, the IDX check's, were lost only from a pipe)
            p.arguments = ["-c", "f=$1; shift; cat \"$f\" | \"$0\" \"$@\"", CLI.binary, file] + args
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, stderr)
        }
        let t = try withInput(["train", "--data", "-", "--label", "kind", "--ignore", "id", "--epochs", "1", "--no-report", "--out", run], from: path)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("data: table /dev/stdin"), t.stderr)
        let again = try CLI.run(["anomaly", run])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("the run's data was"), again.stderr)
        XCTAssertTrue(again.stderr.contains("which cannot be read again: pass --data"), again.stderr)
        // what the message asks for — the table the run read from the pipe — is new data (every row
        // scored), and a note says the rows it trained on are among them (it said nothing)
        let a = try CLI.run(["anomaly", run, "--data", path])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("scored 240 items"), a.stdout)
        XCTAssertTrue(a.stderr.contains("holds the table the run trained on (the same columns, levels and training statistics): all 240 rows are read as new data, the 192 it trained on among them"), a.stderr)
        // impute reads its table from standard input the same way (it was "cannot read -")
        let filled = run + "/filled.csv"
        let i = try withInput(["impute", run, "--data", "-", "--out", filled, "--iterations", "2", "--chains", "2"], from: path)
        XCTAssertEqual(i.status, 0, i.stderr)
        let lines = { (p: String) in try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").count }
        XCTAssertEqual(try lines(filled), try lines(path))
    }

    func testWideTableRunReadsBack() throws {
        var rng = RNG(seed: 2)
        let n = 4000
        var lines = [(0..<n).map { "column_\($0)" }.joined(separator: ",")]
        for _ in 0..<30 { lines.append((0..<n).map { _ in String(format: "%.4f", rng.uniform()) }.joined(separator: ",")) }
        let path = tempRunDir("wide") + ".csv", run = tempRunDir("widerun")
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        let t = try CLI.run(["train", "--data", path, "--epochs", "1", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertGreaterThan(try AtomicFile.readAll(path: run + "/config.json", maxBytes: 1 << 26).count, 1 << 20)
        let info = try CLI.run(["info", run])
        XCTAssertEqual(info.status, 0, info.stderr)
        let resume = try CLI.run(["train", "--data", path, "--epochs", "2", "--out", run, "--no-report", "--resume"])
        XCTAssertEqual(resume.status, 0, resume.stderr)
    }

    func testTrainEncodeAnomalyImpute() throws {
        let (path, lines) = try writeTable()
        let run = tempRunDir("tablerun")
        let t = try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "5", "--out", run])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("2 numeric and 1 text columns (5 encoded), label kind with 2 classes"), t.stderr)
        XCTAssertTrue(t.stdout.contains(" rows/s"), "a table run counts rows: \(t.stdout)")
        let loaded = try Checkpoint.load(run)
        let groups = try XCTUnwrap(loaded.model.config.groups)
        XCTAssertEqual(groups.map(\.kind), [.gaussianHeteroscedastic, .categorical])
        XCTAssertEqual(groups.map(\.width), [2, 3])
        XCTAssertEqual(groups.map(\.name), ["x,y", "colour"])
        // each column's smallest σ is the larger of its recording step's (step/√12, standardised) and
        // 1/√n for the n = 192 training rows: x (2 decimals) and y (3 decimals) have steps far finer
        // than 1/√192, so both floors are −½ log 192
        let floors = try XCTUnwrap(groups[0].logSigmaFloor)
        let schema = try XCTUnwrap(loaded.table).schema
        guard case .numeric(_, let sx) = schema.columns[0].kind, case .numeric(_, let sy) = schema.columns[1].kind else { return XCTFail("not numeric") }
        XCTAssertLessThan(Foundation.log(0.01 / sx / 12.0.squareRoot()), -3)
        XCTAssertLessThan(Foundation.log(0.001 / sy / 12.0.squareRoot()), -3)
        XCTAssertEqual(Double(floors[0]), -0.5 * Foundation.log(192.0), accuracy: 1e-5)
        XCTAssertEqual(Double(floors[1]), -0.5 * Foundation.log(192.0), accuracy: 1e-5)
        XCTAssertNil(groups[1].logSigmaFloor)
        XCTAssertEqual(loaded.table?.schema.columns.map(\.name), ["x", "y", "colour"])
        let report = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(report.contains("Reconstruction error per column"), "the table report has no column errors")
        XCTAssertTrue(report.contains("x (RMSE)"))

        // encode: one row per test row, ids are the file's data row numbers
        let enc = run + "/latents.csv"
        let e = try CLI.run(["encode", run, "--out", enc])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rows = try String(contentsOfFile: enc, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count - 1, 48)   // 20% of 240
        let firstID = Int(rows[1].split(separator: ",")[1])!
        XCTAssertTrue((1...240).contains(firstID))
        // the ignored id column rides along, as the file has it (under a name of its own beside
        // SwiftVAE's row number), so that a row's code joins back to the user's own records
        XCTAssertEqual(rows[0], "split,id,id_column,label,mu1,mu2,sigma1,sigma2")
        for row in rows.dropFirst() {
            let f = row.split(separator: ",")
            XCTAssertEqual(f[2], "r\(Int(f[1])! - 1)", String(row))
        }
        XCTAssertTrue(["odd", "even"].contains(String(rows[1].split(separator: ",")[3])))

        // anomaly scores: the run's own file gives its test rows; another file all its rows (stored schema)
        let scores = run + "/scores.csv"
        let a = try CLI.run(["anomaly", run, "--data", path, "--normal", "0", "--out", scores])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("ROC-AUC"), a.stdout)
        // classes by name (the label's values, as in the legend) give the same numbers as by index
        let byName = try CLI.run(["anomaly", run, "--data", path, "--normal", "even", "--out", scores])
        XCTAssertEqual(byName.status, 0, byName.stderr)
        let auc = { (s: String) in s.split(separator: "\n").first { $0.hasPrefix("ROC-AUC") }?.split(separator: ":").last }
        XCTAssertNotNil(auc(a.stdout))
        XCTAssertEqual(auc(byName.stdout), auc(a.stdout))
        let unknown = try CLI.run(["anomaly", run, "--data", path, "--normal", "even,banana"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("\"banana\" is not a class of the data; its classes are 0 even, 1 odd"), unknown.stderr)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
        let scored = try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(scored.count, 49)
        XCTAssertEqual(scored[0], "id,id_column,label,score")
        for row in scored.dropFirst() {
            let f = row.split(separator: ",")
            XCTAssertEqual(f[1], "r\(Int(f[0])! - 1)", String(row))
        }
        // and on the console, beside each of the top items
        let top = try XCTUnwrap(byName.stdout.split(separator: "\n").first { $0.hasPrefix("rank") })
        XCTAssertTrue(top.contains("id_column"), String(top))
        let copy = tempRunDir("new") + ".csv"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let n = try CLI.run(["anomaly", run, "--data", copy, "--out", scores])
        XCTAssertEqual(n.status, 0, n.stderr)
        XCTAssertEqual(try String(contentsOfFile: scores, encoding: .utf8).split(separator: "\n").count, 241)
        XCTAssertTrue(n.stderr.contains("the 192 it trained on among them (the run's own file, \(path), is read as it split it: its 48 test rows)"), n.stderr)

        // the input (or the run's own table) is never the output: it would be overwritten
        for target in [path, copy] {
            let over = try CLI.run(["impute", run, "--data", copy, "--out", target, "--iterations", "1"])
            XCTAssertEqual(over.status, 1, over.stderr)
            XCTAssertTrue(over.stderr.contains(target == path ? "is the data the run in \(run) trained on" : "is the input file"), over.stderr)
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), lines.joined(separator: "\n") + "\n")
        // the picture commands draw images: a table run is refused before any work, as is a
        // picture under another name
        for args in [["sample", run], ["reconstruct", run], ["manifold", run], ["interpolate", run, "--from", "0", "--to", "1"],
                     ["denoise", run], ["inpaint", run, "--mask", "top"]] {
            let r = try CLI.run(args + ["--out", run + "/pic.png"])
            XCTAssertEqual(r.status, 2, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("draws images, and this is a table run"), r.stderr)
        }
        XCTAssertFalse(AtomicFile.exists(run + "/pic.png"))
        // --binarize is for images: on a table's standardised numbers it changed nothing while the
        // output said "binarized"
        // an --out that is a file the command reads, by any path: refused before any work, the file kept
        let model = try AtomicFile.readAll(path: run + "/model.safetensors", maxBytes: 1 << 26), table = try AtomicFile.readAll(path: path, maxBytes: 1 << 26)
        for (args, what) in [(["encode", run, "--out", run + "/../" + AtomicFile.split(run).name + "/model.safetensors"], "the run's model.safetensors"),
                             (["anomaly", run, "--out", run + "/config.json"], "the run's config.json"),
                             (["encode", run, "--data", path, "--out", path], "the --data file"),
                             (["smiles", path, "--out", path], "the file checked")] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: --out \(args.last!) is \(what), which this command reads: write to another file"), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args): worked before refusing")
        }
        XCTAssertEqual(try AtomicFile.readAll(path: run + "/model.safetensors", maxBytes: 1 << 26), model)
        XCTAssertEqual(try AtomicFile.readAll(path: path, maxBytes: 1 << 26), table)
        let bin = try CLI.run(["evaluate", run, "--binarize", "true"])
        XCTAssertEqual(bin.status, 2, bin.stderr)
        XCTAssertTrue(bin.stderr.contains("--binarize is for image runs; \(run) is a table run"), bin.stderr)
        let txt = try CLI.run(["anomaly", run, "--out", run + "/scores.txt"])
        XCTAssertEqual(txt.status, 2)
        XCTAssertTrue(txt.stderr.contains("scores go to a .csv file"), txt.stderr)
        XCTAssertEqual(txt.stdout, "", "scored before refusing the file name")

        // impute: missing cells filled in the user's units, every other cell unchanged
        let filled = run + "/filled.csv"
        let i = try CLI.run(["impute", run, "--data", path, "--out", filled, "--iterations", "5", "--chains", "2"])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertTrue(i.stdout.contains("filled 56 missing cells of 240 rows"), i.stdout)   // 35 x + 21 colour
        let out = try String(contentsOfFile: filled, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(out.count, lines.count + 1)
        for (k, line) in lines.enumerated() {
            let before = line.split(separator: ",", omittingEmptySubsequences: false), after = out[k].split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(before.count, after.count)
            for c in 0..<before.count where !(before[c].isEmpty || before[c] == "NA") {
                XCTAssertEqual(before[c], after[c], "row \(k) column \(c) changed")
            }
            if k > 0 && before[1].isEmpty {
                let x = try XCTUnwrap(Double(after[1]), "x of row \(k) not filled: \(after[1])")
                XCTAssertTrue((-10...30).contains(x), "x = \(x)")
            }
            if k > 0 && before[3] == "NA" { XCTAssertTrue(["red", "green", "blue"].contains(after[3]), "colour \(after[3])") }
        }
        // a row is filled the same alone, among others and twice: its draws are its own (three copies
        // of a row were filled 4.8, 4.7, 4.7, and a row's fill changed with its neighbours)
        let few = run + "/few.csv", alone = run + "/alone.csv"
        let hole = try XCTUnwrap(lines.firstIndex { $0.split(separator: ",", omittingEmptySubsequences: false)[1].isEmpty })
        try AtomicFile.write([lines[0], lines[hole + 1], lines[hole], lines[hole + 2], lines[hole]].joined(separator: "\n") + "\n", to: few)
        try AtomicFile.write([lines[0], lines[hole]].joined(separator: "\n") + "\n", to: alone)
        var fills: [String] = []
        for (input, rows) in [(few, [2, 4]), (alone, [1])] {
            let o = input + ".out"
            let r = try CLI.run(["impute", run, "--data", input, "--out", o, "--iterations", "5", "--chains", "2"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try String(contentsOfFile: o, encoding: .utf8).split(separator: "\n").map(String.init)
            fills += rows.map { got[$0] }
        }
        XCTAssertEqual(Set(fills).count, 1, "\(fills)")
        XCTAssertTrue(fills[0].hasPrefix(lines[hole].split(separator: ",")[0] + ","), fills[0])
        XCTAssertEqual(fills[0], out[hole], "filled otherwise within the whole file")

        // encode: a row far outside the training rows' range gets no code (it got μ 1e22, σ 0.0)
        let far = run + "/far.csv"
        let xs = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        try AtomicFile.write([lines[0], lines[2], ([xs[0], "1e22"] + xs.dropFirst(2)).joined(separator: ","), lines[3]].joined(separator: "\n") + "\n", to: far)
        let farCodes = run + "/far-codes.csv"
        let fe = try CLI.run(["encode", run, "--data", far, "--out", farCodes])
        XCTAssertEqual(fe.status, 0, fe.stderr)
        XCTAssertTrue(fe.stderr.contains("note: 1 row (2) written with empty μ and σ: a value of the row lies far outside the training rows' range"), fe.stderr)
        let codes = try String(contentsOfFile: farCodes, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(codes.count, 4)
        XCTAssertEqual(codes[2].suffix(4), ["", "", "", ""], "\(codes[2])")
        XCTAssertTrue(codes[1].suffix(4).allSatisfy { Float($0) != nil } && codes[3].suffix(4).allSatisfy { Float($0) != nil })

        // a .gz name is gzipped by every command that writes CSV (encode wrote plain text under it,
        // anomaly refused it)
        for (args, plain) in [(["encode", run, "--data", far], farCodes), (["anomaly", run, "--data", far], run + "/far-scores.csv")] {
            if args[0] == "anomaly" { XCTAssertEqual(try CLI.run(args + ["--out", plain]).status, 0) }
            let gz = plain + ".gz"
            let r = try CLI.run(args + ["--out", gz])
            XCTAssertEqual(r.status, 0, r.stderr)
            let bytes = try AtomicFile.readAll(path: gz, maxBytes: 1 << 20)
            XCTAssertTrue(Gzip.isGzip(bytes), args[0])
            XCTAssertEqual(try Gzip.decompress(bytes, maxOutput: 1 << 20), try AtomicFile.readAll(path: plain, maxBytes: 1 << 20), args[0])
        }
        // the run's --label and --ignore are taken by impute as by the other commands; others refused
        XCTAssertEqual(try CLI.run(["impute", run, "--data", alone, "--out", alone + ".2", "--label", "kind", "--ignore", "id", "--iterations", "5", "--chains", "2"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: alone + ".2", encoding: .utf8), try String(contentsOfFile: alone + ".out", encoding: .utf8))
        let otherLabel = try CLI.run(["impute", run, "--data", alone, "--out", alone + ".3", "--label", "colour"])
        XCTAssertEqual(otherLabel.status, 2, otherLabel.stderr)
        XCTAssertTrue(otherLabel.stderr.contains("--label is fixed by the run's table"), otherLabel.stderr)
        for ignore in ["", "id,"] {
            let r = try CLI.run(["encode", run, "--ignore", ignore])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("--ignore takes column names separated by commas, and '\(ignore)' has an empty one"), r.stderr)
        }
        // - writes standard output: the CSV alone there, the summary on stderr (it was the CSV's last
        // line, and - made a file of that name); vae anomaly, whose summary is on stdout, refuses it
        let toStdout = try CLI.run(["encode", run, "--data", far, "--out", "-"])
        XCTAssertEqual(toStdout.status, 0, toStdout.stderr)
        XCTAssertEqual(toStdout.stdout, try String(contentsOfFile: farCodes, encoding: .utf8))
        XCTAssertTrue(toStdout.stderr.contains("wrote /dev/stdout (3 items, latent 2)"), toStdout.stderr)
        let filledOut = try CLI.run(["impute", run, "--data", alone, "--out", "-", "--iterations", "5", "--chains", "2"])
        XCTAssertEqual(filledOut.status, 0, filledOut.stderr)
        XCTAssertEqual(filledOut.stdout, try String(contentsOfFile: alone + ".out", encoding: .utf8))
        let scoresOut = try CLI.run(["anomaly", run, "--out", "-"])
        XCTAssertEqual(scoresOut.status, 2, scoresOut.stderr)
        XCTAssertTrue(scoresOut.stderr.contains("vae anomaly prints its summary on standard output"), scoresOut.stderr)
        // a folder given to a table run is said to be one (it was read as images: "the images differ in size")
        for args in [["encode", run, "--data", AtomicFile.split(run).directory], ["impute", run, "--data", AtomicFile.split(run).directory, "--out", run + "/f.csv"]] {
            let folder = try CLI.run(args)
            XCTAssertEqual(folder.status, 1, folder.stderr)
            XCTAssertTrue(folder.stderr.contains("is a folder, and the run was trained on a CSV table: pass --data FILE.csv"), folder.stderr)
        }
    }

    /// A table run whose file has moved: the advice says what a copy given with --data is (new data,
    /// every row scored) — it said "pass --data … with the data it was trained on", which then read
    /// the training rows as new test rows without that being said up front.
    func testMovedTableAdviceSaysACopyIsNewData() throws {
        let (path, _) = try writeTable()
        let run = tempRunDir("movedtable")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved.csv")
        let r = try CLI.run(["encode", run])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("is not here") && r.stderr.contains("pass --data FILE.csv with that table — a copy elsewhere is read as new data (all its rows"), r.stderr)
    }

    /// A row with every cell missing scores about 0 nats — the most normal of all — for there is
    /// nothing to explain: a note says so (it was ranked last without a word).
    func testRowsWithNothingObservedAreNoted() throws {
        let (path, lines) = try writeTable()
        let run = tempRunDir("emptyrow")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: run) }
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let new = run + "-new.csv"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: new) }
        try AtomicFile.write([lines[0], lines[1], "r900,,,,", lines[2]].joined(separator: "\n") + "\n", to: new)
        let r = try CLI.run(["anomaly", run, "--data", new])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: 1 row of \(new) has no observed cell (id 2): its score says nothing"), r.stderr)
    }

    /// The run's own file by another path (absolute, `./`, from another folder) is still split as in
    /// training; the threshold of --threshold-quantile comes from the run's test rows (which it did
    /// not train on) also when --data is a new file; a scored row without a label has no class (it
    /// crashed the ranking).
    func testRunsOwnFileByAnyPathAndTheThresholdFromItsTestRows() throws {
        let (path, lines) = try writeTable()
        let home = tempRunDir("tablehome"), elsewhere = tempRunDir("elsewhere")
        for d in [home, elsewhere] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: path, toPath: home + "/t.csv")
        let t = try CLI.run(["train", "--data", "t.csv", "--label", "kind", "--ignore", "id", "--epochs", "1", "--out", "run", "--no-report"], cwd: home)
        XCTAssertEqual(t.status, 0, t.stderr)
        let scored = { (r: CLI.Result) in r.stdout.split(separator: "\n").first { $0.hasPrefix("scored ") }.map(String.init) ?? r.stdout }
        for (args, cwd) in [(["anomaly", "run", "--data", "./t.csv"], home),
                            (["anomaly", home + "/run", "--data", home + "/t.csv"], elsewhere),
                            (["anomaly", home + "/run"], elsewhere)] {   // the recorded "t.csv" is not in `elsewhere`
            let a = try CLI.run(args, cwd: cwd)
            XCTAssertEqual(a.status, 0, a.stderr)
            XCTAssertTrue(scored(a).hasPrefix("scored 48 items of t.csv"), "\(args) from \(cwd): \(scored(a))")
        }
        // a new file of 20 rows, the last without a label: its threshold is the run's test rows' quantile
        var new = Array(lines.prefix(20))
        new.append("r999,10.00,90.000,green,")   // y far from 2x: the top score, no label
        try AtomicFile.write(new.joined(separator: "\n") + "\n", to: elsewhere + "/new.csv")
        let q = try CLI.run(["anomaly", home + "/run", "--data", "new.csv", "--threshold-quantile", "0.9", "--top", "40"], cwd: elsewhere)
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(q.stdout.contains("(the 0.9 quantile of the run's 48 test items, which it did not train on)"), q.stdout)
        XCTAssertTrue(q.stderr.contains("note: the threshold rests on 48 test items: its quantile is coarse"), q.stderr)
        // the run's own rows scored: its test rows (the same noise per row), so the threshold flags 1 − q of them
        let own = try CLI.run(["anomaly", home + "/run", "--threshold-quantile", "0.75"], cwd: home)
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("; 12 of 48 items above it"), own.stdout)   // between the 36th and 37th of 48: 1 − q of them
        // the same scores' 0.75 quantile in the summary line and as the threshold: one definition
        let summary = try XCTUnwrap(own.stdout.split(separator: "\n").first { $0.hasPrefix("scored") })
        let threshold = try XCTUnwrap(own.stdout.split(separator: "\n").first { $0.hasPrefix("threshold:") })
        XCTAssertNotNil(summary.range(of: "median"), String(summary))
        XCTAssertNotNil(threshold.range(of: "nats (the 0.75 quantile"), String(threshold))
        let table = q.stdout.split(separator: "\n").drop { !$0.hasPrefix("rank") }
        XCTAssertEqual(table.count, 11, q.stdout)   // the header and the top 10
        XCTAssertEqual(Set(table.map { $0.count }).count, 1, "the columns line up: \(table)")
        XCTAssertTrue(table.contains { $0.contains("  -  ") }, "the row without a label: \(table)")
        // with the run's file gone from both of its paths, no threshold can be read: one line, before the work
        try FileManager.default.removeItem(atPath: home + "/t.csv")
        let gone = try CLI.run(["anomaly", home + "/run", "--data", "new.csv", "--threshold-quantile", "0.9"], cwd: elsewhere)
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.stderr.contains("--threshold-quantile reads its threshold from the run's test items, and the run's data t.csv is not here"), gone.stderr)
        XCTAssertFalse(gone.stdout.contains("scored"), gone.stdout)
    }

    /// Labels written as floats (1.0, 2.0, 3.0: pandas writes a column that held a NaN so): --classes 1
    /// is the class of value 1, not index 1 (it trained on "2.0").
    func testNumbersNameLabelsOfThatValue() throws {
        var rng = RNG(seed: 3)
        var lines = ["x,y,kind"]
        for i in 0..<90 { lines.append(String(format: "%.3f,%.3f,%d.0", Double(rng.normal()), Double(rng.normal()), i % 3 + 1)) }
        let path = tempRunDir("floatlabels") + ".csv"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("floatlabels-run")
        let r = try CLI.run(["train", "--data", path, "--label", "kind", "--classes", "1", "--epochs", "1", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("training on classes 1.0 only"), r.stderr)
        // the report names such classes by their values ("labels 0 1.0" read as two classes)
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("The model was trained on class 1.0 only"), "the anomaly section names the normal class")
        XCTAssertFalse(html.contains("0 1.0"))
    }

    /// The table a run trained on is one of the inputs of every command on the run: `vae encode`
    /// and `vae anomaly --out` naming it (by any path) are refused before any work — they replaced
    /// it with their CSV and exited 0, and the run could read its data no more.
    func testOutputsDoNotReplaceTheRunsTable() throws {
        let (path, _) = try writeTable()
        let run = tempRunDir("ownfile")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "1", "--out", run, "--no-report"]).status, 0)
        let before = try AtomicFile.readAll(path: path, maxBytes: 1 << 20)
        let link = tempRunDir("ownfile-link") + ".csv"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        for args in [["encode", run, "--out", path], ["anomaly", run, "--out", link]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init),
                           "error: --out \(args[3]) is the data the run in \(run) trained on, which this command reads: write to another file", args[0])
        }
        XCTAssertEqual(try AtomicFile.readAll(path: path, maxBytes: 1 << 20), before)
    }

    /// A table run's schema travels in model.safetensors: a folder holding that file alone
    /// exports to a copy that still reads the table (the export dropped the schema, exit 0, and the
    /// copy then took the table for images of the wrong size).
    func testExportOfAWeightsFileAloneKeepsTheSchema() throws {
        let (path, _) = try writeTable()
        let run = tempRunDir("schema"), solo = tempRunDir("schema-solo"), exported = tempRunDir("schema-export")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "1", "--out", run, "--no-report"]).status, 0)
        try FileManager.default.createDirectory(atPath: solo, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: run + "/model.safetensors", toPath: solo + "/model.safetensors")
        XCTAssertEqual(try CLI.run(["export", solo, "--out", exported]).status, 0)
        XCTAssertNotNil(try Checkpoint.load(exported).table)
        let e = try CLI.run(["evaluate", exported, "--data", path, "--iwae", "0"])
        XCTAssertEqual(e.status, 0, e.stderr)
    }

    /// An ignored cell with a line break of its own is one row of the console's top list (its break
    /// as \n; it printed across two lines); the CSV keeps it whole, quoted.
    func testMultiLineKeyIsOneConsoleRow() throws {
        let (_, lines) = try writeTable()
        let path = tempRunDir("multikey") + ".csv"
        let rows = [lines[0]] + lines.dropFirst().map { l -> String in
            let c = l.split(separator: ",", omittingEmptySubsequences: false)
            return "\"\(c[0])\nsecond line\"," + c.dropFirst().joined(separator: ",")
        }
        try AtomicFile.write(rows.joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("multikeyrun")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--ignore", "id", "--epochs", "1", "--out", run, "--no-report"]).status, 0)
        let a = try CLI.run(["anomaly", run, "--top", "5", "--out", run + "/s.csv"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let ranked = a.stdout.split(separator: "\n").drop { !$0.hasPrefix("rank") }.dropFirst()
        XCTAssertEqual(ranked.count, 5, a.stdout)
        XCTAssertTrue(ranked.allSatisfy { $0.contains("\\nsecond") }, a.stdout)
        XCTAssertTrue(try String(contentsOfFile: run + "/s.csv", encoding: .utf8).contains("\nsecond line\""))
    }

    /// A file without a column the run --ignore'd (its ids, written beside each row) is read, and
    /// a note says the rows are written without it (it was left out of the output without a word);
    /// an unnamed column, named by its place in training, is pointed at.
    func testMissingIgnoredColumnIsNoted() throws {
        let (_, lines) = try writeTable()
        // the first column's name left empty (a pandas index): named "column 1" in training
        let path = tempRunDir("unnamed") + ".csv"
        try AtomicFile.write(([String](["," + lines[0].dropFirst(3)]) + lines.dropFirst()).joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("unnamedrun")
        let t = try CLI.run(["train", "--data", path, "--ignore", "column 1", "--epochs", "1", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        // the same file with that column last: its place, and so its name, is another
        let moved = tempRunDir("moved") + ".csv"
        let rows = ([String](["," + lines[0].dropFirst(3)]) + lines.dropFirst()).prefix(20).map { l -> String in
            var c = l.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            c.append(c.removeFirst())
            return c.joined(separator: ",")
        }
        try AtomicFile.write(rows.joined(separator: "\n") + "\n", to: moved)
        let e = try CLI.run(["encode", run, "--data", moved, "--out", moved + ".z.csv"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.contains("note: \(moved) has no column 'column 1', which the run ignored in training and its commands write beside each row: the rows are written without it (a column with an empty name in the header is named by its place: give it a name in both files)"), e.stderr)
        // the run's own file: its ids there, no note
        let own = try CLI.run(["encode", run, "--out", run + "/z.csv"])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertFalse(own.stderr.contains("has no column"), own.stderr)
        XCTAssertTrue(try String(contentsOfFile: run + "/z.csv", encoding: .utf8).hasPrefix("split,id,column 1,"))
    }

    /// A conditional model reads every row with its label: a row whose label cell is empty is named
    /// (impute and encode read it under an all-zero condition and filled or encoded it as if that
    /// were a class, exit 0; anomaly said "item 3 has label -1"); impute leaves that row as it is
    /// and fills the others.
    func testConditionalModelRefusesARowWithoutItsLabel() throws {
        let (path, lines) = try writeTable()
        let run = tempRunDir("condtable")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--conditional", "--epochs", "1", "--out", run, "--no-report"]).status, 0)
        var new = Array(lines.prefix(6))
        new[3] = new[3].split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") + ","   // row 3: no kind
        let file = tempRunDir("nolabel") + ".csv"
        try AtomicFile.write(new.joined(separator: "\n") + "\n", to: file)
        for args in [["encode", run, "--data", file, "--out", file + ".z.csv"], ["anomaly", run, "--data", file], ["evaluate", run, "--data", file]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args[0]): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").last.map(String.init),
                           "error: \(file): row 3 has no label (its 'kind' cell is empty), and the model is conditional (each row's label is one of its inputs): give every row its label, or leave that row out", args[0])
        }
        XCTAssertFalse(AtomicFile.exists(file + ".z.csv"))
        // impute fills the rows it can read and writes that one back as it is, its missing cells
        // empty (the whole file was refused)
        var holes = new
        for i in [2, 3] {
            var cells = holes[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cells[1] = ""   // x missing
            holes[i] = cells.joined(separator: ",")
        }
        try AtomicFile.write(holes.joined(separator: "\n") + "\n", to: file)
        let r = try CLI.run(["impute", run, "--data", file, "--out", file + ".filled.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: 1 row left as it is: its 'kind' cell is empty, and the model is conditional (the label is one of its inputs); give it its label to have it filled: line 4"), r.stderr)
        XCTAssertFalse(r.stderr.contains("far outside"), r.stderr)
        let out = try String(contentsOfFile: file + ".filled.csv", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(out[3], holes[3], "the unlabelled row is written back as it is")
        XCTAssertNotEqual(out[2], holes[2], "the labelled row is filled")
        XCTAssertFalse(out[2].split(separator: ",", omittingEmptySubsequences: false)[1].isEmpty)
        // a table without the label column at all: one line, for impute too (it trapped in the model)
        let header = holes[0].split(separator: ",", omittingEmptySubsequences: false)
        let kind = try XCTUnwrap(header.firstIndex(of: "kind"))
        let noColumn = holes.map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != kind }.map(\.element).joined(separator: ",") }
        try AtomicFile.write(noColumn.joined(separator: "\n") + "\n", to: file)
        let n = try CLI.run(["impute", run, "--data", file, "--out", file + ".nolabel.csv"])
        XCTAssertEqual(n.status, 1, n.stderr)
        XCTAssertEqual(n.stderr.split(separator: "\n").last.map(String.init),
                       "error: \(file) has no labels (its label column 'kind' is not in the file), and the model in \(run) is conditional (each item's label is one of its inputs): give labelled data (class folders, IDX/CIFAR labels, a table's label column)")
        XCTAssertFalse(AtomicFile.exists(file + ".nolabel.csv"))
    }

    /// A value far outside the training rows' range overflows the model's 32-bit numbers: a test
    /// row's loss is inf (written to metrics.jsonl as "inf"; it crashed the run's save), anomaly
    /// ranks such a row first (NaN ranked it last), impute leaves its cells empty and says so (it
    /// wrote "-nan"); an unseen category is kept (observed data; it was replaced by a known level)
    /// and named in a note.
    func testExtremeValuesAndUnseenLevels() throws {
        let (path, lines) = try writeTable()
        let clean = tempRunDir("tableclean")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--epochs", "1", "--out", clean, "--no-report"]).status, 0)
        let enc = try CLI.run(["encode", clean, "--out", clean + "/z.csv"])
        XCTAssertEqual(enc.status, 0, enc.stderr)
        let firstTest = try XCTUnwrap(Int(try String(contentsOfFile: clean + "/z.csv", encoding: .utf8).split(separator: "\n")[1].split(separator: ",")[1]))
        var extreme = lines
        var cells = extreme[firstTest].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[2] = "1e22"   // y of a test row (the split depends on the row count and the seed only)
        extreme[firstTest] = cells.joined(separator: ",")
        let path2 = tempRunDir("extreme") + ".csv"
        try AtomicFile.write(extreme.joined(separator: "\n") + "\n", to: path2)
        let run = tempRunDir("tableinf")
        let t = try CLI.run(["train", "--data", path2, "--label", "kind", "--ignore", "id", "--epochs", "2", "--out", run, "--no-report"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("test inf"), t.stdout)
        XCTAssertTrue(t.stderr.contains("note: the test loss is not finite"), t.stderr)
        XCTAssertTrue(try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).contains("\"test_loss\":\"inf\""))
        let info = try CLI.run(["info", run])   // reads metrics.jsonl back
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("test inf"), info.stdout)
        // evaluate: an item that overflows the model makes its loss inf (written as in metrics.jsonl;
        // it was null with no word) or, with other noise, NaN — then the items are named (the message
        // blamed a damaged checkpoint)
        let ev = try CLI.run(["evaluate", run, "--iwae", "0"])
        XCTAssertEqual(ev.status, 1, ev.stderr)
        XCTAssertTrue(ev.stderr.contains("error: loss is not a number: 1 of 48 items overflow the model's 32-bit numbers (\(firstTest)) — values far outside"), ev.stderr)

        let a = try CLI.run(["anomaly", run])
        XCTAssertEqual(a.status, 0, a.stderr)
        let top = a.stdout.split(separator: "\n").drop { !$0.hasPrefix("rank") }.dropFirst().first.map(String.init) ?? ""
        XCTAssertTrue(top.hasPrefix("   1  \(firstTest)  ") && top.hasSuffix("inf"), a.stdout)

        // impute on the clean run: an unseen colour is kept, a missing x gets a number; a row with
        // y = 1e22 (overflow) or y = 1e10 (finite, but its fill followed it out: 1e9 and more) stays
        // empty, named in a note
        let newFile = tempRunDir("impute") + ".csv"
        try AtomicFile.write("id,x,y,colour,kind\nn1,,1e22,red,odd\nn2,10.00,20.000,purple,even\nn3,,20.000,green,odd\nn4,,1e10,red,odd\n", to: newFile)
        let out = tempRunDir("filled") + ".csv"
        let i = try CLI.run(["impute", clean, "--data", newFile, "--out", out, "--iterations", "3", "--chains", "2"])
        XCTAssertEqual(i.status, 0, i.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows[1][1], "", "\(rows[1])")
        XCTAssertEqual(rows[4][1], "", "\(rows[4])")
        XCTAssertTrue(i.stderr.contains("note: 2 rows left with their missing cells empty") && i.stderr.contains("lines 2, 5"), i.stderr)
        XCTAssertTrue(i.stdout.contains("filled 1 missing cell of 4 rows"), i.stdout)
        XCTAssertEqual(rows[2][3], "purple", "\(rows[2])")
        XCTAssertTrue(i.stderr.contains("note: 1 cell holds a category level the model has not seen, kept as it is (the model read it as missing to fill the row's other cells; empty it to have it filled): line 3, colour: 'purple'"), i.stderr)
        XCTAssertNotNil(Double(rows[3][1]), "\(rows[3])")
        XCTAssertFalse(rows.joined().joined().contains("nan"))
        // a .gz name is gzipped, the same table inside (it was plain text under that name)
        let gz = try CLI.run(["impute", clean, "--data", newFile, "--out", out + ".gz", "--iterations", "3", "--chains", "2"])
        XCTAssertEqual(gz.status, 0, gz.stderr)
        let zipped = try AtomicFile.readAll(path: out + ".gz", maxBytes: 1 << 20)
        XCTAssertTrue(Gzip.isGzip(zipped))
        XCTAssertEqual(try Gzip.decompress(zipped, maxOutput: 1 << 20, source: "gz"), try AtomicFile.readAll(path: out, maxBytes: 1 << 20))
        // evaluate of a row whose x overflows (y missing): the loss inf, written as metrics.jsonl writes
        // it (it was null, with no word), and why
        let far = tempRunDir("far") + ".csv"
        try AtomicFile.write("id,x,y,colour,kind\nn1,1e22,,red,odd\nn2,10.00,20.000,green,even\nn3,9.00,18.000,green,odd\n", to: far)
        let infinite = try CLI.run(["evaluate", clean, "--data", far, "--iwae", "0"])
        XCTAssertEqual(infinite.status, 0, infinite.stderr)
        XCTAssertTrue(infinite.stdout.contains("\"loss\":\"inf\""), infinite.stdout)
        XCTAssertTrue(infinite.stderr.contains("some item's values overflow the model's 32-bit numbers"), infinite.stderr)
        // scoring and encoding a new file say so too (its unseen level was scored as a missing cell, silently)
        let plain = tempRunDir("plainnew") + ".csv"
        try AtomicFile.write("id,x,y,colour,kind\nn2,10.00,20.000,purple,even\nn3,9.00,18.000,green,odd\nn5,11.00,22.000,teal,odd\n", to: plain)
        for args in [["anomaly", clean, "--data", plain], ["encode", clean, "--data", plain, "--out", out + ".z.csv"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("note: 2 cells of \(plain) hold a category level the model never saw, read as missing: line 2, colour: 'purple'; line 4, colour: 'teal'"), "\(args[0]): \(r.stderr)")
        }
    }

    /// A table trains at least 2,000 optimizer steps by default, counted on the rows it trains on
    /// (those of --classes, less an early-stopping hold-out), with a batch of at most those rows;
    /// --validation-fraction keeps the best epoch's model and says so.
    func testTableTrainingLengthAndEarlyStopping() throws {
        let (path, _) = try writeTable()
        let run = tempRunDir("tablelength")
        var r = try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--classes", "odd", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(" nats/row (z=μ "), r.stdout)   // a table's loss is per row, as vae info says
        let loaded = try Checkpoint.load(run)
        // the classes by the names given, not by their indices
        let line = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("training on classes odd only: ") }, r.stderr)
        let rows = try XCTUnwrap(Int(line.split(separator: ":").last!.split(separator: " ").first!))
        XCTAssertTrue((50...80).contains(rows), "\(rows) odd training rows")
        // under 100 rows: one σ per column and batches of 16, still at least 2,000 steps
        XCTAssertEqual(loaded.options.batchSize, 16)
        XCTAssertEqual(loaded.options.epochs, (2000 + (rows + 15) / 16 - 1) / ((rows + 15) / 16))
        XCTAssertTrue(loaded.model.config.groups!.filter { $0.kind != .categorical }.allSatisfy { $0.kind == .gaussianLearned })
        XCTAssertTrue(r.stderr.contains("rows to train on (under 100): one σ per column (--likelihood gaussian-learned) and batches of 16"), r.stderr)
        // its training split's other class is encoded as "train" too, and said to be unseen
        let enc = try CLI.run(["encode", run, "--split", "all", "--out", run + "/z.csv"])
        XCTAssertEqual(enc.status, 0, enc.stderr)
        XCTAssertTrue(enc.stderr.contains("note: the run trained on classes odd only: the training split's items of the other classes are written too"), enc.stderr)
        // asked for, the σ per cell and the whole-table batch are what the user gets
        let asked = tempRunDir("tablelengthasked")
        r = try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--classes", "odd", "--likelihood", "gaussian-heteroscedastic",
                         "--batch", "\(rows)", "--epochs", "2", "--no-report", "--out", asked])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try Checkpoint.load(asked)
        XCTAssertEqual(a.options.batchSize, rows)
        XCTAssertTrue(a.model.config.groups!.filter { $0.kind != .categorical }.allSatisfy { $0.kind == .gaussianHeteroscedastic })
        XCTAssertFalse(r.stderr.contains("rows to train on (under"), r.stderr)
        XCTAssertNil(loaded.options.validationFraction)                 // early stopping is asked for, not a default
        let es = tempRunDir("tableearly")
        r = try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--validation-fraction", "0.2", "--patience", "5",
                         "--lr", "0.01", "--no-report", "--out", es])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("early stopping: 38 held-out items scored every epoch; the best ("), r.stderr)   // 20% of 192
        // said at the start too: the data line counted the training rows before the hold-out
        XCTAssertTrue(r.stderr.contains("early stopping: 38 of the training rows held out to score each epoch (--validation-fraction 0.2): 154 trained on"), r.stderr)
        XCTAssertTrue(r.stderr.contains("without a better score)"), r.stderr)
        let o = try Checkpoint.load(es).options
        XCTAssertEqual(o.validationFraction, 0.2)
        XCTAssertEqual(o.patience, 5)
        XCTAssertEqual(o.batchSize, 128)                                 // 154 rows: from 100 on, a σ per cell and batches up to 128
        XCTAssertTrue(try Checkpoint.load(es).model.config.groups!.filter { $0.kind != .categorical }.allSatisfy { $0.kind == .gaussianHeteroscedastic })
        r = try CLI.run(["train", "--data", path, "--label", "kind", "--ignore", "id", "--patience", "5", "--epochs", "1", "--out", tempRunDir("patienceonly")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--patience needs a validation share"), r.stderr)
    }

    /// `--resume --data COPY` (a job that stages the CSV to node-local scratch): the copy is read as
    /// the table the run trained on, split the same way, and the run ends bit for bit where a run
    /// that never stopped does. It was read as new data — every row a test row — and training went
    /// on over the test rows. Another table is refused.
    func testResumeWithACopyOfTheTableTrainsOnItsTrainingRows() throws {
        let (path, lines) = try writeTable()
        let flags = ["--label", "kind", "--ignore", "id", "--seed", "5", "--no-report", "--batch", "16"]
        let straight = tempRunDir("tstraight"), stopped = tempRunDir("tstopped")
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--epochs", "4", "--out", straight] + flags).status, 0)
        XCTAssertEqual(try CLI.run(["train", "--data", path, "--epochs", "2", "--out", stopped] + flags).status, 0)
        let copy = tempRunDir("scratch") + ".csv"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let r = try CLI.run(["train", "--data", copy, "--epochs", "4", "--out", stopped, "--resume"] + flags)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("192 train, 48 test rows"), r.stderr)
        XCTAssertEqual(try AtomicFile.readAll(path: straight + "/model.safetensors", maxBytes: 1 << 26),
                       try AtomicFile.readAll(path: stopped + "/model.safetensors", maxBytes: 1 << 26))
        // another table (the rows in another order: another split, other statistics) is refused
        let other = tempRunDir("reversed") + ".csv"
        try AtomicFile.write(([lines[0]] + lines.dropFirst().reversed()).joined(separator: "\n") + "\n", to: other)
        let refused = try CLI.run(["train", "--data", other, "--epochs", "5", "--out", stopped, "--resume"] + flags)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(other) is not the table the run trained on"), refused.stderr)
    }

    func testTableErrorsAreOneLine() throws {
        let (path, _) = try writeTable()
        // exit 2: options (and values) the table does not take — a --label naming no column, as
        // --classes naming no class (it was 1); 1: the data itself (its id column, below)
        for (args, fragment, status) in [(["--label", "nope"], "has no column 'nope'", 2),
                                         (["--label", "kind", "--model", "conv", "--ignore", "id"], "tables train with --model mlp", 2),
                                         (["--label", "kind", "--binarize", "--ignore", "id"], "--binarize is for images", 2),
                                         (["--label", "kind", "--likelihood", "bernoulli", "--ignore", "id"], "--likelihood bernoulli is for images", 2),
                                         (["--conditional", "--ignore", "id"], "--conditional needs labels", 2),
                                         (["--label", "kind", "--ignore", "id,kind"], "--label kind is also in --ignore", 2),
                                         (["--label", "kind", "--image-size", "8"], "are for image folders", 2),
                                         (["--label", "kind", "--ignore", "id", "--corrupt", "box:0.5"], "--corrupt box:0.5 is for images", 2),
                                         (["--label", "kind", "--ignore", "id", "--corrupt", "gaussian:0.3"], "a table takes --corrupt mask:p", 2),
                                         (["--label", "kind"], "--ignore", 1)] {
            let r = try CLI.run(["train", "--data", path, "--out", tempRunDir("bad"), "--epochs", "1"] + args)
            XCTAssertEqual(Int(r.status), status, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }.count, 1, r.stderr)
        }
        // a column name's control characters are shown, not sent to the terminal
        let esc = tempRunDir("esc") + ".csv"
        try AtomicFile.write("a\u{1B}[31m,b\u{7},kind\n1,2,x\n3,4,y\n", to: esc)
        let r = try CLI.run(["train", "--data", esc, "--label", "zzz", "--epochs", "1", "--out", tempRunDir("bad")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("'a\\u{1B}[31m', 'b\\u{7}'"), r.stderr)
        XCTAssertFalse(r.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 7 }, r.stderr)
        // and a format character that prints as nothing (a byte-order mark inside a number)
        let feff = tempRunDir("feff") + ".csv"
        try AtomicFile.write("a,kind\n" + (0..<30).map { "\($0).5,\($0 % 2 == 0 ? "x" : "y")\n" }.joined() + "\u{FEFF}5.41,y\n", to: feff)
        let f = try CLI.run(["train", "--data", feff, "--label", "kind", "--epochs", "1", "--out", tempRunDir("bad")])
        XCTAssertNotEqual(f.status, 0)
        XCTAssertTrue(f.stderr.contains("\\u{FEFF}5.41"), f.stderr)
    }
}
