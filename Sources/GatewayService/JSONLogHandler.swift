import Foundation
import Logging
import NIOConcurrencyHelpers

/// `serve --log-format json`: one JSON object per line on standard error, for log shippers (SPEC §10).
///
/// Keys: `time` (RFC 3339 UTC, milliseconds), `level`, `message`, `label`, then `bank`, `request_id`, `trace_id`
/// (always present, `null` when the line is not about a request) and any other metadata as strings. Lines are
/// written whole under one lock, so concurrent requests never interleave inside a line.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: JSONLogSink

    public init(label: String, sink: JSONLogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write(
            Self.line(
                time: Date(), level: event.level, message: "\(event.message)", label: label,
                metadata: event.sortedMetadata(over: metadata, provider: metadataProvider)))
    }

    /// The JSON object for one log line (no trailing newline).
    public static func line(
        time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata
    ) -> String {
        line(
            time: time, level: level, message: message, label: label,
            metadata: metadata.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }

    /// `metadata` sorted by key.
    static func line(
        time: Date, level: Logger.Level, message: String, label: String,
        metadata: [(key: String, value: Logger.MetadataValue)]
    ) -> String {
        var out = "{\"time\":\"\(timestamp(time))\",\"level\":\"\(level.rawValue)\",\"message\":"
        append(message, to: &out)
        out += ",\"label\":"
        append(label, to: &out)
        for key in ["bank", "request_id", "trace_id"] {
            out += ",\"\(key)\":"
            if let value = metadata.first(where: { $0.key == key })?.value {
                append("\(value)", to: &out)
            } else {
                out += "null"
            }
        }
        for (key, value) in metadata
        where !["bank", "request_id", "trace_id", "time", "level", "message", "label"].contains(key) {
            out += ","
            append(key, to: &out)
            out += ":"
            append("\(value)", to: &out)
        }
        return out + "}"
    }

    /// `s` as a JSON string literal (RFC 8259 escapes; every control character escaped).
    static func append(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028
                || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var time = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}

extension LogEvent {
    /// A line's metadata, sorted by key: the logger's, then its provider's, then the call's, each overriding the one
    /// before, and `error.message`/`error.type` for an event carrying an error (as swift-log's own handlers merge
    /// them). An array rather than a merged dictionary: a request's line merges eight or so keys.
    func sortedMetadata(
        over base: Logger.Metadata, provider: Logger.MetadataProvider?
    ) -> [(key: String, value: Logger.MetadataValue)] {
        let provided = provider?.get() ?? [:]
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        pairs.reserveCapacity(base.count + provided.count + (metadata?.count ?? 0) + (error == nil ? 0 : 2))
        pairs.append(contentsOf: base.lazy.map { (key: $0.key, value: $0.value) })
        func put(_ key: String, _ value: Logger.MetadataValue) {
            if let index = pairs.firstIndex(where: { $0.key == key }) {
                pairs[index].value = value
            } else {
                pairs.append((key, value))
            }
        }
        for (key, value) in provided { put(key, value) }
        for (key, value) in metadata ?? [:] { put(key, value) }
        if let error {
            put("error.message", "\(error)")
            put("error.type", "\(String(reflecting: type(of: error)))")
        }
        pairs.sort { $0.key < $1.key }
        return pairs
    }
}

/// Where log lines go (JSON and text alike): a file descriptor, one `write` per line under a lock.
public final class JSONLogSink: Sendable {
    private let lock = NIOLock()
    private let fd: Int32

    public init(fileDescriptor: Int32) { self.fd = fileDescriptor }

    public static let standardError = JSONLogSink(fileDescriptor: 2)

    func write(_ line: String) {
        var text = line
        text.append("\n")
        text.withUTF8 { bytes in
            lock.withLock {
                var offset = 0
                while offset < bytes.count {
                    let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written <= 0 { return }  // nowhere to report a failing log
                    offset += written
                }
            }
        }
    }
}

/// How `serve` writes logs (`--log-format`).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    /// Bootstraps the process-wide logging system (once, at start-up).
    public func bootstrap(level: Logger.Level) {
        switch self {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = TextLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
