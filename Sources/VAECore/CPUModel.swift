import Foundation

/// The processor this runs on, from /proc/cpuinfo: its name, family and model, and for AMD the
/// micro-architecture they stand for — the machines differ in what their AVX-512 can do (Zen 4
/// executes a 512-bit FMA as two 256-bit halves, Zen 5 at full width), so measurements name it.
public enum CPUModel {
    /// e.g. "AMD EPYC (family 25, model 17: Zen 4)"; "unknown" when /proc/cpuinfo is not readable.
    public static var description: String {
        guard let data = FileManager.default.contents(atPath: "/proc/cpuinfo") else { return "unknown" }
        return describe(cpuinfo: String(decoding: data, as: UTF8.self))
    }

    /// The description for the text of /proc/cpuinfo (its first processor).
    public static func describe(cpuinfo: String) -> String {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n") {
            if line.isEmpty, !fields.isEmpty { break }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let name = fields["model name"] ?? "unknown"
        guard let family = fields["cpu family"].flatMap({ Int($0) }), let model = fields["model"].flatMap({ Int($0) }) else {
            return name
        }
        var text = "\(name) (family \(family), model \(model)"
        if fields["vendor_id"] == "AuthenticAMD", let arch = amdArchitecture(family: family, model: model) { text += ": \(arch)" }
        return text + ")"
    }

    /// AMD's families and model ranges (AMD's processor programming references).
    static func amdArchitecture(family: Int, model: Int) -> String? {
        switch family {
        case 0x17: return model >= 0x30 ? "Zen 2" : "Zen / Zen+"
        case 0x19:
            switch model {
            case 0x10...0x1F, 0x60...0x7F, 0xA0...0xAF: return "Zen 4"
            default: return "Zen 3"
            }
        case 0x1A: return "Zen 5"
        default: return nil
        }
    }
}
