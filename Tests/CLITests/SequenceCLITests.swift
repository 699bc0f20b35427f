import Foundation
import XCTest
import VAEKit

/// `vae train --model gru` and the commands on a sequence run, on files the tests write and on
/// the shipped MOSES sample; bad input gets one line and a non-zero exit.
final class SequenceCLITests: XCTestCase {
    /// Short sentences of a few words, seeded.
    static func sentences(_ n: Int, seed: UInt64 = 3) -> [String] {
        let subjects = ["the cat", "a dog", "my friend", "the old man", "a bird", "the child"]
        let verbs = ["sees", "likes", "finds", "follows", "hears"]
        let objects = ["the moon", "a tree", "the river", "an apple", "the house", "a song"]
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in
            "\(subjects[rng.int(below: subjects.count)]) \(verbs[rng.int(below: verbs.count)]) \(objects[rng.int(below: objects.count)]) ."
        }
    }

    func write(_ lines: [String], _ name: String) throws -> String {
        let path = tempRunDir(name) + ".txt"
        try AtomicFile.write(lines.joined(separator: "\n") + "\n", to: path)
        return path
    }

    func testTrainAndUseASequenceRun() throws {
        let path = try write(SequenceCLITests.sentences(300), "sentences")
        let run = tempRunDir("gru")
        let line = ["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x16", "--decoder", "1x24",
                    "--latent", "4", "--batch", "32", "--word-dropout", "0.25", "--seed", "2", "--out", run]
        var r = try CLI.run(line + ["--epochs", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("270 train, 30 test items"), r.stderr)
        let loaded = try Checkpoint.load(run)
        XCTAssertTrue(loaded.model is SequenceVAE)
        XCTAssertEqual(loaded.model.config.sequence?.tokenizer, .words)
        XCTAssertTrue(loaded.model.config.sequence!.vocabulary.contains("river"))
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        for section in ["Samples", "Reconstructions", "Interpolation", "KL term", "Latent space"] {
            XCTAssertTrue(html.contains(section), "the report has no \(section)")
        }
        // the same line with --resume continues (and a changed network is refused)
        r = try CLI.run(line + ["--epochs", "3", "--resume"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).state.epoch, 3)
        r = try CLI.run(line.map { $0 == "1x24" ? "2x24" : $0 } + ["--epochs", "4", "--resume"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--decoder cannot change when resuming: the run in \(run) has 1x24, this command line gives 2x24"), r.stderr)
        // so is another test share of the file (it was ignored: the run's own split went on)
        r = try CLI.run(line + ["--epochs", "4", "--resume", "--test-fraction", "0.2"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--test-fraction cannot change when resuming: the run holds out 0.1 of its items, this command line gives 0.2"), r.stderr)

        r = try CLI.run(["sample", run, "--count", "7", "--seed", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let samples = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(samples.count, 7, r.stdout)
        let vocabulary = Set(loaded.model.config.sequence!.vocabulary)
        for s in samples { for w in s.split(separator: " ") { XCTAssertTrue(vocabulary.contains(String(w)), "'\(w)' is not a token of the run") } }
        XCTAssertEqual(try CLI.run(["sample", run, "--count", "7", "--seed", "4"]).stdout, r.stdout, "the same seed gives other samples")
        let notMolecules = try CLI.run(["sample", run, "--valid-only", "--count", "1000000"])
        XCTAssertEqual(notMolecules.status, 2)   // an option the run does not take: a usage error
        XCTAssertTrue(notMolecules.stderr.contains("--valid-only is for SMILES runs"), notMolecules.stderr)
        XCTAssertFalse(notMolecules.stderr.contains("sampling"), "refused after sampling: \(notMolecules.stderr)")
        // options that would be ignored: refused (the temperature changed nothing; text went into a .png)
        for (args, says) in [(["--greedy", "--temperature", "0.5"], "--temperature does not go with it"),
                             (["--out", run + "/s.png"], "a sequence run's samples are text")] {
            let refused = try CLI.run(["sample", run] + args)
            XCTAssertEqual(refused.status, 2, refused.stderr)
            XCTAssertTrue(refused.stderr.contains(says), refused.stderr)
        }
        let counted = try CLI.run(["reconstruct", run, "--items", "the cat sees a tree .", "--count", "3"])   // --count was ignored
        XCTAssertEqual(counted.status, 2, counted.stderr)
        XCTAssertTrue(counted.stderr.contains("--items reconstructs the items given"), counted.stderr)
        let file = run + "/samples.txt"
        r = try CLI.run(["sample", run, "--count", "5", "--greedy", "--out", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count, 5)

        r = try CLI.run(["reconstruct", run, "--items", "the cat sees the moon .", "a zebra sees a tree ."])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("item\treconstruction\nthe cat sees the moon .\t"), r.stdout)
        XCTAssertTrue(r.stderr.contains("1 token of the given items is not in the vocabulary"), r.stderr)
        // an item with a line break stays one TSV row
        r = try CLI.run(["reconstruct", run, "--items", "the cat\nsees the moon ."])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2, r.stdout)
        XCTAssertTrue(r.stdout.contains("the cat\\nsees the moon ."), r.stdout)

        r = try CLI.run(["interpolate", run, "--from", "the cat sees the moon .", "--to", "a dog hears a song .", "--steps", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 6, r.stdout)
        // the latent scatter of a sequence run, as its report draws it (it was refused)
        r = try CLI.run(["latent", run, "--out", run + "/l.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/l.svg"))
        // a number that is no test item's id is an item itself ("1984"), said so — it was an error
        // whose advice ("or give the item itself") could not be followed; tokens outside the
        // vocabulary are said to be read as <unk>
        r = try CLI.run(["interpolate", run, "--from", "0", "--to", "999999"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("note: --from 0 is no test item's id (their lines in the file, as vae encode --split test lists them): read as the item \"0\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("note: 2 tokens of --from and --to are not in the model's vocabulary and read as <unk>"), r.stderr)
        r = try CLI.run(["interpolate", run, "--from", " ", "--to", "a dog hears a song ."])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("--from is empty: give an item with at least one token"), r.stderr)
        // --from/--to take the ids vae encode writes (the items' lines), the same line as their texts give
        r = try CLI.run(["encode", run, "--split", "test", "--out", run + "/ids.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let encoded = try String(contentsOfFile: run + "/ids.csv", encoding: .utf8).split(separator: "\n").dropFirst().prefix(2).map { $0.split(separator: ",") }
        let (idA, idB) = (String(encoded[0][1]), String(encoded[1][1]))
        XCTAssertNotEqual(idA, "0")
        let byID = try CLI.run(["interpolate", run, "--from", idA, "--to", idB, "--steps", "3"])
        XCTAssertEqual(byID.status, 0, byID.stderr)
        let byText = try CLI.run(["interpolate", run, "--from", String(encoded[0][2]), "--to", String(encoded[1][2]), "--steps", "3"])
        XCTAssertEqual(byText.status, 0, byText.stderr)
        XCTAssertEqual(byID.stdout, byText.stdout)

        // info tells a sequence run as one: its GRUs, tokens, likelihood and units
        r = try CLI.run(["info", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        for s in ["model:       gru sequence VAE, encoder 1x16, decoder 1x24, latent 4", "tokens:      words, vocabulary \(loaded.model.config.sequence!.vocabulary.count)",
                  "likelihood:  categorical per token", "nats/item", "items/s"] {
            XCTAssertTrue(r.stdout.contains(s), "info lacks \(s): \(r.stdout)")
        }
        XCTAssertFalse(r.stdout.contains("bernoulli") || r.stdout.contains("image"), r.stdout)
        XCTAssertTrue(r.stdout.contains("(with <bos> <eos> <pad> <unk>)"), r.stdout)   // the stored order

        r = try CLI.run(["encode", run, "--out", run + "/z.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(rows[0].hasPrefix("split,id,item,mu1,mu2,mu3,mu4,sigma1"), String(rows[0]))
        XCTAssertEqual(rows.count, 31)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let first = rows[1].split(separator: ",")
        XCTAssertEqual(String(lines[Int(first[1])! - 1]), String(first[2]), "the item is not the file's line")

        r = try CLI.run(["evaluate", run, "--iwae", "8"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try JSONSerialization.jsonObject(with: Data((r.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        let perplexity = try XCTUnwrap(o["perplexity"] as? Double)
        XCTAssertTrue(perplexity > 1 && perplexity < Double(vocabulary.count), "perplexity \(perplexity)")
        let tokens = try XCTUnwrap(o["tokens"] as? Int)   // 6 or 7 tokens and <eos> per sentence
        XCTAssertTrue((30 * 7...30 * 8).contains(tokens), "\(tokens) predicted tokens")
        XCTAssertNotNil(o["active_units"])

        r = try CLI.run(["anomaly", run, "--data", try write(["the cat sees the moon .", "moon moon moon the the the river river ."], "odd"),
                         "--out", run + "/s.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let scored = try String(contentsOfFile: run + "/s.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(scored[0], "id,item,score,unknown")
        let a = Double(scored[1].split(separator: ",")[2])!, b = Double(scored[2].split(separator: ",")[2])!
        XCTAssertGreaterThan(b, a, "the scrambled line is not the more unusual one")

        // words the vocabulary lacks: the CSVs hold the item as its file has it, not "<unk>"
        let unseen = try write(["the zebra sees the moon .", "quokka quokka ."], "unseen")
        r = try CLI.run(["anomaly", run, "--data", unseen, "--out", run + "/u.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("quokka quokka ."), r.stdout)
        // the median of two scores lies between them (it printed the larger one)
        let summary = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("scored 2 items") }, r.stdout)
        let median = try XCTUnwrap(Double(summary.components(separatedBy: "median ")[1].prefix { $0 != "," }))
        let maximum = try XCTUnwrap(Double(summary.components(separatedBy: "max ")[1].prefix { $0 != " " }))
        XCTAssertLessThan(median, maximum, String(summary))
        var csv = try String(contentsOfFile: run + "/u.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("1,the zebra sees the moon .,") && csv.contains("2,quokka quokka .,"), csv)
        XCTAssertFalse(csv.contains("<unk>"), csv)
        // each item's words outside the vocabulary are counted, and the scores said to understate them
        XCTAssertTrue(csv.hasSuffix(",1\n2,quokka quokka .," + csv.split(separator: "\n")[2].split(separator: ",")[2] + ",2\n"), csv)
        XCTAssertTrue(r.stderr.contains("2 items hold tokens outside the model's vocabulary"), r.stderr)
        // an item longer than the model's --max-length cannot be read: scored inf, ranked first (it was left out)
        let long = try write([Array(repeating: "the", count: 200).joined(separator: " "), "the cat sees the moon ."], "long")
        r = try CLI.run(["anomaly", run, "--data", long, "--out", run + "/l.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let longRows = try String(contentsOfFile: run + "/l.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(longRows.count, 3)
        XCTAssertTrue(longRows[1].hasPrefix("1,the the ") && longRows[1].hasSuffix(",inf,"), String(longRows[1]))   // in file order
        XCTAssertTrue(longRows[2].hasPrefix("2,the cat sees the moon .,"), String(longRows[2]))
        XCTAssertTrue(r.stdout.split(separator: "\n").contains { $0.hasPrefix("   1  1   the the") && $0.hasSuffix("inf") }, r.stdout)
        XCTAssertTrue(r.stderr.contains("1 item longer than the model's --max-length (100 tokens) cannot be read by it: vae anomaly scores it inf (ranked first)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("was skipped"), r.stderr)
        // reconstruct shows a test item as its file has it, not its tokens with <unk>
        r = try CLI.run(["reconstruct", run, "--data", unseen])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\nquokka quokka .\t"), r.stdout)
        r = try CLI.run(["encode", run, "--data", unseen, "--out", run + "/u-z.csv"])
        XCTAssertEqual(r.status, 0, r.stderr)
        csv = try String(contentsOfFile: run + "/u-z.csv", encoding: .utf8)
        XCTAssertTrue(csv.contains("test,2,quokka quokka .,"), csv)
        XCTAssertFalse(csv.contains("<unk>"), csv)
    }

    /// The shipped MOSES sample trains with --model gru alone (SMILES tokens here).
    func testTheShippedSMILESSampleTrains() throws {
        let run = tempRunDir("moses")
        let r = try CLI.run(["train", "--model", "gru", "--data", TinyData.root + "/data/moses-sample.smi.gz", "--tokens", "smiles",
                             "--max-length", "40", "--encoder", "2x8", "--bidirectional", "--decoder", "1x8", "--latent", "2", "--epochs", "1",
                             "--test-limit", "200", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("items longer than --max-length 40 tokens were skipped"), r.stderr)
        XCTAssertTrue(r.stdout.contains(" items/s") && !r.stdout.contains("img/s"), "a sequence run counts items: \(r.stdout)")
        let loaded = try Checkpoint.load(run)
        let vocabulary = loaded.model.config.sequence!.vocabulary
        XCTAssertTrue(vocabulary.contains("Cl") && vocabulary.contains("[nH]"), "\(vocabulary)")
        XCTAssertEqual(loaded.model.config.sequence?.bidirectional, true)
        XCTAssertNotNil(loaded.model.store.parameter(named: "encoder.gru.weight_hh_l1_reverse"))
        // a SMILES run: the share of valid molecules among prior samples after every epoch, and in vae sample
        XCTAssertTrue(r.stderr.contains("the items are SMILES"), r.stderr)
        XCTAssertEqual(loaded.model.config.sequence?.molecules, true)
        let valid = try XCTUnwrap(try TrainingRun.readMetrics(run + "/metrics.jsonl").last?.sample_valid)
        XCTAssertTrue((0...1).contains(valid))
        let out = run + "/valid.smi"
        let s = try CLI.run(["sample", run, "--count", "40", "--valid-only", "--out", out])
        XCTAssertEqual(s.status, 0, s.stderr)
        let line = try XCTUnwrap(s.stderr.split(separator: "\n").first { $0.hasPrefix("valid molecules: ") }, s.stderr)
        let kept = Int(line.split(separator: " ")[2])!
        let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(written.count, kept)
        XCTAssertTrue(written.allSatisfy { SMILES.isValid(String($0)) })
    }

    /// A run whose recorded test file is not where it was (another folder, another machine: a
    /// shipped model) says so in one line and how to go on; --data then reads other items.
    func testRecordedTestFileMissing() throws {
        let train = try write(SequenceCLITests.sentences(200), "rec-train")
        let test = try write(SequenceCLITests.sentences(40, seed: 9), "rec-test")
        let run = tempRunDir("rec")
        var r = try CLI.run(["train", "--model", "gru", "--data", train, "--test", test, "--tokens", "words", "--encoder", "1x8",
                             "--decoder", "1x8", "--latent", "3", "--batch", "32", "--epochs", "1", "--no-report", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try CLI.run(["evaluate", run]).status, 0)
        // neither file is an output: sample, encode and reconstruct replaced them, exit 0
        let before = try AtomicFile.readAll(path: train, maxBytes: 1 << 20)
        for (args, file, what) in [(["sample", run, "--count", "3"], train, "the data the run in \(run) trained on"),
                                   (["encode", run], test, "the test file of the run in \(run)"),
                                   (["reconstruct", run], train, "the data the run in \(run) trained on")] {
            let o = try CLI.run(args + ["--out", file])
            XCTAssertEqual(o.status, 1, "\(args[0]): \(o.stderr)")
            XCTAssertEqual(o.stderr.split(separator: "\n").last.map(String.init), "error: --out \(file) is \(what), which this command reads: write to another file")
        }
        XCTAssertEqual(try AtomicFile.readAll(path: train, maxBytes: 1 << 20), before)
        try FileManager.default.removeItem(atPath: test)
        r = try CLI.run(["evaluate", run])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("the run's test file \(test) is not here"), r.stderr)
        XCTAssertTrue(r.stderr.contains("pass --data FILE"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        r = try CLI.run(["evaluate", run, "--data", train])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// The run's own training file given as --data (what the message for a missing file asks for)
    /// is read as training read it: the same test items and numbers as without --data. It was read
    /// whole, every training item scored as a test item, and encode --split train said it was not
    /// the run's data.
    func testTheRunsOwnFileAsDataIsSplitAsTheRunSplitIt() throws {
        let path = try write(SequenceCLITests.sentences(200), "ownseq")
        let run = tempRunDir("ownseq-run")
        XCTAssertEqual(try CLI.run(["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                                    "--latent", "3", "--batch", "32", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let plain = try CLI.run(["evaluate", run, "--iwae", "0"])
        let given = try CLI.run(["evaluate", run, "--iwae", "0", "--data", path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(given.status, 0, given.stderr)
        XCTAssertTrue(plain.stdout.contains("\"count\":20,"), plain.stdout)
        let timeless = { (s: String) in s.replacingOccurrences(of: #""elbo_seconds":[0-9.e-]+,"#, with: "", options: .regularExpression) }
        XCTAssertEqual(timeless(given.stdout), timeless(plain.stdout))
        let e = try CLI.run(["encode", run, "--data", path, "--split", "all", "--out", run + "/z.csv"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let splits = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
        XCTAssertEqual(splits.filter { $0 == "train" }.count, 180)
        XCTAssertEqual(splits.filter { $0 == "test" }.count, 20)
        // resumed with the file gone: named as the run's training file, and what to pass (it was
        // "cannot read …: No such file or directory — check the path")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".moved")
        let r = try CLI.run(["train", "--model", "gru", "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                             "--latent", "3", "--batch", "32", "--epochs", "2", "--no-report", "--out", run, "--resume"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("the run's training file \(path) is not here") && r.stderr.contains("or pass --data FILE with the items it trained on"), r.stderr)
    }

    /// The run's items from another path (a copy; what was standard input then) are split as the
    /// run split them — read whole, the training items were scored as test items; the run's own
    /// file changed since training is said to be split anew (its "test" items were silently
    /// mostly training items); flags read by nothing are refused.
    func testACopiedOrChangedTrainingFile() throws {
        let items = SequenceCLITests.sentences(200)
        let path = try write(items, "changedseq")
        let run = tempRunDir("changedseq-run")
        XCTAssertEqual(try CLI.run(["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                                    "--latent", "3", "--batch", "32", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let timeless = { (s: String) in s.replacingOccurrences(of: #""elbo_seconds":[0-9.e-]+,"#, with: "", options: .regularExpression) }
        let plain = try CLI.run(["evaluate", run, "--iwae", "0"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("has changed"), plain.stderr)
        let copy = try write(items, "changedseq-copy")
        let fromCopy = try CLI.run(["evaluate", run, "--iwae", "0", "--data", copy])
        XCTAssertEqual(fromCopy.status, 0, fromCopy.stderr)
        XCTAssertTrue(fromCopy.stderr.contains("note: \(copy) holds the items the run trained on (it read them from \(path)): split as training split them, its test items are the run's 20 (of 200 items)"), fromCopy.stderr)
        let name = { (p: String) in (p as NSString).lastPathComponent }
        XCTAssertEqual(timeless(fromCopy.stdout).replacingOccurrences(of: name(copy), with: name(path)), timeless(plain.stdout))
        let train = try CLI.run(["encode", run, "--data", copy, "--split", "train", "--out", run + "/z.csv"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let trainRows = try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(trainRows.count, 180)
        // other items: read whole, as before
        let new = try write(SequenceCLITests.sentences(200, seed: 9), "changedseq-new")
        let other = try CLI.run(["evaluate", run, "--iwae", "0", "--data", new])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(other.stdout.contains("\"count\":200,") && !other.stderr.contains("holds the items"), other.stdout + other.stderr)
        // the run's own file with a test item replaced by a copy of a training item (the training
        // split and its vocabulary unchanged — other training items would give another vocabulary,
        // refused by that): an item the run trained on is now in the test split, said
        let lines = trainRows.map { Int($0.split(separator: ",")[1])! - 1 }
        let j = Set(0..<items.count).subtracting(lines).sorted().first { items[$0] != items[lines[0]] }!
        var swapped = items
        swapped[j] = items[lines[0]]
        try AtomicFile.write(swapped.joined(separator: "\n") + "\n", to: path)
        let changed = try CLI.run(["evaluate", run, "--iwae", "0"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssertTrue(changed.stderr.contains("note: \(path) has changed since the run trained on it (then 180 training and 20 test items; now 180 training and 20 test items, other items or another order)")
                      && changed.stderr.contains("its test items are split off by their place in the file, so they may now include items the run trained on"), changed.stderr)
        try AtomicFile.write(items.joined(separator: "\n") + "\n", to: path)
        // read by nothing: refused
        let fraction = try CLI.run(["reconstruct", run, "--test-fraction", "0.5"])
        XCTAssertEqual(fraction.status, 2, fraction.stderr)
        XCTAssertTrue(fraction.stderr.contains("--test-fraction is the share vae train holds out of a file; this run's test items are the 0.1 it held out"), fraction.stderr)
        let column = try CLI.run(["encode", run, "--text-column", "SMILES", "--out", run + "/c.csv"])
        XCTAssertEqual(column.status, 2, column.stderr)
        XCTAssertTrue(column.stderr.contains("--text-column SMILES names the column of a --data CSV file; without --data the run's own items are read"), column.stderr)
        // --items compared as tokens, as test items are: the same count for an item and its tokens
        let counts = try ["the cat sees the moon.", "the cat sees the moon ."].map { item -> String in
            let r = try CLI.run(["reconstruct", run, "--items", item])
            XCTAssertEqual(r.status, 0, r.stderr)
            return r.stderr.split(separator: "\n").first { $0.contains("decode back exactly") }.map(String.init) ?? "none"
        }
        XCTAssertEqual(counts[0], counts[1])
        // anomaly --limit: the first N items of the file, an over-long one among them scored inf
        let long = [Array(repeating: "the cat", count: 80).joined(separator: " ")] + SequenceCLITests.sentences(10, seed: 5)
        let longPath = try write(long, "changedseq-long")
        let a = try CLI.run(["anomaly", run, "--data", longPath, "--limit", "5", "--out", run + "/a.csv"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let rows = try String(contentsOfFile: run + "/a.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.map { String($0.split(separator: ",")[0]) }, ["1", "2", "3", "4", "5"])
        XCTAssertTrue(rows.first!.contains(",inf"), String(rows.first!))
        // image commands say first that this is a sequence run (they asked for their flags)
        for (c, words) in [(["compress", run, "--out", run + "/x.vae"], "vae compress works on mlp models; this run is a gru model"),
                           (["inpaint", run], "vae inpaint draws images, and this is a sequence run")] {
            let r = try CLI.run(c)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(words), r.stderr)
        }
    }

    /// Long items make large batches (each token's GRU states and logits): a run that cannot fit
    /// in the process's memory limit is refused before it starts — it died in an allocation with a
    /// backtrace (rc 132). Nothing is written.
    func testLongItemsPastTheMemoryLimitAreRefusedFirst() throws {
        var rng = RNG(seed: 4)
        let letters = Array("abcdefghij ")
        let items = (0..<100).map { _ in String((0..<20_000).map { _ in letters[rng.int(below: letters.count)] }) }
        let path = try write(items, "longseq")
        let run = tempRunDir("longseq-run")
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "ulimit -v 1000000; '\(CLI.binary)' train --model gru --data '\(path)' --max-length 100000 --encoder 1x16 --decoder 1x32 --latent 4 --epochs 1 --no-report --out '\(run)' 2>'\(run).err'"]
        try sh.run()
        sh.waitUntilExit()
        let err = try String(contentsOfFile: run + ".err", encoding: .utf8)
        XCTAssertEqual(sh.terminationStatus, 1, err)
        XCTAssertTrue(err.contains("error: this run needs at least") && err.contains("batches of 90 items of up to 20,000 tokens")
                      && err.contains("more than the process limit's (ulimit -v) 1.0 GB of memory"), err)
        XCTAssertFalse(AtomicFile.exists(run))
    }

    /// New items from a pipe (--data -): encode, anomaly and reconstruct read them — each said
    /// "/dev/stdin is empty", having read it once for the items and again for their texts.
    func testNewItemsFromAPipe() throws {
        let path = try write(SequenceCLITests.sentences(200), "pipeseq")
        let run = tempRunDir("pipeseq-run")
        XCTAssertEqual(try CLI.run(["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                                    "--latent", "3", "--batch", "32", "--epochs", "1", "--no-report", "--out", run]).status, 0)
        let new = try write(SequenceCLITests.sentences(12, seed: 21), "pipeseq-new")
        for (command, out) in [("encode", "z.csv"), ("anomaly", "a.csv"), ("reconstruct", "r.tsv")] {
            let sh = Process()
            sh.executableURL = URL(fileURLWithPath: "/bin/sh")
            sh.arguments = ["-c", "cat '\(new)' | '\(CLI.binary)' \(command) '\(run)' --data - --out '\(run)/\(out)' 2>'\(run)/\(command).err'"]
            try sh.run()
            sh.waitUntilExit()
            let err = try String(contentsOfFile: "\(run)/\(command).err", encoding: .utf8)
            XCTAssertEqual(sh.terminationStatus, 0, "\(command): \(err)")
            let lines = try String(contentsOfFile: "\(run)/\(out)", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, 13, "\(command): a header and 12 items")
        }
    }

    /// Samples that reach --max-length (where decoding stops them) are counted in a note: they
    /// were written, and counted among valid molecules, without a word.
    func testSamplesAtTheLengthLimitAreNoted() throws {
        let dir = tempRunDir("seqlimit")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try AtomicFile.write((0..<200).map { String(repeating: "ab", count: 2 + $0 % 3) }.joined(separator: "\n") + "\n", to: dir + "/l.txt")
        let t = try CLI.run(["train", "--model", "gru", "--data", "l.txt", "--max-length", "8", "--encoder", "1x8", "--decoder", "1x8",
                             "--latent", "2", "--epochs", "1", "--no-report", "--out", "run"], cwd: dir)
        XCTAssertEqual(t.status, 0, t.stderr)
        let s = try CLI.run(["sample", "run", "--count", "200", "--temperature", "3", "--out", "s.txt"], cwd: dir)
        XCTAssertEqual(s.status, 0, s.stderr)
        let atLimit = try String(contentsOfFile: dir + "/s.txt", encoding: .utf8).split(separator: "\n").filter { $0.count == 8 }.count
        XCTAssertGreaterThan(atLimit, 0, "no sample reached the limit: the test shows nothing")
        // those cut there, not those that drew <eos> just after their 8th token
        let note = try XCTUnwrap(s.stderr.split(separator: "\n").first { $0.contains("reached the model's --max-length, 8 tokens, without drawing <eos>") }, s.stderr)
        let cut = try XCTUnwrap(Int(note.dropFirst("note: ".count).prefix { $0.isNumber }), String(note))
        XCTAssertTrue((1...atLimit).contains(cut), "\(cut) cut of \(atLimit) at the limit: \(note)")
    }

    /// Records whose --text-column cell is empty are no items, and said so with their count (they
    /// were dropped silently: a CSV that lost its molecules read as a smaller set).
    func testEmptyTextCellsAreCounted() throws {
        let dir = tempRunDir("seqblank")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var csv = "id,text\n"
        for i in 0..<300 { csv += i % 50 == 7 ? "\(i),\n" : i % 50 == 8 ? "\(i),\"  \"\n" : "\(i),abc \(i % 5)\n" }
        try AtomicFile.write(csv, to: dir + "/t.csv")
        try AtomicFile.write("id,text\n1,abc 1\n2,\n3,abc 2\n", to: dir + "/other.csv")
        let t = try CLI.run(["train", "--model", "gru", "--data", "t.csv", "--text-column", "text", "--encoder", "1x8", "--decoder", "1x8",
                             "--latent", "2", "--epochs", "1", "--no-report", "--out", "run"], cwd: dir)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stderr.contains("t.csv: 12 records with an empty 'text' cell were skipped (no item)"), t.stderr)
        let a = try CLI.run(["anomaly", "run", "--data", "other.csv", "--text-column", "text"], cwd: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stderr.contains("other.csv: 1 record with an empty 'text' cell was skipped (no item)"), a.stderr)
        // a plain text file's blank lines are no records: nothing to say
        try AtomicFile.write("abc 1\n\nabc 2\n", to: dir + "/plain.txt")
        let p = try CLI.run(["anomaly", "run", "--data", "plain.txt"], cwd: dir)
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertFalse(p.stderr.contains("empty"), p.stderr)
    }

    /// Items with a line break of their own (multi-line CSV fields) are one line each in what
    /// sample and interpolate write, the break as \n (as reconstruct writes them): "wrote 100
    /// lines" was 152. Text outputs named .png are refused.
    func testItemsWithLineBreaksAreOneLineEach() throws {
        let dir = tempRunDir("seqbreaks")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var csv = "id,text\n"
        for i in 0..<300 { csv += i % 2 == 0 ? "\(i),\"ab \(i % 7)\nc\"\n" : "\(i),abc \(i % 5)\n" }
        try AtomicFile.write(csv, to: dir + "/ml.csv")
        let t = try CLI.run(["train", "--model", "gru", "--data", "ml.csv", "--text-column", "text", "--encoder", "1x8", "--decoder", "1x16",
                             "--latent", "3", "--batch", "32", "--epochs", "3", "--no-report", "--out", "run"], cwd: dir)
        XCTAssertEqual(t.status, 0, t.stderr)
        let s = try CLI.run(["sample", "run", "--count", "100", "--seed", "2", "--out", "s.txt"], cwd: dir)
        XCTAssertEqual(s.status, 0, s.stderr)
        let lines = try String(contentsOfFile: dir + "/s.txt", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 101, "100 lines and the final newline's empty rest")
        XCTAssertTrue(lines.contains { $0.contains("\\n") }, "no sample has a line break of its own: \(lines.prefix(10))")
        let i = try CLI.run(["interpolate", "run", "--from", "abc 1", "--to", "abc 3", "--steps", "4", "--out", "i.txt"], cwd: dir)
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/i.txt", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).count, 7,
                       "the two ends, 4 steps between and the final newline's empty rest")
        // the anomaly ranking on the console: one line per item, its line break shown as \n
        let a = try CLI.run(["anomaly", "run", "--top", "10"], cwd: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        let ranked = a.stdout.split(separator: "\n").drop { !$0.hasPrefix("rank") }.dropFirst()
        XCTAssertEqual(ranked.count, 10, a.stdout)
        XCTAssertTrue(ranked.allSatisfy { $0.trimmingCharacters(in: .whitespaces).first?.isNumber == true }, a.stdout)
        // --data beside --items was read by nothing
        let both = try CLI.run(["reconstruct", "run", "--items", "abc 1", "--data", "ml.csv"], cwd: dir)
        XCTAssertEqual(both.status, 2, both.stderr)
        XCTAssertTrue(both.stderr.contains("--items are the items to reconstruct; --data names a file of them instead"), both.stderr)
        for args in [["interpolate", "run", "--from", "2", "--to", "3"], ["reconstruct", "run"]] {
            let r = try CLI.run(args + ["--out", "x.png"], cwd: dir)
            XCTAssertEqual(r.status, 2, "\(args[0]): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("give a text file"), r.stderr)
        }
        XCTAssertFalse(AtomicFile.exists(dir + "/x.png"))
    }

    /// --text-column reads a .csv file by its column and any other file one item per line, in
    /// training as later: a CSV training file with a .smi test file, and the other way round (each
    /// was "has no column 'text'" or "is a CSV table: pass --text-column").
    func testTextColumnIsForTheCSVFileOfTheTwo() throws {
        let dir = tempRunDir("seqmixed")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let train = SequenceCLITests.sentences(120), test = SequenceCLITests.sentences(20, seed: 9)
        let csv = { (lines: [String]) in "id,text\n" + lines.enumerated().map { "\($0),\($1)" }.joined(separator: "\n") + "\n" }
        try AtomicFile.write(csv(train), to: dir + "/train.csv")
        try AtomicFile.write(csv(test), to: dir + "/test.csv")
        try AtomicFile.write(train.joined(separator: "\n") + "\n", to: dir + "/train.txt")
        try AtomicFile.write(test.joined(separator: "\n") + "\n", to: dir + "/test.txt")
        for (data, testFile) in [("train.csv", "test.txt"), ("train.txt", "test.csv")] {
            let r = try CLI.run(["train", "--model", "gru", "--data", data, "--text-column", "text", "--test", testFile,
                                 "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8", "--latent", "3", "--batch", "32",
                                 "--epochs", "1", "--no-report", "--out", "run-" + data], cwd: dir)
            XCTAssertEqual(r.status, 0, "\(data) with \(testFile): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("120 train, 20 test items"), "\(data) with \(testFile): \(r.stderr)")
            // its later commands read the run's test file the same way
            let e = try CLI.run(["encode", "run-" + data, "--out", "z-" + data], cwd: dir)
            XCTAssertEqual(e.status, 0, "\(data) with \(testFile): \(e.stderr)")
            XCTAssertEqual(try String(contentsOfFile: dir + "/z-" + data, encoding: .utf8).split(separator: "\n").count, 21)
        }
        // a file whose every item is longer than the run's --max-length: no flag of this command to raise
        try AtomicFile.write(Array(repeating: "word", count: 2000).joined(separator: " ") + "\n", to: dir + "/long.txt")
        let long = try CLI.run(["anomaly", "run-train.csv", "--data", "long.txt"], cwd: dir)
        XCTAssertEqual(long.status, 1, long.stderr)
        XCTAssertTrue(long.stderr.contains("long.txt: no item has at most the run's --max-length of ") && long.stderr.contains("(it is fixed when a run trains)")
                      && !long.stderr.contains("raise --max-length"), long.stderr)
    }

    /// A run trained on a CSV column with a relative --test file, used from another folder: its
    /// test file is found by the absolute path recorded beside the relative one (it was "not here"),
    /// `encode --split train` writes the training items (it wrote the test file's), and a new
    /// one-per-line file is read by line, not by the run's CSV column (it was "no column 'text'").
    func testRelativeTestFileTrainSplitAndPlainNewFile() throws {
        let home = tempRunDir("seqhome"), elsewhere = tempRunDir("seqelsewhere")
        for d in [home, elsewhere] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let csv = { (lines: [String]) in "id,text\n" + lines.enumerated().map { "\($0),\($1)" }.joined(separator: "\n") + "\n" }
        try AtomicFile.write(csv(SequenceCLITests.sentences(120)), to: home + "/train.csv")
        try AtomicFile.write(csv(SequenceCLITests.sentences(20, seed: 9)), to: home + "/test.csv")
        let t = try CLI.run(["train", "--model", "gru", "--data", "train.csv", "--text-column", "text", "--test", "test.csv",
                             "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8", "--latent", "3", "--batch", "32",
                             "--epochs", "1", "--no-report", "--out", "run"], cwd: home)
        XCTAssertEqual(t.status, 0, t.stderr)
        let e = try CLI.run(["evaluate", home + "/run", "--iwae", "0"], cwd: elsewhere)
        XCTAssertEqual(e.status, 0, e.stderr)
        // one item has no standard error: null in the JSON (it failed on the NaN)
        let one = try CLI.run(["evaluate", home + "/run", "--limit", "1", "--iwae", "3"], cwd: elsewhere)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("\"iwae_sem\":null"), one.stdout)
        XCTAssertTrue(one.stderr.contains("(one item: no standard error)") && !one.stderr.contains("nan"), one.stderr)
        // vae report's data line is what the run trained on (it said the test file: "20 train")
        let rep = try CLI.run(["report", home + "/run"], cwd: home)
        XCTAssertEqual(rep.status, 0, rep.stderr)
        let page = try String(contentsOfFile: home + "/run/report.html", encoding: .utf8)
        XCTAssertTrue(page.contains("train.csv): 120 train, 20 test items"), "the report's data line")
        let enc = try CLI.run(["encode", home + "/run", "--split", "all", "--out", "z.csv"], cwd: elsewhere)
        XCTAssertEqual(enc.status, 0, enc.stderr)
        let rows = try String(contentsOfFile: elsewhere + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.filter { $0.hasPrefix("train,") }.count, 120)
        XCTAssertEqual(rows.filter { $0.hasPrefix("test,") }.count, 20)
        try AtomicFile.write(SequenceCLITests.sentences(5, seed: 4).joined(separator: "\n") + "\n", to: elsewhere + "/new.txt")
        let a = try CLI.run(["anomaly", home + "/run", "--data", "new.txt"], cwd: elsewhere)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.hasPrefix("scored 5 items of new.txt"), a.stdout)
        // a new file has no training split: --split all writes its items once, as test items
        let newAll = try CLI.run(["encode", home + "/run", "--data", "new.txt", "--split", "all", "--out", "z3.csv"], cwd: elsewhere)
        XCTAssertEqual(newAll.status, 0, newAll.stderr)
        let newRows = try String(contentsOfFile: elsewhere + "/z3.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(newRows.count, 5)
        XCTAssertTrue(newRows.allSatisfy { $0.hasPrefix("test,") }, "\(newRows)")
        let newTrain = try CLI.run(["encode", home + "/run", "--data", "new.txt", "--split", "train", "--out", "z4.csv"], cwd: elsewhere)
        XCTAssertEqual(newTrain.status, 2, newTrain.stderr)
        XCTAssertTrue(newTrain.stderr.contains("is not the data the run trained on"), newTrain.stderr)
        // flags for image folders, tables or image runs were ignored on a sequence run
        for args in [["encode", home + "/run", "--label", "foo", "--out", "z2.csv"], ["evaluate", home + "/run", "--binarize", "true"],
                     ["anomaly", home + "/run", "--normal", "0"],   // no labels: said after scoring, exit 1
                     ["train", "--model", "gru", "--data", home + "/train.csv", "--text-column", "text", "--test", home + "/test.csv",
                      "--test-fraction", "0.5", "--out", "ignored"]] {
            let r = try CLI.run(args, cwd: elsewhere)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
        }
        let png = try CLI.run(["anomaly", home + "/run", "--data", "new.txt", "--out", "top.png"], cwd: elsewhere)   // wrote nothing
        XCTAssertEqual(png.status, 2)
        XCTAssertTrue(png.stderr.contains("a sequence run's scores go to a .csv file"), png.stderr)
    }

    /// --preset moses-cpu fills in its recipe (issue 27) where the command line is silent: KL weight 1
    /// after one epoch at ½, the staged learning rate, batch 128, clip 50, 10,000 test items.
    func testMosesCPUPreset() throws {
        let run = tempRunDir("mosescpu")
        let r = try CLI.run(["train", "--preset", "moses-cpu", "--data", TinyData.root + "/data/moses-sample.smi.gz",
                             "--encoder", "1x8", "--decoder", "1x8", "--latent", "3", "--epochs", "1", "--batch", "64",
                             "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("preset moses-cpu: ELBO, 1 epoch, batch 64, lr 0.001 ×1.0 for 3, ×0.3 for 5, ×0.1 for 12 epochs"), r.stderr)
        // the report's summary states the schedule, not only the first stage's rate
        let report = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        XCTAssertTrue(report.contains("Adam, lr 0.001 ×1.0 for 3, ×0.3 for 5, ×0.1 for 12 epochs, batch 64, clip 50.0"))
        let loaded = try Checkpoint.load(run)
        let cfg = loaded.model.config, o = loaded.options
        XCTAssertEqual(cfg.architecture, .gru)
        XCTAssertEqual(cfg.sequence?.tokenizer, .characters)
        XCTAssertEqual(cfg.beta, 1)
        XCTAssertEqual(cfg.warmupEpochs, 2)
        XCTAssertEqual(cfg.klWeight(epoch: 1), 0.5)
        XCTAssertEqual(o.clipNorm, 50)
        XCTAssertEqual(o.testLimit, 10_000)
        XCTAssertEqual(o.learningRate(epoch: 3), 1e-3)
        XCTAssertEqual(o.learningRate(epoch: 4), 3e-4, accuracy: 1e-15)
        XCTAssertEqual(o.learningRate(epoch: 8), 3e-4, accuracy: 1e-15)
        XCTAssertEqual(o.learningRate(epoch: 9), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(o.learningRate(epoch: 20), 1e-4, accuracy: 1e-15)
        // an image folder given to the preset (which implies --model gru): said as such ("cannot
        // read DIR: it is a directory" did not say why a file was wanted)
        let folder = try TinyData.make(train: 16, test: 4)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let f = try CLI.run(["train", "--preset", "moses-cpu", "--data", folder, "--epochs", "1", "--out", run + "-folder"])
        XCTAssertEqual(f.status, 2, f.stderr)
        XCTAssertTrue(f.stderr.contains("\(folder) is a folder; a sequence VAE (--model gru, which --preset moses-cpu trains) reads a file of items"), f.stderr)
    }

    /// --free-bits λ is stored with the run, shown in the report, kept on resume, and refused with
    /// the IWAE objective.
    /// --embedding: a learned token vector both GRUs read. A vocabulary over 1,000 tokens gets one
    /// by default when it makes the model smaller (said in a note), a small one reads one-hot
    /// tokens; 0 forces one-hot; the width is kept by resume, shown by info, and a changed one refused.
    func testTokenEmbedding() throws {
        // 1,500 distinct words in sentences of five
        var rng = RNG(seed: 6)
        let lines = (0..<600).map { _ in (0..<5).map { _ in "w\(rng.int(below: 1500))" }.joined(separator: " ") }
        let path = try write(lines, "manywords")
        // one-hot, each of the ~1,300 tokens has 3 × (64 + 96) = 480 input weights in the GRUs; a
        // 256-wide table and the GRUs' 3 × 160 × 256 input weights are fewer
        let small = ["--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x64", "--decoder", "1x96", "--latent", "3",
                     "--batch", "64", "--epochs", "1", "--no-report"]
        let run = tempRunDir("embedded")
        var r = try CLI.run(["train"] + small + ["--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("the GRUs read a 256-wide learned vector per token"), r.stderr)
        var m = try XCTUnwrap(try Checkpoint.load(run).model as? SequenceVAE)
        let V = m.vocabularySize, embeddedCount = m.parameterCount
        XCTAssertGreaterThan(V, 1000)
        XCTAssertEqual(m.sequence.embedding, 256)
        XCTAssertEqual(m.store.parameter(named: "embedding.weight")?.shape, [V, 256])
        XCTAssertEqual(m.store.parameter(named: "decoder.gru.weight_ih_l0")?.shape, [288, 256 + 3])
        r = try CLI.run(["info", run])
        XCTAssertTrue(r.stdout.contains("latent 3, a 256-wide token embedding, "), r.stdout)
        r = try CLI.run(["sample", run, "--count", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 3, r.stdout)
        // resume keeps the width; another one is refused
        r = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2", "--no-report"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try CLI.run(["train", "--resume", "--out", run, "--epochs", "3", "--embedding", "0"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--embedding cannot change when resuming: the run in \(run) has 256, this command line gives 0"), r.stderr)
        // --embedding 0: one-hot tokens, each GRU's input weights a vocabulary wide
        let oneHot = tempRunDir("onehot")
        r = try CLI.run(["train"] + small + ["--embedding", "0", "--out", oneHot])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("learned vector"), r.stderr)
        m = try XCTUnwrap(try Checkpoint.load(oneHot).model as? SequenceVAE)
        XCTAssertNil(m.store.parameter(named: "embedding.weight"))
        XCTAssertEqual(m.store.parameter(named: "decoder.gru.weight_ih_l0")?.shape, [288, V + 3])
        XCTAssertLessThan(embeddedCount, m.parameterCount, "the default embedding made the model bigger")
        XCTAssertFalse(try String(contentsOfFile: oneHot + "/config.json", encoding: .utf8).contains("embedding"))
        // GRUs so narrow that the table would outweigh what it saves (3 × 16 input weights per
        // token one-hot): one-hot, and a note says so
        let narrow = tempRunDir("narrow")
        r = try CLI.run(["train"] + small.map { $0 == "1x64" || $0 == "1x96" ? "1x8" : $0 } + ["--out", narrow])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("the GRUs read one-hot tokens: a 256-wide learned vector per token would not make a model with GRUs this narrow smaller"), r.stderr)
        XCTAssertEqual((try Checkpoint.load(narrow).model as? SequenceVAE)?.sequence.embedding, 0)
        // a small vocabulary reads one-hot tokens unless told otherwise
        let sentences = try write(SequenceCLITests.sentences(100), "fewwords")
        let few = ["train", "--model", "gru", "--data", sentences, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                   "--latent", "3", "--epochs", "1", "--no-report"]
        r = try CLI.run(few + ["--out", tempRunDir("few")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let fewRun = try XCTUnwrap(r.stdout.components(separatedBy: "model in ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual((try Checkpoint.load(fewRun).model as? SequenceVAE)?.sequence.embedding, 0)
        let eight = tempRunDir("few8")
        r = try CLI.run(few + ["--embedding", "8", "--out", eight])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((try Checkpoint.load(eight).model as? SequenceVAE)?.sequence.embedding, 8)
        r = try CLI.run(few + ["--embedding", "-1", "--out", tempRunDir("bad")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--embedding must be between 0 (one-hot tokens) and 8192"), r.stderr)
        r = try CLI.run(["train", "--model", "mlp", "--embedding", "8", "--epochs", "1", "--out", tempRunDir("mlpemb")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--embedding is for sequences (text, SMILES): add --model gru"), r.stderr)
    }

    func testFreeBits() throws {
        let path = try write(SequenceCLITests.sentences(200), "freebits")
        let run = tempRunDir("freebits")
        let line = ["train", "--model", "gru", "--data", path, "--tokens", "words", "--encoder", "1x8", "--decoder", "1x8",
                    "--latent", "3", "--batch", "32", "--free-bits", "2.5", "--out", run]
        var r = try CLI.run(line + ["--epochs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).model.config.freeBits, 2.5)
        XCTAssertTrue(try String(contentsOfFile: run + "/report.html", encoding: .utf8).contains("free bits 2.5 nats per item"))
        r = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2", "--free-bits", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--free-bits cannot change when resuming"), r.stderr)
        r = try CLI.run(["train", "--resume", "--out", run, "--epochs", "2", "--no-report"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // free bits with the IWAE objective (an mlp on the shipped sample): refused
        r = try CLI.run(["train", "--free-bits", "1", "--objective", "iwae", "--epochs", "1", "--out", tempRunDir("freebitsiwae")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--free-bits changes the ELBO's KL term"), r.stderr)
        // the IWAE objective is for feed-forward models: a usage error, before the data is read
        r = try CLI.run(["train", "--data", tempRunDir("unread") + ".txt", "--tokens", "words", "--model", "gru", "--objective", "iwae", "--k", "3",
                         "--epochs", "1", "--out", tempRunDir("gruiwae")])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--objective iwae trains the mlp and conv models; a gru model trains the ELBO"), r.stderr)
    }

    func testBadSequenceInputIsOneLine() throws {
        let small = ["--model", "gru", "--encoder", "1x4", "--decoder", "1x4", "--latent", "2", "--epochs", "1", "--no-report"]
        func refuse(_ bytes: [UInt8], _ expected: String, extra: [String] = [], suffix: String = ".txt",
                    file: StaticString = #filePath, line: UInt = #line) throws {
            let path = tempRunDir("badseq") + suffix
            try AtomicFile.write(bytes, to: path)
            let r = try CLI.run(["train", "--data", path] + small + extra + ["--out", tempRunDir("badseqrun")])
            XCTAssertEqual(r.status, 1, r.stderr, file: file, line: line)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(expected), r.stderr, file: file, line: line)
        }
        try refuse([], "is empty")
        try refuse(Array("\n\n  \n".utf8), "has no items")
        try refuse([0x7F, 0x45, 0x4C, 0x46, 0, 0, 1, 2] + Array("abc\n".utf8), "holds NUL bytes: it is a binary file")
        // past the first 64 KiB too (a NUL there became a token of the vocabulary)
        try refuse(Array(String(repeating: "one more line\n", count: 6000).utf8) + [0] + Array("x\n".utf8), "holds NUL bytes: it is a binary file")
        try refuse(Array("good line\nanother\n".utf8) + [0xC3, 0x28] + Array("\n".utf8), "line 3 is not valid UTF-8")
        try refuse(Array("short\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 2 << 20) + [10], "line 2 is 2,097,152 bytes long")
        try refuse(Array("aaaaaaaaaa\nbbbbbbbbbbbb\n".utf8), "no item has at most --max-length 5 tokens (2 read)", extra: ["--max-length", "5"])
        // one line, too long: its length is the problem, not the missing test split
        try refuse(Array(String(repeating: "C", count: 500).utf8) + [10], "no item has at most --max-length 100 tokens (1 read); raise --max-length (the shortest has 500 tokens)")
        // … past what --max-length takes: not "raise --max-length" again at its largest
        try refuse(Array(String(repeating: "C", count: 200_000).utf8) + [10], "the shortest has 200,000 tokens, more than --max-length takes (100,000): is the file one item per line?",
                   extra: ["--max-length", "100000"])
        // lines of no token (no-break and ideographic spaces, a form feed, for the words tokenizer): said so
        try refuse(Array(String(repeating: "\u{00A0}\n\u{000C}\n\u{3000}\n", count: 3).utf8), "no item has a token (8 read: lines of only spaces or other invisible characters for the words tokenizer)",
                   extra: ["--tokens", "words"])
        // every training item too long, a test item short: the message counts the split and the file
        let (_, testRows) = TableSplitRule.split(rows: 20, testFraction: 0.1, seed: 1)
        let lines = (0..<20).map { testRows.contains($0) ? "ab" : String(repeating: "x", count: 12) }
        try refuse(Array((lines.joined(separator: "\n") + "\n").utf8),
                   "none of the \(20 - testRows.count) items of its training split has at most --max-length 5 tokens (20 read)",
                   extra: ["--max-length", "5", "--seed", "1"])
        try refuse(Array("id,text\n1,abc\n2,def\n".utf8), "has no column 'SMILES' in its header", extra: ["--text-column", "SMILES"], suffix: ".csv")
        // --test naming the training file: every test item a training item (accepted without a word)
        let same = try write(SequenceCLITests.sentences(40), "sametest")
        let twice = try CLI.run(["train", "--data", same, "--test", same] + small + ["--out", tempRunDir("sametest-run")])
        XCTAssertEqual(twice.status, 1, twice.stderr)
        XCTAssertTrue(twice.stderr.contains("--test \(same) is the training file itself"), twice.stderr)
        // an old Mac's line ends (lone CR) are line ends: the file was one item of every line
        let cr = try Dataset.parseItems(Array("one\rtwo\r\rthree\r".utf8), source: "cr.txt", textColumn: nil)
        XCTAssertEqual(cr.map { String($0.text) }, ["one", "two", "three"])
        XCTAssertEqual(cr.map(\.line), [1, 2, 4])
        // --text-column on files that are no CSV: said so (it was a CSV field-count error on line 7)
        try refuse(Array("one item\nanother, with a comma, or two\n".utf8), "--text-column SMILES names a CSV file's column, and ", extra: ["--text-column", "SMILES"])
        try refuse(Array("id,text\n1,\"a\"b\n2,c\n".utf8), "line 2, column 2: text after the closing quote of a quoted field", extra: ["--text-column", "text"], suffix: ".csv")
        // a quote inside an unquoted field is a character (RFC 4180, Python's csv, the table reader):
        // it opened a "quoted field" that swallowed the next row, and half the items were lost
        let items = try Dataset.readSequenceItems(path: try { () throws -> String in
            let p = tempRunDir("midquote") + ".csv"
            try AtomicFile.write("id,text\n" + (1...6).map { "\($0),ab\"c\($0)" }.joined(separator: "\n") + "\n7,\"q, \"\"r\"\"\"\n", to: p)
            return p
        }(), textColumn: "text")
        XCTAssertEqual(items.map { String($0.text) }, (1...6).map { "ab\"c\($0)" } + ["q, \"r\""])
        XCTAssertEqual(items.map(\.line), [2, 3, 4, 5, 6, 7, 8])
        // a text file without --model gru is read as a table; when that fails, the message says what to add
        let text = tempRunDir("plain") + ".txt"
        try AtomicFile.write("hello world, foo\nbar\n", to: text)
        let plain = try CLI.run(["train", "--data", text, "--out", tempRunDir("plainrun")])
        XCTAssertEqual(plain.status, 1)
        XCTAssertTrue(plain.stderr.contains("holds one item per line (text, SMILES), train a sequence VAE: add --model gru"), plain.stderr)
        // an image flag on a sequence run is a usage error before any data is read (it was exit 1, after)
        // (--init glorot and --output-bias-from-data were exit 1 after reading the data, one of them
        // explained by a transposed convolution's biases)
        for (flag, name) in [(["--conditional"], "--conditional"), (["--likelihood", "gaussian"], "--likelihood"),
                             (["--init", "glorot"], "--init glorot"), (["--output-bias-from-data"], "--output-bias-from-data")] {
            let r = try CLI.run(["train", "--model", "gru", "--data", "/nonexistent.txt"] + flag + ["--out", tempRunDir("gruflag")])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(name) is not for --model gru"), r.stderr)
        }
        // a CSV without --text-column: its header and other fields would be read as items
        try refuse(Array("SMILES,SPLIT\nCCO,train\nCCN,test\n".utf8), "is a CSV table: pass --text-column with the column that holds the items (its header: 'SMILES', 'SPLIT')",
                   suffix: ".csv")
        // a huge vocabulary is bounded: 20,000 distinct words, the 50 most frequent kept
        let words = (0..<20_000).map { "w\($0)" }
        let path = tempRunDir("vocab") + ".txt"
        try AtomicFile.write(stride(from: 0, to: words.count, by: 10).map { words[$0..<($0 + 10)].joined(separator: " ") }.joined(separator: "\n") + "\n", to: path)
        let run = tempRunDir("vocabrun")
        let r = try CLI.run(["train", "--data", path, "--tokens", "words", "--max-vocab", "50"] + small + ["--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Checkpoint.load(run).model.config.sequence?.vocabulary.count, 54)
        XCTAssertTrue(r.stderr.contains("tokens of \(path) are not in the vocabulary and read as <unk>"), r.stderr)   // the file named
        // flags of sequences without --model gru
        let t = try CLI.run(["train", "--data", path, "--tokens", "words", "--out", tempRunDir("nogru")])
        XCTAssertEqual(t.status, 2)   // options that do not go together: a usage error
        XCTAssertTrue(t.stderr.contains("error: --tokens is for sequences (text, SMILES): add --model gru"), t.stderr)   // the flag given, not all ten
        let two = try CLI.run(["train", "--data", path, "--max-length", "20", "--text-column", "x", "--out", tempRunDir("nogru2")])
        XCTAssertEqual(two.status, 2)
        XCTAssertTrue(two.stderr.contains("error: --max-length and --text-column are for sequences (text, SMILES): add --model gru"), two.stderr)
    }

    /// The report shows the test items as their file has them: a word outside a small vocabulary
    /// is itself, not <unk> (the page showed the tokens: "the <unk> sees a <unk> .").
    func testReportShowsTheItemsOwnText() throws {
        let path = try write(SequenceCLITests.sentences(200), "owntext")
        let run = tempRunDir("owntextrun")
        let r = try CLI.run(["train", "--model", "gru", "--data", path, "--tokens", "words", "--max-vocab", "6", "--encoder", "1x8",
                             "--decoder", "1x8", "--latent", "2", "--epochs", "1", "--batch", "32", "--out", run])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try CLI.run(["encode", run, "--out", run + "/z.csv"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let first = try XCTUnwrap(try String(contentsOfFile: run + "/z.csv", encoding: .utf8).split(separator: "\n").dropFirst().first)
        let item = String(first.split(separator: ",")[2])
        let html = try String(contentsOfFile: run + "/report.html", encoding: .utf8)
        let reconstructions = try XCTUnwrap(html.range(of: "<h2>Reconstructions</h2>").map { String(html[$0.upperBound...].prefix(2000)) })
        XCTAssertTrue(reconstructions.contains("<td class=\"text\">\(item)</td>"), "the first test item, \(item), as its file has it: \(reconstructions.prefix(400))")
        XCTAssertFalse(item.contains("<unk>"))
        // an empty sample (<eos> drawn first; this barely trained model draws some) is said, not a blank cell
        let table = try XCTUnwrap(html.range(of: "<h2>Samples</h2>").map { String(html[$0.upperBound...]).components(separatedBy: "</table>")[0] })
        XCTAssertFalse(table.contains("<td class=\"text\"></td>"), table)
        XCTAssertTrue(table.contains("(empty: &lt;eos&gt; first)"), "no empty sample: the check shows nothing; \(table)")
    }

    /// A .smi file with names after the SMILES (RDKit's layout): refused, naming the line — the
    /// names trained as the molecules' tokens; sentences whose first words happen to be SMILES
    /// ("I", "CO") are text, not molecules.
    func testSMILESWithNamesAreRefusedAndSentencesAreNotMolecules() throws {
        let smiles = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCCC", "OCC(O)CO", "C1CCCCC1", "CC(C)O", "CCOC", "NCC(=O)O"]
        let named = try write((0..<200).map { "\(smiles[$0 % smiles.count]) ZINC\($0 + 1)" }, "named-smi")
        let r = try CLI.run(["train", "--model", "gru", "--data", named, "--encoder", "1x8", "--decoder", "1x8", "--epochs", "1", "--no-report", "--out", tempRunDir("named-run")])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("error: \(named) line 1: its SMILES is followed by ' ZINC1' (a name, as in RDKit's .smi files)")
                      && r.stderr.contains("keep the SMILES alone (awk '{print $1}' FILE > molecules.smi)"), r.stderr)
        // names of several words in a .smi file: refused too (such lines are not counted as molecules)
        let long = tempRunDir("named-smi-words") + ".smi"
        try AtomicFile.write((0..<200).map { "\(smiles[$0 % smiles.count]) molecule number \($0 + 1)" }.joined(separator: "\n") + "\n", to: long)
        let w = try CLI.run(["train", "--model", "gru", "--data", long, "--encoder", "1x8", "--decoder", "1x8", "--epochs", "1", "--no-report", "--out", tempRunDir("named-words-run")])
        XCTAssertEqual(w.status, 1, w.stderr)
        XCTAssertTrue(w.stderr.contains("error: \(long) line 1: its SMILES is followed by ' molecule number 1' (a name"), w.stderr)
        let plain = try write((0..<200).map { smiles[$0 % smiles.count] }, "plain-smi")
        let ok = try CLI.run(["train", "--model", "gru", "--data", plain, "--encoder", "1x8", "--decoder", "1x8", "--epochs", "1", "--no-report", "--out", tempRunDir("plain-smi-run")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("the items are SMILES"), ok.stderr)
        let words = ["I like it a lot", "CO is a gas we breathe out", "I see the sea", "C is a letter of the alphabet"]
        let text = try write((0..<200).map { words[$0 % words.count] }, "smiles-like-text")
        let t = try CLI.run(["train", "--model", "gru", "--data", text, "--encoder", "1x8", "--decoder", "1x8", "--epochs", "1", "--no-report", "--out", tempRunDir("smiles-like-run")])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertFalse(t.stderr.contains("the items are SMILES"), t.stderr)
    }

    /// `vae smiles FILE`: the share of valid molecules, the problem classes, a TSV per line.
    func testSMILESCommand() throws {
        let path = tempRunDir("smiles") + ".smi.gz"
        try AtomicFile.write(Gzip.compress(Array("CCO\nc1ccccc1\nC1CC\nc1cccc1\nC(C)(C)(C)(C)C\n".utf8)), to: path)
        let tsv = tempRunDir("smiles") + ".tsv"
        let r = try CLI.run(["smiles", path, "--out", tsv])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("2 of 5 lines are valid molecules (40.00%)"), r.stdout)
        for kind in ["ring closure: 1", "kekulization: 1", "valence: 1"] { XCTAssertTrue(r.stdout.contains(kind), r.stdout) }
        let rows = try String(contentsOfFile: tsv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.map { String($0[1]) }, ["1", "1", "0", "0", "0"])
        XCTAssertEqual(String(rows[2][3]), "unclosed ring 1")
        // - reads standard input (gzip too), as --data - does (it was "cannot read -")
        let piped = try CLI.shell("'\(CLI.binary)' smiles - < '\(path)'")
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertTrue(piped.stdout.hasPrefix("2 of 5 lines are valid molecules (40.00%)"), piped.stdout)
        // a gzip trailer that lies about the size (4 GiB for 5 lines) is damage, not 4 GiB reserved
        var lie = try AtomicFile.readAll(path: path, maxBytes: 1 << 20)
        for i in (lie.count - 4)..<lie.count { lie[i] = 0xFF }
        let liePath = tempRunDir("smiles-lie") + ".smi.gz"
        try AtomicFile.write(lie, to: liePath)
        let lied = try CLI.shell("ulimit -v 2000000; exec '\(CLI.binary)' smiles '\(liePath)'")
        XCTAssertTrue(lied.exited, lied.stderr)
        XCTAssertEqual(lied.status, 1, lied.stderr)
        XCTAssertTrue(lied.stderr.contains("length check"), lied.stderr)
        let missing = try CLI.run(["smiles", "/nonexistent.smi"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        // a CSV is read by its column, as training reads it (its header counted as a molecule), and
        // an empty file is no result
        let csv = tempRunDir("smiles") + ".csv"
        try AtomicFile.write("SMILES,id\nCCO,1\nC1CC,2\n", to: csv)
        XCTAssertEqual(try CLI.run(["smiles", csv]).status, 1)
        let byColumn = try CLI.run(["smiles", csv, "--text-column", "SMILES"])
        XCTAssertTrue(byColumn.stdout.hasPrefix("1 of 2 lines are valid molecules"), byColumn.stdout)
        let empty = tempRunDir("smiles") + ".smi"
        try AtomicFile.write("", to: empty)
        let e = try CLI.run(["smiles", empty])
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("is empty"), e.stderr)
        // a blank line is an empty SMILES, invalid, as `vae sample` and MOSES count it (it was left
        // out: another share than the sampler's); a tab in a string is escaped in its TSV row
        let blanks = tempRunDir("smiles") + ".smi"
        try AtomicFile.write("CCO\n\nC\tC\nc1ccccc1\n", to: blanks)
        let b = try CLI.run(["smiles", blanks, "--out", tsv])
        XCTAssertTrue(b.stdout.hasPrefix("3 of 4 lines are valid molecules (75.00%)"), b.stdout)   // "C<tab>C": C and a name, as RDKit reads it
        let bRows = try String(contentsOfFile: tsv, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(bRows.count, 4)
        XCTAssertTrue(bRows.allSatisfy { $0.split(separator: "\t", omittingEmptySubsequences: false).count == 4 }, "\(bRows)")
        XCTAssertEqual(bRows[1].split(separator: "\t", omittingEmptySubsequences: false)[3], "empty SMILES")
        XCTAssertTrue(bRows[2].hasPrefix("C\\tC\t1"), String(bRows[2]))
    }
}
