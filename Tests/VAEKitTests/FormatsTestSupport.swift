import Foundation
import XCTest
@testable import VAEKit

/// Helpers shared by the Formats* tests.
enum FormatsFixture {
    /// Runs a parser on hostile input: it returns, or throws a `VAEError` with a message; anything
    /// else fails the test. Returns whether it returned (callers check that both outcomes occur).
    @discardableResult
    static func parsesOrRejects(_ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> Void) -> Bool {
        do {
            try body()
            return true
        } catch let e as VAEError {
            XCTAssertFalse(e.message.isEmpty, "\(what()): a VAEError without a message", file: file, line: line)
        } catch {
            XCTFail("\(what()): threw \(type(of: error)), not a VAEError: \(error)", file: file, line: line)
        }
        return false
    }

    /// The package root, found from this file's path (Tests/VAEKitTests/FormatsTestSupport.swift).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A fresh empty directory under the system temp dir; removed by the test's teardown block.
    static func makeTempDirectory(_ test: XCTestCase, name: String = "vaekit-formats") throws -> String {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: base) }
        return base.path
    }

    static func writeFile(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Asserts that `body` throws a VAEError whose one-line message contains every fragment.
    static func assertVAEError<T>(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                                  _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected a VAEError containing \(fragments)", file: file, line: line)
        } catch let error as VAEError {
            XCTAssertFalse(error.message.contains("\n"), "message must be one line: \(error.message)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "\"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
            }
        } catch {
            XCTFail("expected a VAEError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    /// Deterministic pseudo-random bytes.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }
}
