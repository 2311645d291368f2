import ArgumentParser
import Foundation
import GatewayWire

/// `bankgw wire decode|encode TYPE`: binary protobuf on stdin ↔ proto3 JSON on stdout (SPEC §7), for operators
/// reading captured bytes or crafting requests.
struct WireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Convert between binary protobuf and JSON for any message of the wire contract.",
        subcommands: [Decode.self, Encode.self]
    )

    struct TypeOption: ParsableArguments {
        @Argument(help: "Full message type name, e.g. bankgw.v1.ChargeRequest.")
        var type: String

        func validate() throws {
            guard WireJSON.types[type] != nil else {
                throw ValidationError(
                    "unknown message type '\(type)'; known types: \(WireJSON.types.keys.sorted().joined(separator: ", "))"
                )
            }
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read one binary message on stdin, print it as JSON. Bad input: a message on stderr, exit 65."
        )
        @OptionGroup var options: TypeOption

        func run() throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            do {
                print(try WireJSON.decode(typeName: options.type, bytes: [UInt8](input)))
            } catch {
                printError("bankgw wire decode: \(options.type): \(error)")
                throw ExitCode.badInput
            }
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read one JSON message on stdin, write it as binary protobuf to stdout. Bad input: exit 65."
        )
        @OptionGroup var options: TypeOption

        func run() throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            do {
                let bytes = try WireJSON.encode(typeName: options.type, json: [UInt8](input))
                FileHandle.standardOutput.write(Data(bytes))
            } catch {
                printError("bankgw wire encode: \(options.type): \(error)")
                throw ExitCode.badInput
            }
        }
    }
}
