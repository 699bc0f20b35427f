import Foundation

extension Trainer {
    /// Whether training applies Adam inside the backward pass (when there is no clipping):
    /// on unless VAE_FUSED_ADAM=0 (for comparisons; both give the same numbers).
    public static let fusedAdam: Bool = {
        let v = ProcessInfo.processInfo.environment["VAE_FUSED_ADAM"]
        if let v, !v.isEmpty, v != "0", v != "1" {   // one warning line, as the other switches (it was ignored in silence)
            let line = Array("warning: VAE_FUSED_ADAM=\(v) is not 0 or 1; using 1\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }   // (FileHandle.write traps on a closed stderr)
        }
        return v != "0"
    }()
}
