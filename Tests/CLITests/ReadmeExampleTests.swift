import Foundation
import XCTest

/// The README's library example is the example package's main.swift, word for word (CI builds
/// that package, so the README's code compiles).
final class ReadmeExampleTests: XCTestCase {
    func testReadmeLibraryExampleIsTheExamplePackage() throws {
        let readme = try String(contentsOfFile: TinyData.root + "/README.md", encoding: .utf8)
        let main = try String(contentsOfFile: TinyData.root + "/Examples/LibraryExample/Sources/LibraryExample/main.swift", encoding: .utf8)
        XCTAssertTrue(readme.contains("```swift\n" + main + "```"), "README.md's library example differs from Examples/LibraryExample/Sources/LibraryExample/main.swift")
    }
}
