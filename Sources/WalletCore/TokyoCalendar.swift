/// Asia/Tokyo calendar days and months as exact integer arithmetic on unix milliseconds.
///
/// Why not Foundation's Calendar: Japan has had no daylight saving time since 1951, so JST is always UTC+9 and a
/// day is always 86,400,000 ms. Integer math is exact, allocation-free on the charge hot path, and easy to test
/// at the midnight and month boundaries the limits depend on (SPEC §4: limits are per Asia/Tokyo calendar day and
/// month).
public enum TokyoCalendar {
    /// UTC+9, no DST.
    public static let utcOffsetMs: Int64 = 9 * 3_600_000
    public static let dayMs: Int64 = 86_400_000

    /// Days since 1970-01-01 (Tokyo) of the Tokyo calendar day containing `unixMs`.
    public static func dayIndex(ofUnixMs unixMs: Int64) -> Int64 {
        floorDivide(unixMs + utcOffsetMs, dayMs)
    }

    /// `year * 12 + (month - 1)` of the Tokyo calendar month containing `unixMs`.
    public static func monthIndex(ofUnixMs unixMs: Int64) -> Int64 {
        let date = civilDate(fromDayIndex: dayIndex(ofUnixMs: unixMs))
        return date.year * 12 + (date.month - 1)
    }

    /// Unix ms of 00:00 Tokyo time on the given civil date.
    public static func unixMs(year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0) -> Int64 {
        precondition((1...12).contains(month) && (1...31).contains(day), "not a calendar date: \(year)-\(month)-\(day)")
        return dayIndex(year: year, month: month, day: day) * dayMs - utcOffsetMs + hour * 3_600_000 + minute * 60_000
    }

    /// Civil date of a day index (Howard Hinnant's `civil_from_days`, proleptic Gregorian).
    public static func civilDate(fromDayIndex days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Day index of a civil date (Howard Hinnant's `days_from_civil`).
    public static func dayIndex(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
