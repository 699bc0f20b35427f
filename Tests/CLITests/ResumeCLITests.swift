import Foundation
import XCTest
import VAEKit

/// `vae train --resume`: what can change is honoured, what cannot is refused in one line.
final class ResumeCLITests: XCTestCase {
    func testResumeHonoursLearningRateAndEpochsAndRefusesTheRest() throws {
        let data = try TinyData.make(train: 128, test: 32, side: 8)
        let run = tempRunDir("resume")
        let first = try CLI.run(["train", "--data", data, "--epochs", "1", "--latent", "2", "--hidden", "16", "--batch", "64",
                                 "--out", run, "--no-report"])
        XCTAssertEqual(first.status, 0, first.stderr)

        for (flag, value) in [("--beta", "2"), ("--batch", "32"), ("--latent", "3"), ("--seed", "9"), ("--likelihood", "gaussian")] {
            let r = try CLI.run(["train", "--data", data, "--resume", "--out", run, flag, value])
            XCTAssertEqual(r.status, 2, "\(flag): \(r.stderr)")   // a usage error
            XCTAssertTrue(r.stderr.contains("\(flag) cannot change when resuming"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("cannot change") }.count, 1)
        }

        let r = try CLI.run(["train", "--data", data, "--resume", "--out", run, "--epochs", "2", "--lr", "0.0005", "--clip", "5",
                             "--no-report"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let loaded = try Checkpoint.load(run)
        XCTAssertEqual(loaded.state.epoch, 2)
        XCTAssertEqual(loaded.options.learningRate, 0.0005)
        XCTAssertEqual(loaded.options.clipNorm, 5)
        XCTAssertEqual(loaded.options.batchSize, 64)
    }
}
