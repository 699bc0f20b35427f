/// What defines a sequence VAE beyond the latent size: how text becomes tokens, the vocabulary,
/// the longest item, and the two GRUs (MOSES's VAE: encoder 1×256, decoder 3×512).
public struct SequenceConfig: Codable, Equatable, Sendable {
    /// How a line becomes tokens.
    public enum Tokenizer: String, Codable, Sendable, CaseIterable {
        /// One token per Unicode character (grapheme cluster).
        case characters
        /// Words and punctuation marks, split on white space.
        case words
        /// SMILES: bracket atoms (`[nH]`, `[C@@H]`), two-letter elements (`Cl`, `Br`), `%nn` ring
        /// numbers as one token each, every other character alone.
        case smiles
    }

    public var tokenizer: Tokenizer
    /// Index → token. The first four are `Vocabulary.specials`: <bos>, <eos>, <pad>, <unk>.
    public var vocabulary: [String]
    /// Tokens per item at most, not counting <bos> and <eos>.
    public var maxLength: Int
    public var encoderHidden: Int
    public var encoderLayers: Int
    public var decoderHidden: Int
    public var decoderLayers: Int
    /// Bowman et al. (2016): the probability that a decoder input token (after <bos>) is
    /// replaced by <unk> during training.
    public var wordDropout: Double
    /// The encoder reads each item both ways (PyTorch's bidirectional GRU); μ and log σ² come
    /// from both directions' final states.
    public var bidirectional: Bool = false
    /// The items are SMILES strings (molecules): samples are checked for validity.
    public var molecules: Bool = false

    public init(tokenizer: Tokenizer, vocabulary: [String], maxLength: Int, encoderHidden: Int = 256, encoderLayers: Int = 1,
                decoderHidden: Int = 512, decoderLayers: Int = 1, wordDropout: Double = 0, bidirectional: Bool = false) {
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        self.encoderHidden = encoderHidden
        self.encoderLayers = encoderLayers
        self.decoderHidden = decoderHidden
        self.decoderLayers = decoderLayers
        self.wordDropout = wordDropout
        self.bidirectional = bidirectional
    }

    enum CodingKeys: String, CodingKey {
        case tokenizer, vocabulary, maxLength, encoderHidden, encoderLayers, decoderHidden, decoderLayers, wordDropout, bidirectional
        case molecules
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tokenizer = try c.decode(Tokenizer.self, forKey: .tokenizer)
        vocabulary = try c.decode([String].self, forKey: .vocabulary)
        maxLength = try c.decode(Int.self, forKey: .maxLength)
        encoderHidden = try c.decode(Int.self, forKey: .encoderHidden)
        encoderLayers = try c.decode(Int.self, forKey: .encoderLayers)
        decoderHidden = try c.decode(Int.self, forKey: .decoderHidden)
        decoderLayers = try c.decode(Int.self, forKey: .decoderLayers)
        wordDropout = try c.decode(Double.self, forKey: .wordDropout)
        bidirectional = try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? false
        molecules = try c.decodeIfPresent(Bool.self, forKey: .molecules) ?? false
    }

    public func validate() throws {
        guard vocabulary.count > Vocabulary.specials.count, vocabulary.count <= 1 << 20,
              Array(vocabulary.prefix(Vocabulary.specials.count)) == Vocabulary.specials else {
            throw VAEError("a sequence model's vocabulary must start with \(Vocabulary.specials.joined(separator: " ")) and hold 1 to 1,048,572 tokens more")
        }
        guard Set(vocabulary).count == vocabulary.count else { throw VAEError("a sequence model's vocabulary repeats a token") }
        guard (1...100_000).contains(maxLength) else { throw VAEError("the longest item, \(maxLength) tokens, must be between 1 and 100000") }
        for (name, v) in [("encoder width", encoderHidden), ("decoder width", decoderHidden)] where !(1...8192).contains(v) {
            throw VAEError("the \(name) \(v) must be between 1 and 8192")
        }
        for (name, v) in [("encoder layers", encoderLayers), ("decoder layers", decoderLayers)] where !(1...16).contains(v) {
            throw VAEError("the \(name) \(v) must be between 1 and 16")
        }
        guard wordDropout >= 0 && wordDropout < 1 else { throw VAEError("word dropout \(wordDropout) must be at least 0 and below 1") }
    }
}
