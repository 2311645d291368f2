// Holder-name matching for links (SPEC §4: "holder name matches the eKYC name (normalised: full/half width, small
// kana, spaces, long-vowel marks)").
//
// Banks hold account names in half-width katakana as Zengin formats require (`ﾔﾏﾀﾞ ﾊﾅｺ`, voiced marks as separate
// characters), the wallet's eKYC keeps full-width katakana (`ヤマダ ハナコ`), and both sides differ in spaces,
// small kana (many bank systems can only store large ones: ｷﾖｳｺ for キョウコ) and long-vowel marks (ｰ, ー, or a
// hyphen look-alike). Two names match when their normal forms are equal and not empty.
//
// Why a hand-written table and not Foundation's NFKC (`precomposedStringWithCompatibilityMapping`): on this Linux
// toolchain (Swift 6.3.1) it maps `ﾀﾞ` to `タ` + U+3099 without composing `ダ`, so it would not match `ヤマダ`
// anyway, and it takes ~1.7 µs a name; NFKC also does nothing about small kana, hiragana or dashes. The table below
// covers exactly the differences banks produce, needs no Foundation, and is deterministic across platforms.
//
// Deliberately NOT folded (each would make different people's names equal): ヂ/ジ and ヅ/ズ, ヲ/オ, ヰ/イ, ヱ/エ,
// voiced/unvoiced (ダ/タ), kanji. A mark that cannot compose with what precedes it is kept as a mark.

/// Normal form and matching of a person's name written in kana.
public enum KanaName {
    /// Longest name (in Unicode scalars) that can match. Zengin holder names are at most 30 half-width
    /// characters, eKYC names are shorter; 256 leaves room for marks and spaces and bounds the work. Default 256.
    public static let maxNameScalars = 256

    /// Whether the bank's holder name and the wallet's eKYC name are the same name. Empty names never match.
    ///
    /// Compares the two normal forms scalar by scalar as they are produced: no allocation, and a mismatch in the
    /// first character costs one character's work.
    public static func matches(_ bankHolderName: String, _ ekycName: String) -> Bool {
        var a = NormalScalars(bankHolderName)
        var b = NormalScalars(ekycName)
        var sawAny = false
        while true {
            let x = a.next()
            let y = b.next()
            if a.consumed > maxNameScalars || b.consumed > maxNameScalars { return false }
            if x != y { return false }
            if x == nil { return sawAny }
            sawAny = true
        }
    }

    /// The normal form: full-width katakana, large kana only, voiced marks composed, no spaces, separators or
    /// long-vowel marks, full-width ASCII narrowed and Latin letters upper-cased. Idempotent.
    public static func normalize(_ name: String) -> String {
        var out = String.UnicodeScalarView()
        var scalars = NormalScalars(name)
        while let scalar = scalars.next() { out.append(scalar) }
        return String(out)
    }

    /// The normal form of a name, one scalar at a time.
    ///
    /// Holds one scalar back, because the next may be a voiced mark that composes with it. A mark composes with
    /// the last scalar kept, not the last read, so "ｶ ﾞ" and "カﾞ" both give ガ and normalising twice changes
    /// nothing.
    struct NormalScalars: IteratorProtocol {
        private var input: String.UnicodeScalarView.Iterator
        private var pending: Unicode.Scalar?
        /// Input scalars read so far (the caller bounds it).
        private(set) var consumed = 0

        init(_ name: String) {
            input = name.unicodeScalars.makeIterator()
        }

        mutating func next() -> Unicode.Scalar? {
            while let raw = input.next() {
                consumed += 1
                guard let scalar = KanaName.canonical(raw) else { continue }
                if scalar.value == KanaName.voicedMark || scalar.value == KanaName.semiVoicedMark,
                    let base = pending, let composed = KanaName.compose(base, mark: scalar.value)
                {
                    pending = composed
                    continue
                }
                let ready = pending
                pending = scalar
                if let ready { return ready }
            }
            defer { pending = nil }
            return pending
        }
    }

    // MARK: - Table

    /// ゛ and ゜ as spacing characters: the normal form of every voiced / semi-voiced sound mark left standalone.
    static let voicedMark: UInt32 = 0x309B
    static let semiVoicedMark: UInt32 = 0x309C

    /// One scalar's normal form, or nil when it is dropped (space, separator, long-vowel mark, invisible).
    static func canonical(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        var v = scalar.value
        // Width: half-width katakana → full-width; full-width ASCII → ASCII.
        if (0xFF61...0xFF9F).contains(v) {
            v = UInt32(halfWidthKatakana[Int(v - 0xFF61)])
        } else if (0xFF01...0xFF5E).contains(v) {
            v -= 0xFEE0
        }
        switch v {
        case 0x3041...0x3096, 0x309D, 0x309E:  // hiragana (and its iteration marks) → katakana
            v += 0x60
        case 0x3099: v = voicedMark  // combining marks → spacing marks, composed below
        case 0x309A: v = semiVoicedMark
        case 0x61...0x7A: v -= 0x20  // a-z → A-Z: bank kana fields carry Latin upper-case
        default: break
        }
        if let large = smallToLarge(v) { v = large }
        switch v {
        case 0x30A1...0x30FA, 0x30FD, 0x30FE, 0x41...0x5A, 0x30...0x39:
            // Katakana, Latin capitals, digits: nearly every scalar of a name. Skips the Unicode property
            // lookups below, which otherwise dominate the cost of a match.
            return Unicode.Scalar(v)
        case 0x09...0x0D, 0x20, 0x3000:
            return nil
        default:
            break
        }
        if isDropped(v) { return nil }
        guard let result = Unicode.Scalar(v) else {
            assertionFailure("table produced a non-scalar \(v) from \(scalar.value)")
            return scalar
        }
        if result.properties.isWhitespace || result.properties.isDefaultIgnorableCodePoint { return nil }
        return result
    }

    /// Long-vowel marks, the hyphen and dash look-alikes banks emit for them, and name separators.
    static func isDropped(_ v: UInt32) -> Bool {
        switch v {
        case 0x30FC,  // ー (ｰ is mapped to it above)
            0x002D,  // - (also －, mapped above)
            0x2010...0x2015,  // ‐ ‑ ‒ – — ―
            0x2043, 0x2212,  // ⁃ −
            0xFE58, 0xFE63,  // ﹘ ﹣
            0x2500, 0x2501,  // ─ ━: legacy Shift-JIS conversions turn ー into box drawing
            0x30FB, 0x00B7:  // ・ · separate given and family names in foreign names, like a space
            return true
        default:
            return false
        }
    }

    /// ァ→ア, ッ→ツ, ャ→ヤ, ヮ→ワ, ヵ→カ, ヶ→ケ, ㇰ→ク …: many bank systems store only large kana.
    static func smallToLarge(_ v: UInt32) -> UInt32? {
        switch v {
        case 0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9: return v + 1  // ァィゥェォ
        case 0x30C3: return 0x30C4  // ッ
        case 0x30E3, 0x30E5, 0x30E7: return v + 1  // ャュョ
        case 0x30EE: return 0x30EF  // ヮ
        case 0x30F5: return 0x30AB  // ヵ
        case 0x30F6: return 0x30B1  // ヶ
        case 0x31F0...0x31FF: return UInt32(smallKatakanaExtension[Int(v - 0x31F0)])
        default: return nil
        }
    }

    /// Base + ゛/゜ → the precomposed kana, or nil when the pair does not compose.
    static func compose(_ base: Unicode.Scalar, mark: UInt32) -> Unicode.Scalar? {
        let b = base.value
        let composed: UInt32?
        if mark == voicedMark {
            switch b {
            case 0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3,  // カキクケコ
                0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD,  // サシスセソ
                0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8,  // タチツテト
                0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB,  // ハヒフヘホ
                0x30FD:  // ヽ
                composed = b + 1
            case 0x30A6: composed = 0x30F4  // ウ → ヴ
            case 0x30EF...0x30F2: composed = b + 8  // ワヰヱヲ → ヷヸヹヺ
            default: composed = nil
            }
        } else {
            switch b {
            case 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB: composed = b + 2  // ハヒフヘホ → パピプペポ
            default: composed = nil
            }
        }
        return composed.flatMap(Unicode.Scalar.init)
    }

    /// U+FF61 ... U+FF9F in order (NFKC, except that ﾞ ﾟ become the combining marks composed above).
    static let halfWidthKatakana: [UInt16] = [
        0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2, 0x30A1, 0x30A3,
        0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC,
        0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA, 0x30AB, 0x30AD, 0x30AF,
        0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD, 0x30BF,
        0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD,
        0x30CE, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF,
        0x30E0, 0x30E1, 0x30E2, 0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA,
        0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3, 0x3099, 0x309A,
    ]

    /// U+31F0 ... U+31FF (small katakana for Ainu) → ク シ ス ト ヌ ハ ヒ フ ヘ ホ ム ラ リ ル レ ロ.
    static let smallKatakanaExtension: [UInt16] = [
        0x30AF, 0x30B7, 0x30B9, 0x30C8, 0x30CC, 0x30CF, 0x30D2, 0x30D5,
        0x30D8, 0x30DB, 0x30E0, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED,
    ]
}
