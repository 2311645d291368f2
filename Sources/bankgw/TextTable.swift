/// The one table renderer of the CLI: every admin table goes through `printTable`, so Japanese bank names, eKYC
/// names and any later column line up on a terminal.
///
/// Columns are padded by display width, not by character count: East Asian Wide and Fullwidth characters (漢字,
/// ひらがな, カタカナ, fullwidth forms) take two terminal cells, halfwidth katakana (ｶﾀｶﾅ) one, combining marks
/// (the dakuten of a decomposed ガ) and zero-width characters none.
enum TextTable {
    /// Left-aligned columns separated by two spaces; the first row is the header. No trailing spaces.
    static func render(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], displayWidth(cell)) }
        }
        var out = ""
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1
                    ? cell : cell + String(repeating: " ", count: widths[index] - displayWidth(cell))
            }
            out += cells.joined(separator: "  ") + "\n"
        }
        return out
    }

    /// Terminal cells `text` occupies (East Asian Width, UAX #11: W and F are 2, the rest 1, marks 0).
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        case .control: return 0
        default: break
        }
        if (0xFE00...0xFE0F).contains(value) || (0xE0100...0xE01EF).contains(value) { return 0 }  // variation
        return wideRanges.contains { $0.contains(value) } ? 2 : 1
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks (UAX #11), the ones a Japanese, Chinese or Korean text uses.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F,  // Hangul Jamo initials
        0x2E80...0x303E,  // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
        0x3041...0x33FF,  // Hiragana, Katakana, Bopomofo, Hangul compatibility, Kanbun, CJK compatibility
        0x3400...0x4DBF,  // CJK Extension A
        0x4E00...0x9FFF,  // CJK Unified Ideographs
        0xA000...0xA4CF,  // Yi
        0xA960...0xA97F,  // Hangul Jamo Extended-A
        0xAC00...0xD7A3,  // Hangul syllables
        0xF900...0xFAFF,  // CJK compatibility ideographs
        0xFE10...0xFE19,  // vertical forms
        0xFE30...0xFE6F,  // CJK compatibility forms, small form variants
        0xFF00...0xFF60,  // fullwidth forms (ＡＢＣ, ！, fullwidth digits)
        0xFFE0...0xFFE6,  // fullwidth signs (￥)
        0x1F300...0x1F64F,  // pictographs, emoticons
        0x1F900...0x1F9FF,  // supplemental symbols and pictographs
        0x20000...0x2FFFD,  // CJK Extensions B–F
        0x30000...0x3FFFD,  // CJK Extension G
    ]
}

/// Prints `rows` through `TextTable` (the shared renderer of every admin table).
func printTable(_ rows: [[String]]) {
    print(TextTable.render(rows), terminator: "")
}
