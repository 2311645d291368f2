// Asia/Tokyo wall-clock helpers without Foundation. Japan has had no daylight saving time since 1951, so
// Asia/Tokyo is a fixed UTC+09:00 for every instant this gateway will judge; a fixed offset is exact, not a shortcut.

/// Instants and dates on the Asia/Tokyo calendar, in Unix milliseconds.
public enum TokyoTime {
    /// UTC+09:00, fixed (no DST since 1951).
    public static let offsetMs: Int64 = 9 * 3_600_000
    public static let msPerDay: Int64 = 86_400_000

    /// Unix milliseconds of 00:00 Asia/Tokyo on the given calendar date (proleptic Gregorian).
    public static func startOfDayUnixMs(year: Int, month: Int, day: Int) -> Int64 {
        let days = daysFromCivil(year: year, month: month, day: day)
        precondition(
            (1...12).contains(month) && civilFromDays(days) == (year, month, day),
            "not a calendar date: \(year)-\(month)-\(day)")
        return Int64(days) * msPerDay - offsetMs
    }

    /// `2027-04-01T00:00:00+09:00`: the Asia/Tokyo wall-clock reading of an instant, for messages people read.
    public static func format(unixMs: Int64) -> String {
        let local = unixMs + offsetMs
        let days = floorDiv(local, msPerDay)
        let msOfDay = local - days * msPerDay
        let (y, m, d) = civilFromDays(Int(days))
        let seconds = msOfDay / 1_000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(Int(seconds / 3_600), 2)):"
            + "\(pad(Int(seconds / 60 % 60), 2)):\(pad(Int(seconds % 60), 2))+09:00"
    }

    /// Days since 1970-01-01 (Tokyo) of the Tokyo calendar day containing `unixMs`: the key of the daily limit.
    public static func dayIndex(ofUnixMs unixMs: Int64) -> Int64 {
        floorDiv(unixMs + offsetMs, msPerDay)
    }

    /// `year * 12 + (month - 1)` of the Tokyo calendar month containing `unixMs`: the key of the monthly limit.
    public static func monthIndex(ofUnixMs unixMs: Int64) -> Int64 {
        let (year, month, _) = civilFromDays(Int(dayIndex(ofUnixMs: unixMs)))
        return Int64(year) * 12 + Int64(month - 1)
    }

    /// Unix ms of `hour:minute` Tokyo time on the given civil date.
    public static func unixMs(year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0) -> Int64 {
        startOfDayUnixMs(year: Int(year), month: Int(month), day: Int(day)) + hour * 3_600_000 + minute * 60_000
    }

    /// Civil date of a day index (see `dayIndex(ofUnixMs:)`).
    public static func civilDate(fromDayIndex days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let (year, month, day) = civilFromDays(Int(days))
        return (Int64(year), Int64(month), Int64(day))
    }

    /// Day index of a civil date.
    public static func dayIndex(year: Int64, month: Int64, day: Int64) -> Int64 {
        Int64(daysFromCivil(year: Int(year), month: Int(month), day: Int(day)))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    // Howard Hinnant's days_from_civil / civil_from_days (public domain): exact for the proleptic Gregorian
    // calendar, no tables.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
