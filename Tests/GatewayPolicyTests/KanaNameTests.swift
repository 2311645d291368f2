import GatewayPolicy
import XCTest

final class KanaNameTests: XCTestCase {
    private func hex(_ s: String) -> String {
        s.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
    }

    func testSpecExamplesMatch() {
        XCTAssertTrue(KanaName.matches("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ ハナコ"))
        XCTAssertTrue(KanaName.matches("ヤマダハナコ", "ヤマダ ハナコ"))
        XCTAssertFalse(KanaName.matches("ヤマダ ハナエ", "ヤマダ ハナコ"))
        XCTAssertFalse(KanaName.matches("ﾔﾏﾀﾞ ﾊﾅｴ", "ヤマダ ハナコ"))
    }

    func testHalfWidthKatakanaWithSeparateMarksComposes() {
        XCTAssertEqual(KanaName.normalize("ﾔﾏﾀﾞ"), "ヤマダ")
        XCTAssertEqual(
            KanaName.normalize("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ"),
            "ガギグゲゴザジズゼゾダヂヅデドバビブベボ")
        XCTAssertEqual(KanaName.normalize("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"), "パピプペポ")
        XCTAssertEqual(KanaName.normalize("ｳﾞｨｸﾄﾙ"), "ヴイクトル")
        XCTAssertEqual(KanaName.normalize("ﾜﾞｦﾞ"), "ヷヺ")
    }

    func testDecomposedFullWidthKanaComposes() {
        XCTAssertEqual(KanaName.normalize("タ\u{3099}"), "ダ")
        XCTAssertEqual(KanaName.normalize("ハ\u{309A}"), "パ")
        XCTAssertEqual(KanaName.normalize("ハ゛"), "バ")
        XCTAssertEqual(KanaName.normalize("か\u{3099}"), "ガ")
    }

    func testMarkThatCannotComposeIsKept() {
        XCTAssertEqual(KanaName.normalize("アﾞ"), "ア゛")
        XCTAssertEqual(KanaName.normalize("カﾟ"), "カ゜")
        XCTAssertEqual(KanaName.normalize("ﾞｱ"), "゛ア")
        XCTAssertFalse(KanaName.matches("ｱﾞｲ", "アイ"))
    }

    func testMarkComposesWithTheLastKeptKanaAcrossADroppedSpace() {
        XCTAssertEqual(KanaName.normalize("ｶ ﾞ"), "ガ")
        XCTAssertEqual(KanaName.normalize("ﾊｰﾟ"), "パ")
    }

    func testHiraganaIsKatakana() {
        XCTAssertEqual(KanaName.normalize("やまだ はなこ"), "ヤマダハナコ")
        XCTAssertEqual(KanaName.normalize("がぱゔ"), "ガパヴ")
    }

    func testSmallKanaAreLarge() {
        XCTAssertEqual(KanaName.normalize("ァィゥェォッャュョヮヵヶ"), "アイウエオツヤユヨワカケ")
        XCTAssertEqual(KanaName.normalize("ｧｨｩｪｫｯｬｭｮ"), "アイウエオツヤユヨ")
        XCTAssertEqual(KanaName.normalize("ぁぃぅぇぉっゃゅょゎゕゖ"), "アイウエオツヤユヨワカケ")
        XCTAssertEqual(KanaName.normalize("ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"), "クシストヌハヒフヘホムラリルレロ")
        XCTAssertTrue(KanaName.matches("ｷﾖｳｺ", "キョウコ"))
        XCTAssertTrue(KanaName.matches("ﾊｯﾄﾘ", "ハツトリ"))
    }

    func testSpacesOfEveryKindAreRemoved() {
        for space in [" ", "\u{3000}", "\t", "\u{00A0}", "\u{2003}", "  ", "\n", "\u{200B}", "\u{FEFF}"] {
            XCTAssertTrue(KanaName.matches("ヤマダ\(space)ハナコ", "ヤマダハナコ"), hex(space))
        }
        XCTAssertTrue(KanaName.matches(" ヤマダ ハナコ ", "ヤマダハナコ"))
    }

    func testLongVowelMarksAndTheirLookAlikesAreRemoved() {
        let marks = [
            "ー", "ｰ", "-", "－", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}",
            "\u{2212}", "\u{FF0D}", "\u{2500}",
        ]
        for mark in marks {
            XCTAssertTrue(KanaName.matches("ｻﾄ\(mark)ｹﾝ", "サトーケン"), hex(mark))
        }
        XCTAssertTrue(KanaName.matches("ﾕｳｺｰ", "ユウコ"))
    }

    func testMiddleDotsSeparateNamesLikeASpace() {
        XCTAssertTrue(KanaName.matches("ｽﾐｽ ｼﾞﾖﾝ", "スミス・ジョン"))
        XCTAssertTrue(KanaName.matches("ｽﾐｽ･ｼﾞﾖﾝ", "スミス ジョン"))
    }

    func testFullWidthLatinIsNarrowedAndUpperCased() {
        XCTAssertTrue(KanaName.matches("ＳＭＩＴＨ ＪＯＨＮ", "smith john"))
        XCTAssertEqual(KanaName.normalize("ａＢ１"), "AB1")
    }

    func testDifferentSoundsDoNotMatch() {
        let pairs = [
            ("ヤマダ ハナコ", "ヤマダ ハナエ"), ("タナカ", "ダナカ"), ("ハナコ", "バナコ"), ("バナコ", "パナコ"),
            ("スズキ", "スズギ"), ("ジロウ", "ヂロウ"), ("ヲノ", "オノ"), ("ヤマダ ハナコ", "ヤマダ ハナ"),
            ("ヤマダ ハナコ", "ハナコ ヤマダ"), ("ヤマダ", "山田"),
        ]
        for (a, b) in pairs {
            XCTAssertFalse(KanaName.matches(a, b), "\(a) vs \(b)")
            XCTAssertFalse(KanaName.matches(b, a), "\(b) vs \(a)")
        }
    }

    func testEmptyNamesNeverMatch() {
        XCTAssertFalse(KanaName.matches("", ""))
        XCTAssertFalse(KanaName.matches(" ", "\u{3000}"))
        XCTAssertFalse(KanaName.matches("ー", "ｰ"))
        XCTAssertFalse(KanaName.matches("", "ヤマダ"))
        XCTAssertFalse(KanaName.matches("ヤマダ", ""))
    }

    func testOverlongNamesNeverMatch() {
        let long = String(repeating: "ア", count: KanaName.maxNameScalars + 1)
        XCTAssertFalse(KanaName.matches(long, long))
        let longest = String(repeating: "ア", count: KanaName.maxNameScalars)
        XCTAssertTrue(KanaName.matches(longest, longest))
    }

    // MARK: Properties over generated names

    /// Kana, half-width kana, marks, spaces, dashes, Latin and a kanji, so the generator reaches every table path.
    private static let alphabet: [Unicode.Scalar] = {
        var scalars: [Unicode.Scalar] = []
        for range in [0x3041...0x3096, 0x3099...0x309E, 0x30A1...0x30FE, 0x31F0...0x31FF, 0xFF61...0xFF9F] {
            scalars += range.compactMap(Unicode.Scalar.init)
        }
        scalars += [" ", "\u{3000}", "-", "\u{2015}", "\u{FF0D}", "a", "Z", "\u{FF41}", "山", "\u{200B}"]
        return scalars
    }()

    private struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func randomNames(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(state: seed)
        return (0..<count).map { _ in
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &rng) { s.append(Self.alphabet.randomElement(using: &rng)!) }
            return String(s)
        }
    }

    func testNormalisationIsIdempotent() {
        for name in randomNames(count: 5_000, seed: 1) {
            let once = KanaName.normalize(name)
            XCTAssertEqual(KanaName.normalize(once), once, hex(name))
        }
    }

    func testEveryNonEmptyNormalFormMatchesItselfAndItsSource() {
        for name in randomNames(count: 2_000, seed: 2) {
            let normal = KanaName.normalize(name)
            XCTAssertEqual(KanaName.matches(name, normal), !normal.isEmpty)
            XCTAssertEqual(KanaName.matches(name, name), !normal.isEmpty)
        }
    }

    func testNormalFormHasNoHalfWidthKanaHiraganaSmallKanaSpacesOrLongVowelMarks() {
        let forbidden: Set<UInt32> = Set(0xFF61...0xFF9F).union(0x3041...0x3096).union(0x31F0...0x31FF)
            .union([0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30C3, 0x30E3, 0x30E5, 0x30E7, 0x30EE, 0x30F5, 0x30F6])
            .union([0x30FC, 0x20, 0x3000, 0x2D, 0x2015, 0xFF0D, 0x3099, 0x309A, 0x200B])
        for name in randomNames(count: 2_000, seed: 3) {
            for scalar in KanaName.normalize(name).unicodeScalars {
                XCTAssertFalse(forbidden.contains(scalar.value), "U+\(String(scalar.value, radix: 16)) in \(name)")
            }
        }
    }

    func testHalfWidthAndFullWidthSpellingsOfTheSameNameMatch() {
        // Every half-width katakana (with its marks) against the full-width form NFKC gives, composed.
        let pairs: [(String, String)] = [
            ("ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉ", "アイウエオカキクケコサシスセソタチツテトナニヌネノ"),
            ("ﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ", "ハヒフヘホマミムメモヤユヨラリルレロワヲン"),
        ]
        for (half, full) in pairs {
            XCTAssertEqual(KanaName.normalize(half), full)
            XCTAssertTrue(KanaName.matches(half, full))
        }
    }
}
