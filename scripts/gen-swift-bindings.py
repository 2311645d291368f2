#!/usr/bin/env python3
"""Generates the Swift bindings of GatewayWire from Protos/ (run by `make protos`, checked by `make check-protos`).

Input: the FileDescriptorSet (with source info, for the comments) that `protoc-c --descriptor_set_out` writes.
Output, one Swift file per .proto plus a registry, into Sources/GatewayWire/Generated/ (or the directory given):
value types, read/write code through the protoc-c structs' typed fields, enums with their proto names and
numbers, field-name constants, binding tables checked against the protoc-c descriptors at test time, and
typed method descriptors for every service. No third-party modules: the descriptor set is decoded below.

Naming (see README "Protos and generated code"):
- Swift type = proto message / enum name; a nested enum uses its own name. `@swift(Name)` in the message's or
  enum's comment overrides it (e.g. `@swift(AdminBank)`).
- Property = lowerCamelCase of the field name; the words id, ids, spki, sha256, kyc, otp, jpki, ic become
  ID, IDs, SPKI, SHA256, KYC, OTP, JPKI, IC (not as the first word). `@swift(name)` in a field comment overrides.
- Enum case = lowerCamelCase of the value name without the enum's UPPER_SNAKE prefix (`DECISION_APPROVED` or
  `APPROVED` in `Decision` → `approved`; `AUTH_METHOD_UNSPECIFIED` → `unspecified`).
- A singular message field is `T?` (nil when absent); `@required` in its comment makes it `T` with `.init()` as
  default, and decoding refuses its absence (`missing`). Repeated fields are `[T]`, bytes are `[UInt8]`
  (repeated bytes `[[UInt8]]`).
- A `oneof` is one property named lowerCamelCase of the oneof (`message_request` → `messageRequest`), of a nested
  enum named UpperCamelCase of it (`ServerReflectionRequest.MessageRequest`), optional: nil when no member is set.
  Each member is a case named like a property (`.fileByFilename(String)`, `.fileContainingExtension(
  ExtensionRequest)`), carrying the member's value; a set member is written even when it holds the proto3 default.
  `@swift(name)` in the oneof's comment renames the property (the enum follows it), in a member's the case.
  proto3 `optional` is not supported: protoc-c 1.4 refuses it.
- Every type gets a memberwise `init` with proto3 defaults for every parameter, in field order.
- Service methods: `<Service>Methods.<lowerCamel method>`, a `WireMethod<Request, Response>`; `@swift(Name)` in the
  service's comment makes it `<Name>Methods`. Swift names (types and services) must be unique over Protos/.
"""
import os
import re
import subprocess
import sys
import tempfile

PROTOS = ["bankgw/v1/bankgw.proto", "bankgw/admin/v1/admin.proto", "grpc/health/v1/health.proto",
          "grpc/reflection/v1/reflection.proto", "grpc/reflection/v1alpha/reflection.proto"]
ACRONYMS = {"id": "ID", "ids": "IDs", "spki": "SPKI", "sha256": "SHA256", "kyc": "KYC", "otp": "OTP",
            "jpki": "JPKI", "ic": "IC"}
# protoc-c appends `_` to a field named like a C/C++ keyword (c_helpers.cc kKeywordList).
C_KEYWORDS = set("""and and_eq asm auto bitand bitor bool break case catch char class compl const const_cast continue
default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline int long
mutable namespace new not not_eq operator or or_eq private protected public register reinterpret_cast return short
signed sizeof static static_cast struct switch template this throw true try typedef typeid typename union unsigned
using virtual void volatile wchar_t while xor xor_eq""".split())
SWIFT_KEYWORDS = {"operator", "protocol", "default", "class", "struct", "enum", "func", "var", "let", "in",
                  "is", "as", "self", "Type", "init", "import", "return", "where", "case", "switch", "repeat"}


# MARK: - A minimal protobuf decoder for descriptor.proto

def varint(buf, pos):
    result, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yields (number, value) for every field; length-delimited values as bytes, varints as ints."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise SystemExit(f"gen-swift-bindings: unsupported wire type {wire} in the descriptor set")
        yield number, value


def packed_ints(value):
    if isinstance(value, int):
        return [value]
    out, pos = [], 0
    while pos < len(value):
        v, pos = varint(value, pos)
        out.append(v)
    return out


class Node:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def parse_enum(buf, path):
    e = Node(name="", values=[], path=path)
    for n, v in fields(buf):
        if n == 1:
            e.name = v.decode()
        elif n == 2:
            val = Node(name="", number=0, path=path + [2, len(e.values)])
            for m, w in fields(v):
                if m == 1:
                    val.name = w.decode()
                elif m == 2:
                    val.number = w if w < 2**31 else w - 2**64
            e.values.append(val)
    return e


def parse_message(buf, path):
    msg = Node(name="", fields=[], nested=[], enums=[], path=path, oneofs=[])
    for n, v in fields(buf):
        if n == 1:
            msg.name = v.decode()
        elif n == 2:
            f = Node(name="", number=0, label=1, type=0, type_name="", oneof=None, proto3_optional=False,
                     path=path + [2, len(msg.fields)])
            for m, w in fields(v):
                if m == 1:
                    f.name = w.decode()
                elif m == 3:
                    f.number = w
                elif m == 4:
                    f.label = w
                elif m == 5:
                    f.type = w
                elif m == 6:
                    f.type_name = w.decode()
                elif m == 9:
                    f.oneof = w
                elif m == 17:
                    f.proto3_optional = bool(w)
            msg.fields.append(f)
        elif n == 3:
            msg.nested.append(parse_message(v, path + [3, len(msg.nested)]))
        elif n == 4:
            msg.enums.append(parse_enum(v, path + [4, len(msg.enums)]))
        elif n == 8:
            name = next((w.decode() for m, w in fields(v) if m == 1), "")
            msg.oneofs.append(Node(name=name, path=path + [8, len(msg.oneofs)]))
    return msg


def parse_file(buf):
    f = Node(name="", package="", messages=[], enums=[], services=[], comments={})
    for n, v in fields(buf):
        if n == 1:
            f.name = v.decode()
        elif n == 2:
            f.package = v.decode()
        elif n == 4:
            f.messages.append(parse_message(v, [4, len(f.messages)]))
        elif n == 5:
            f.enums.append(parse_enum(v, [5, len(f.enums)]))
        elif n == 6:
            s = Node(name="", methods=[], path=[6, len(f.services)], swift="")
            for m, w in fields(v):
                if m == 1:
                    s.name = w.decode()
                elif m == 2:
                    meth = Node(name="", input="", output="", client_streaming=False, server_streaming=False,
                                path=s.path + [2, len(s.methods)])
                    for k, x in fields(w):
                        if k == 1:
                            meth.name = x.decode()
                        elif k == 2:
                            meth.input = x.decode()
                        elif k == 3:
                            meth.output = x.decode()
                        elif k == 5:
                            meth.client_streaming = bool(x)
                        elif k == 6:
                            meth.server_streaming = bool(x)
                    s.methods.append(meth)
            f.services.append(s)
        elif n == 9:
            for m, loc in fields(v):
                if m != 1:
                    continue
                path, leading, trailing = [], "", ""
                for k, x in fields(loc):
                    if k == 1:
                        path += packed_ints(x)
                    elif k == 3:
                        leading = x.decode()
                    elif k == 4:
                        trailing = x.decode()
                if leading or trailing:
                    f.comments[tuple(path)] = (leading + "\n" + trailing).strip()
    return f


# MARK: - Naming

DIRECTIVE = re.compile(r"@swift\(([A-Za-z_][A-Za-z0-9_]*)\)|@required")


def comment(file, path):
    return file.comments.get(tuple(path), "")


def directive_name(text):
    m = re.search(r"@swift\(([A-Za-z_][A-Za-z0-9_]*)\)", text)
    return m.group(1) if m else None


def doc_lines(text, indent):
    text = DIRECTIVE.sub("", text)
    lines = [ln.strip() for ln in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    out = []
    for ln in lines:
        if ln and ln[0].islower() and not out:
            ln = ln[0].upper() + ln[1:]
        out.append(f"{indent}///" + (" " + ln if ln else ""))
    if out and not out[-1].endswith((".", ":", ")", "!", "?")):
        out[-1] += "."
    return out


def camel(snake, upper_first=False):
    parts = [p for p in snake.lower().split("_") if p]
    out = []
    for i, p in enumerate(parts):
        if i == 0 and not upper_first:
            out.append(p)
        else:
            out.append(ACRONYMS.get(p, p[:1].upper() + p[1:]))
    return "".join(out)


def upper_snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def c_type_name(full):
    """`bankgw.admin.v1.Hold.State` → `Bankgw__Admin__V1__Hold__State` (protoc-c's rule)."""
    return "__".join(p[:1].upper() + p[1:] for p in full.split("."))


# MARK: - Model

class Registry:
    def __init__(self):
        self.messages = {}  # full name → (file, Node, swift name)
        self.enums = {}


SCALARS = {  # proto type → (Swift type, protoc-c type constant, zero)
    1: ("Double", "PROTOBUF_C_TYPE_DOUBLE", "0"), 2: ("Float", "PROTOBUF_C_TYPE_FLOAT", "0"),
    3: ("Int64", "PROTOBUF_C_TYPE_INT64", "0"), 4: ("UInt64", "PROTOBUF_C_TYPE_UINT64", "0"),
    5: ("Int32", "PROTOBUF_C_TYPE_INT32", "0"), 6: ("UInt64", "PROTOBUF_C_TYPE_FIXED64", "0"),
    7: ("UInt32", "PROTOBUF_C_TYPE_FIXED32", "0"), 13: ("UInt32", "PROTOBUF_C_TYPE_UINT32", "0"),
    15: ("Int32", "PROTOBUF_C_TYPE_SFIXED32", "0"), 16: ("Int64", "PROTOBUF_C_TYPE_SFIXED64", "0"),
    17: ("Int32", "PROTOBUF_C_TYPE_SINT32", "0"), 18: ("Int64", "PROTOBUF_C_TYPE_SINT64", "0"),
}
BOOL, STRING, MESSAGE, BYTES, ENUM = 8, 9, 11, 12, 14
C_TYPE = {BOOL: "PROTOBUF_C_TYPE_BOOL", STRING: "PROTOBUF_C_TYPE_STRING", MESSAGE: "PROTOBUF_C_TYPE_MESSAGE",
          BYTES: "PROTOBUF_C_TYPE_BYTES", ENUM: "PROTOBUF_C_TYPE_ENUM"}


def collect(files):
    reg = Registry()
    for f in files:
        def walk_enum(e, prefix):
            full = f"{prefix}.{e.name}"
            reg.enums[full] = (f, e, directive_name(comment(f, e.path)) or e.name)

        def walk_msg(m, prefix):
            full = f"{prefix}.{m.name}"
            reg.messages[full] = (f, m, directive_name(comment(f, m.path)) or m.name)
            for e in m.enums:
                walk_enum(e, full)
            for n in m.nested:
                walk_msg(n, full)
        for e in f.enums:
            walk_enum(e, f.package)
        for m in f.messages:
            walk_msg(m, f.package)
        for s in f.services:
            s.swift = (directive_name(comment(f, s.path)) or s.name) + "Methods"
    names = [v[2] for v in reg.messages.values()] + [v[2] for v in reg.enums.values()]
    names += [s.swift for f in files for s in f.services]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"gen-swift-bindings: Swift name(s) {sorted(dupes)} used twice; add @swift(Name)")
    return reg


def field_info(reg, f, fld):
    """Swift property name, Swift type, default, kind."""
    text = comment(f, fld.path)
    name = directive_name(text) or camel(fld.name)
    if name in SWIFT_KEYWORDS:
        raise SystemExit(f"gen-swift-bindings: field {fld.name} is a Swift keyword; add @swift(name) to it")
    repeated = fld.label == 3
    required = "@required" in text
    if fld.proto3_optional:
        raise SystemExit(f"gen-swift-bindings: {fld.name}: proto3 optional fields are not supported (protoc-c 1.4)")
    if fld.type in SCALARS:
        base, zero = SCALARS[fld.type][0], SCALARS[fld.type][2]
    elif fld.type == BOOL:
        base, zero = "Bool", "false"
    elif fld.type == STRING:
        base, zero = "String", '""'
    elif fld.type == BYTES:
        base, zero = "[UInt8]", "[]"
    elif fld.type == ENUM:
        ef, e, swift = reg.enums[fld.type_name.lstrip(".")]
        base = swift
        zero_value = next((v for v in e.values if v.number == 0), None)
        zero = "." + enum_case(e, zero_value)
    elif fld.type == MESSAGE:
        base = reg.messages[fld.type_name.lstrip(".")][2]
        zero = "nil" if not required else ".init()"
    else:
        raise SystemExit(f"gen-swift-bindings: {fld.name}: unsupported field type {fld.type}")
    if fld.oneof is not None:
        return Node(name=name, type=base, default=zero, kind="oneof", base=base, required=False)
    if repeated:
        return Node(name=name, type=f"[{base}]", default="[]", kind="repeated", base=base, required=False)
    if fld.type == MESSAGE and not required:
        return Node(name=name, type=f"{base}?", default="nil", kind="message", base=base, required=False)
    return Node(name=name, type=base, default=zero, kind="single", base=base, required=required)


def enum_case(e, value):
    prefix = upper_snake(e.name) + "_"
    raw = value.name[len(prefix):] if value.name.startswith(prefix) else value.name
    return camel(raw)


# MARK: - Emitting Swift

def emit_enum(out, reg, f, full, e, swift):
    out += doc_lines(comment(f, e.path), "") or [f"/// `{full}`."]
    out.append(f"public enum {swift}: Int32, Sendable, CaseIterable, Hashable {{")
    for v in e.values:
        out += doc_lines(comment(f, v.path), "    ")
        out.append(f"    case {enum_case(e, v)} = {v.number}")
    out.append("}")
    out.append("")
    out.append(f"extension {swift}: WireEnum, ProtobufCEnumBinding {{")
    out.append(f"    typealias CEnum = {c_type_name(full)}")
    out.append(f'    public static let protoTypeName = "{full}"')
    out.append("")
    out.append("    /// The proto name of this value (as proto3 JSON writes it).")
    out.append("    public var protoName: String {")
    out.append("        switch self {")
    for v in e.values:
        out.append(f'        case .{enum_case(e, v)}: return "{v.name}"')
    out.append("        }")
    out.append("    }")
    out.append("")
    out.append("    /// The value with proto name `protoName`; nil for a name the enum does not declare.")
    out.append("    public init?(protoName: String) {")
    out.append("        switch protoName {")
    for v in e.values:
        out.append(f'        case "{v.name}": self = .{enum_case(e, v)}')
    out.append("        default: return nil")
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")
    # What "\(value)" would print by reflection (the case name), without the reflection: audit entries and log
    # lines interpolate decisions and reasons on the wallet writer.
    out.append(f"extension {swift}: CustomStringConvertible {{")
    out.append("    public var description: String {")
    out.append("        switch self {")
    for v in e.values:
        case = enum_case(e, v)
        out.append(f'        case .{case}: return "{case.strip("`")}"')
    out.append("        }")
    out.append("    }")
    out.append("}")
    out.append("")


def c_upper(full):
    """`grpc.reflection.v1.ServerReflectionRequest` → `GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST`."""
    return "__".join(upper_snake(p) for p in full.split("."))


def oneof_groups(reg, f, m, infos):
    """The message's properties in field order: ("field", fld, info) or ("oneof", group) at its first member."""
    props, groups = [], {}
    for fld, info in infos:
        if info.kind != "oneof":
            props.append(("field", fld, info))
            continue
        if fld.oneof not in groups:
            o = m.oneofs[fld.oneof]
            text = comment(f, o.path)
            prop = directive_name(text) or camel(o.name)
            if prop in SWIFT_KEYWORDS:
                raise SystemExit(f"gen-swift-bindings: oneof {o.name} is a Swift keyword; add @swift(name) to it")
            groups[fld.oneof] = Node(oneof=o, name=prop, type=prop[:1].upper() + prop[1:], members=[],
                                     c=o.name + "_" if o.name in C_KEYWORDS else o.name, text=text)
            props.append(("oneof", groups[fld.oneof]))
        groups[fld.oneof].members.append((fld, info))
    return props


def read_expr(fld, info, slot, name):
    """The Swift expression that copies a singular (or oneof member) C field out."""
    if fld.type == MESSAGE:
        return (f"try r.requiredMessage({slot}, {name})" if info.required or info.kind == "oneof"
                else f"try r.message({slot}, {name})")
    if fld.type == STRING:
        return f"r.string({slot})"
    if fld.type == BYTES:
        return f"r.bytes({slot})"
    if fld.type == BOOL:
        return f"r.bool({slot})"
    if fld.type == ENUM:
        return f"try r.enumValue({slot}, {name})"
    return slot


def write_stmt(fld, info, value, name, oneof=False):
    """The Swift statement that stores a singular (or oneof member) value into its C field."""
    slot = f"&c.pointee.{info.c}"
    if fld.type == MESSAGE:
        return f"w.setMessage({slot}, {value}, {name})"
    if fld.type == STRING:
        # A set oneof member is written even when empty: protobuf-c packs it when the pointer is not NULL.
        return f"w.{'setOneofString' if oneof else 'setString'}({slot}, {value}, {name})"
    if fld.type == BYTES:
        return f"w.setBytes({slot}, {value})"
    if fld.type == BOOL:
        return f"c.pointee.{info.c} = {value} ? 1 : 0"
    if fld.type == ENUM:
        return f"c.pointee.{info.c} = w.cEnum({value})"
    return f"c.pointee.{info.c} = {value}"


def emit_message(out, reg, f, full, m, swift):
    infos = [(fld, field_info(reg, f, fld)) for fld in m.fields]
    for fld, info in infos:
        info.c = fld.name + "_" if fld.name in C_KEYWORDS else fld.name
    props = oneof_groups(reg, f, m, infos)
    # (name, type, default) of each stored property, in order
    stored = []
    for p in props:
        if p[0] == "field":
            stored.append((p[2].name, p[2].type, p[2].default))
        else:
            stored.append((p[1].name, f"{p[1].type}?", "nil"))
    ctype = c_type_name(full)
    cupper = c_upper(full)
    out += doc_lines(comment(f, m.path), "") or [f"/// `{full}`."]
    out.append(f"public struct {swift}: Sendable, Hashable {{")
    for p in props:
        if p[0] == "field":
            out += doc_lines(comment(f, p[1].path), "    ")
            out.append(f"    public var {p[2].name}: {p[2].type}")
        else:
            g = p[1]
            out += doc_lines(g.text, "    ") or [f"    /// The member of `{g.oneof.name}` that is set (nil: none)."]
            out.append(f"    public var {g.name}: {g.type}?")
    if stored:
        out.append("")
    params = ", ".join(f"{n}: {ty} = {d}" for n, ty, d in stored)
    sig = f"    public init({params}) {{"
    if len(sig) > 120:
        out.append("    public init(")
        line = "       "
        for i, (n, ty, d) in enumerate(stored):
            piece = f" {n}: {ty} = {d}" + ("," if i < len(stored) - 1 else "")
            if len(line) + len(piece) > 118:
                out.append(line)
                line = "       "
            line += piece
        out.append(line)
        out.append("    ) {")
    else:
        out.append(sig)
    for n, _, _ in stored:
        out.append(f"        self.{n} = {n}")
    out.append("    }")
    out.append("")
    for p in props:
        if p[0] != "oneof":
            continue
        g = p[1]
        out.append(f"    /// The members of `oneof {g.oneof.name}`, each carrying its value.")
        out.append(f"    public enum {g.type}: Sendable, Hashable {{")
        for fld, info in g.members:
            out += doc_lines(comment(f, fld.path), "        ")
            out.append(f"        case {info.name}({info.type})")
        out.append("    }")
        out.append("")
    out.append("    /// Proto names of the fields, for error paths and the SPEC field rules.")
    if infos:
        out.append("    public enum Field {")
        for fld, info in infos:
            out.append(f'        public static let {info.name} = "{fld.name}"')
        out.append("    }")
    else:
        out.append("    public enum Field {}")
    out.append("}")
    out.append("")

    # Binding
    out.append(f"extension {swift}: WireMessage, ProtobufCBinding {{")
    out.append(f"    typealias CMessage = {ctype}")
    out.append(f'    public static let protoName = "{full}"')
    out.append("    public static let descriptor = MessageDescriptor.named(protoName)")
    out.append("")
    # read
    out.append("    public init(reading r: MessageReader) throws(WireError) {")
    if infos:
        out.append("        let c = r.bound(to: Self.self).pointee")
        for p in props:
            if p[0] != "oneof":
                continue
            g = p[1]
            out.append(f"        let {g.name}: {g.type}?")
            out.append(f"        switch c.{g.c}_case {{")
            for fld, info in g.members:
                const = f"{cupper}__{upper_snake(g.oneof.name)}_{upper_snake(fld.name)}"
                expr = read_expr(fld, info, f"c.{info.c}", f"Field.{info.name}")
                out.append(f"        case {const}:")
                line = f"            {g.name} = .{info.name}({expr})"
                if len(line) > 120:
                    out.append(f"            {g.name} = .{info.name}(")
                    out.append(f"                {expr})")
                else:
                    out.append(line)
            out.append("        default:")
            out.append(f"            {g.name} = nil")
            out.append("        }")
        out.append("        self.init(")
        args = []
        for p in props:
            if p[0] == "oneof":
                args.append(f"            {p[1].name}: {p[1].name}")
                continue
            _, fld, info = p
            slot = f"c.{info.c}"
            name = f"Field.{info.name}"
            if info.kind == "repeated":
                count = f"c.n_{info.c}"
                if fld.type == STRING:
                    expr = f"r.strings({count}, {slot})"
                elif fld.type == BYTES:
                    expr = f"r.byteArrays({count}, {slot})"
                elif fld.type == ENUM:
                    expr = f"try r.enums({count}, {slot}, {name})"
                elif fld.type == MESSAGE:
                    expr = f"try r.messages({count}, {slot}, {name})"
                elif fld.type == BOOL:
                    expr = f"r.bools({count}, {slot})"
                else:
                    expr = f"r.scalars({count}, {slot})"
            else:
                expr = read_expr(fld, info, slot, name)
            args.append(f"            {info.name}: {expr}")
        out.append(",\n".join(args))
        out.append("        )")
    else:
        out.append("        _ = r.bound(to: Self.self)")
        out.append("        self.init()")
    out.append("    }")
    out.append("")
    # write
    out.append("    public func write(to w: inout MessageWriter) {")
    if infos:
        out.append("        let c = w.bound(to: Self.self)")
        for p in props:
            if p[0] == "oneof":
                g = p[1]
                out.append(f"        switch {g.name} {{")
                for fld, info in g.members:
                    const = f"{cupper}__{upper_snake(g.oneof.name)}_{upper_snake(fld.name)}"
                    out.append(f"        case .{info.name}(let value)?:")
                    line = f"            c.pointee.{g.c}_case = {const}"
                    if len(line) > 120:
                        out.append(f"            c.pointee.{g.c}_case =")
                        out.append(f"                {const}")
                    else:
                        out.append(line)
                    out.append("            " + write_stmt(fld, info, "value", f"Field.{info.name}", oneof=True))
                out.append("        case nil:")
                out.append("            break")
                out.append("        }")
                continue
            _, fld, info = p
            slot = f"&c.pointee.{info.c}"
            name = f"Field.{info.name}"
            if info.kind == "repeated":
                count = f"&c.pointee.n_{info.c}"
                if fld.type == STRING:
                    out.append(f"        w.setStrings({count}, {slot}, {info.name}, {name})")
                elif fld.type == BYTES:
                    out.append(f"        w.setByteArrays({count}, {slot}, {info.name})")
                elif fld.type == ENUM:
                    out.append(f"        w.setEnums({count}, {slot}, {info.name})")
                elif fld.type == MESSAGE:
                    out.append(f"        w.setMessages({count}, {slot}, {info.name}, {name})")
                elif fld.type == BOOL:
                    out.append(f"        w.setBools({count}, {slot}, {info.name})")
                else:
                    out.append(f"        w.setScalars({count}, {slot}, {info.name})")
            else:
                out.append("        " + write_stmt(fld, info, info.name, name))
    else:
        out.append("        _ = w.bound(to: Self.self)")
    out.append("    }")
    out.append("")
    # binding table
    out.append("    /// What this binding assumes of the protoc-c struct; `WireBindings.mismatches` checks it against the")
    out.append("    /// descriptor (field numbers, names, types, labels, offsets, sub-message and enum names).")
    out.append("    static let binding = BindingTable(")
    out.append(f"        protoName: protoName, cStructBytes: MemoryLayout<{ctype}>.size,")
    if not infos:
        out.append("        fields: []")
    else:
        out.append("        fields: [")
        for fld, info in infos:
            ctc = SCALARS[fld.type][1] if fld.type in SCALARS else C_TYPE[fld.type]
            label = "PROTOBUF_C_LABEL_REPEATED" if info.kind == "repeated" else "PROTOBUF_C_LABEL_NONE"
            if info.kind == "repeated":
                quant = f"MemoryLayout<{ctype}>.offset(of: \\.n_{info.c})"
            elif info.kind == "oneof":
                o = m.oneofs[fld.oneof]
                oc = o.name + "_" if o.name in C_KEYWORDS else o.name
                quant = f"MemoryLayout<{ctype}>.offset(of: \\.{oc}_case)"
            else:
                quant = "nil"
            if info.kind == "oneof":
                # Union members are computed properties in Swift: their offset is measured by writing through them.
                offset = f"BindingTable.unionMemberOffset(\\{ctype}.{info.c})"
            else:
                offset = f"MemoryLayout<{ctype}>.offset(of: \\.{info.c})"
            ref = fld.type_name.lstrip(".") if fld.type in (MESSAGE, ENUM) else ""
            ref_swift = f'"{ref}"' if ref else "nil"
            out.append("            BindingTable.Field(")
            out.append(f'                number: {fld.number}, name: "{fld.name}", type: {ctc}, label: {label},')
            off_line = f"                offset: {offset},"
            if len(off_line) > 120:
                out.append("                offset:")
                out.append(f"                    {offset},")
            else:
                out.append(off_line)
            out.append(f"                quantifierOffset: {quant},")
            if info.kind == "oneof":
                out.append(f"                referencedType: {ref_swift},")
                out.append("                isOneofMember: true")
            else:
                out.append(f"                referencedType: {ref_swift}")
            out.append("            ),")
        out.append("        ]")
    out.append("    )")
    out.append("}")
    out.append("")


def emit_service(out, reg, f, s):
    full = f"{f.package}.{s.name}"
    out += doc_lines(comment(f, s.path), "") or []
    out.append(f"/// Typed method descriptors of `{full}`, for servers and clients.")
    out.append(f"public enum {s.swift} {{")
    out.append(f'    public static let serviceName = "{full}"')
    names = []
    for meth in s.methods:
        req = reg.messages[meth.input.lstrip(".")][2]
        res = reg.messages[meth.output.lstrip(".")][2]
        prop = meth.name[:1].lower() + meth.name[1:]
        names.append(prop)
        out.append("")
        out += doc_lines(comment(f, meth.path), "    ")
        streaming = "true" if meth.server_streaming else "false"
        out.append(f"    public static let {prop} = WireMethod<{req}, {res}>(")
        if meth.client_streaming:
            out.append(f'        service: serviceName, name: "{meth.name}", clientStreaming: true,')
            out.append(f"        serverStreaming: {streaming}")
        else:
            out.append(f'        service: serviceName, name: "{meth.name}", serverStreaming: {streaming}')
        out.append("    )")
    out.append("")
    out.append("    /// Every method of the service, in proto order.")
    out.append("    public static let all: [any WireMethodDescribing] = [")
    out += [f"        {n}," for n in names]
    out.append("    ]")
    out.append("}")
    out.append("")


def header(source):
    return [f"// DO NOT EDIT: generated by scripts/gen-swift-bindings.py from Protos/{source} (`make protos`).",
            "// Naming rules: the docstring of scripts/gen-swift-bindings.py.", "",
            "import CBankGatewayProtos", "import CProtobufC", ""]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Sources/GatewayWire/Generated")
    with tempfile.TemporaryDirectory() as tmp:
        desc = os.path.join(tmp, "set.pb")
        subprocess.run(["protoc-c", f"--descriptor_set_out={desc}", "--include_source_info", *PROTOS],
                       cwd=os.path.join(root, "Protos"), check=True)
        data = open(desc, "rb").read()
    files = [parse_file(v) for n, v in fields(data) if n == 1]
    reg = collect(files)
    os.makedirs(out_dir, exist_ok=True)
    all_messages = []
    all_services = []
    for f in files:
        out = header(f.name)
        out.append(f"// MARK: - {f.package} enums")
        out.append("")
        for full, (ef, e, swift) in reg.enums.items():
            if ef is f:
                emit_enum(out, reg, f, full, e, swift)
        out.append(f"// MARK: - {f.package} messages")
        out.append("")
        for full, (mf, m, swift) in reg.messages.items():
            if mf is f:
                emit_message(out, reg, f, full, m, swift)
                all_messages.append(swift)
        if f.services:
            out.append(f"// MARK: - {f.package} services")
            out.append("")
            for s in f.services:
                emit_service(out, reg, f, s)
                all_services.append(s.swift)
        while out and out[-1] == "":
            out.pop()
        write(os.path.join(out_dir, f.package + ".swift"), "\n".join(out) + "\n")
    out = ["// DO NOT EDIT: generated by scripts/gen-swift-bindings.py from Protos/ (`make protos`):",
           f"// {', '.join(PROTOS)}.", "",
           "enum GeneratedBindings {",
           "    /// Every message type of Protos/, in file order.",
           "    static let messageTypes: [any WireMessage.Type] = ["]
    for name in all_messages:
        out.append(f"        {name}.self,")
    out.append("    ]")
    out.append("")
    out.append("    /// The binding table of every message, for `WireBindings.mismatches`.")
    out.append("    static let tables: [BindingTable] = [")
    for name in all_messages:
        out.append(f"        {name}.binding,")
    out.append("    ]")
    out.append("")
    out.append("    /// Every service's methods.")
    out.append("    static let methods: [any WireMethodDescribing] =")
    out.append("        " + " + ".join(f"{s}.all" for s in all_services))
    out.append("}")
    write(os.path.join(out_dir, "Registry.swift"), "\n".join(out) + "\n")


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
