/// Limits the codec enforces because protobuf-c enforces none of them.
public enum WireLimits {
    /// Largest message accepted or produced: 64 KiB (SPEC §1; larger → RESOURCE_EXHAUSTED).
    public static let maxMessageBytes = 64 * 1024
    /// Deepest nesting of messages inside messages. Our schemas nest at most 3 deep; 8 leaves room to grow while
    /// bounding recursion (a nesting bomb is refused before protobuf-c recurses into it).
    public static let maxNestingDepth = 8
}
