import Foundation
import XCTest
@testable import VAEKit

/// SMILES validity (RDKit's `Chem.MolFromSmiles(s) is not None`) without Python.
/// The expectations below were checked against RDKit 2026.09.1 (scripts/smiles_validity_crosscheck.py).
final class SMILESTests: XCTestCase {
    private func assertValid(_ smiles: [String], file: StaticString = #filePath, line: UInt = #line) {
        for s in smiles {
            XCTAssertNil(SMILES.diagnose(s), "\(s) should be valid", file: file, line: line)
            XCTAssertTrue(SMILES.isValid(s), s, file: file, line: line)
            XCTAssertNil(SMILES.problem(s), s, file: file, line: line)
        }
    }

    private func assertInvalid(_ cases: [(String, SMILES.ProblemKind)], file: StaticString = #filePath, line: UInt = #line) {
        for (s, kind) in cases {
            let problem = SMILES.diagnose(s)
            XCTAssertEqual(problem?.kind, kind, "\(s): \(problem.map { "\($0)" } ?? "accepted")", file: file, line: line)
            XCTAssertFalse(SMILES.isValid(s), s, file: file, line: line)
            if let message = SMILES.problem(s) {
                XCTAssertFalse(message.isEmpty, s, file: file, line: line)
                XCTAssertFalse(message.contains("\n"), s, file: file, line: line)
            }
        }
    }

    func testDrugMolecules() {
        assertValid([
            "CC(=O)Oc1ccccc1C(=O)O",                  // aspirin
            "c1ccc2[nH]ccc2c1",                        // indole
            "Cn1cnc2c1c(=O)n(C)c(=O)n2C",              // caffeine
            "CC(C)Cc1ccc(C(C)C(=O)O)cc1",              // ibuprofen
            "CN1CCC[C@H]1c1cccnc1",                    // nicotine
            "O=S(=O)(N)c1ccccc1",
            "NS(=O)(=O)c1ccc(CNC(=O)c2ccsc2)cc1",
            "CCc1c(C(=O)NCc2ccoc2)[nH]c(C)c1C(C)=O",
            "CC(C)Oc1ccc(NC(=O)c2scnc2C2CC2)cc1C#N",
            "O=c1cccc[nH]1",
            "O=c1[nH]c(=O)c2[nH]cnc2[nH]1",
            "Nc1nc2[nH]cnc2c(=O)[nH]1",
            "c1ccc2c(c1)sc1ccccc12",
            "O=c1ccc2ccccc2o1",
            "CS(C)=O",
            "CN(=O)=O",                                // nitro: RDKit rewrites it to [N+](=O)[O-]
            "O=n1ccccc1",                              // N-oxide, rewritten the same way
            "Cl(=O)(=O)(=O)O",                         // perchloric acid, rewritten to charges
            "O=P(O)(O)O",
            "CS(=O)(=O)N",
            "C1CC1",
            "C1CCCCC1",
            "c1ccoc1",
            "c1ccsc1",
            "c1cc[se]c1",
            "b1ccccc1",
            "c1cc[pH]c1",
            "Cp1cccc1",
            "C#N",
            "C=C=C",
            "C$C",                                     // quadruple bond: carbon valence 4
        ])
    }

    func testChargesIsotopesAndBrackets() {
        assertValid([
            "C[N+](C)(C)C",
            "[O-]c1ccccc1",
            "[NH4+]",
            "[Na+].[Cl-]",
            "C[S+](C)C",
            "C[S+](=O)(C)C",
            "C[S-]",
            "CC(=O)[O-]",
            "[C-]#[O+]",
            "[CH2-]C",
            "C[C+](C)C",
            "[13CH4]",
            "[2H]C([2H])([2H])[2H]",
            "[H][H]",
            "[H+]",
            "[18F]c1ccccc1",
            "[CH3:1][OH:2]",
            "C[C@H](N)C(=O)O",
            "C[C@@H](N)C(=O)O",
            "F[C@TH2](Cl)(Br)I",
            "F/C=C/F",
            "F/C=C\\F",
            "C[n+]1ccccc1",
            "c1cc[nH+]cc1",
            "c1ccc2[n-]ccc2c1",
            "c1cc[cH-]c1",
            "c1cc[o+]cc1",
            "[Fe+2]",
            "[Cu]",
            "[U]",
            "[Si](C)(C)(C)C",
            "FP(F)(F)(F)F",
            "FI(F)(F)(F)F",
            "CS(C)(C)(C)(C)C",
            "[#6]",
            "*C",
            "C->[Fe]",
        ])
    }

    func testRingNumbers() {
        assertValid([
            "C%10CC%10",
            "C1CC%10CC1CC%10",
            "C%(123)CC%(123)",
            "C0CC0",
            "C1CC1C1CC1",                              // ring number reused after it closed
            "C1.C1",                                   // a ring bond across a dot
            "C(C)1CC1",                                // ring number after a branch (RDKit accepts)
            "C=1CC=1",
            "C1CCCC/1",
            "c1ccccc1-c1ccccc1",
            "c1ccccc1c1ccccc1",                        // the link between the rings is single
            // '~' on a ring-closure digit is no symbol for RDKit (they were "kekulization" errors)
            "Cn1cncc~1", "c~1cc[nH]c1", "C1CC~1", "C=1CC~1", "CCn1c(SCC(=O)c2ccc(F)cc2)nnc~1C(C)C",
            // many ring systems in one line (their neighbour rings found through a bond index, not
            // by comparing every pair of rings)
            Array(repeating: "c1ccccc1", count: 500).joined(separator: ".") + ".c1ccc2cc3ccccc3cc2c1.c1cc2ccc3cccc4ccc(c1)c2c34",
        ])
    }

    func testKekulization() {
        assertValid([
            "c1ccc2ccccc2c1",                          // naphthalene
            "c1ccc2cc3ccccc3cc2c1",                    // anthracene
            "c1ccc2cccc2cc1",                          // azulene: odd rings, needs a real matching
            "c1cc2ccc3cccc4ccc(c1)c2c34",              // pyrene
            "c1cc2ccc3ccc4ccc5ccc6ccc1c1c2c3c4c5c61",  // coronene
            "c1ccc2c(c1)c1cccc3cccc2c31",              // fluoranthene
            "c1ccc2c(c1)c1ccccc12",                    // biphenylene
            "c1ccc2c(c1)Cc1ccccc1-2",                  // fluorene
            "C1=Cc2cccc3cccc1c23",                     // acenaphthylene
            "c1cnc2nccnc2n1",
            "c1nnn[nH]1",
            "n1c[nH]cc1",
            "c1cs(=O)cc1",
            "O=s1(=O)cccc1",
            "c1c[c]ccc1",                              // an aromatic radical carbon
            "c1CCCC1",                                 // RDKit accepts one aromatic atom in a saturated ring
            "C1:C:C:C:C:C1",
        ])
        assertInvalid([
            ("c1cccc1", .kekulization),                // 5 aromatic carbons
            ("c1ccnc1", .kekulization),                // pyrrole needs [nH]
            ("c1cc[n]c1", .kekulization),
            ("c1cc[c-]c1", .kekulization),
            ("c1ccc[o+]1", .kekulization),
            ("O=c1ccccc1", .kekulization),
            ("C=c1ccccc1", .kekulization),
            ("c1ccpc1", .kekulization),
            ("c1cccc-1", .kekulization),
            ("c1cc2cc3ccc1n3c2", .kekulization),
            ("c1cc[nH]cc1", .kekulization),
            ("c1ccc2c(c1)ccc2", .kekulization),
        ])
    }

    func testInvalidByClass() {
        assertInvalid([
            // syntax
            ("C==C", .syntax),
            ("C=-C", .syntax),
            ("=CC", .syntax),
            ("CC=", .syntax),
            ("C.", .syntax),
            (".C", .syntax),
            ("C..C", .syntax),
            ("C=.C", .syntax),
            ("C(=)C", .syntax),
            ("HC", .syntax),
            ("C+", .syntax),
            ("[C", .syntax),
            ("[C=]", .syntax),
            ("[013C]", .syntax),
            ("[C+++]", .syntax),
            ("[C@@@H](F)Cl", .syntax),
            ("[C@SP4](F)(Cl)(Br)I", .syntax),
            ("[C@TB0]F", .syntax),
            ("F[C@@TH2](Cl)(Br)I", .syntax),
            ("C?C", .syntax),
            ("", .syntax),
            ("   ", .syntax),
            // ring closure
            ("C1CC", .ringClosure),
            ("c1ccccc", .ringClosure),
            ("C%1", .ringClosure),
            ("C%01CC%01", .ringClosure),
            ("C%123", .ringClosure),
            ("C11", .ringClosure),
            ("C1C1", .ringClosure),
            ("C12CC12", .ringClosure),
            ("C=1CC#1", .ringClosure),                 // conflicting ring-bond symbols (RDKit keeps the first)
            ("1CC1", .ringClosure),
            ("C(1CC1)", .ringClosure),
            ("C.1CC1", .ringClosure),
            // branch
            ("CC(", .branch),
            ("CC(C", .branch),
            ("C)C", .branch),
            ("C(C)C)", .branch),
            ("(C)C", .branch),
            ("C()C", .branch),
            ("C((C))C", .branch),
            // element
            ("Xx", .element),
            ("[Xx]", .element),
            ("Na", .element),
            ("Cc1ccl", .element),
            ("[#200]", .element),
            // valence
            ("C(=O)(=O)(=O)C", .valence),
            ("N(C)(C)(C)C", .valence),
            ("C(C)(C)(C)(C)C", .valence),
            ("ClC(Cl)(Cl)(Cl)Cl", .valence),
            ("[CH5]", .valence),
            ("C=N(=C)C", .valence),
            ("O(C)(C)C", .valence),
            ("FC(F)(F)(F)F", .valence),
            ("F(C)C", .valence),
            ("[N+](C)(C)(C)(C)C", .valence),
            ("CS(C)(C)(C)(C)(C)C", .valence),
            ("CP(C)(C)(C)(C)C", .valence),
            ("FBr(F)F", .valence),
            ("C[H]C", .valence),
            ("[O-](C)C", .valence),
            ("c1ccc2ccccc2c1=O", .kekulization),
            // aromatic outside a ring
            ("cC", .aromaticOutsideRing),
            ("c", .aromaticOutsideRing),
            ("c1ccccc1cc", .aromaticOutsideRing),
            ("Cn", .aromaticOutsideRing),
        ])
    }

    func testMessages() {
        XCTAssertEqual(SMILES.problem("C1CC"), "unclosed ring 1")
        XCTAssertEqual(SMILES.problem("C%12CC"), "unclosed ring 12")
        XCTAssertEqual(SMILES.problem("C(C)(C)(C)(C)C"), "carbon with valence 5")
        XCTAssertEqual(SMILES.problem("N(C)(C)(C)C"), "nitrogen with valence 4")
        XCTAssertEqual(SMILES.problem("[O+](C)(C)(C)C"), "oxygen (+1) with valence 4")
        XCTAssertEqual(SMILES.problem("CC("), "unclosed branch")
        XCTAssertEqual(SMILES.problem("C)C"), "unbalanced ')'")
        XCTAssertEqual(SMILES.problem("C11"), "ring bond 1 joins an atom to itself")
        XCTAssertEqual(SMILES.problem("cC"), "aromatic carbon outside a ring")
        XCTAssertTrue(SMILES.problem("c1cccc1")?.hasPrefix("cannot kekulize aromatic ring") ?? false)
        XCTAssertEqual(SMILES.diagnose("Xx")?.description, "element: unknown element 'X'")
        XCTAssertEqual(SMILES.problem("CC name after a blank"), nil)
        XCTAssertEqual(SMILES.diagnose("CC |$R$|")?.kind, .syntax)
    }

    /// Steps of MolFromSmiles beyond the first valence check, each found by the RDKit cross-check.
    func testRDKitSanitizationDetails() {
        assertValid([
            // hydrogen atoms with one neighbor become hydrogen counts, whatever the bond
            "Cc1csc(C(C#N)C(=O)COc2ccc(C(N)=[H])cc2)n1",
            // an over-valent non-metal's single bond to a metal becomes dative
            "CCCCN(C)C(=O[Fe])Nc1cc(OC)ccc1F",
            "COC(=O)c1cc(S(=O)(=O)N2CC(C)CC(C)C2)c[nH]1[Na+]",
            "CCCN(C(=O)c1cnc(NC)c(Cl[Zn+2])c1)C(C)C",
            // a triple bond inside an aromatic ring: the ring is aromatic again after kekulization
            "c1cc#ccc1",
            "Cc1cccc(CNS(=O)(=O)c2ccc(F)cc#2C)n1",
            "c1=cc=cc=c1",                             // RDKit accepts it (as a cumulene)
            // a dummy atom may take the double bond
            "*1ccccc[CH2]1",
        ])
        assertInvalid([
            // aromatic atoms in rings that are not aromatic once kekulized: valences checked again
            ("CCOc1ccc(CC(=O)[n-]2CCN(CC(O)CC)CC2)cc1", .valence),
            ("CC1CCCo(S(=O)(=O)N(CCCO)Cc2cccnc2)C1", .valence),
            ("C[c-]1(C)COCCN1C(=O)c1cncc(Br)c1", .valence),
            ("O=C(Cn1cc(Br)c(=O)[nH]c=1O)Nc1ccncc1", .valence),
            ("Cc1cc(-c2nnn(CC(=O)NC3CCC(C)CC3)=2)ccc1F", .valence),
            ("CN(Cc1ccc(F)cc1F)C(=O)Cc1ccc#1", .valence),
            // a dative bond does not close a ring
            ("O=C(NCCc1ccco1)c1ccc2nc(-c3[Fe]Clcc(F)[S-]c3)cn2c1", .aromaticOutsideRing),
            ("Cc1ccc(NC(=O)C[B-]2*nc3ccccc3c2=O)cc1C", .kekulization),
            ("c1=cc=cc1", .kekulization),
        ])
    }

    /// Charged atoms are checked against the isoelectronic element, as RDKit does.
    func testChargedValences() {
        assertValid(["[NH4+]", "C[N+](C)(C)C", "C[O+](C)C", "[OH3+]", "C[O-]", "[CH3-]", "C[C-](C)C",
                     "[BH4-]", "C[S+](C)C", "C[Cl+]C", "C[I+]C", "[SH3+]", "C[P+](C)(C)C", "C[P-](C)(C)(C)(C)C"])
        assertInvalid([("C[N+](C)(C)(C)C", .valence), ("C[O+](C)(C)C", .valence), ("[O-](C)C", .valence),
                       ("C[C-](C)(C)C", .valence), ("[BH5-]", .valence), ("C[F+](C)C", .valence),
                       ("[Br-]C", .valence)])
    }

    // MARK: the shipped MOSES sample

    private func mosesSample() throws -> [String] {
        let path = FormatsFixture.packageRoot.appendingPathComponent("data/moses-sample.smi.gz").path
        guard let data = FileManager.default.contents(atPath: path) else {
            XCTFail("\(path) is missing: it is committed with the package")
            throw CocoaError(.fileNoSuchFile)
        }
        let text = try Gzip.decompress(Array(data), maxOutput: 64 << 20, source: path)
        return String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
    }

    func testMosesSampleIsValid() throws {
        let molecules = try mosesSample()
        XCTAssertEqual(molecules.count, 20_000)
        var failures: [String] = []
        for s in molecules {
            if let problem = SMILES.diagnose(s) { failures.append("\(s): \(problem)") }
        }
        XCTAssertEqual(failures.count, 0, "first rejected: \(failures.prefix(10))")
    }

    /// Deleting one character (at a seeded position) breaks most molecules: RDKit 2026.09.1 rejects
    /// 14,722 of these 20,000 deletions (73.6%), and so must the checker.
    func testMosesSampleDeletionsAreMostlyInvalid() throws {
        let molecules = try mosesSample()
        var state: UInt64 = 2024
        var invalid = 0
        var kinds: [SMILES.ProblemKind: Int] = [:]
        for s in molecules {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var characters = Array(s)
            characters.remove(at: Int((state >> 33) % UInt64(characters.count)))
            if let problem = SMILES.diagnose(String(characters)) {
                invalid += 1
                kinds[problem.kind, default: 0] += 1
            }
        }
        XCTAssertEqual(invalid, 14_722, "\(kinds)")
        // Deletions break rings, branches, aromatic systems and valences alike.
        for kind in [SMILES.ProblemKind.ringClosure, .branch, .valence, .kekulization, .syntax] {
            XCTAssertGreaterThan(kinds[kind, default: 0], 100, "\(kind): \(kinds)")
        }
    }
}
