import XCTest
@testable import VAECore

/// The CPU line of `vae info`: parsed from /proc/cpuinfo text, AMD families and Intel models named.
final class CPUModelTests: XCTestCase {
    func cpuinfo(vendor: String, family: Int, model: Int, name: String) -> String {
        """
        processor\t: 0
        vendor_id\t: \(vendor)
        cpu family\t: \(family)
        model\t\t: \(model)
        model name\t: \(name)
        flags\t\t: fpu avx2 avx512f

        processor\t: 1
        vendor_id\t: \(vendor)
        cpu family\t: 99
        model\t\t: 99
        model name\t: second

        """
    }

    func testAMDFamiliesAreNamed() {
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "AuthenticAMD", family: 25, model: 17, name: "AMD EPYC")),
                       "AMD EPYC (family 25, model 17: Zen 4)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "AuthenticAMD", family: 25, model: 1, name: "AMD EPYC 7B13")),
                       "AMD EPYC 7B13 (family 25, model 1: Zen 3)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "AuthenticAMD", family: 26, model: 2, name: "AMD EPYC")),
                       "AMD EPYC (family 26, model 2: Zen 5)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "AuthenticAMD", family: 23, model: 49, name: "AMD EPYC 7B12")),
                       "AMD EPYC 7B12 (family 23, model 49: Zen 2)")
    }

    func testOtherVendorsAndBrokenText() {
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "GenuineIntel", family: 6, model: 143, name: "Intel Xeon")),
                       "Intel Xeon (family 6, model 143: Sapphire Rapids)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "GenuineIntel", family: 6, model: 207,
                                                          name: "Intel(R) Xeon(R) Processor")),
                       "Intel(R) Xeon(R) Processor (family 6, model 207: Emerald Rapids)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: cpuinfo(vendor: "GenuineIntel", family: 6, model: 1, name: "Intel Xeon")),
                       "Intel Xeon (family 6, model 1)")
        XCTAssertEqual(CPUModel.describe(cpuinfo: "model name : Something\n"), "Something")
        XCTAssertEqual(CPUModel.describe(cpuinfo: ""), "unknown")
        XCTAssertFalse(CPUModel.description.isEmpty)
    }
}
