//! The C# binding's generated declarations (bindings/csharp/src/NativeMethods.g.cs): every
//! function of both headers as a Cdecl P/Invoke import, every callback typedef as a Cdecl
//! delegate, every struct as a sequential struct, every enum as a C# enum with the header's
//! values, and the defines with a number as constants.
//!
//! The C# types follow from the C types alone (see [`Mapper`]); the only hand-kept facts are the
//! C# names of the enums ([`ENUMS`]). An enum, type or shape this file does not know fails the
//! generation, so a header change never slips into the binding unmapped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::header::{CType, Enum, Function, Header, Param};
use crate::Headers;

/// The generated file, relative to the repository root.
pub const OUTPUT: &str = "bindings/csharp/src/NativeMethods.g.cs";

const LIBRARY_HEADER: &str = "include/aa_logon.h";
const TESTKIT_HEADER: &str = "testkit/capi/include/aa_logon_testkit.h";

/// Where an enum of the headers lives in C#: (C name, C# name, namespace, public).
/// The members' names are the C constants without the enum's prefix, in PascalCase
/// (AA_STATUS_INVALID_UTF8 → InvalidUtf8); their values are the header's.
const ENUMS: &[(&str, &str, &str, bool)] = &[
    ("aa_status", "AaStatus", "AaLogon", true),
    ("aa_device_code_kind", "DeviceCodeKind", "AaLogon", true),
    ("aa_log_level", "LogLevel", "AaLogon", true),
    ("aa_prompt", "Prompt", "AaLogon", true),
    ("aa_server_status", "LogonStatus", "AaLogon", true),
    ("aa_sign_request_field", "SignRequestField", "AaLogon", false),
    ("aa_presence", "Presence", "AaLogon.Testing", true),
    ("aa_key_protocols", "KeyProtocols", "AaLogon.Testing", true),
];

/// Opaque handles whose `**` out-parameters stay a raw `IntPtr` instead of a SafeHandle: errors
/// (most calls succeed, and a SafeHandle per call would cost an allocation and a finalizer; the
/// binding wraps a non-NULL error right after the failing call).
const RAW_OUT_HANDLES: &[&str] = &["aa_error"];

/// C# keywords that C parameter names may collide with (escaped with `@`).
const KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "base",
    "bool",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "checked",
    "class",
    "const",
    "continue",
    "decimal",
    "default",
    "delegate",
    "do",
    "double",
    "else",
    "enum",
    "event",
    "explicit",
    "extern",
    "false",
    "finally",
    "fixed",
    "float",
    "for",
    "foreach",
    "goto",
    "if",
    "implicit",
    "in",
    "int",
    "interface",
    "internal",
    "is",
    "lock",
    "long",
    "namespace",
    "new",
    "null",
    "object",
    "operator",
    "out",
    "override",
    "params",
    "private",
    "protected",
    "public",
    "readonly",
    "ref",
    "return",
    "sbyte",
    "sealed",
    "short",
    "sizeof",
    "stackalloc",
    "static",
    "string",
    "struct",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "uint",
    "ulong",
    "unchecked",
    "unsafe",
    "ushort",
    "using",
    "virtual",
    "void",
    "volatile",
    "while",
];

/// (repo-relative path, file contents) of every generated C# file.
pub fn generate(headers: &Headers) -> Result<Vec<(String, String)>, String> {
    let member_docs = {
        let mut docs = enum_member_docs(&read(LIBRARY_HEADER)?);
        docs.extend(enum_member_docs(&read(TESTKIT_HEADER)?));
        docs
    };
    Ok(vec![(OUTPUT.to_owned(), render(headers, &member_docs)?)])
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(crate::repo().join(path)).map_err(|e| format!("{path}: {e}"))
}

/// The doc comment above each enum constant, by the constant's name. The header parser keeps
/// the docs of top-level items only, and the public C# enums need one per member.
fn enum_member_docs(header: &str) -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    let mut comment = String::new();
    let mut in_comment = false;
    let mut last_comment = String::new();
    for line in header.lines() {
        let trimmed = line.trim();
        if in_comment || trimmed.starts_with("/*") {
            let body = trimmed.trim_start_matches("/**").trim_start_matches("/*").trim_end_matches("*/");
            let body = body.trim().trim_start_matches('*').trim();
            if !body.is_empty() {
                comment.push_str(body);
                comment.push('\n');
            }
            in_comment = !trimmed.ends_with("*/");
            if !in_comment {
                last_comment = std::mem::take(&mut comment);
            }
            continue;
        }
        if let Some((name, _)) = trimmed.strip_suffix(',').and_then(|item| item.split_once(" = ")) {
            if name.starts_with("AA_")
                && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                docs.insert(name.to_owned(), std::mem::take(&mut last_comment).trim().to_owned());
                continue;
            }
        }
        if !trimmed.is_empty() {
            last_comment.clear();
        }
    }
    docs
}

/// `SOME_NAME` or `some_name` → `SomeName`.
fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn identifier(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("@{name}")
    } else {
        name.to_owned()
    }
}

/// XML-doc text: escaped, with `code` spans as <c>code</c>.
fn xml_doc(text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<c>{part}</c>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The doc of a declaration without its `# Safety` section (the C# side's rules are the
/// binding's own).
fn without_safety(doc: &str) -> &str {
    doc.split("# Safety").next().unwrap_or(doc).trim()
}

/// Writes `/// <summary>…</summary>` (plus any `extra` lines inside it) at `indent`.
fn summary(out: &mut String, indent: &str, doc: &str, extra: &str) {
    let mut lines: Vec<String> = without_safety(doc).lines().map(xml_doc).collect();
    if !extra.is_empty() {
        lines.push(extra.to_owned());
    }
    if lines.is_empty() {
        return;
    }
    if lines.len() == 1 {
        let _ = writeln!(out, "{indent}/// <summary>{}</summary>", lines[0]);
        return;
    }
    let _ = writeln!(out, "{indent}/// <summary>");
    for line in lines {
        let _ = writeln!(out, "{indent}/// {line}");
    }
    let _ = writeln!(out, "{indent}/// </summary>");
}

/// What a C type of the headers is in C#.
struct Mapper<'a> {
    headers: [&'a Header; 2],
}

/// Where a type occurs: the marshalling rules differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    /// A parameter of a P/Invoke import.
    Import,
    /// A parameter of a callback delegate.
    Callback,
    /// A struct field.
    Field,
    /// A return value.
    Return,
}

impl<'a> Mapper<'a> {
    fn enumeration(&self, name: &str) -> Option<&'a Enum> {
        self.headers.iter().find_map(|h| h.enumeration(name))
    }

    fn is_opaque(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.opaque.iter().any(|o| o == name))
    }

    fn is_struct(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.structs.iter().any(|s| s.name == name))
    }

    fn is_callback(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.callbacks.iter().any(|c| c.name == name))
    }

    /// An opaque type freed by `<name>_free` is owned by a SafeHandle subclass `<Name>Handle`
    /// (bindings/csharp/src/NativeHandles.cs); others (borrowed, like aa_hid_device_list) are IntPtr.
    fn handle_class(&self, name: &str) -> Option<String> {
        let free = format!("{name}_free");
        self.headers
            .iter()
            .any(|h| h.function(&free).is_some())
            .then(|| format!("{}Handle", pascal(name.trim_start_matches("aa_"))))
    }

    /// The C# name of an enum of the headers, qualified when it lives outside `AaLogon`.
    fn enum_type(&self, name: &str) -> Result<String, String> {
        let (_, cs, namespace, _) = ENUMS
            .iter()
            .find(|(c, ..)| *c == name)
            .ok_or_else(|| format!("enum {name} has no C# name: add it to ENUMS in xtask/src/csharp.rs"))?;
        Ok(if *namespace == "AaLogon" { (*cs).to_owned() } else { format!("global::{namespace}.{cs}") })
    }

    fn primitive(ty: &CType) -> Option<&'static str> {
        Some(match ty {
            CType::U8 => "byte",
            CType::U16 => "ushort",
            CType::U32 => "uint",
            CType::I32 => "int",
            CType::U64 => "ulong",
            CType::Size => "UIntPtr",
            _ => return None,
        })
    }

    /// The C# type of `param` in `function` (`function` is None for callbacks and fields), with
    /// its `ref`/`out` and marshalling attributes.
    fn map(&self, ty: &CType, position: Position, function: Option<&str>) -> Result<String, String> {
        let fail = || format!("no C# mapping for {ty} as a {}", position.name());
        let by_value = |ty: &CType| -> Result<Option<String>, String> {
            Ok(match ty {
                CType::Bool => Some(
                    if position == Position::Return { "bool" } else { "[MarshalAs(UnmanagedType.U1)] bool" }
                        .to_owned(),
                ),
                CType::Named(name) if self.enumeration(name).is_some() => Some(self.enum_type(name)?),
                CType::Named(name) if self.is_callback(name) => {
                    // A struct stores function pointers as they are: an io filled by one library
                    // is handed to the other untouched.
                    Some(if position == Position::Field { "IntPtr".to_owned() } else { name.clone() })
                }
                CType::Void if position == Position::Return => Some("void".to_owned()),
                other => Self::primitive(other).map(str::to_owned),
            })
        };
        if let Some(mapped) = by_value(ty)? {
            return Ok(mapped);
        }
        let CType::Pointer { pointee, is_const } = ty else { return Err(fail()) };
        let import = position == Position::Import;
        Ok(match (pointee.as_ref(), *is_const) {
            // Strings in are NUL-terminated UTF-8 bytes (Utf8.Encode); everything the library
            // hands over (static, borrowed or owned strings) is a pointer read by Utf8.Copy/Take.
            (CType::Char, true) if import => "byte[]".to_owned(),
            (CType::Char, _) => "IntPtr".to_owned(),
            (CType::Void, _) | (CType::U8, _) => "IntPtr".to_owned(),
            (CType::Named(name), _) if self.is_opaque(name) => match (position, function) {
                (Position::Import, Some(f)) if f == format!("{name}_free") => "IntPtr".to_owned(),
                (Position::Import, _) => self.handle_class(name).unwrap_or_else(|| "IntPtr".to_owned()),
                _ => "IntPtr".to_owned(),
            },
            (CType::Named(name), true) if self.is_struct(name) && position != Position::Field => {
                format!("[In] ref {name}")
            }
            (CType::Named(name), false) if self.is_struct(name) && import => format!("out {name}"),
            (CType::Pointer { pointee: inner, .. }, false) if import => match inner.as_ref() {
                CType::Char => "out IntPtr".to_owned(),
                CType::Named(name) if self.is_opaque(name) => {
                    if RAW_OUT_HANDLES.contains(&name.as_str()) {
                        "out IntPtr".to_owned()
                    } else {
                        format!("out {}", self.handle_class(name).unwrap_or_else(|| "IntPtr".to_owned()))
                    }
                }
                _ => return Err(fail()),
            },
            (pointee, false) if import => match pointee {
                CType::Bool => "[MarshalAs(UnmanagedType.U1)] out bool".to_owned(),
                CType::Named(name) if self.enumeration(name).is_some() => {
                    format!("out {}", self.enum_type(name)?)
                }
                other => format!("out {}", Self::primitive(other).ok_or_else(fail)?),
            },
            _ => return Err(fail()),
        })
    }

    fn params(&self, params: &[Param], position: Position, function: Option<&str>) -> Result<String, String> {
        params
            .iter()
            .map(|p| Ok(format!("{} {}", self.map(&p.ty, position, function)?, identifier(&p.name))))
            .collect::<Result<Vec<_>, String>>()
            .map(|list| list.join(", "))
    }

    fn returns(&self, function: &Function) -> Result<(String, &'static str), String> {
        let ty = self.map(&function.returns, Position::Return, None)?;
        let attribute =
            if function.returns == CType::Bool { "[return: MarshalAs(UnmanagedType.U1)] " } else { "" };
        Ok((ty, attribute))
    }
}

impl Position {
    fn name(self) -> &'static str {
        match self {
            Position::Import => "function parameter",
            Position::Callback => "callback parameter",
            Position::Field => "struct field",
            Position::Return => "return value",
        }
    }
}

fn render(headers: &Headers, member_docs: &BTreeMap<String, String>) -> Result<String, String> {
    let sources =
        [(&headers.library, LIBRARY_HEADER, "Library"), (&headers.testkit, TESTKIT_HEADER, "TestkitLibrary")];
    let mapper = Mapper { headers: [&headers.library, &headers.testkit] };
    let mut out = String::new();
    out.push_str(
        "// <auto-generated>\n\
         // Generated by `cargo run -p xtask -- bindings` (xtask/src/csharp.rs) from include/aa_logon.h and\n\
         // testkit/capi/include/aa_logon_testkit.h. Do not edit: change the headers (or the generator)\n\
         // and regenerate; CI runs `cargo run -p xtask -- bindings --check`.\n\
         // </auto-generated>\n\
         //\n\
         // Marshalling rules, all derived from the C types:\n\
         //   every import and callback is Cdecl; enums are the C# enums below (uint-sized, as the C API);\n\
         //   `const char *` parameters are NUL-terminated UTF-8 byte[] (Utf8.Encode); every other `char *`,\n\
         //   `const char *` results and callback strings are IntPtr (Utf8.Copy / Utf8.Take); `char **` is\n\
         //   `out IntPtr`, owned by the caller (aa_string_free); handles with an aa_*_free function are\n\
         //   their SafeHandle class (NativeHandles.cs), raw IntPtr in the free function itself and for\n\
         //   `aa_error **`; `T *` out-parameters are `out T`, bool as one byte; `const struct *` is\n\
         //   `[In] ref`, with an IntPtr overload for passing NULL; struct fields that are function\n\
         //   pointers are IntPtr (Marshal.GetFunctionPointerForDelegate / GetDelegateForFunctionPointer).\n\
         \n\
         using System;\n\
         using System.Runtime.InteropServices;\n",
    );

    // Enums, grouped by namespace in ENUMS order.
    let all_enums: Vec<&Enum> = headers.library.enums.iter().chain(&headers.testkit.enums).collect();
    for e in &all_enums {
        mapper.enum_type(&e.name)?;
    }
    let mut namespaces: Vec<&str> = Vec::new();
    for (_, _, namespace, _) in ENUMS {
        if !namespaces.contains(namespace) {
            namespaces.push(namespace);
        }
    }
    for namespace in namespaces {
        let _ = writeln!(out, "\nnamespace {namespace}\n{{");
        let mut first = true;
        for (c_name, cs_name, _, public) in ENUMS.iter().filter(|(.., ns, _)| *ns == namespace) {
            let e = all_enums
                .iter()
                .find(|e| e.name == *c_name)
                .ok_or_else(|| format!("ENUMS names {c_name}, which neither header declares"))?;
            if !first {
                out.push('\n');
            }
            first = false;
            summary(&mut out, "    ", &e.doc, &format!("(<c>enum {}</c>)", e.name));
            let visibility = if *public { "public" } else { "internal" };
            let _ = writeln!(out, "    {visibility} enum {cs_name} : uint\n    {{");
            let prefix = format!("{}_", e.name.to_ascii_uppercase());
            for (variant, value) in &e.variants {
                let member = variant
                    .strip_prefix(&prefix)
                    .ok_or_else(|| format!("{variant} does not start with {prefix}"))?;
                let doc = member_docs.get(variant).map(String::as_str).unwrap_or("");
                let tag = format!("(<c>{variant}</c>)");
                if doc.is_empty() {
                    let _ = writeln!(out, "        /// <summary>{tag}</summary>");
                } else {
                    summary(&mut out, "        ", doc, &tag);
                }
                let _ = writeln!(out, "        {} = {value},", pascal(member));
            }
            out.push_str("    }\n");
        }
        if namespace == "AaLogon" {
            render_native_methods(&mut out, &mapper, &sources)?;
        }
        out.push_str("}\n");
    }
    Ok(out)
}

fn render_native_methods(
    out: &mut String,
    mapper: &Mapper,
    sources: &[(&Header, &str, &str); 2],
) -> Result<(), String> {
    for line in [
        "",
        "    /// <summary>The P/Invoke declarations of include/aa_logon.h and testkit/capi/include/aa_logon_testkit.h.</summary>",
        "    internal static partial class NativeMethods",
        "    {",
        "        /// <summary>libaa_logon: libaa_logon.so on Linux, aa_logon.dll on Windows, libaa_logon.dylib on macOS.</summary>",
        "        internal const string Library = \"aa_logon\";",
        "",
        "        /// <summary>The test-only libaa_logon_testkit (never shipped): libaa_logon_testkit.so, aa_logon_testkit.dll, libaa_logon_testkit.dylib.</summary>",
        "        internal const string TestkitLibrary = \"aa_logon_testkit\";",
    ] {
        out.push_str(line);
        out.push('\n');
    }
    for (header, path, _) in sources {
        for (name, value) in &header.defines {
            // Include guards have no value; only numbers become constants.
            let Ok(number) = value.parse::<i64>() else { continue };
            let _ = writeln!(out, "\n        /// <summary><c>#define {name}</c> of {path}.</summary>");
            let _ = writeln!(out, "        internal const int {name} = {number};");
        }
    }
    for (header, path, _) in sources {
        for callback in &header.callbacks {
            out.push('\n');
            summary(out, "        ", &callback.doc, &format!("(<c>{}</c> of {path})", callback.name));
            let (returns, attribute) = mapper.returns(callback)?;
            let _ = writeln!(out, "        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]");
            let _ = writeln!(
                out,
                "        {attribute}internal delegate {returns} {}({});",
                callback.name,
                mapper.params(&callback.params, Position::Callback, None)?
            );
        }
        for s in &header.structs {
            out.push('\n');
            summary(out, "        ", &s.doc, &format!("(<c>struct {}</c> of {path})", s.name));
            let _ = writeln!(
                out,
                "        [StructLayout(LayoutKind.Sequential)]\n        internal struct {}\n        {{",
                s.name
            );
            for field in &s.fields {
                let ty = mapper.map(&field.ty, Position::Field, None)?;
                let _ = writeln!(
                    out,
                    "            /// <summary>C: <c>{} {}</c>.</summary>",
                    xml_doc(&field.ty.to_string()),
                    field.name
                );
                let _ = writeln!(out, "            internal {ty} {};", identifier(&field.name));
            }
            out.push_str("        }\n");
        }
    }
    for (header, path, library) in sources {
        for function in &header.functions {
            let (returns, attribute) = mapper.returns(function)?;
            let params = mapper.params(&function.params, Position::Import, Some(&function.name))?;
            out.push('\n');
            summary(out, "        ", &function.doc, &format!("(<c>{}</c> of {path})", function.name));
            let _ =
                writeln!(out, "        [DllImport({library}, CallingConvention = CallingConvention.Cdecl)]");
            let _ = writeln!(
                out,
                "        {attribute}internal static extern {returns} {}({params});",
                function.name
            );
            // `const struct *` parameters may be NULL: the same import taking IntPtr.
            if params.contains("[In] ref ") {
                let nullable = function
                    .params
                    .iter()
                    .map(|p| {
                        let mapped = mapper.map(&p.ty, Position::Import, Some(&function.name))?;
                        let mapped =
                            if mapped.starts_with("[In] ref ") { "IntPtr".to_owned() } else { mapped };
                        Ok(format!("{mapped} {}", identifier(&p.name)))
                    })
                    .collect::<Result<Vec<_>, String>>()?
                    .join(", ");
                let _ = writeln!(
                    out,
                    "\n        /// <summary>{}, taking IntPtr.Zero for NULL.</summary>",
                    function.name
                );
                let _ = writeln!(
                    out,
                    "        [DllImport({library}, CallingConvention = CallingConvention.Cdecl)]"
                );
                let _ = writeln!(
                    out,
                    "        {attribute}internal static extern {returns} {}({nullable});",
                    function.name
                );
            }
        }
    }
    out.push_str("    }\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated() -> String {
        let headers = Headers {
            library: crate::header::parse(&read(LIBRARY_HEADER).unwrap()).unwrap(),
            testkit: crate::header::parse(&read(TESTKIT_HEADER).unwrap()).unwrap(),
        };
        generate(&headers).unwrap().remove(0).1
    }

    #[test]
    fn every_function_is_imported_from_its_library() {
        let text = generated();
        let library = crate::header::parse(&read(LIBRARY_HEADER).unwrap()).unwrap();
        let testkit = crate::header::parse(&read(TESTKIT_HEADER).unwrap()).unwrap();
        for (header, attribute) in
            [(&library, "[DllImport(Library,"), (&testkit, "[DllImport(TestkitLibrary,")]
        {
            for f in &header.functions {
                let at = text.find(&format!(" {}(", f.name)).unwrap_or_else(|| panic!("{} missing", f.name));
                let before = &text[..at];
                let import = before.rfind("[DllImport(").unwrap();
                assert!(
                    before[import..].starts_with(attribute),
                    "{} imported from the wrong library",
                    f.name
                );
            }
        }
    }

    #[test]
    fn types_follow_the_c_types() {
        let text = generated();
        for expected in [
            "internal static extern AaStatus aa_client_new(ClientOptionsHandle options, out ClientHandle client_out, out IntPtr error_out);",
            "internal static extern AaStatus aa_client_free(IntPtr client);",
            "internal static extern AaStatus aa_string_free(IntPtr @string);",
            "internal static extern IntPtr aa_version();",
            "internal static extern AaStatus aa_error_device_code(ErrorHandle error, out DeviceCodeKind kind_out, out uint code_out);",
            "internal static extern AaStatus aa_client_set_hid_io(ClientHandle client, [In] ref aa_hid_io io, out IntPtr error_out);",
            "internal static extern AaStatus aa_client_set_hid_io(ClientHandle client, IntPtr io, out IntPtr error_out);",
            "internal static extern AaStatus aa_virtual_devices_hid_io(VirtualDevicesHandle devices, out aa_hid_io io_out);",
            "internal static extern AaStatus aa_virtual_key_is_waiting_for_touch(VirtualKeyHandle key, [MarshalAs(UnmanagedType.U1)] out bool waiting_out);",
            "internal static extern UIntPtr aa_testkit_last_error(IntPtr buffer, UIntPtr buffer_len);",
            "internal delegate AaStatus aa_hid_device_sink(IntPtr list, [In] ref aa_hid_device_info device);",
            "internal delegate int aa_hid_enumerate_fn(IntPtr userdata, aa_hid_device_sink sink, IntPtr list);",
            "internal delegate void aa_prompt_callback(IntPtr userdata, Prompt prompt);",
            "internal IntPtr enumerate;",
            "internal ushort vendor_id;",
            "        InvalidUtf8 = 2,",
            "        Iso7816Status = 2,",
            "    public enum Presence : uint",
            "    internal enum SignRequestField : uint",
            "internal const int AA_HID_REPORT_LEN = 64;",
        ] {
            assert!(text.contains(expected), "missing: {expected}");
        }
    }

    #[test]
    fn enums_have_exactly_the_header_values() {
        let text = generated();
        let library = crate::header::parse(&read(LIBRARY_HEADER).unwrap()).unwrap();
        let testkit = crate::header::parse(&read(TESTKIT_HEADER).unwrap()).unwrap();
        for e in library.enums.iter().chain(&testkit.enums) {
            let (_, cs, ..) = ENUMS.iter().find(|(c, ..)| *c == e.name).unwrap();
            let start = text.find(&format!(" enum {cs} : uint")).unwrap();
            let body = &text[start..start + text[start..].find("\n    }").unwrap()];
            let members: Vec<&str> =
                body.lines().filter(|l| l.trim_end().ends_with(',')).map(str::trim).collect();
            assert_eq!(members.len(), e.variants.len(), "{}", e.name);
            for (member, (variant, value)) in members.iter().zip(&e.variants) {
                assert!(member.ends_with(&format!(" = {value},")), "{variant}: {member}");
                assert!(body.contains(&format!("(<c>{variant}</c>)")), "{variant} is named in the docs");
            }
        }
    }

    #[test]
    fn the_output_is_deterministic() {
        assert_eq!(generated(), generated());
    }
}
