import ArgumentParser
import Foundation
import VAECore
import VAEKit

// The commands on a sequence run (`vae train --model gru`): items are lines of text, so what an
// image run draws as a picture is printed, one item per line.

extension Sample {
    /// z ~ N(0, I), decoded by sampling at --temperature (or --greedy); printed or written to --out.
    func runSequence(_ model: SequenceVAE) throws {
        if cls != nil { throw ValidationError("--class is for conditional image and table models") }
        if outDir != nil { throw ValidationError("--out-dir writes images; a sequence run's samples go to stdout or --out FILE") }
        if greedy && temperature != nil { throw ValidationError("--greedy takes the most probable token at every step: --temperature does not go with it") }
        if let out, out.lowercased().hasSuffix(".png") { throw ValidationError("--out \(out): a sequence run's samples are text, one per line; give a text file (e.g. samples.txt)") }
        // (it was said after every sample had been drawn: 80 s of them at --count 100000)
        if validOnly && !model.sequence.molecules { throw ValidationError("--valid-only is for SMILES runs (molecules); this run's items are text") }
        let n = count ?? 10
        var atLimit = 0
        var items = SequenceText.samples(model, count: n, temperature: temperature ?? 1, greedy: greedy, seed: seed, progress: true, atLimit: &atLimit)
        if atLimit > 0 {
            // (they were written, and counted among the valid molecules, without a word)
            Console.note("note: \(Console.counted(atLimit, "sample")) of \(n) reached the model's --max-length, \(model.sequence.maxLength) tokens, without drawing <eos>: decoding stopped \(atLimit == 1 ? "it" : "them") there, cut short")
        }
        if model.sequence.molecules {
            let valid = items.filter { SMILES.isValid($0) }
            Console.note(String(format: "valid molecules: %d of %d (%.1f%%)", valid.count, n, 100 * Double(valid.count) / Double(n))
                         + (validOnly ? "; writing the valid ones" : ""))
            if validOnly { items = valid }
        }
        // one item per line: an item's own line break (a multi-line CSV field) written as \n, as reconstruct does
        try SequenceText.emit(items.map(SequenceText.tsvCell), to: out)
    }
}

extension Reconstruct {
    /// Test items (or --items) and their greedy decodings from z = μ, tab-separated.
    func runSequence(_ loaded: Checkpoint.Loaded, _ model: SequenceVAE) throws {
        if images != nil || outDir != nil { throw ValidationError("--images and --out-dir are for image runs; give a sequence run --items or --data") }
        if let out, out.lowercased().hasSuffix(".png") { throw ValidationError("--out \(out): a sequence run's reconstructions are text, one item and its decoding per line; give a text file (e.g. reconstructions.tsv)") }
        let source: any DataSource
        var texts: [String]
        var shown: [String]? = nil   // test items as their file has them (a token outside the vocabulary stays itself)
        if !items.isEmpty {
            // (--data beside them was read by nothing, silently)
            if dataOptions.data != nil { throw ValidationError("--items are the items to reconstruct; --data names a file of them instead: give one of the two") }
            let (set, unknown) = try SequenceText.encode(items, model)
            if unknown > 0 { Console.note("note: \(unknown) token\(unknown == 1 ? " of the given items is" : "s of the given items are") not in the vocabulary and read as <unk>") }
            source = set
            // compared as tokens, like the test items (a words run decodes "hello, world." as
            // "hello , world ."), shown as given
            texts = (0..<set.count).map { SequenceText.item(set, $0, model.sequence) }
            shown = items
        } else {
            let data = try runArg.testSet(loaded, dataOptions)
            source = data.test.first(count ?? 30)
            texts = (0..<source.count).map { SequenceText.item(source, $0, model.sequence) }
            shown = try SequenceText.texts(source, model.sequence)
        }
        let mu = try Analysis.latentMeans(model, source)   // 1,000 items at a time: memory bounded
        let decoded = SequenceText.decode(model, mu)
        var lines = ["item\treconstruction"]
        let cell = SequenceText.tsvCell
        for i in 0..<texts.count { lines.append("\(cell(shown?[i] ?? texts[i]))\t\(cell(decoded[i]))") }
        let same = (0..<texts.count).filter { texts[$0] == decoded[$0] }.count   // as tokens, the model's own terms
        try SequenceText.emit(lines, to: out)
        Console.note("\(same) of \(texts.count) items decode back exactly (greedy, z = μ)")
    }
}

extension Interpolate {
    /// Bowman et al.'s homotopy between two items (given as text, or as test-item indices).
    func runSequence(_ loaded: Checkpoint.Loaded, _ model: SequenceVAE) throws {
        if cls != nil || outDir != nil { throw ValidationError("--class and --out-dir are for image runs") }
        if let out, out.lowercased().hasSuffix(".png") { throw ValidationError("--out \(out): a sequence run's interpolation is text, one decoding per line; give a text file (e.g. interpolation.txt)") }
        var ends: [String] = []
        for (flag, v) in [("--from", from), ("--to", to)] {
            if let id = Int(v) {
                // the id vae encode and vae anomaly write: the item's line in its file
                let data = try runArg.testSet(loaded, dataOptions)
                guard let i = (0..<data.test.count).first(where: { data.test.itemID($0) == String(id) }) else {
                    // a number that is no test item's id is an item itself ("1984"), said so
                    Console.note("note: \(flag) \(id) is no test item's id (their lines in the file, as vae encode --split test lists them): read as the item \"\(v)\"")
                    ends.append(v)
                    continue
                }
                ends.append(SequenceText.item(data.test, i, model.sequence))
            } else {
                ends.append(v)
            }
        }
        let (set, unknown) = try SequenceText.encode(ends, model, names: ["--from", "--to"])
        if unknown > 0 { Console.note("note: \(Console.counted(unknown, "token")) of --from and --to \(unknown == 1 ? "is" : "are") not in the model's vocabulary and read as <unk>") }
        let mu = model.encode(set.batch(0..<2)).mu
        let line = SequenceText.interpolation(model, from: mu.rows(0..<1), to: mu.rows(1..<2), steps: steps + 2)
        try SequenceText.emit(line.map(SequenceText.tsvCell), to: out)
    }
}

extension SequenceText {
    /// Lines to `out` (atomically, saying so), else to stdout.
    static func emit(_ lines: [String], to out: String?) throws {
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        if let out {
            try AtomicFile.write(text, to: out)
            print("wrote \(out) (\(lines.count) lines)")
        } else {
            Console.write(text, fd: 1)
        }
    }

    /// Items given on the command line, tokenized with the run's vocabulary; items longer than
    /// the run's longest are an error naming them.
    /// `names`: what to call each item in a message (`--from`), else "item N".
    static func encode(_ items: [String], _ model: SequenceVAE, names: [String] = []) throws -> (SequenceSource, unknown: Int) {
        let s = model.sequence
        var ids: [UInt16] = [], starts = [0], lines: [Int32] = []
        var index: [Substring: UInt16] = [:]
        for (i, t) in s.vocabulary.enumerated() where i >= Vocabulary.specials.count { index[Substring(t)] = UInt16(i) }
        var unknown = 0
        for (n, item) in items.enumerated() {
            let toks = Vocabulary.tokenize(Substring(item), s.tokenizer)
            let name = n < names.count ? names[n] : "item \(n + 1)"
            guard !toks.isEmpty else { throw VAEError("\(name) is empty: give an item with at least one token") }
            guard toks.count <= s.maxLength else {
                throw VAEError("\(name) ('\(item.prefix(40))…') has \(toks.count) tokens; the model reads at most \(s.maxLength)")
            }
            for t in toks {
                if let id = index[t] { ids.append(id) } else { ids.append(UInt16(Vocabulary.unk)); unknown += 1 }
            }
            starts.append(ids.count)
            lines.append(Int32(n + 1))
        }
        return (SequenceSource(ids: ids, starts: starts, lines: lines, maxLength: s.maxLength), unknown)
    }
}
