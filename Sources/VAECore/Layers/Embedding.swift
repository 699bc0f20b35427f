/// A table of learned token vectors, PyTorch's `nn.Embedding`: weight [vocabulary, dim], row t is
/// token t's vector, initialised N(0, 1) as PyTorch does.
///
/// It keeps no state between calls, so one table can feed several readers (a sequence VAE's
/// encoder and decoder share it): `gather` gives the rows of a list of token ids, and
/// `accumulateGradient` adds the gradient of those rows back into the table's.
public final class Embedding {
    public let vocabulary: Int
    public let dim: Int
    public let weight: Parameter
    public var parameters: [Parameter] { [weight] }

    public init(vocabulary: Int, dim: Int) {
        precondition(vocabulary >= 1 && dim >= 1)
        self.vocabulary = vocabulary
        self.dim = dim
        weight = Parameter(name: "weight", shape: [vocabulary, dim])
    }

    public func nameParameters(prefix: String) { weight.name = "\(prefix).weight" }

    public func initialize(using rng: inout RNG) {
        rng.fillNormal(weight.value.pointer, count: weight.count)
    }

    /// out[r] = weight[tokens[r]]: [tokens.count, dim] in `into`'s buffer.
    public func gather(_ tokens: [Int32], into w: inout Workspace) -> Tensor {
        let D = dim, V = vocabulary
        let out = w.view([tokens.count, D])
        let table = weight.value.pointer, o = out.pointer
        for (r, t) in tokens.enumerated() {
            let tok = Int(t)
            precondition(tok >= 0 && tok < V, "Embedding: token \(tok) outside the vocabulary of \(V)")
            (o + r * D).update(from: table + tok * D, count: D)
        }
        return out
    }

    /// weight.grad[tokens[r]] += d[r] for every r in order (columns split over the threads: each
    /// element's additions keep their order, so the same bits for any thread count).
    public func accumulateGradient(_ tokens: [Int32], _ d: Tensor) {
        let D = dim
        precondition(d.count == tokens.count * D, "Embedding: gradient \(d.shape) for \(tokens.count) tokens of \(D)")
        let g = weight.grad.pointer, dp = d.pointer
        ThreadPool.forEachRange(D, work: tokens.count * D, minWork: 65_536, align: 16) { cols in
            for (r, t) in tokens.enumerated() {
                let row = g + Int(t) * D, src = dp + r * D
                for j in cols { row[j] += src[j] }
            }
        }
    }
}
