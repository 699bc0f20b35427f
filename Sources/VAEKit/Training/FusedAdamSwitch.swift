import Foundation

extension Trainer {
    /// Whether training applies Adam inside the backward pass (when there is no clipping):
    /// on unless VAE_FUSED_ADAM=0 (for comparisons; both give the same numbers).
    public static let fusedAdam: Bool = ProcessInfo.processInfo.environment["VAE_FUSED_ADAM"] != "0"
}
