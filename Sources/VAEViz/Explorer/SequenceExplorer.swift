import Foundation

/// Everything the live explorer of a sequence run's report needs: the decoder (sizes, vocabulary
/// and weights, in the order the page reads them) and a few test items with their latent means.
///
/// The decoder is the sequence VAE's: h₀ = W_h0 z + b_h0 for every layer; a GRU stack (PyTorch's
/// gate order r, z, n) whose first layer reads [one-hot(token), z] — or, with a learned embedding
/// of D values per token, [E[token], z]; logits = W_out h_top + b_out.
/// `weights` holds, as float32: W_h0 [H, K], b_h0 [H]; with an embedding E [V, D]; for each layer
/// l: weight_ih [3H, in_l], weight_hh [3H, H], bias_ih [3H], bias_hh [3H] (in_0 = V + K, or D + K
/// with an embedding, else H); W_out [V, H], b_out [V].
public struct SequenceExplorerData: Sendable {
    public var vocabulary: [String]
    /// what joins tokens into text: "" (characters, SMILES) or " " (words)
    public var joiner: String
    public var latent: Int
    public var hidden: Int
    public var layers: Int
    /// the width of the token embedding (0: the first layer reads one-hot tokens)
    public var embedding: Int
    /// at most this many tokens per decoded item (the run's --max-length)
    public var maxLength: Int
    public var weights: [Float]
    /// `items.count` test items as text and as token ids, and their latent means (count × latent)
    public var items: [String]
    public var itemTokens: [[Int]]
    public var mu: [Float]
    /// the pad's origin and its orthonormal axes (the principal directions of the means for latent > 2)
    public var padOrigin: [Float]
    public var padAxes: [[Float]]
    public var explained: Double
    /// the items (positions in `items`) the interpolation starts between
    public var interpolation: (Int, Int)
    /// each item's id, the number the page shows and its inputs take (the item's line in its file,
    /// as `vae encode` and `vae interpolate --from` have it); empty: the items' places
    public var ids: [Int]

    public init(vocabulary: [String], joiner: String, latent: Int, hidden: Int, layers: Int, embedding: Int = 0, maxLength: Int, weights: [Float],
                items: [String], itemTokens: [[Int]], mu: [Float], padOrigin: [Float], padAxes: [[Float]], explained: Double, interpolation: (Int, Int), ids: [Int] = []) {
        self.vocabulary = vocabulary
        self.joiner = joiner
        self.latent = latent
        self.hidden = hidden
        self.layers = layers
        self.embedding = embedding
        self.maxLength = maxLength
        self.weights = weights
        self.items = items
        self.itemTokens = itemTokens
        self.mu = mu
        self.padOrigin = padOrigin
        self.padAxes = padAxes
        self.explained = explained
        self.interpolation = interpolation
        self.ids = ids
    }

    /// item i's id (its place when the ids are not given)
    func id(_ i: Int) -> Int { ids.indices.contains(i) ? ids[i] : i }

    /// The number of floats the decoder of these sizes has.
    public static func weightCount(vocabulary V: Int, latent K: Int, hidden H: Int, layers L: Int, embedding D: Int = 0) -> Int {
        var n = H * K + H + V * H + V + V * D
        for l in 0..<L { n += 3 * H * ((l == 0 ? (D > 0 ? D : V) + K : H) + H + 2) }
        return n
    }

    /// A problem that would make the page wrong (sizes that do not match), or nil.
    public func problem() -> String? {
        let V = vocabulary.count, K = latent, n = items.count
        if V < 5 || K < 1 || hidden < 1 || layers < 1 || maxLength < 1 || embedding < 0 { return "sizes out of range" }
        let need = Self.weightCount(vocabulary: V, latent: K, hidden: hidden, layers: layers, embedding: embedding)
        if weights.count != need {
            return "\(weights.count) weights, the sizes need \(need)"
        }
        if mu.count != n * K || itemTokens.count != n { return "\(n) items but \(mu.count / K) latent means and \(itemTokens.count) token lists" }
        if itemTokens.contains(where: { $0.contains { !(0..<V).contains($0) } }) { return "a test item's token outside the vocabulary of \(V)" }
        if padOrigin.count != K || padAxes.isEmpty || padAxes.count > 2 || padAxes.contains(where: { $0.count != K }) { return "pad axes do not have \(K) values" }
        if !ids.isEmpty && ids.count != n { return "\(n) items but \(ids.count) ids" }
        if n > 0 && (!(0..<n).contains(interpolation.0) || !(0..<n).contains(interpolation.1)) { return "interpolation items not among the \(n)" }
        return nil
    }

    struct Meta: Encodable {
        var vocabulary: [String]
        var joiner: String
        var latent, hidden, layers, embedding, maxLength: Int
        var items: [String]
        var itemTokens: [[Int]]
        var padOrigin: [Float]
        var padAxes: [[Float]]
        var explained: Double
        var interpolation: [Int]
        var ids: [Int]
    }

    func metaJSON() throws -> String {
        let meta = Meta(vocabulary: vocabulary, joiner: joiner, latent: latent, hidden: hidden, layers: layers, embedding: embedding, maxLength: maxLength,
                        items: items, itemTokens: itemTokens, padOrigin: padOrigin, padAxes: padAxes, explained: explained,
                        interpolation: [interpolation.0, interpolation.1], ids: (0..<items.count).map(id))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // "</" is escaped so that the JSON can sit inside a <script> element
        return ExplorerData.scriptSafe(String(decoding: try enc.encode(meta), as: UTF8.self))
    }
}

extension ReportPage {
    /// Adds the live explorer of a sequence run: the GRU decoder runs in the page (float32
    /// weights, a JavaScript step), a 2-D pad over the latent space shows the test items by their
    /// latent means, and moving z rewrites the greedy decoding at once; an interpolation slider
    /// decodes the line between two items' means. Defines `window.swiftvae` (`decodeText(z)`,
    /// `decodeTokens(z)`, `nll(z, tokens)`, `latent`, `vocabulary`); see `SequenceExplorerScript`.
    public mutating func addSequenceExplorer(_ data: SequenceExplorerData, title: String = "Explore the latent space") throws {
        if let p = data.problem() { throw ReportError("sequence explorer: \(p)") }
        let meta = try data.metaJSON()
        let k = data.latent, n = data.items.count, last = max(0, n - 1)
        let axesText = ReportPage.padAxesText(latent: k, explained: data.explained)
        var h = "<div class=\"vx sx\" id=\"swiftvae-explorer\">\n"
        h += "<p>The decoder GRU runs in this page (float32 weights, a JavaScript step per token): the text beside the pad is the greedy "
        h += "decoding of the current z, rewritten as z moves. The pad shows \(n == 1 ? "the one test item by its latent mean" : "the first \(n) test items by their latent means") over \(htmlEscape(axesText)); "
        h += "hover a point to see the item and its reconstruction.</p>\n"
        h += "<div class=\"vx-grid\">\n<div class=\"vx-padbox\">\n"
        h += ReportPage.padHTML(axesText: axesText, pcaHint: k > 2 ? "The pad moves z along the two principal directions only." : nil)
        h += "</div>\n<div class=\"vx-side\">\n"
        h += "<p class=\"sx-label\">greedy decoding of the current z</p><p class=\"sx-text sx-big\" id=\"sx-out\" aria-live=\"polite\"></p>\n"
        h += "<p class=\"sx-label\" id=\"sx-hcap\">hovered test item</p><p class=\"sx-text\" id=\"sx-hx\"></p>\n"
        h += "<p class=\"sx-label\">its reconstruction (greedy, from its latent mean)</p><p class=\"sx-text\" id=\"sx-hr\"></p>\n"
        h += "<p class=\"vx-z\" id=\"vx-z\" aria-live=\"off\"></p>\n"
        h += "</div>\n</div>\n"
        h += "<h3>Interpolation (Bowman et al.'s homotopy)</h3>\n<div class=\"vx-interp\">\n"
        // the inputs take the items' ids (their lines in the file: vae encode's, vae interpolate --from's)
        h += ReportPage.interpolationControls(noun: "item", first: data.id(0), last: data.id(last),
                                              pair: (data.id(data.interpolation.0), data.id(data.interpolation.1)))
        h += "<table class=\"sx-interp\"><tr><th>from</th><td class=\"sx-text\" id=\"sx-a\"></td></tr>"
        h += "<tr><th>(1 − t)·μ₁ + t·μ₂</th><td class=\"sx-text\" id=\"sx-mid\"></td></tr>"
        h += "<tr><th>to</th><td class=\"sx-text\" id=\"sx-b\"></td></tr></table>\n</div>\n"
        h += "<noscript><p>The explorer needs JavaScript; the rest of the report does not.</p></noscript>\n</div>\n"
        blocks.append(.html(title: title, body: h))
        styles.append(ExplorerScript.css)
        styles.append(SequenceExplorerScript.css)
        var s = "<script type=\"application/json\" id=\"swiftvae-meta\">\(meta)</script>\n"
        s += "<script type=\"application/octet-stream\" id=\"swiftvae-weights\" data-encoding=\"\(ExplorerData.packedEncoding)\">\(ExplorerData.packedBase64(data.weights))</script>\n"
        s += "<script type=\"application/octet-stream\" id=\"swiftvae-mu\">\(ExplorerData.base64(data.mu))</script>\n"
        s += "<script>\n\(SequenceExplorerScript.js)</script>\n"
        scripts.append(s)
    }
}
