import ArgumentParser
import Foundation
import VAEKit

/// `vae smiles FILE`: which lines of a file are valid molecules, and why the others are not.
struct SMILESCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smiles",
        abstract: "Check a file of SMILES (one per line, plain or gzip): the share of valid molecules, and why the others are not.",
        discussion: "The checks of RDKit's MolFromSmiles: syntax, ring closures, branches, elements, valences, kekulization, aromatic atoms outside rings (docs/smiles-validity.md)."
    )
    @Argument(help: ArgumentHelp("A file of SMILES, one per line (.smi, .txt, plain or .gz; - reads standard input).", valueName: "file"),
              transform: { $0 == "-" ? "/dev/stdin" : $0 }) var file: String
    @Option(help: ArgumentHelp("Write a TSV line per item: the string, 1 or 0, the problem class, the message.", valueName: "file.tsv"))
    var out: String?
    @Option(name: .customLong("text-column"), help: ArgumentHelp("A CSV file: the column that holds the SMILES (MOSES: SMILES).", valueName: "column"))
    var textColumn: String?

    func run() throws {
        OutputFile.registerInput(file, "the file checked")
        try OutputFile.requireFolder(out)
        // the sequence reader's rules: gzip, UTF-8 (a bad line named), a byte-order mark, a CSV's
        // header and column (a CSV without --text-column is refused, not checked header and all)
        // a blank line is an empty SMILES, invalid (as MOSES and `vae sample` count it): one TSV row per line
        let lines = try Dataset.readSequenceItems(path: file, textColumn: textColumn, keepBlankLines: true).map(\.text)
        var rows: [String] = [], valid = 0
        var kinds: [String: Int] = [:]
        rows.reserveCapacity(out == nil ? 0 : lines.count)
        for line in lines {
            let s = String(line)
            if let p = SMILES.diagnose(s) {
                kinds[p.kind.rawValue, default: 0] += 1
                if out != nil { rows.append("\(SequenceText.tsvCell(s))\t0\t\(p.kind.rawValue)\t\(p.message)") }
            } else {
                valid += 1
                if out != nil { rows.append("\(SequenceText.tsvCell(s))\t1\t\t") }
            }
        }
        print(String(format: "%d of %d lines are valid molecules (%.2f%%)", valid, lines.count, 100 * Double(valid) / Double(max(lines.count, 1))))
        for (k, n) in kinds.sorted(by: { $0.value > $1.value }) { print("  \(k): \(n)") }
        if let out {
            try AtomicFile.write(rows.joined(separator: "\n") + (rows.isEmpty ? "" : "\n"), to: out)
            print("wrote \(out)")
        }
    }
}
