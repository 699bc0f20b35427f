import XCTest
@testable import VAECore

/// The checked parsing of VAE_THREADS, VAE_SPIN_US, VAE_YIELD_AFTER_US, VAE_WAIT_SPIN_US.
final class EnvironmentSwitchTests: XCTestCase {
    func parse(_ text: String?) -> (value: Int, warning: String) {
        EnvironmentSwitch.parse("VAE_SPIN_US", text, range: 0...1_000_000, fallback: 250)
    }

    func testValidValuesAreTakenSilently() {
        for (text, value) in [("0", 0), ("1000000", 1_000_000), ("40", 40), ("+7", 7)] {
            XCTAssertEqual(parse(text).value, value, text)
            XCTAssertEqual(parse(text).warning, "", text)
        }
    }

    func testUnsetOrEmptyGivesTheDefaultSilently() {
        XCTAssertEqual(parse(nil).value, 250)
        XCTAssertEqual(parse(nil).warning, "")
        XCTAssertEqual(parse("").value, 250)
        XCTAssertEqual(parse("").warning, "")
    }

    func testBadValuesWarnOnOneLineAndGiveTheDefault() {
        for text in ["abc", "12us", "-1", "1000001", "1.5", " ", "99999999999999999999999"] {
            let r = parse(text)
            XCTAssertEqual(r.value, 250, text)
            XCTAssertEqual(r.warning, "warning: VAE_SPIN_US=\(text) ignored: expected an integer from 0 to 1000000; using 250")
            XCTAssertFalse(r.warning.contains("\n"))
        }
        // A long value is cut, so the warning stays one short line.
        let long = String(repeating: "x", count: 500)
        let r = parse(long)
        XCTAssertEqual(r.value, 250)
        XCTAssertTrue(r.warning.hasPrefix("warning: VAE_SPIN_US=" + String(repeating: "x", count: 40) + " ignored"), r.warning)
    }
}
