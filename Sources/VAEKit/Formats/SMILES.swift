/// SMILES validity without Python: does a string describe a molecule in the sense of RDKit's
/// `Chem.MolFromSmiles(s) is not None` (default sanitization)?
///
/// The checker parses the string with RDKit's SMILES grammar (OpenSMILES plus RDKit's extensions:
/// `%(nnn)` ring numbers, dative bonds `->` `<-`, `~`, ring number 0), closes the rings (every ring
/// closed, no ring bond from an atom to itself, none duplicating a bond), and then replays the parts
/// of MolFromSmiles that can reject a molecule, in RDKit's order:
///
/// 1. hydrogen atoms with one neighbor become hydrogen counts (`C(=[H])N` is valid);
/// 2. clean-ups: nitro groups, N#N, P(=O)=C and halogen oxides to charge-separated form (`CN(=O)=O`
///    is valid because RDKit rewrites it to `C[N+](=O)[O-]` first), and a single bond from an
///    over-valent non-metal to a metal to a dative bond (`CC(=O[Na+])N` is valid);
/// 3. the valence check: explicit valence (bonds, aromatic bonds counting 1.5, explicit H) against
///    RDKit's allowed valences of the *isoelectronic* element (atomic number minus charge: N+ is
///    checked like C, O− like F, C− like N, S+ like P), with RDKit's exceptions (negatively charged
///    P, S, As, Se keep their own hypervalent list; aromatic atoms may round 1.5-bond sums down to an
///    allowed valence), and, for atoms outside brackets, the implicit-hydrogen computation
///    (organic subset: B 3; C 4; N 3; O 2; P 3, 5; S 2, 4, 6; F, Cl, Br 1; I 1, 3, 5);
/// 4. kekulization: in every ring system with aromatic atoms, the atoms that need a π bond (RDKit's
///    `markDbondCands` rule: default valence adjusted by charge, bond orders and hydrogens; `[nH]`,
///    three-connected n, o, s, c with an exocyclic double bond need none) must be covered by a
///    perfect matching over the aromatic bonds — found with Edmonds' blossom algorithm (augmenting
///    paths through odd rings), so the answer does not depend on a search order;
/// 5. aromatic atoms (lowercase) outside every ring are rejected ("non-ring atom marked aromatic");
/// 6. the Kekulé structure's aromaticity is perceived again (RDKit's model: SSSR rings, alone or
///    fused, whose atoms can all take part and hold 4n+2 π electrons), and every valence is checked
///    once more: an aromatic `[n-]` in a saturated ring fails here, a `c#c` inside a benzene ring
///    passes because the ring is aromatic again.
///
/// Deliberate differences from RDKit (measured in docs/smiles-validity.md):
/// - the empty string (and a string of blanks) is not a molecule (RDKit returns an empty molecule;
///   MOSES counts it invalid);
/// - a ring bond written with two different bond symbols (`C=1CC#1`) is an error, as OpenSMILES says
///   (RDKit silently keeps the first);
/// - CXSMILES extensions after a blank (`CC |$R$|`) are not read: reported as a syntax problem;
///   any other text after the first blank or tab is a name and ignored, as in RDKit.
///
/// Approximations (not met in drug-like molecules): a dummy atom `*` in an aromatic ring uses the
/// SMILES order where RDKit uses its ring-traversal order; when an over-valent atom has single bonds
/// to several metals, degree and atomic number stand in for RDKit's canonical ranks; RDKit gives up
/// kekulizing after 100 backtracking steps where the matching always finds an answer.
///
/// Everything else follows RDKit 2026.09 (Code/GraphMol/SmilesParse, Atom.cpp, MolOps.cpp,
/// Kekulize.cpp, Aromaticity.cpp, AddHs.cpp). Elements whose RDKit valence list is "-1"
/// (transition metals, lanthanides, actinides, superheavy elements) accept any valence — RDKit does
/// the same, so no bound is imposed.
public enum SMILES {
    /// The fixed set of reasons a string can fail, for grouping disagreements and counts.
    public enum ProblemKind: String, CaseIterable, Sendable {
        /// Characters or token order the grammar does not allow (bond at the end, `C==C`, bad bracket atom).
        case syntax
        /// Unclosed ring, a ring bond to the atom itself, a ring bond duplicating a bond, conflicting ring-bond symbols, bad `%nn`.
        case ringClosure = "ring closure"
        /// Unbalanced, empty or leading parentheses.
        case branch
        /// An unknown element symbol, or an element that needs brackets written without them.
        case element
        /// An atom with more bonds (and hydrogens) than its element and charge allow.
        case valence
        /// Aromatic atoms that admit no Kekulé structure.
        case kekulization
        /// A lowercase (aromatic) atom that is in no ring.
        case aromaticOutsideRing = "aromatic outside ring"
    }

    /// Why a string is not a valid molecule: its class and one short English phrase.
    public struct Problem: Equatable, Sendable, CustomStringConvertible {
        public let kind: ProblemKind
        public let message: String
        public var description: String { "\(kind.rawValue): \(message)" }
    }

    /// nil when `s` is a valid molecule, else the reason (one short English phrase, e.g.
    /// "unclosed ring 1", "carbon with valence 5", "cannot kekulize aromatic ring").
    public static func problem(_ s: String) -> String? {
        diagnose(s)?.message
    }

    /// True when `s` is a valid molecule (`problem(s) == nil`).
    public static func isValid(_ s: String) -> Bool {
        diagnose(s) == nil
    }

    /// nil when `s` is a valid molecule, else the problem with its class.
    public static func diagnose(_ s: String) -> Problem? {
        var bytes = Array(s.utf8)
        // RDKit: text after the first blank or tab is a name (or CXSMILES when it starts with '|').
        if let cut = bytes.firstIndex(where: { $0 == 0x20 || $0 == 0x09 }), cut > 0 {
            let rest = bytes[(cut + 1)...].drop(while: { $0 <= 0x20 })
            if rest.first == UInt8(ascii: "|") {
                return Problem(kind: .syntax, message: "CXSMILES extensions are not supported")
            }
            bytes = Array(bytes[..<cut])
        }
        // The lexer trims leading and trailing control characters and blanks.
        while let last = bytes.last, last <= 0x20 { bytes.removeLast() }
        let start = bytes.firstIndex(where: { $0 > 0x20 }) ?? bytes.count
        bytes = Array(bytes[start...])
        if bytes.isEmpty {
            return Problem(kind: .syntax, message: "empty SMILES")
        }
        var parser = Parser(bytes)
        do {
            var molecule = try parser.parse()
            try molecule.sanitize()
            return nil
        } catch let problem as Problem {
            return problem
        } catch {
            return Problem(kind: .syntax, message: "\(error)")
        }
    }
}

extension SMILES.Problem: Error {}

// MARK: - Molecule graph

extension SMILES {
    struct Atom {
        var z: Int
        var aromatic: Bool
        /// Written in brackets: no implicit hydrogens.
        var bracket: Bool
        var charge = 0
        var hydrogens = 0
        var isotope = 0
        /// Written with @SP, @TB or @OH (RDKit keeps hydrogens on such atoms).
        var nonTetrahedral = false
    }

    enum Order {
        case single, double, triple, quadruple, aromatic
        /// Dative bond: counts 1 for its end atom, 0 for its begin atom.
        case dative
        /// `~` (any bond): counts 0.
        case zero
    }

    struct Bond {
        var a: Int
        var b: Int
        var order: Order
        /// RDKit's aromatic flag (unspecified bond between two aromatic atoms, or `:`).
        var aromatic: Bool
        /// Written `/` or `\\`.
        var directional = false

        func other(_ atom: Int) -> Int { atom == a ? b : a }

        /// RDKit's Bond::getValenceContrib.
        func contribution(to atom: Int) -> Double {
            switch order {
            case .single: return 1
            case .double: return 2
            case .triple: return 3
            case .quadruple: return 4
            case .aromatic: return 1.5
            case .dative: return atom == b ? 1 : 0
            case .zero: return 0
            }
        }
    }

    /// A bond symbol as written.
    enum BondSymbol: Equatable {
        case single, double, triple, quadruple, aromatic, up, down, dativeRight, dativeLeft, any

        /// `/` and `\` say nothing about the order (RDKit's `_unspecifiedOrder`).
        var specifiesOrder: Bool { self != .up && self != .down }

        /// Bond order for the order comparison of the two ends of a ring bond.
        var orderClass: Int {
            switch self {
            case .single, .up, .down: return 1
            case .double: return 2
            case .triple: return 3
            case .quadruple: return 4
            case .aromatic: return 5
            case .dativeRight, .dativeLeft: return 6
            case .any: return 7
            }
        }

        var text: String {
            switch self {
            case .single: return "-"
            case .double: return "="
            case .triple: return "#"
            case .quadruple: return "$"
            case .aromatic: return ":"
            case .up: return "/"
            case .down: return "\\"
            case .dativeRight: return "->"
            case .dativeLeft: return "<-"
            case .any: return "~"
            }
        }
    }
}

// MARK: - Parser (RDKit's smiles.ll / smiles.yy)

extension SMILES {
    struct Parser {
        let c: [UInt8]
        var i = 0
        var atoms: [Atom] = []
        var bonds: [Bond] = []

        init(_ bytes: [UInt8]) { c = bytes }

        private enum State {
            case start, afterAtom, afterBond(BondSymbol), afterOpen, afterOpenBond(BondSymbol), afterDot
        }

        private struct RingEnd {
            var atom: Int
            var symbol: BondSymbol?
        }

        private struct Closure {
            var number: Int
            var first: RingEnd
            var second: RingEnd
        }

        static func fail(_ kind: ProblemKind, _ message: String) -> Problem {
            Problem(kind: kind, message: message)
        }

        private func peek(_ offset: Int = 0) -> UInt8? {
            i + offset < c.count ? c[i + offset] : nil
        }

        private func shown(_ byte: UInt8) -> String {
            (0x21...0x7e).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
        }

        private static func isDigit(_ b: UInt8?) -> Bool {
            guard let b else { return false }
            return b >= 0x30 && b <= 0x39
        }

        private static func isLower(_ b: UInt8?) -> Bool {
            guard let b else { return false }
            return b >= 0x61 && b <= 0x7a
        }

        private static func isUpper(_ b: UInt8?) -> Bool {
            guard let b else { return false }
            return b >= 0x41 && b <= 0x5a
        }

        mutating func parse() throws -> Molecule {
            var state = State.start
            var active = -1
            var branches: [Int] = []
            var open: [Int: RingEnd] = [:]
            var closures: [Closure] = []

            func addAtom(_ atom: Atom, _ state: inout State, _ active: inout Int) {
                let index = atoms.count
                atoms.append(atom)
                switch state {
                case .afterAtom, .afterOpen:
                    addBond(active, index, nil)
                case .afterBond(let symbol), .afterOpenBond(let symbol):
                    addBond(active, index, symbol)
                case .start, .afterDot:
                    break
                }
                active = index
                state = .afterAtom
            }

            while i < c.count {
                let ch = c[i]
                switch ch {
                case UInt8(ascii: "("):
                    switch state {
                    case .afterAtom: break
                    case .start: throw Self.fail(.branch, "branch before any atom")
                    case .afterOpen, .afterOpenBond: throw Self.fail(.branch, "branch opened where an atom is expected")
                    case .afterBond(let s): throw Self.fail(.syntax, "bond '\(s.text)' before a branch")
                    case .afterDot: throw Self.fail(.syntax, "branch right after '.'")
                    }
                    branches.append(active)
                    state = .afterOpen
                    i += 1
                case UInt8(ascii: ")"):
                    switch state {
                    case .afterAtom: break
                    case .start: throw Self.fail(.branch, "')' before any atom")
                    case .afterOpen: throw Self.fail(.branch, "empty branch")
                    case .afterBond(let s), .afterOpenBond(let s): throw Self.fail(.syntax, "bond '\(s.text)' before ')'")
                    case .afterDot: throw Self.fail(.syntax, "')' right after '.'")
                    }
                    guard let top = branches.popLast() else { throw Self.fail(.branch, "unbalanced ')'") }
                    active = top
                    state = .afterAtom
                    i += 1
                case UInt8(ascii: "."):
                    switch state {
                    case .afterAtom: break
                    case .start: throw Self.fail(.syntax, "'.' before any atom")
                    case .afterDot: throw Self.fail(.syntax, "two dots in a row")
                    case .afterOpen: throw Self.fail(.syntax, "'.' right after '('")
                    case .afterBond(let s), .afterOpenBond(let s): throw Self.fail(.syntax, "bond '\(s.text)' before '.'")
                    }
                    active = -1
                    state = .afterDot
                    i += 1
                case UInt8(ascii: "-"), UInt8(ascii: "="), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: ":"),
                     UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "~"), UInt8(ascii: "<"):
                    let symbol = try bondSymbol()
                    switch state {
                    case .afterAtom: state = .afterBond(symbol)
                    case .afterOpen: state = .afterOpenBond(symbol)
                    case .start: throw Self.fail(.syntax, "bond '\(symbol.text)' before any atom")
                    case .afterBond(let s), .afterOpenBond(let s): throw Self.fail(.syntax, "bond '\(symbol.text)' after bond '\(s.text)'")
                    case .afterDot: throw Self.fail(.syntax, "bond '\(symbol.text)' right after '.'")
                    }
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "%"):
                    let number = try ringNumber()
                    var symbol: BondSymbol? = nil
                    switch state {
                    case .afterAtom: break
                    case .afterBond(let s): symbol = s
                    case .start: throw Self.fail(.ringClosure, "ring number before any atom")
                    case .afterOpen, .afterOpenBond: throw Self.fail(.ringClosure, "ring number \(number) right after '('")
                    case .afterDot: throw Self.fail(.ringClosure, "ring number \(number) right after '.'")
                    }
                    if let first = open.removeValue(forKey: number) {
                        if first.atom == active {
                            throw Self.fail(.ringClosure, "ring bond \(number) joins an atom to itself")
                        }
                        closures.append(Closure(number: number, first: first, second: RingEnd(atom: active, symbol: symbol)))
                    } else {
                        open[number] = RingEnd(atom: active, symbol: symbol)
                    }
                    state = .afterAtom
                case UInt8(ascii: "["):
                    let atom = try bracketAtom()
                    addAtom(atom, &state, &active)
                default:
                    let atom = try organicAtom()
                    addAtom(atom, &state, &active)
                }
            }

            switch state {
            case .afterAtom: break
            case .start: throw Self.fail(.syntax, "empty SMILES")
            case .afterBond(let s): throw Self.fail(.syntax, "bond '\(s.text)' at the end")
            case .afterOpen, .afterOpenBond: throw Self.fail(.branch, "unclosed branch")
            case .afterDot: throw Self.fail(.syntax, "'.' at the end")
            }
            if !branches.isEmpty { throw Self.fail(.branch, "unclosed branch") }
            if let number = open.keys.min() { throw Self.fail(.ringClosure, "unclosed ring \(number)") }

            // Ring bonds join their two atoms; RDKit's CloseMolRings checks run after the chain bonds exist.
            var existing = Set<Int64>()
            func key(_ x: Int, _ y: Int) -> Int64 { Int64(min(x, y)) << 32 | Int64(max(x, y)) }
            for bond in bonds { existing.insert(key(bond.a, bond.b)) }
            for closure in closures {
                let (x, y) = (closure.first.atom, closure.second.atom)
                if !existing.insert(key(x, y)).inserted {
                    throw Self.fail(.ringClosure, "ring bond \(closure.number) duplicates a bond")
                }
                // RDKit reads '~' on a ring-closure digit as no symbol (C1CC~1 is C1CC1, c~1cc[nH]c1 is
                // pyrrole); on a chain bond it is the "any" bond
                let s1 = closure.first.symbol == .any ? nil : closure.first.symbol
                let s2 = closure.second.symbol == .any ? nil : closure.second.symbol
                if let s1, let s2, s1.orderClass != s2.orderClass {
                    throw Self.fail(.ringClosure, "ring bond \(closure.number) written '\(s1.text)' and '\(s2.text)'")
                }
                // RDKit keeps the first end that specifies an order.
                if let s1, s1.specifiesOrder {
                    addBond(x, y, s1)
                } else if let s2, s2.specifiesOrder {
                    if s2 == .dativeRight {
                        addBond(y, x, .dativeRight)
                    } else if s2 == .dativeLeft {
                        addBond(y, x, .dativeLeft)
                    } else {
                        addBond(x, y, s2)
                    }
                } else {
                    addBond(x, y, nil)
                }
            }
            return Molecule(atoms: atoms, bonds: bonds)
        }

        private mutating func addBond(_ x: Int, _ y: Int, _ symbol: BondSymbol?) {
            let bothAromatic = atoms[x].aromatic && atoms[y].aromatic
            switch symbol {
            case nil, .up?, .down?:
                bonds.append(Bond(a: x, b: y, order: bothAromatic ? .aromatic : .single, aromatic: bothAromatic,
                                  directional: symbol != nil))
            case .single?: bonds.append(Bond(a: x, b: y, order: .single, aromatic: false))
            case .double?: bonds.append(Bond(a: x, b: y, order: .double, aromatic: false))
            case .triple?: bonds.append(Bond(a: x, b: y, order: .triple, aromatic: false))
            case .quadruple?: bonds.append(Bond(a: x, b: y, order: .quadruple, aromatic: false))
            case .aromatic?: bonds.append(Bond(a: x, b: y, order: .aromatic, aromatic: true))
            case .dativeRight?: bonds.append(Bond(a: x, b: y, order: .dative, aromatic: false))
            case .dativeLeft?: bonds.append(Bond(a: y, b: x, order: .dative, aromatic: false))
            case .any?: bonds.append(Bond(a: x, b: y, order: .zero, aromatic: false))
            }
        }

        private mutating func bondSymbol() throws -> BondSymbol {
            let ch = c[i]
            i += 1
            switch ch {
            case UInt8(ascii: "-"):
                if peek() == UInt8(ascii: ">") { i += 1; return .dativeRight }
                return .single
            case UInt8(ascii: "="): return .double
            case UInt8(ascii: "#"): return .triple
            case UInt8(ascii: "$"): return .quadruple
            case UInt8(ascii: ":"): return .aromatic
            case UInt8(ascii: "/"): return .up
            case UInt8(ascii: "\\"):
                if peek() == UInt8(ascii: "\\") { i += 1 }  // RDKit reads `\\` as one bond
                return .down
            case UInt8(ascii: "~"): return .any
            default:  // '<'
                if peek() == UInt8(ascii: "-") { i += 1; return .dativeLeft }
                throw Self.fail(.syntax, "unexpected '<'")
            }
        }

        /// A ring number: one digit, `%` and two digits (the first not 0), or `%(` one to five digits `)`.
        private mutating func ringNumber() throws -> Int {
            if Self.isDigit(peek()) {
                let value = Int(c[i] - 0x30)
                i += 1
                return value
            }
            i += 1  // '%'
            if peek() == UInt8(ascii: "(") {
                i += 1
                var value = 0, count = 0
                while Self.isDigit(peek()) && count < 5 {
                    value = value * 10 + Int(c[i] - 0x30)
                    i += 1
                    count += 1
                }
                guard count > 0, peek() == UInt8(ascii: ")") else {
                    throw Self.fail(.ringClosure, "bad ring number after '%('")
                }
                i += 1
                return value
            }
            guard let d1 = peek(), d1 >= 0x31 && d1 <= 0x39, Self.isDigit(peek(1)) else {
                throw Self.fail(.ringClosure, "'%' needs two digits (10 to 99)")
            }
            let value = Int(d1 - 0x30) * 10 + Int(c[i + 1] - 0x30)
            i += 2
            return value
        }

        /// An atom outside brackets: the organic subset, aromatic b c n o p s, or `*`.
        private mutating func organicAtom() throws -> Atom {
            let ch = c[i]
            let next = peek(1)
            switch ch {
            case UInt8(ascii: "C"):
                if next == UInt8(ascii: "l") { i += 2; return Atom(z: 17, aromatic: false, bracket: false) }
                i += 1; return Atom(z: 6, aromatic: false, bracket: false)
            case UInt8(ascii: "B"):
                if next == UInt8(ascii: "r") { i += 2; return Atom(z: 35, aromatic: false, bracket: false) }
                i += 1; return Atom(z: 5, aromatic: false, bracket: false)
            case UInt8(ascii: "N"): i += 1; return Atom(z: 7, aromatic: false, bracket: false)
            case UInt8(ascii: "O"): i += 1; return Atom(z: 8, aromatic: false, bracket: false)
            case UInt8(ascii: "P"): i += 1; return Atom(z: 15, aromatic: false, bracket: false)
            case UInt8(ascii: "S"): i += 1; return Atom(z: 16, aromatic: false, bracket: false)
            case UInt8(ascii: "F"): i += 1; return Atom(z: 9, aromatic: false, bracket: false)
            case UInt8(ascii: "I"): i += 1; return Atom(z: 53, aromatic: false, bracket: false)
            case UInt8(ascii: "b"): i += 1; return Atom(z: 5, aromatic: true, bracket: false)
            case UInt8(ascii: "c"): i += 1; return Atom(z: 6, aromatic: true, bracket: false)
            case UInt8(ascii: "n"): i += 1; return Atom(z: 7, aromatic: true, bracket: false)
            case UInt8(ascii: "o"): i += 1; return Atom(z: 8, aromatic: true, bracket: false)
            case UInt8(ascii: "p"): i += 1; return Atom(z: 15, aromatic: true, bracket: false)
            case UInt8(ascii: "s"): i += 1; return Atom(z: 16, aromatic: true, bracket: false)
            case UInt8(ascii: "*"): i += 1; return Atom(z: 0, aromatic: false, bracket: false)
            case UInt8(ascii: "H"):
                throw Self.fail(.syntax, "hydrogen outside brackets")
            default:
                if Self.isUpper(ch) {
                    var symbol = String(Character(Unicode.Scalar(ch)))
                    if Self.isLower(next), let n = next, Elements.number(symbol + String(Character(Unicode.Scalar(n)))) != nil {
                        symbol += String(Character(Unicode.Scalar(n)))
                        throw Self.fail(.element, "element \(symbol) needs brackets")
                    }
                    if Elements.number(symbol) != nil {
                        throw Self.fail(.element, "element \(symbol) needs brackets")
                    }
                    throw Self.fail(.element, "unknown element '\(symbol)'")
                }
                if Self.isLower(ch) {
                    throw Self.fail(.element, "unknown element '\(Character(Unicode.Scalar(ch)))'")
                }
                throw Self.fail(.syntax, "unexpected \(shown(ch))")
            }
        }

        /// An unsigned number as RDKit's grammar reads it: `0`, or digits not starting with 0.
        private mutating func number(_ what: String) throws -> Int {
            guard Self.isDigit(peek()) else { throw Self.fail(.syntax, "expected a number for \(what)") }
            if c[i] == 0x30 {
                i += 1
                return 0
            }
            var value = 0
            while Self.isDigit(peek()) {
                value = value * 10 + Int(c[i] - 0x30)
                if value >= 214_748_364 { throw Self.fail(.syntax, "number too large") }
                i += 1
            }
            return value
        }

        /// `[isotope? symbol chirality? hcount? charge? class?]`
        private mutating func bracketAtom() throws -> Atom {
            i += 1  // '['
            var isotope = 0
            if Self.isDigit(peek()) {
                isotope = try number("isotope")
            }
            var atom: Atom
            var isHydrogenElement = false
            guard let ch = peek() else { throw Self.fail(.syntax, "unclosed '['") }
            if ch == UInt8(ascii: "#") {
                i += 1
                let z = try number("atomic number")
                guard z <= 118 else { throw Self.fail(.element, "unknown atomic number \(z)") }
                atom = Atom(z: z, aromatic: false, bracket: true)
            } else if ch == UInt8(ascii: "*") {
                i += 1
                atom = Atom(z: 0, aromatic: false, bracket: true)
            } else if let (z, aromatic, length) = Elements.bracketSymbol(c, i) {
                i += length
                atom = Atom(z: z, aromatic: aromatic, bracket: true)
                isHydrogenElement = z == 1 && length == 1
            } else if Self.isUpper(ch) || Self.isLower(ch) {
                var end = i + 1
                while end < c.count && Self.isLower(c[end]) && end - i < 3 { end += 1 }
                let text = String(decoding: c[i..<end], as: UTF8.self)
                throw Self.fail(.element, "unknown element [\(text)]")
            } else if ch == UInt8(ascii: "]") {
                throw Self.fail(.syntax, "bracket atom without element")
            } else {
                throw Self.fail(.syntax, "unexpected \(shown(ch)) in bracket atom")
            }

            atom.isotope = isotope
            // chirality (not for hydrogen written as H)
            if peek() == UInt8(ascii: "@") && !isHydrogenElement {
                i += 1
                let classes: [(String, Int)] = [("TH", 2), ("AL", 2), ("SP", 3), ("TB", 20), ("OH", 30)]
                var matched = false
                for (name, limit) in classes {
                    let n = Array(name.utf8)
                    if peek() == n[0] && peek(1) == n[1] {
                        i += 2
                        matched = true
                        atom.nonTetrahedral = name != "TH" && name != "AL"
                        if Self.isDigit(peek()) {
                            let permutation = try number("chirality")
                            if permutation == 0 { throw Self.fail(.syntax, "chiral permutation cannot be zero") }
                            if permutation > limit { throw Self.fail(.syntax, "invalid chirality @\(name)\(permutation)") }
                        }
                        break
                    }
                }
                if !matched && peek() == UInt8(ascii: "@") { i += 1 }
            }
            // hydrogen count
            if peek() == UInt8(ascii: "H") {
                i += 1
                atom.hydrogens = Self.isDigit(peek()) ? try number("hydrogen count") : 1
            }
            // charge
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") {
                let sign = c[i] == UInt8(ascii: "+") ? 1 : -1
                i += 1
                if peek() == c[i - 1] {
                    i += 1
                    atom.charge = 2 * sign
                } else if Self.isDigit(peek()) {
                    atom.charge = sign * (try number("charge"))
                } else {
                    atom.charge = sign
                }
            }
            // atom class
            if peek() == UInt8(ascii: ":") {
                i += 1
                _ = try number("atom class")
            }
            guard let close = peek() else { throw Self.fail(.syntax, "unclosed '['") }
            guard close == UInt8(ascii: "]") else {
                throw Self.fail(.syntax, "unexpected \(shown(close)) in bracket atom")
            }
            i += 1
            return atom
        }
    }
}

// MARK: - Sanitization (RDKit's MolOps::sanitizeMol, the parts that can fail)

extension SMILES {
    struct Molecule {
        var atoms: [Atom]
        var bonds: [Bond]
        var adjacency: [[Int]]

        init(atoms: [Atom], bonds: [Bond]) {
            self.atoms = atoms
            self.bonds = bonds
            self.adjacency = []
            rebuildAdjacency()
        }

        /// MolFromSmiles: remove hydrogen atoms, then sanitize (clean-ups, valences, kekulization,
        /// valences again on the Kekulé structure).
        mutating func sanitize() throws {
            removeHydrogens()
            cleanUp()
            cleanUpOrganometallics()
            var (explicit, implicit) = try checkValences()
            guard let kekule = try kekulize(explicit: explicit, implicit: implicit) else { return }
            // RDKit goes on with the Kekulé structure: it perceives aromaticity again (its own model), adjusts
            // hydrogens and checks every valence once more. Aromatic atoms whose 1.5-bond sums were rounded
            // down can fail here (an aromatic [n-] in a saturated ring), or pass because the ring is aromatic
            // again (a c#c bond inside a benzene ring).
            let wasAromatic = atoms.indices.map { isAromaticAtom($0) }
            applyKekule(kekule, explicit: &explicit, implicit: &implicit)
            let radicals = assignRadicals()
            perceiveAromaticity(explicit: explicit, implicit: implicit, radicals: radicals)
            for index in atoms.indices where wasAromatic[index] || isAromaticAtom(index) {
                // RDKit's adjustHs: hydrogens an atom lost to aromaticity become explicit.
                let ev = (try? explicitValence(index, strict: false)) ?? 0
                let now = (try? implicitHydrogens(index, explicit: ev)) ?? 0
                if now < implicit[index] { atoms[index].hydrogens += implicit[index] - now }
            }
            _ = try checkValences()
        }

        /// RDKit's updatePropertyCache(strict: true): explicit valence and implicit hydrogens of every atom.
        func checkValences() throws -> (explicit: [Int], implicit: [Int]) {
            var explicit = [Int](repeating: 0, count: atoms.count)
            var implicit = [Int](repeating: 0, count: atoms.count)
            for index in atoms.indices {
                explicit[index] = try explicitValence(index, strict: true)
                implicit[index] = try implicitHydrogens(index, explicit: explicit[index])
            }
            return (explicit, implicit)
        }

        private mutating func rebuildAdjacency() {
            var adjacency = [[Int]](repeating: [], count: atoms.count)
            for (index, bond) in bonds.enumerated() {
                adjacency[bond.a].append(index)
                adjacency[bond.b].append(index)
            }
            self.adjacency = adjacency
        }

        /// RDKit's removeHs as MolFromSmiles calls it (before sanitizing): a hydrogen atom with one
        /// neighbor becomes an explicit hydrogen count of that neighbor, whatever the bond order — except
        /// isotopes, hydrides, hydrogens on dummies or hydrogens, on @SP/@TB/@OH atoms, or defining a
        /// double bond's geometry.
        mutating func removeHydrogens() {
            var remove = [Bool](repeating: false, count: atoms.count)
            var any = false
            for index in atoms.indices where atoms[index].z == 1 {
                let atom = atoms[index]
                guard adjacency[index].count == 1, atom.isotope == 0, atom.charge != -1 else { continue }
                let bond = bonds[adjacency[index][0]]
                let neighbor = bond.other(index)
                guard atoms[neighbor].z > 1, !atoms[neighbor].nonTetrahedral else { continue }
                if bond.directional && adjacency[neighbor].count == 2
                    && adjacency[neighbor].contains(where: { bonds[$0].order == .double }) {
                    continue
                }
                remove[index] = true
                any = true
            }
            guard any else { return }
            for index in atoms.indices where remove[index] {
                atoms[bonds[adjacency[index][0]].other(index)].hydrogens += 1
            }
            var newIndex = [Int](repeating: -1, count: atoms.count)
            var kept: [Atom] = []
            for index in atoms.indices where !remove[index] {
                newIndex[index] = kept.count
                kept.append(atoms[index])
            }
            var keptBonds: [Bond] = []
            for var bond in bonds where !remove[bond.a] && !remove[bond.b] {
                bond.a = newIndex[bond.a]
                bond.b = newIndex[bond.b]
                keptBonds.append(bond)
            }
            atoms = kept
            bonds = keptBonds
            rebuildAdjacency()
        }

        private static let nonMetals: Set<Int> = [0, 1, 2, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 33, 34, 35, 36, 52, 53, 54, 85, 86]

        /// RDKit's cleanUpOrganometallics: a non-metal over its valence with a single bond to a metal
        /// gets that bond turned into a dative bond towards the metal (`C(=O[Na+])` is valid).
        mutating func cleanUpOrganometallics() {
            func isMetal(_ index: Int) -> Bool { !Self.nonMetals.contains(atoms[index].z) }
            func hypervalent(_ index: Int) -> Bool {
                if isMetal(index) { return false }
                let atom = atoms[index]
                let ev = (try? explicitValence(index, strict: false)) ?? 0
                let effective = atom.z - atom.charge
                if effective <= 0 || effective > 118 { return false }
                let maxV = Elements.valences[effective].last!
                let implicit = (try? implicitHydrogens(index, explicit: ev)) ?? 0
                let totalDegree = adjacency[index].count + atom.hydrogens + implicit
                return maxV > 0 && (ev > maxV || (ev == maxV && atom.aromatic && totalDegree == 4))
            }
            guard atoms.indices.contains(where: isMetal) else { return }
            // RDKit visits atoms in canonical-rank order and, among metals with the fewest dative bonds,
            // picks the highest rank; its ranks order atoms first by degree, then by atomic number,
            // which stands in for them here.
            func rank(_ x: Int) -> (Int, Int, Int) { (adjacency[x].count, atoms[x].z, x) }
            for index in atoms.indices.sorted(by: { rank($0) < rank($1) })
                where ![1, 2, 9, 10].contains(atoms[index].z) && hypervalent(index) {
                var best: Int? = nil
                var bestKey = (Int.max, 0, 0, 0)
                for b in adjacency[index] where bonds[b].order == .single && isMetal(bonds[b].other(index)) {
                    let metal = bonds[b].other(index)
                    let datives = adjacency[metal].filter { bonds[$0].order == .dative }.count
                    let (degree, z, position) = rank(metal)
                    let key = (datives, -degree, -z, position)
                    if key < bestKey {
                        best = b
                        bestKey = key
                    }
                }
                if let b = best {
                    let metal = bonds[b].other(index)
                    bonds[b] = Bond(a: index, b: metal, order: .dative, aromatic: false)
                }
            }
        }

        /// The molecule after kekulization: aromatic bonds at aromatic ring atoms become single or (the
        /// matched ones) double, no atom stays aromatic, and aromatic [nH] / [pH] lose their written H
        /// (RDKit lets it be implicit again).
        mutating func applyKekule(_ doubles: (singles: Set<Int>, doubles: Set<Int>), explicit: inout [Int], implicit: inout [Int]) {
            for b in doubles.singles { bonds[b].order = .single }
            for b in doubles.doubles { bonds[b].order = .double }
            for b in bonds.indices { bonds[b].aromatic = false }
            var updated: [Int] = []
            for index in atoms.indices where atoms[index].aromatic {
                atoms[index].aromatic = false
                if (atoms[index].z == 7 || atoms[index].z == 15) && atoms[index].charge == 0 && atoms[index].hydrogens == 1 {
                    atoms[index].hydrogens = 0
                    atoms[index].bracket = false
                    updated.append(index)
                }
            }
            for index in updated {
                explicit[index] = (try? explicitValence(index, strict: false)) ?? 0
                implicit[index] = (try? implicitHydrogens(index, explicit: explicit[index])) ?? 0
            }
        }

        /// RDKit's isAromaticAtom: flagged aromatic, or touching an aromatic bond.
        func isAromaticAtom(_ index: Int) -> Bool {
            if atoms[index].aromatic { return true }
            return adjacency[index].contains { bonds[$0].aromatic || bonds[$0].order == .aromatic }
        }

        private func hasNoValenceList(_ z: Int) -> Bool {
            let list = Elements.valences[z]
            return list.count == 1 && list[0] == -1
        }

        /// The isoelectronic element RDKit checks a charged atom against.
        private func effectiveNumber(_ index: Int) -> Int {
            let atom = atoms[index]
            if hasNoValenceList(atom.z) { return atom.z }
            return min(max(atom.z - atom.charge, 0), 118)
        }

        private func canBeHypervalent(_ z: Int, _ effective: Int) -> Bool {
            (effective > 16 && (z == 15 || z == 16)) || (effective > 34 && (z == 33 || z == 34))
        }

        /// RDKit's calculateExplicitValence.
        func explicitValence(_ index: Int, strict: Bool) throws -> Int {
            let atom = atoms[index]
            var accum = 0.0
            for b in adjacency[index] { accum += bonds[b].contribution(to: index) }
            accum += Double(atom.hydrogens)
            let own = Elements.valences[atom.z]
            let effective = effectiveNumber(index)
            let valens = Elements.valences[effective]
            let dv = valens[0]
            if accum > Double(dv) && isAromaticAtom(index) {
                // An aromatic atom over its default valence takes the nearest allowed valence below
                // the sum when within 1.5 of it (the N in c1cccn1C, the S in O=c1ccs(=O)cc1).
                var pval = dv
                for v in valens {
                    if v == -1 || Double(v) > accum { break }
                    pval = v
                }
                if accum - Double(pval) <= 1.5 { accum = Double(pval) }
            }
            let result = Int((accum + 0.1).rounded())
            if strict {
                var maxValence = valens.last!
                var offset = 0
                if canBeHypervalent(atom.z, effective) {
                    maxValence = own.last!
                    offset = -atom.charge
                }
                if atom.z == 1 && atom.charge == -1 { maxValence = 2 }
                if maxValence >= 0 && own.last! >= 0 && result + offset > maxValence {
                    throw Problem(kind: .valence, message: "\(describe(index)) with valence \(result)")
                }
            }
            return result
        }

        /// RDKit's calculateImplicitValence (hydrogens added to atoms written outside brackets).
        func implicitHydrogens(_ index: Int, explicit: Int) throws -> Int {
            let atom = atoms[index]
            if atom.bracket || atom.z == 0 { return 0 }
            if explicit == 0 && atom.z == 1 {
                switch atom.charge {
                case 0: return 1
                case 1, -1: return 0
                default: throw Problem(kind: .valence, message: "hydrogen with charge \(atom.charge)")
                }
            }
            var ev = explicit
            let own = Elements.valences[atom.z]
            var effective = effectiveNumber(index)
            if effective == 0 { return 0 }
            let dv = Elements.valences[effective][0]
            if dv == -1 { return 0 }
            if canBeHypervalent(atom.z, effective) {
                effective = atom.z
                ev -= atom.charge
            }
            let valens = Elements.valences[effective]
            if isAromaticAtom(index) {
                if ev <= dv { return dv - ev }
                for v in valens {
                    if v <= 0 { break }
                    if v == ev { return 0 }
                }
                throw Problem(kind: .valence, message: "aromatic \(describe(index)) with valence \(ev)")
            }
            for v in valens {
                if v < 0 { break }
                if ev <= v { return v - ev }
            }
            if valens.last! != -1 && own.last! > 0 {
                throw Problem(kind: .valence, message: "\(describe(index)) with valence \(ev)")
            }
            return 0
        }

        func describe(_ index: Int) -> String {
            let atom = atoms[index]
            var text = Elements.names[atom.z]
            if atom.charge > 0 { text += " (+\(atom.charge))" }
            if atom.charge < 0 { text += " (\(atom.charge))" }
            return text
        }

        // MARK: clean-up (RDKit's MolOps::cleanUp)

        /// Nitro groups and N-oxides to charge-separated form, N#N to [N+]=[N-], P(=O)=C to [P+][O-],
        /// halogen oxides (ClO4 and the like) to charge-separated form — before any valence check.
        mutating func cleanUp() {
            var nitrogens: [Int] = []
            for index in atoms.indices where atoms[index].z == 7 && atoms[index].charge == 0 {
                guard (try? explicitValence(index, strict: false)) == 5 else { continue }
                nitrogens.append(index)
                for b in adjacency[index] {
                    let other = bonds[b].other(index)
                    if atoms[other].z == 8 && atoms[other].charge == 0 && bonds[b].order == .double {
                        bonds[b].order = .single
                        atoms[index].charge = 1
                        atoms[other].charge = -1
                        break
                    }
                }
            }
            for index in nitrogens {
                for b in adjacency[index] {
                    let other = bonds[b].other(index)
                    if atoms[other].z == 7 && atoms[other].charge == 0 && bonds[b].order == .triple {
                        bonds[b].order = .double
                        atoms[index].charge = 1
                        atoms[other].charge = -1
                        break
                    }
                }
            }
            for index in atoms.indices {
                switch atoms[index].z {
                case 15:
                    guard atoms[index].charge == 0, (try? explicitValence(index, strict: false)) == 5,
                          adjacency[index].count == 3 else { continue }
                    var doubleToOxygen: Int? = nil
                    var doubleToCarbonOrNitrogen = false
                    for b in adjacency[index] {
                        let other = bonds[b].other(index)
                        if atoms[other].z == 8 && atoms[other].charge == 0 && bonds[b].order == .double {
                            doubleToOxygen = b
                        } else if (atoms[other].z == 6 || atoms[other].z == 7) && adjacency[other].count >= 2
                                    && bonds[b].order == .double {
                            doubleToCarbonOrNitrogen = true
                        }
                    }
                    if doubleToCarbonOrNitrogen, let b = doubleToOxygen {
                        atoms[bonds[b].other(index)].charge = -1
                        bonds[b].order = .single
                        atoms[index].charge = 1
                    }
                case 17, 35, 53:
                    guard atoms[index].charge == 0, let ev = try? explicitValence(index, strict: false),
                          ev == 3 || ev == 5 || ev == 7 else { continue }
                    guard adjacency[index].allSatisfy({ atoms[bonds[$0].other(index)].z == 8 }) else { continue }
                    var charge = 0
                    for b in adjacency[index] where bonds[b].order == .double {
                        bonds[b].order = .single
                        atoms[bonds[b].other(index)].charge = -1
                        charge += 1
                    }
                    atoms[index].charge = charge
                default:
                    break
                }
            }
        }

        // MARK: rings and kekulization

        /// Biconnected components (lists of bond indices) over the non-dative bonds, iterative Tarjan.
        func blocks() -> [[Int]] {
            let n = atoms.count
            var discovered = [Int](repeating: -1, count: n)
            var low = [Int](repeating: 0, count: n)
            var time = 0
            var edgeStack: [Int] = []
            var result: [[Int]] = []
            struct Frame { var atom: Int; var parentBond: Int; var next: Int }
            for root in 0..<n where discovered[root] == -1 {
                discovered[root] = time; low[root] = time; time += 1
                var stack = [Frame(atom: root, parentBond: -1, next: 0)]
                while !stack.isEmpty {
                    let top = stack.count - 1
                    let v = stack[top].atom
                    if stack[top].next < adjacency[v].count {
                        let b = adjacency[v][stack[top].next]
                        stack[top].next += 1
                        // RDKit's ring finding leaves dative bonds out
                        if b == stack[top].parentBond || bonds[b].order == .dative { continue }
                        let w = bonds[b].other(v)
                        if discovered[w] == -1 {
                            edgeStack.append(b)
                            discovered[w] = time; low[w] = time; time += 1
                            stack.append(Frame(atom: w, parentBond: b, next: 0))
                        } else if discovered[w] < discovered[v] {
                            edgeStack.append(b)
                            low[v] = min(low[v], discovered[w])
                        }
                    } else {
                        let frame = stack.removeLast()
                        guard let parent = stack.last else { continue }
                        let u = parent.atom
                        low[u] = min(low[u], low[frame.atom])
                        if low[frame.atom] >= discovered[u] {
                            var component: [Int] = []
                            while let e = edgeStack.popLast() {
                                component.append(e)
                                if e == frame.parentBond { break }
                            }
                            result.append(component)
                        }
                    }
                }
            }
            return result
        }

        /// Kekulizes every ring system with aromatic atoms; returns the bonds made single and double
        /// (nil when nothing is aromatic).
        func kekulize(explicit: [Int], implicit: [Int]) throws -> (singles: Set<Int>, doubles: Set<Int>)? {
            let anyAromatic = atoms.contains { $0.aromatic } || bonds.contains { $0.aromatic || $0.order == .aromatic }
            if !anyAromatic { return nil }
            var singles = Set<Int>(), doubles = Set<Int>()
            var inRing = [Bool](repeating: false, count: atoms.count)
            // SSSR ring memberships, for RDKit's rule on dummy atoms
            let rings: [[Int]] = (atoms.contains { $0.z == 0 } ? smallestRings() : []).map { ring in
                var set = Set<Int>(); for b in ring { set.insert(bonds[b].a); set.insert(bonds[b].b) }
                return Array(set)
            }
            var ringsOf = [[Int]](repeating: [], count: atoms.count)
            for (r, ring) in rings.enumerated() { for x in ring { ringsOf[x].append(r) } }
            let ringNotCandidate = rings.map { ring in
                !ring.contains { isAromaticAtom($0) && ringsOf[$0].count == 1 }
            }
            for block in blocks() where block.count >= 2 {
                var blockAtoms: [Int] = []
                var seen = Set<Int>()
                for b in block {
                    for x in [bonds[b].a, bonds[b].b] where seen.insert(x).inserted { blockAtoms.append(x) }
                }
                for x in blockAtoms { inRing[x] = true }
                guard blockAtoms.contains(where: { atoms[$0].z == 0 || isAromaticAtom($0) }) else { continue }
                let (s, d) = try kekulizeSystem(blockAtoms, block, explicit: explicit, implicit: implicit) { dummy in
                    // A dummy may take a double bond when it has fewer non-aromatic neighbors in the system
                    // than rings, and not all of its rings are without a lone aromatic atom. RDKit counts
                    // only the neighbors it has already visited (ring order); the SMILES order stands in.
                    let inSystem = Set(blockAtoms)
                    let plain = adjacency[dummy].filter {
                        let other = bonds[$0].other(dummy)
                        return other < dummy && atoms[other].z != 0 && !atoms[other].aromatic && inSystem.contains(other)
                    }.count
                    let notCandidate = ringsOf[dummy].filter { ringNotCandidate[$0] }.count
                    return plain < ringsOf[dummy].count && notCandidate < ringsOf[dummy].count
                }
                singles.formUnion(s)
                doubles.formUnion(d)
            }
            for index in atoms.indices where atoms[index].aromatic && !inRing[index] {
                throw Problem(kind: .aromaticOutsideRing, message: "aromatic \(describe(index)) outside a ring")
            }
            return (singles.subtracting(doubles), doubles)
        }

        /// One ring system: which aromatic atoms need a double bond (RDKit's markDbondCands), then a
        /// matching over the aromatic bonds that covers all of them.
        private func kekulizeSystem(_ systemAtoms: [Int], _ systemBonds: [Int], explicit: [Int], implicit: [Int],
                                    dummyMayTakeDoubleBond: (Int) -> Bool) throws
            -> (singles: Set<Int>, doubles: Set<Int>) {
            var required: [Int] = []
            var optional: [Int] = []
            var singles = Set<Int>()
            for index in systemAtoms {
                let atom = atoms[index]
                if atom.z != 0 && !isAromaticAtom(index) { continue }
                for b in adjacency[index] where bonds[b].aromatic
                    && (bonds[b].order == .single || bonds[b].order == .double || bonds[b].order == .aromatic) {
                    singles.insert(b)
                }
                if atom.z == 0 {
                    // dummies may take a double bond, need not
                    if dummyMayTakeDoubleBond(index) { optional.append(index) }
                    continue
                }
                var sbo = 0
                var ignored = 0
                for b in adjacency[index] {
                    let bond = bonds[b]
                    if bond.aromatic && (bond.order == .single || bond.order == .double || bond.order == .aromatic) {
                        sbo += 1
                    } else {
                        let contribution = Int(bond.contribution(to: index).rounded())
                        sbo += contribution
                        if contribution == 0 { ignored += 1 }
                    }
                }
                sbo += atom.hydrogens + implicit[index]
                let list = Elements.valences[atom.z]
                var charge = atom.charge
                if Elements.early[atom.z] { charge = -charge }
                if atom.z == 6 && charge > 0 { charge = -charge }
                var dv = list[0] + charge
                let total = explicit[index] + implicit[index]
                let totalDegree = adjacency[index].count + implicit[index] - ignored
                var vi = 1
                while total > dv && vi < list.count && list[vi] > 0 {
                    dv = list[vi] + charge
                    vi += 1
                }
                // aromatic N-oxides such as O=n1ccccc1 (normally already rewritten by the clean-up)
                if total == 5 && sbo == 4 && dv == 3 && totalDegree == 3 && charge == 0
                    && atom.hydrogens + implicit[index] == 0 && [7, 15, 33].contains(atom.z) {
                    dv = 5
                }
                if totalDegree >= dv { continue }
                if dv == sbo + 1 || (atom.bracket && dv == sbo + 2) {
                    required.append(index)
                }
            }
            if required.isEmpty { return (singles, []) }

            // Vertices: required candidates, optional ones, then sinks that absorb unmatched optional
            // vertices (a clique, so that a perfect matching exists iff one covers every required atom).
            let candidates = required + optional
            var position = [Int: Int]()
            for (k, index) in candidates.enumerated() { position[index] = k }
            let sinkCount = optional.isEmpty ? 0 : optional.count + (required.count % 2)
            let n = candidates.count + sinkCount
            var graph = [[Int]](repeating: [], count: n)
            var bondOf = [Int: Int]()  // p * n + q -> bond
            let systemSet = Set(systemAtoms)
            for b in systemBonds {
                let bond = bonds[b]
                guard systemSet.contains(bond.a), systemSet.contains(bond.b),
                      let p = position[bond.a], let q = position[bond.b] else { continue }
                guard bond.aromatic || atoms[bond.a].z == 0 || atoms[bond.b].z == 0 else { continue }
                graph[p].append(q)
                graph[q].append(p)
                bondOf[min(p, q) * n + max(p, q)] = b
            }
            if sinkCount > 0 {
                let firstSink = candidates.count
                for s in firstSink..<n {
                    for o in required.count..<candidates.count {
                        graph[s].append(o)
                        graph[o].append(s)
                    }
                    for t in firstSink..<n where t != s { graph[s].append(t) }
                }
            }
            let matching = Matching.maximum(graph)
            if matching.contains(-1) {
                let unmatched = (0..<required.count).filter { matching[$0] == -1 }.count
                throw Problem(kind: .kekulization,
                              message: "cannot kekulize aromatic ring (\(unmatched) atom\(unmatched == 1 ? "" : "s") without a double bond)")
            }
            var doubles = Set<Int>()
            for p in 0..<candidates.count where matching[p] > p && matching[p] < candidates.count {
                if let b = bondOf[p * n + matching[p]] { doubles.insert(b) }
            }
            return (singles, doubles)
        }
    }
}

// MARK: - Aromaticity perception after kekulization (RDKit's default model)

extension SMILES.Molecule {
    /// RDKit's assignRadicals (atoms in brackets only), on the Kekulé structure.
    func assignRadicals() -> [Int] {
        var radicals = [Int](repeating: 0, count: atoms.count)
        for index in atoms.indices where atoms[index].bracket && atoms[index].z != 0 {
            let atom = atoms[index]
            let valens = SMILES.Elements.valences[atom.z]
            let outer = SMILES.Elements.outerElectrons[atom.z]
            let charge = atom.charge
            if valens.count != 1 || valens[0] != -1 {
                var accum = 0.0
                for b in adjacency[index] { accum += bonds[b].contribution(to: index) }
                accum += Double(atom.hydrogens)
                let total = Int(accum + 0.1)
                let base = atom.z <= 2 ? 2 : 8
                var n = base - outer - total + charge
                if n < 0 {
                    n = 0
                    if valens.count > 1 {
                        for v in valens where v - total + charge >= 0 {
                            n = v - total + charge
                            break
                        }
                    }
                }
                let n2 = outer - total - charge
                if n2 >= 0 { n = min(n, n2) }
                radicals[index] = n
            } else if adjacency[index].isEmpty {
                radicals[index] = max(outer - charge, 0) % 2
            }
        }
        return radicals
    }

    /// A minimum cycle basis (the SSSR): Horton's candidate cycles from BFS trees, kept when independent
    /// over GF(2). Rings as bond lists.
    func smallestRings() -> [[Int]] {
        var rings: [[Int]] = []
        var parentBond = [Int](repeating: -1, count: atoms.count)
        var reached = [Int](repeating: -1, count: atoms.count)  // BFS root that reached the atom
        var mark = [Int](repeating: -1, count: atoms.count)
        var stamp = 0
        var inBlock = [Bool](repeating: false, count: bonds.count)
        var member = [Int](repeating: -1, count: atoms.count)
        for (blockNumber, block) in blocks().enumerated() where block.count >= 3 {
            var vertices: [Int] = []
            for b in block {
                for x in [bonds[b].a, bonds[b].b] where member[x] != blockNumber { member[x] = blockNumber; vertices.append(x) }
            }
            let needed = block.count - vertices.count + 1
            if needed == 1 {  // a single ring
                rings.append(block)
                continue
            }
            for b in block { inBlock[b] = true }
            defer { for b in block { inBlock[b] = false } }
            var edgeIndex = [Int: Int]()
            for (k, b) in block.enumerated() { edgeIndex[b] = k }
            let words = (block.count + 63) / 64
            var candidates: [(length: Int, bits: [UInt64])] = []
            var seen = Set<[UInt64]>()
            for root in vertices.sorted() {
                // BFS tree inside the block
                reached[root] = root
                parentBond[root] = -1
                var queue = [root], head = 0
                while head < queue.count {
                    let v = queue[head]; head += 1
                    for b in adjacency[v] where inBlock[b] {
                        let w = bonds[b].other(v)
                        if reached[w] != root { reached[w] = root; parentBond[w] = b; queue.append(w) }
                    }
                }
                for b in block {
                    let (x, y) = (bonds[b].a, bonds[b].b)
                    if parentBond[x] == b || parentBond[y] == b { continue }
                    // a simple cycle only when the tree paths from x and y meet at the root alone
                    stamp += 1
                    var v = x, pathX: [Int] = []
                    mark[v] = stamp
                    while v != root { let e = parentBond[v]; pathX.append(e); v = bonds[e].other(v); mark[v] = stamp }
                    v = y
                    var pathY: [Int] = []
                    while mark[v] != stamp { let e = parentBond[v]; pathY.append(e); v = bonds[e].other(v) }
                    if v != root { continue }
                    var bits = [UInt64](repeating: 0, count: words)
                    for e in pathX + pathY + [b] { let k = edgeIndex[e]!; bits[k / 64] |= 1 << UInt64(k % 64) }
                    if seen.insert(bits).inserted { candidates.append((pathX.count + pathY.count + 1, bits)) }
                }
            }
            candidates.sort { $0.length < $1.length }
            var basis: [(pivot: Int, bits: [UInt64])] = []
            for candidate in candidates where basis.count < needed {
                var reduced = candidate.bits
                for row in basis where reduced[row.pivot / 64] >> UInt64(row.pivot % 64) & 1 == 1 {
                    for w in 0..<words { reduced[w] ^= row.bits[w] }
                }
                guard let word = reduced.firstIndex(where: { $0 != 0 }) else { continue }
                basis.append((word * 64 + reduced[word].trailingZeroBitCount, reduced))
                var ring: [Int] = []
                for k in 0..<block.count where candidate.bits[k / 64] >> UInt64(k % 64) & 1 == 1 { ring.append(block[k]) }
                rings.append(ring)
            }
        }
        return rings
    }

    private enum Donor { case vacant, one, two, oneOrTwo, any, none }

    /// RDKit's setAromaticity with its default model: rings whose atoms all can take part, alone or
    /// fused (up to 6 rings sharing single bonds), with 4n+2 π electrons become aromatic again.
    /// `explicit` and `implicit` are the valences RDKit has cached (computed before kekulization).
    mutating func perceiveAromaticity(explicit: [Int], implicit: [Int], radicals: [Int]) {
        let ringBonds = smallestRings()
        if ringBonds.isEmpty { return }
        var bondInRing = [Bool](repeating: false, count: bonds.count)
        for ring in ringBonds { for b in ring { bondInRing[b] = true } }
        let ringAtoms: [[Int]] = ringBonds.map { ring in
            var set = Set<Int>(); for b in ring { set.insert(bonds[b].a); set.insert(bonds[b].b) }
            return Array(set)
        }
        let valences = SMILES.Elements.valences
        let outer = SMILES.Elements.outerElectrons

        func contribution(_ b: Int, _ atom: Int) -> Double { bonds[b].contribution(to: atom) }
        func nonCyclicMultiple(_ atom: Int) -> Int? {
            for b in adjacency[atom] where !bondInRing[b] && contribution(b, atom) >= 2 { return bonds[b].other(atom) }
            return nil
        }
        func cyclicMultiple(_ atom: Int) -> Bool {
            adjacency[atom].contains { bondInRing[$0] && contribution($0, atom) >= 2 }
        }
        func moreElectronegative(_ a: Int, _ b: Int) -> Bool {
            outer[a] > outer[b] || (outer[a] == outer[b] && a < b)
        }
        func electrons(_ i: Int) -> Int {
            let atom = atoms[i]
            let dv = valences[atom.z][0]
            if dv <= 1 { return -1 }
            var degree = adjacency[i].count + atom.hydrogens + implicit[i]
            for b in adjacency[i] where contribution(b, i) == 0 { degree -= 1 }
            if degree > 3 { return -1 }
            let lonePairs = max(outer[atom.z] - dv - atom.charge, 0)
            var result = (dv - degree) + lonePairs - radicals[i]
            if result > 1 && explicit[i] - adjacency[i].count > 1 { result = 1 }
            return result
        }
        func donor(_ i: Int) -> Donor {
            let atom = atoms[i]
            if atom.z == 0 { return cyclicMultiple(i) ? .one : .any }
            var n = electrons(i)
            if n < 0 { return .none }
            if n == 0 {
                if nonCyclicMultiple(i) != nil { return .vacant }
                return cyclicMultiple(i) ? .one : .none
            }
            if n == 1 {
                if let other = nonCyclicMultiple(i) {
                    return moreElectronegative(atoms[other].z, atom.z) ? .vacant : .one
                }
                var degree = adjacency[i].count + atom.hydrogens
                for b in adjacency[i] where contribution(b, i).rounded() == 0 { degree -= 1 }
                if explicit[i] != degree { return .one }
                return atom.charge == 1 ? .vacant : .none
            }
            if let other = nonCyclicMultiple(i), moreElectronegative(atoms[other].z, atom.z) { n -= 1 }
            return n % 2 == 1 ? .one : .two
        }
        func candidate(_ i: Int, _ kind: Donor) -> Bool {
            let atom = atoms[i]
            if atom.z > 18 && atom.z != 34 && atom.z != 52 { return false }
            if kind == .none { return false }
            let defaultValence = valences[atom.z][0]
            let shifted = min(max(atom.z - atom.charge, 0), 118)
            if defaultValence > 0 && explicit[i] + implicit[i] > valences[shifted][0] { return false }
            if radicals[i] > 0 && (atom.z != 6 || atom.charge != 0) { return false }
            if explicit[i] - adjacency[i].count > 1 {
                let multiple = adjacency[i].filter { bonds[$0].order == .double || bonds[$0].order == .triple }.count
                if multiple > 1 { return false }
            }
            return true
        }

        // donor types and candidate rings
        var kind = [Donor?](repeating: nil, count: atoms.count)
        var ok = [Bool](repeating: false, count: atoms.count)
        var candidateRings: [Int] = []
        for (r, members) in ringAtoms.enumerated() {
            var all = true
            var allDummy = true
            for i in members {
                if atoms[i].z != 0 { allDummy = false }
                if kind[i] != nil {
                    if !ok[i] { all = false }
                    continue
                }
                var k = donor(i)
                if k == .two && members.count >= 9 && (atoms[i].z == 8 || atoms[i].z == 16)
                    && adjacency[i].count == 2 && atoms[i].charge == 0
                    && !adjacency[i].contains(where: { bonds[$0].order == .double || bonds[$0].order == .triple }) {
                    k = .none
                }
                kind[i] = k
                ok[i] = candidate(i, k)
                if !ok[i] { all = false }
            }
            if all && !allDummy { candidateRings.append(r) }
        }
        if candidateRings.isEmpty { return }

        // rings of at most 24 bonds sharing exactly one bond are neighbors
        let count = candidateRings.count
        var neighbors = [[Int]](repeating: [], count: count)
        // (through an index of the rings at each bond: comparing every pair of rings was quadratic,
        // minutes for a line of thousands of dot-separated benzenes; the same lists, in the same order)
        var ringsAtBond: [Int: [Int]] = [:]
        for x in 0..<count where ringBonds[candidateRings[x]].count <= 24 {
            for b in ringBonds[candidateRings[x]] { ringsAtBond[b, default: []].append(x) }
        }
        for x in 0..<count where ringBonds[candidateRings[x]].count <= 24 {
            var shared: [Int: Int] = [:]
            for b in ringBonds[candidateRings[x]] { for y in ringsAtBond[b] ?? [] where y > x { shared[y, default: 0] += 1 } }
            for (y, n) in shared.sorted(by: { $0.key < $1.key }) where n == 1 {
                neighbors[x].append(y)
                neighbors[y].append(x)
            }
        }
        var systemOf = [Int](repeating: -1, count: count)
        var systems: [[Int]] = []
        for start in 0..<count where systemOf[start] == -1 {
            var members = [start]
            systemOf[start] = systems.count
            var head = 0
            while head < members.count {
                for n in neighbors[members[head]] where systemOf[n] == -1 {
                    systemOf[n] = systems.count
                    members.append(n)
                }
                head += 1
            }
            systems.append(members.sorted())
        }

        func huckel(_ members: [Int]) -> Bool {
            var low = 0, high = 0, anyCount = 0
            for i in members {
                switch kind[i]! {
                case .any:
                    anyCount += 1
                    if anyCount > 1 { return false }
                    low += 1; high += 2
                case .oneOrTwo: low += 1; high += 2
                case .one: low += 1; high += 1
                case .two: low += 2; high += 2
                case .vacant, .none: break
                }
            }
            if high >= 6 { return (low...high).contains { ($0 - 2) % 4 == 0 } }
            return high == 2
        }
        // RDKit tries every combination of 1 to 6 rings of a fused system and keeps the connected ones;
        // growing connected sets one neighbor at a time visits the same sets without the combinatorial
        // blow-up (capped, for hostile input, at 200,000 sets of one size).
        var newlyAromaticBonds: [Int] = []
        for system in systems {
            let systemBonds = Set(system.flatMap { ringBonds[candidateRings[$0]] })
            var done = Set<Int>()
            let n = system.count
            var level: [[Int]] = []
            var size = 0
            while true {
                if size == 2 && n > 300 { break }
                size += 1
                if size > min(n, 6) || done.count >= systemBonds.count { break }
                if size == 1 {
                    level = system.map { [$0] }
                } else {
                    var next = Set<[Int]>()
                    grow: for subset in level {
                        for x in subset {
                            for y in neighbors[x] where !subset.contains(y) {
                                next.insert((subset + [y]).sorted())
                                if next.count >= 200_000 { break grow }
                            }
                        }
                    }
                    level = Array(next)
                }
                for subset in level {
                    var atomCount = [Int: Int]()
                    var bondCount = [Int: Int]()
                    for x in subset {
                        for i in ringAtoms[candidateRings[x]] { atomCount[i, default: 0] += 1 }
                        for b in ringBonds[candidateRings[x]] { bondCount[b, default: 0] += 1 }
                    }
                    let members = atomCount.filter { $0.value == 1 || $0.value == 2 }.map(\.key)
                    if huckel(members) {
                        for (b, c) in bondCount where c == 1 {
                            newlyAromaticBonds.append(b)
                            done.insert(b)
                        }
                    }
                }
            }
        }
        for b in newlyAromaticBonds {
            bonds[b].aromatic = true
            if bonds[b].order == .single || bonds[b].order == .double {
                bonds[b].order = .aromatic
                atoms[bonds[b].a].aromatic = true
                atoms[bonds[b].b].aromatic = true
            }
        }
    }
}

// MARK: - Maximum matching in a general graph (Edmonds' blossom algorithm)

extension SMILES {
    enum Matching {
        /// match[v] is v's partner or -1. O(V³); ring systems have at most a few hundred atoms.
        static func maximum(_ graph: [[Int]]) -> [Int] {
            let n = graph.count
            var match = [Int](repeating: -1, count: n)
            var parent = [Int](repeating: -1, count: n)
            var base = Array(0..<n)
            var used = [Bool](repeating: false, count: n)
            var blossom = [Bool](repeating: false, count: n)
            var queue: [Int] = []

            func lca(_ a0: Int, _ b0: Int) -> Int {
                var seen = [Bool](repeating: false, count: n)
                var a = a0
                while true {
                    a = base[a]
                    seen[a] = true
                    if match[a] == -1 { break }
                    a = parent[match[a]]
                }
                var b = b0
                while true {
                    b = base[b]
                    if seen[b] { return b }
                    b = parent[match[b]]
                }
            }

            func markPath(_ v0: Int, _ b: Int, _ child0: Int) {
                var v = v0, child = child0
                while base[v] != b {
                    blossom[base[v]] = true
                    blossom[base[match[v]]] = true
                    parent[v] = child
                    child = match[v]
                    v = parent[match[v]]
                }
            }

            func findPath(_ root: Int) -> Int {
                for k in 0..<n { used[k] = false; parent[k] = -1; base[k] = k }
                used[root] = true
                queue = [root]
                var head = 0
                while head < queue.count {
                    let v = queue[head]
                    head += 1
                    for to in graph[v] {
                        if base[v] == base[to] || match[v] == to { continue }
                        if to == root || (match[to] != -1 && parent[match[to]] != -1) {
                            let current = lca(v, to)
                            for k in 0..<n { blossom[k] = false }
                            markPath(v, current, to)
                            markPath(to, current, v)
                            for k in 0..<n where blossom[base[k]] {
                                base[k] = current
                                if !used[k] {
                                    used[k] = true
                                    queue.append(k)
                                }
                            }
                        } else if parent[to] == -1 {
                            parent[to] = v
                            if match[to] == -1 { return to }
                            used[match[to]] = true
                            queue.append(match[to])
                        }
                    }
                }
                return -1
            }

            // A greedy start, then augmenting paths from every vertex left unmatched.
            for v in 0..<n where match[v] == -1 {
                if let w = graph[v].first(where: { match[$0] == -1 }) {
                    match[v] = w
                    match[w] = v
                }
            }
            for root in 0..<n where match[root] == -1 {
                var v = findPath(root)
                while v != -1 {
                    let pv = parent[v]
                    let ppv = match[pv]
                    match[v] = pv
                    match[pv] = v
                    v = ppv
                }
            }
            return match
        }
    }
}

// MARK: - Periodic table (RDKit's data)

extension SMILES {
    enum Elements {
        /// Allowed valences by atomic number (RDKit Code/GraphMol/atomic_data.cpp; the first is the
        /// default valence; -1: any valence, RDKit's choice for transition metals, lanthanides,
        /// actinides and superheavy elements, kept here).
        static let valences: [[Int]] = [
            [-1], [1], [0], [1, -1], [2], [3], [4], [3], [2], [1], [0], [1, -1], [2, -1], [3], [4], [3, 5], [2, 4, 6],
            [1], [0], [1, -1], [2, -1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [3], [4], [3, 5],
            [2, 4, 6], [1], [0], [1, -1], [2, -1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [3],
            [2, 4], [3, 5], [2, 4, 6], [1, 3, 5], [0, 2, 4, 6], [1], [2, -1], [-1], [-1], [-1], [-1], [-1], [-1], [-1],
            [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1],
            [2, 4], [3, 5], [2, 4, 6], [1, 3, 5], [0], [1], [2, -1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1],
            [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1], [-1],
            [-1], [-1], [-1], [-1],
        ]

        static let symbols: [String] = """
            * H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr \
            Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb \
            Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf \
            Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
            """.split(separator: " ").map(String.init)

        static let names: [String] = """
            dummy hydrogen helium lithium beryllium boron carbon nitrogen oxygen fluorine neon sodium magnesium \
            aluminium silicon phosphorus sulfur chlorine argon potassium calcium scandium titanium vanadium \
            chromium manganese iron cobalt nickel copper zinc gallium germanium arsenic selenium bromine krypton \
            rubidium strontium yttrium zirconium niobium molybdenum technetium ruthenium rhodium palladium silver \
            cadmium indium tin antimony tellurium iodine xenon caesium barium lanthanum cerium praseodymium \
            neodymium promethium samarium europium gadolinium terbium dysprosium holmium erbium thulium ytterbium \
            lutetium hafnium tantalum tungsten rhenium osmium iridium platinum gold mercury thallium lead bismuth \
            polonium astatine radon francium radium actinium thorium protactinium uranium neptunium plutonium \
            americium curium berkelium californium einsteinium fermium mendelevium nobelium lawrencium \
            rutherfordium dubnium seaborgium bohrium hassium meitnerium darmstadtium roentgenium copernicium \
            nihonium flerovium moscovium livermorium tennessine oganesson
            """.split(separator: " ").map(String.init)

        /// Outer-shell electrons by atomic number (RDKit's atomic data).
        static let outerElectrons: [Int] = """
            0 1 2 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 9 10 11 2 3 4 5 6 7 8 1 2 3 4 5 6 7 8 9 10 11 2 3 4 \
            5 6 7 8 1 2 3 4 3 4 5 6 7 8 9 10 11 12 13 14 15 4 5 6 7 8 9 10 11 2 3 4 5 6 7 8 1 2 3 4 3 4 5 6 7 8 9 10 11 \
            12 13 14 15 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2
            """.split(separator: " ").map { Int($0)! }

        /// RDKit's isEarlyAtom (elements left of carbon, whose charge counts the other way in kekulization).
        static let early: [Bool] = "00011100000111000001111000000011100001111100000011110001111111000000000011000000111100011111110000000000111111111111111".map { $0 == "1" }

        /// Symbols RDKit reads in brackets besides the element symbols: aromatic forms and the
        /// systematic names of elements 110-118.
        private static let bracketExtras: [String: (Int, Bool)] = [
            "b": (5, true), "c": (6, true), "n": (7, true), "o": (8, true), "p": (15, true), "s": (16, true),
            "si": (14, true), "as": (33, true), "se": (34, true), "te": (52, true),
            "Uun": (110, false), "Uuu": (111, false), "Uub": (112, false), "Uut": (113, false), "Uuq": (114, false),
            "Uup": (115, false), "Uuh": (116, false), "Uus": (117, false), "Uuo": (118, false),
        ]

        private static let byName: [String: Int] = {
            var table: [String: Int] = [:]
            for (z, symbol) in symbols.enumerated() where z > 0 { table[symbol] = z }
            return table
        }()

        static func number(_ symbol: String) -> Int? { byName[symbol] }

        /// The longest element symbol at `start` inside brackets (as flex matches it): atomic number,
        /// aromatic, length.
        static func bracketSymbol(_ c: [UInt8], _ start: Int) -> (Int, Bool, Int)? {
            for length in stride(from: 3, through: 1, by: -1) where start + length <= c.count {
                let text = String(decoding: c[start..<(start + length)], as: UTF8.self)
                if let (z, aromatic) = bracketExtras[text] { return (z, aromatic, length) }
                if let z = byName[text] { return (z, false, length) }
            }
            return nil
        }
    }
}
