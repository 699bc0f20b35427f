import Foundation

/// The processor this runs on, from /proc/cpuinfo: its name, family and model, and the
/// micro-architecture they stand for (AMD's Zen generations; Intel's AVX-512 server and recent
/// client cores) — the machines differ in what their AVX-512 can do (Zen 4 executes a 512-bit
/// FMA as two 256-bit halves, Zen 5 and Intel's Xeons at full width), so measurements name it.
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
        if fields["vendor_id"] == "GenuineIntel", let arch = intelArchitecture(family: family, model: model) { text += ": \(arch)" }
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

    /// Intel's family-6 models of the AVX-512 server cores and the recent client cores (the
    /// Linux kernel's arch/x86/include/asm/intel-family.h). A VM's "Intel Xeon Processor" says
    /// no more than that; the model tells Sapphire from Emerald Rapids.
    static func intelArchitecture(family: Int, model: Int) -> String? {
        guard family == 6 else { return nil }
        switch model {
        case 0x55: return "Skylake-SP / Cascade Lake"
        case 0x6A, 0x6C: return "Ice Lake-SP"
        case 0x8F: return "Sapphire Rapids"
        case 0xCF: return "Emerald Rapids"
        case 0xAD, 0xAE: return "Granite Rapids"
        case 0x97, 0x9A: return "Alder Lake"
        case 0xB7, 0xBA, 0xBF: return "Raptor Lake"
        default: return nil
        }
    }
}
