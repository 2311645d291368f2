import Foundation

/// What every fuzz target of `make fuzz` shares: libFuzzer's driver in the fuzzing build (`-DFUZZING`, linked with
/// `-sanitize=fuzzer`), and a replay of files and directories without it, so each seed corpus also runs as a
/// plain regression check.
public enum FuzzDriver {
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    #if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    static func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: TestOneInput
    ) -> CInt

    /// Hands control to libFuzzer (called from the target's `<Target>_main`).
    public static func run(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: TestOneInput
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, body)
    }
    #endif

    /// Feeds every file named on the command line (or inside the directories named) to `body`.
    public static func replay(name: String, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else { continue }
            let files =
                isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: argument).sorted().map { argument + "/" + $0 }
                : [argument]
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                data.withUnsafeBytes { body($0) }
                count += 1
            }
        }
        print("\(name) replay: \(count) inputs, no failures")
    }
}
