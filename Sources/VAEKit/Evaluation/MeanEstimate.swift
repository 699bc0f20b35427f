/// A mean over test images with its standard error: SEM = s / √n, s² = Σ (vᵢ − v̄)² / (n − 1).
public struct MeanEstimate: Codable, Equatable, Sendable {
    public var mean: Double
    public var standardError: Double
    public var count: Int

    public init(_ values: [Double]) {
        count = values.count
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { standardError = .nan; return }
        let m = mean
        let ss = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        standardError = (ss / Double(values.count - 1)).squareRoot() / Double(values.count).squareRoot()
    }
}
