/// Text ↔ token ids for the sequence models: the special tokens, the three tokenizers, and a
/// vocabulary built from training lines (most frequent first, bounded).
public enum Vocabulary {
    public static let bos: Int32 = 0, eos: Int32 = 1, pad: Int32 = 2, unk: Int32 = 3
    /// The first four entries of every vocabulary, in id order.
    public static let specials = ["<bos>", "<eos>", "<pad>", "<unk>"]

    /// Tokens a sampler never emits.
    @inline(__always) public static func neverGenerated(_ id: Int) -> Bool { id == Int(bos) || id == Int(pad) || id == Int(unk) }

    /// The tokens of one line.
    public static func tokenize(_ line: Substring, _ tokenizer: SequenceConfig.Tokenizer) -> [Substring] {
        switch tokenizer {
        case .characters: return line.indices.map { line[$0...$0] }
        case .words: return words(line)
        case .smiles: return smiles(line)
        }
    }

    /// Runs of letters, digits and apostrophes, and every other visible character alone.
    static func words(_ line: Substring) -> [Substring] {
        var out: [Substring] = []
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            if c.isWhitespace { i = line.index(after: i); continue }
            if c.isLetter || c.isNumber || c == "'" {
                var j = line.index(after: i)
                while j < line.endIndex, line[j].isLetter || line[j].isNumber || line[j] == "'" { j = line.index(after: j) }
                out.append(line[i..<j])
                i = j
            } else {
                let j = line.index(after: i)
                out.append(line[i..<j])
                i = j
            }
        }
        return out
    }

    /// SMILES tokens: `[…]` bracket atoms, `Cl` and `Br`, `%nn` ring-closure numbers, else one character.
    static func smiles(_ line: Substring) -> [Substring] {
        var out: [Substring] = []
        let u = line.utf8
        var i = u.startIndex
        while i < u.endIndex {
            let c = u[i]
            var j = u.index(after: i)
            if c == UInt8(ascii: "[") {
                while j < u.endIndex && u[j] != UInt8(ascii: "]") { j = u.index(after: j) }
                if j < u.endIndex { j = u.index(after: j) }  // an unclosed bracket runs to the end: one token
            } else if c == UInt8(ascii: "%") {
                var n = 0
                while j < u.endIndex && n < 2 && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[j]) { j = u.index(after: j); n += 1 }
            } else if j < u.endIndex && ((c == UInt8(ascii: "C") && u[j] == UInt8(ascii: "l")) || (c == UInt8(ascii: "B") && u[j] == UInt8(ascii: "r"))) {
                j = u.index(after: j)
            } else if c >= 0x80 {
                // a non-ASCII character: its whole UTF-8 sequence
                while j < u.endIndex && (u[j] & 0xC0) == 0x80 { j = u.index(after: j) }
            }
            out.append(Substring(line[i..<j]))
            i = j
        }
        return out
    }

    /// The text of token ids (specials left out); SMILES and characters joined directly, words by spaces.
    public static func text(_ ids: [Int32], _ config: SequenceConfig) -> String {
        let parts = ids.compactMap { id -> String? in
            let i = Int(id)
            guard i >= specials.count, i < config.vocabulary.count else { return i == Int(unk) ? "<unk>" : nil }
            return config.vocabulary[i]
        }
        return parts.joined(separator: config.tokenizer == .words ? " " : "")
    }
}
