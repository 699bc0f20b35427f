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
    /// The width of a learned token embedding that both GRUs read (`nn.Embedding`, shared, as in
    /// MOSES's VAE); 0: the GRUs read one-hot tokens (MOSES's default; a small vocabulary). With
    /// thousands of words the one-hot inputs make each GRU's input weights a vocabulary wide.
    public var embedding: Int = 0

    public init(tokenizer: Tokenizer, vocabulary: [String], maxLength: Int, encoderHidden: Int = 256, encoderLayers: Int = 1,
                decoderHidden: Int = 512, decoderLayers: Int = 1, wordDropout: Double = 0, bidirectional: Bool = false,
                embedding: Int = 0) {
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        self.encoderHidden = encoderHidden
        self.encoderLayers = encoderLayers
        self.decoderHidden = decoderHidden
        self.decoderLayers = decoderLayers
        self.wordDropout = wordDropout
        self.bidirectional = bidirectional
        self.embedding = embedding
    }

    enum CodingKeys: String, CodingKey {
        case tokenizer, vocabulary, maxLength, encoderHidden, encoderLayers, decoderHidden, decoderLayers, wordDropout, bidirectional
        case molecules, embedding
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
        embedding = try c.decodeIfPresent(Int.self, forKey: .embedding) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encode(vocabulary, forKey: .vocabulary)
        try c.encode(maxLength, forKey: .maxLength)
        try c.encode(encoderHidden, forKey: .encoderHidden)
        try c.encode(encoderLayers, forKey: .encoderLayers)
        try c.encode(decoderHidden, forKey: .decoderHidden)
        try c.encode(decoderLayers, forKey: .decoderLayers)
        try c.encode(wordDropout, forKey: .wordDropout)
        try c.encode(bidirectional, forKey: .bidirectional)
        try c.encode(molecules, forKey: .molecules)
        // one-hot models' configs stay as they were (readable by earlier releases)
        if embedding != 0 { try c.encode(embedding, forKey: .embedding) }
    }

    /// Vocabularies up to this size are read one-hot unless asked otherwise (MOSES's SMILES: 30
    /// tokens; the characters of English text: about 100).
    public static let oneHotVocabularyLimit = 1000
    /// The width of the embedding a larger vocabulary gets by default.
    public static let defaultEmbeddingWidth = 256
    /// The widths an embedding may have (0: one-hot tokens).
    public static let embeddingWidths = 0...8192

    /// The embedding these GRUs and this vocabulary get when none is asked for: one-hot tokens for
    /// a small vocabulary; for a large one a `defaultEmbeddingWidth`-wide table when the model
    /// with it has fewer parameters (the table against the width of the GRUs' input weights).
    public var defaultEmbedding: Int {
        guard vocabulary.count > SequenceConfig.oneHotVocabularyLimit else { return 0 }
        var oneHot = self, embedded = self
        oneHot.embedding = 0
        embedded.embedding = SequenceConfig.defaultEmbeddingWidth
        guard let a = SequenceVAE.parameterCount(VAEConfig(sequence: oneHot, latent: 1)),
              let b = SequenceVAE.parameterCount(VAEConfig(sequence: embedded, latent: 1)) else { return 0 }
        return b < a ? SequenceConfig.defaultEmbeddingWidth : 0
    }

    /// "one-hot tokens" or "a 256-wide token embedding".
    public var inputDescription: String { embedding > 0 ? "a \(embedding)-wide token embedding" : "one-hot tokens" }

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
        guard SequenceConfig.embeddingWidths.contains(embedding) else { throw VAEError("the token embedding's width \(embedding) must be between 0 (one-hot tokens) and \(SequenceConfig.embeddingWidths.upperBound)") }
        guard wordDropout >= 0 && wordDropout < 1 else { throw VAEError("word dropout \(wordDropout) must be at least 0 and below 1") }
    }
}
