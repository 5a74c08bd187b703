//! The Python binding's generated declarations (bindings/python/aa_logon/_generated.py): the
//! ctypes signature of every function of both headers with the library that exports it, the
//! callback types as `CFUNCTYPE`s, the field structs as `ctypes.Structure`s, every enum as an
//! `IntEnum` and the numeric `#define`s as constants. The hand-written `_native.py` declares the
//! loaded libraries' functions from this table.
//!
//! Type mapping (what the binding relies on):
//! - handles (`T *`, `const T *` of an opaque `T`) and `void *` → `c_void_p`;
//! - `T **` out-parameters (handles and library strings) → `POINTER(c_void_p)`, so a string the
//!   library hands out keeps its address for aa_string_free instead of becoming `bytes`;
//! - `const char *` → `c_char_p`; a mutable `char *` (a library string given back, a buffer to
//!   fill) → `c_void_p`;
//! - enums → `c_uint32` (cbindgen types them `uint32_t` before C23); pointers to enums and
//!   scalars → `POINTER(c_…)`; pointers to field structs → `POINTER(struct)`;
//! - function-pointer typedefs → the `CFUNCTYPE` of the same name.
//!
//! The output depends on the headers only (declaration order, no hash-map order), so
//! `cargo run -p xtask -- bindings --check` is stable.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::header::{CType, Function, Header};
use crate::Headers;

/// Where the generated module goes, relative to the repository.
const OUTPUT: &str = "bindings/python/aa_logon/_generated.py";

/// The library names the table uses for the two headers (also exported as constants).
const LIBRARY: &str = "aa_logon";
const TESTKIT_LIBRARY: &str = "aa_logon_testkit";

/// (repo-relative path, file contents) of every generated Python file.
pub fn generate(headers: &Headers) -> Result<Vec<(String, String)>, String> {
    Ok(vec![(OUTPUT.to_owned(), module(headers)?)])
}

/// What a name of the headers denotes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Enum,
    Opaque,
    Struct,
    Callback,
}

/// Both headers seen as one set of declarations.
struct Names<'a> {
    headers: [(&'static str, &'a Header); 2],
}

impl<'a> Names<'a> {
    fn new(headers: &'a Headers) -> Self {
        Names { headers: [(LIBRARY, &headers.library), (TESTKIT_LIBRARY, &headers.testkit)] }
    }

    fn kind(&self, name: &str) -> Option<Kind> {
        self.headers.iter().find_map(|(_, h)| {
            if h.enums.iter().any(|e| e.name == name) {
                Some(Kind::Enum)
            } else if h.opaque.iter().any(|o| o == name) {
                Some(Kind::Opaque)
            } else if h.structs.iter().any(|s| s.name == name) {
                Some(Kind::Struct)
            } else if h.callbacks.iter().any(|c| c.name == name) {
                Some(Kind::Callback)
            } else {
                None
            }
        })
    }
}

/// The ctypes spelling of a C type, adding the ctypes names it uses to `imports` and the header
/// types it needs defined first to `deps`.
struct Mapper<'a, 'n> {
    names: &'a Names<'n>,
    imports: &'a mut BTreeSet<&'static str>,
    deps: Vec<String>,
}

impl Mapper<'_, '_> {
    fn import(&mut self, name: &'static str) -> String {
        self.imports.insert(name);
        name.to_owned()
    }

    fn scalar(&mut self, ty: &CType) -> Option<&'static str> {
        Some(match ty {
            CType::Bool => "c_bool",
            CType::Char => "c_char",
            CType::U8 => "c_uint8",
            CType::U16 => "c_uint16",
            CType::U32 => "c_uint32",
            CType::I32 => "c_int32",
            CType::U64 => "c_uint64",
            CType::Size => "c_size_t",
            _ => return None,
        })
    }

    /// A value type: a parameter, a field or a return type (`void` only as a return type).
    fn value(&mut self, ty: &CType, what: &str) -> Result<String, String> {
        if let Some(scalar) = self.scalar(ty) {
            return Ok(self.import(scalar));
        }
        match ty {
            CType::Void => Err(format!("{what}: `void` is not a value type")),
            CType::Named(name) => match self.names.kind(name) {
                Some(Kind::Enum) => Ok(self.import("c_uint32")),
                Some(Kind::Struct | Kind::Callback) => {
                    self.deps.push(name.clone());
                    Ok(name.clone())
                }
                Some(Kind::Opaque) => Err(format!("{what}: the opaque type {name} is passed by value")),
                None => Err(format!("{what}: unknown type {name}")),
            },
            CType::Pointer { pointee, is_const } => self.pointer(pointee, *is_const, what),
            _ => unreachable!("scalars are handled above"),
        }
    }

    fn pointer(&mut self, pointee: &CType, is_const: bool, what: &str) -> Result<String, String> {
        match pointee {
            CType::Void => Ok(self.import("c_void_p")),
            CType::Char if is_const => Ok(self.import("c_char_p")),
            // A library string given back (aa_string_free) or a caller's buffer to fill.
            CType::Char => Ok(self.import("c_void_p")),
            // `T **`: an out-parameter receiving a handle or a library string.
            CType::Pointer { .. } => {
                let pointer = self.import("POINTER");
                Ok(format!("{pointer}({})", self.import("c_void_p")))
            }
            CType::Named(name) => match self.names.kind(name) {
                Some(Kind::Opaque) => Ok(self.import("c_void_p")),
                Some(Kind::Enum) => {
                    let pointer = self.import("POINTER");
                    Ok(format!("{pointer}({})", self.import("c_uint32")))
                }
                Some(Kind::Struct | Kind::Callback) => {
                    self.deps.push(name.clone());
                    Ok(format!("{}({name})", self.import("POINTER")))
                }
                None => Err(format!("{what}: unknown type {name}")),
            },
            scalar => {
                let inner = self.scalar(scalar).ok_or_else(|| format!("{what}: cannot map {scalar}"))?;
                let pointer = self.import("POINTER");
                Ok(format!("{pointer}({})", self.import(inner)))
            }
        }
    }

    fn returns(&mut self, ty: &CType, what: &str) -> Result<String, String> {
        if *ty == CType::Void {
            Ok("None".to_owned())
        } else {
            self.value(ty, what)
        }
    }
}

/// A C type as a reader of the header would write it (`const aa_client *`, `char **`).
fn c_spelling(ty: &CType) -> String {
    match ty {
        CType::Pointer { pointee, is_const } => {
            let inner = c_spelling(pointee);
            let inner = if *is_const { format!("const {inner}") } else { inner };
            if inner.ends_with('*') {
                format!("{inner}*")
            } else {
                format!("{inner} *")
            }
        }
        other => other.to_string(),
    }
}

fn c_params(function: &Function) -> String {
    if function.params.is_empty() {
        return "void".to_owned();
    }
    function
        .params
        .iter()
        .map(|p| {
            let ty = c_spelling(&p.ty);
            if ty.ends_with('*') {
                format!("{ty}{}", p.name)
            } else {
                format!("{ty} {}", p.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn c_prototype(function: &Function) -> String {
    let returns = c_spelling(&function.returns);
    let sep = if returns.ends_with('*') { "" } else { " " };
    format!("{returns}{sep}{}({})", function.name, c_params(function))
}

fn c_callback(function: &Function) -> String {
    let returns = c_spelling(&function.returns);
    let sep = if returns.ends_with('*') { "" } else { " " };
    format!("{returns}{sep}(*{})({})", function.name, c_params(function))
}

/// `aa_device_code_kind` → `DeviceCodeKind`.
fn enum_class_name(c_name: &str) -> Result<String, String> {
    let bare = c_name.strip_prefix("aa_").ok_or_else(|| format!("enum {c_name} lacks the aa_ prefix"))?;
    Ok(bare
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect())
}

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name)
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
    "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is",
    "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A docstring body: the header's doc text with what would end or escape the string neutralised.
fn docstring(text: &str, indent: &str) -> String {
    let escaped = text.trim().replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    let mut lines = escaped.lines();
    let mut out = format!("{indent}\"\"\"{}", lines.next().unwrap_or_default());
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        out.push_str("\"\"\"\n");
    } else {
        out.push('\n');
        for line in rest {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        let _ = writeln!(out, "{indent}\"\"\"");
    }
    out
}

/// `#:` comment lines (the doc-comment form Sphinx reads for module attributes).
fn doc_comment(text: &str) -> String {
    text.trim().lines().map(|line| format!("#: {line}").trim_end().to_owned() + "\n").collect()
}

/// Integer literals of `#define`s (decimal or 0x hex, optionally parenthesised).
fn define_value(name: &str, value: &str) -> Result<String, String> {
    let bare = value.trim().trim_start_matches('(').trim_end_matches(')').trim();
    let parsed = if let Some(hex) = bare.strip_prefix("0x").or_else(|| bare.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).map(|v| format!("0x{v:X}"))
    } else {
        bare.parse::<u64>().map(|v| v.to_string())
    };
    parsed.map_err(|_| format!("#define {name} {value}: only integer constants are supported"))
}

/// The structs and callbacks of both headers, ordered so each comes after what it refers to.
fn type_declarations(names: &Names<'_>, imports: &mut BTreeSet<&'static str>) -> Result<String, String> {
    struct Pending {
        name: String,
        deps: Vec<String>,
        text: String,
    }
    let mut pending = Vec::new();
    for (_, header) in names.headers {
        for item in &header.structs {
            let mut mapper = Mapper { names, imports, deps: Vec::new() };
            let mut fields = String::new();
            for field in &item.fields {
                if !is_identifier(&field.name) {
                    return Err(format!("{}: field {:?} is not a Python identifier", item.name, field.name));
                }
                let ty = mapper.value(&field.ty, &format!("{}.{}", item.name, field.name))?;
                let _ = writeln!(fields, "        ({:?}, {ty}),", field.name);
            }
            let deps = mapper.deps;
            imports.insert("Structure");
            let mut text = format!("class {}(Structure):\n", item.name);
            let doc = if item.doc.is_empty() { format!("struct {}", item.name) } else { item.doc.clone() };
            text.push_str(&docstring(&format!("{doc}\n\n``struct {}`` of the C API.", item.name), "    "));
            let _ = write!(text, "\n    _fields_ = [\n{fields}    ]\n");
            pending.push(Pending { name: item.name.clone(), deps, text });
        }
        for callback in &header.callbacks {
            let mut mapper = Mapper { names, imports, deps: Vec::new() };
            let mut types = vec![mapper.returns(&callback.returns, &callback.name)?];
            for param in &callback.params {
                types.push(mapper.value(&param.ty, &format!("{}({})", callback.name, param.name))?);
            }
            let deps = mapper.deps;
            imports.insert("CFUNCTYPE");
            let mut text = doc_comment(&callback.doc);
            let _ = writeln!(text, "#: ``{}``", c_callback(callback));
            let _ = writeln!(text, "{} = CFUNCTYPE({})", callback.name, types.join(", "));
            pending.push(Pending { name: callback.name.clone(), deps, text });
        }
    }
    let mut defined: BTreeSet<String> = BTreeSet::new();
    let mut out = String::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|item| item.deps.iter().all(|dep| defined.contains(dep) || *dep == item.name))
            .ok_or_else(|| {
                let stuck: Vec<&str> = pending.iter().map(|p| p.name.as_str()).collect();
                format!("types refer to each other in a cycle: {}", stuck.join(", "))
            })?;
        let item = pending.remove(ready);
        if item.deps.contains(&item.name) {
            return Err(format!("{} refers to itself, which ctypes cannot declare in one step", item.name));
        }
        out.push_str("\n\n");
        out.push_str(&item.text);
        defined.insert(item.name);
    }
    Ok(out)
}

fn module(headers: &Headers) -> Result<String, String> {
    let names = Names::new(headers);
    let mut imports: BTreeSet<&'static str> = BTreeSet::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut claim = |name: &str| -> Result<(), String> {
        if seen.insert(name.to_owned()) {
            Ok(())
        } else {
            Err(format!("{name} is declared twice"))
        }
    };

    // Constants.
    let mut constants = String::new();
    let _ = writeln!(constants, "#: The library name of the functions of include/aa_logon.h.");
    let _ = writeln!(constants, "LIBRARY = {LIBRARY:?}");
    let _ = writeln!(
        constants,
        "#: The library name of the functions of testkit/capi/include/aa_logon_testkit.h."
    );
    let _ = writeln!(constants, "TESTKIT_LIBRARY = {TESTKIT_LIBRARY:?}");
    for (_, header) in names.headers {
        for (name, value) in &header.defines {
            if value.is_empty() {
                continue; // include guards
            }
            if !is_identifier(name) {
                return Err(format!("#define {name} is not a Python identifier"));
            }
            claim(name)?;
            constants.push('\n');
            // header.rs keeps a define as (name, value) without its doc comment.
            let _ = writeln!(constants, "#: ``#define {name}`` of the C API.");
            let _ = writeln!(constants, "{name} = {}", define_value(name, value)?);
        }
    }

    // Enums.
    let mut enums = String::new();
    let mut enum_table = String::new();
    for (_, header) in names.headers {
        for item in &header.enums {
            let class = enum_class_name(&item.name)?;
            claim(&class)?;
            let prefix = format!("{}_", item.name.to_ascii_uppercase());
            let _ = write!(enums, "\n\nclass {class}(IntEnum):\n");
            let doc = if item.doc.is_empty() { format!("enum {}", item.name) } else { item.doc.clone() };
            enums.push_str(&docstring(&format!("{doc}\n\n``enum {}`` of the C API.", item.name), "    "));
            enums.push('\n');
            if item.variants.is_empty() {
                return Err(format!("enum {} has no constants", item.name));
            }
            for (variant, value) in &item.variants {
                let member = variant
                    .strip_prefix(&prefix)
                    .ok_or_else(|| format!("{variant} does not start with {prefix}"))?;
                if !is_identifier(member) {
                    return Err(format!("{variant}: {member:?} is not a Python identifier"));
                }
                let _ = writeln!(enums, "    {member} = {value}");
            }
            let _ = writeln!(enum_table, "    {:?}: {class},", item.name);
        }
    }
    imports.insert("IntEnum");

    // Structs and callbacks.
    let types = type_declarations(&names, &mut imports)?;

    // Functions.
    let mut functions = String::new();
    for (library, header) in names.headers {
        let library_constant = if library == LIBRARY { "LIBRARY" } else { "TESTKIT_LIBRARY" };
        let _ = writeln!(functions, "    # {library} ({} functions)", header.functions.len());
        for function in &header.functions {
            claim(&function.name)?;
            let mut mapper = Mapper { names: &names, imports: &mut imports, deps: Vec::new() };
            let restype = mapper.returns(&function.returns, &function.name)?;
            let mut argtypes = Vec::new();
            for param in &function.params {
                argtypes.push(mapper.value(&param.ty, &format!("{}({})", function.name, param.name))?);
            }
            let argtypes = match argtypes.len() {
                0 => "()".to_owned(),
                1 => format!("({},)", argtypes[0]),
                _ => format!("({})", argtypes.join(", ")),
            };
            let _ = writeln!(functions, "    # {}", c_prototype(function));
            let _ =
                writeln!(functions, "    {:?}: ({library_constant}, {restype}, {argtypes}),", function.name);
        }
    }
    if seen.is_empty() {
        return Err("the headers declare nothing".into());
    }

    let ctypes_imports: Vec<&str> = imports.iter().copied().filter(|name| *name != "IntEnum").collect();
    let mut out = String::new();
    out.push_str(
        "# Generated by `cargo run -p xtask -- bindings` (xtask/src/python.rs) from include/aa_logon.h\n\
         # and testkit/capi/include/aa_logon_testkit.h. Do not edit: CI runs `bindings --check`.\n\
         \"\"\"ctypes declarations of the C API of libaa_logon and libaa_logon_testkit.\n\
         \n\
         ``FUNCTIONS`` maps every C function to the library that exports it (``LIBRARY`` or\n\
         ``TESTKIT_LIBRARY``), its ``restype`` and its ``argtypes``. Handles are ``c_void_p``; the\n\
         ``char **`` and ``T **`` out-parameters are ``POINTER(c_void_p)``, so a string the library\n\
         hands out keeps its address for ``aa_string_free``. Callback typedefs are ``CFUNCTYPE``\n\
         types of the same name, field structs ``ctypes.Structure`` classes, enums ``IntEnum``s\n\
         (``ENUMS`` maps the C names to them).\n\
         \"\"\"\n\nfrom ctypes import ",
    );
    out.push_str(&ctypes_imports.join(", "));
    out.push_str("\nfrom enum import IntEnum\nfrom typing import Any, Dict, Tuple, Type\n\n");
    out.push_str(&constants);
    out.push_str(&enums);
    out.push_str("\n\n#: The enums by their C name.\n");
    out.push_str("ENUMS: Dict[str, Type[IntEnum]] = {\n");
    out.push_str(&enum_table);
    out.push_str("}\n");
    out.push_str(&types);
    out.push_str("\n\n#: Every C function: name -> (library, restype, argtypes), in header order.\n");
    out.push_str("FUNCTIONS: Dict[str, Tuple[str, Any, Tuple[Any, ...]]] = {\n");
    out.push_str(&functions);
    out.push_str("}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header;

    fn headers() -> Headers {
        let read = |path: &str| {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path),
            )
            .unwrap();
            header::parse(&text).unwrap()
        };
        Headers {
            library: read("include/aa_logon.h"),
            testkit: read("testkit/capi/include/aa_logon_testkit.h"),
        }
    }

    fn generated() -> String {
        let files = generate(&headers()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, OUTPUT);
        files[0].1.clone()
    }

    #[test]
    fn maps_handles_out_parameters_and_strings() {
        let text = generated();
        assert!(text.contains(
            "\"aa_logon_new\": (LIBRARY, c_uint32, (c_void_p, c_char_p, c_char_p, c_char_p, \
             POINTER(c_void_p), POINTER(c_void_p))),"
        ));
        assert!(text.contains("\"aa_string_free\": (LIBRARY, c_uint32, (c_void_p,)),"));
        assert!(text.contains("\"aa_version\": (LIBRARY, c_char_p, ()),"));
        assert!(text.contains(
            "\"aa_client_set_hid_io\": (LIBRARY, c_uint32, (c_void_p, POINTER(aa_hid_io), POINTER(c_void_p))),"
        ));
        assert!(text.contains(
            "\"aa_error_device_code\": (LIBRARY, c_uint32, (c_void_p, POINTER(c_uint32), POINTER(c_uint32))),"
        ));
        assert!(
            text.contains("\"aa_testkit_last_error\": (TESTKIT_LIBRARY, c_size_t, (c_void_p, c_size_t)),")
        );
        assert!(text.contains(
            "\"aa_virtual_key_is_waiting_for_touch\": (TESTKIT_LIBRARY, c_uint32, (c_void_p, POINTER(c_bool))),"
        ));
        assert!(text.contains(
            "\"aa_logon_sign_with_device\": (LIBRARY, c_uint32, (c_void_p, c_uint32, aa_prompt_callback, \
             c_void_p, POINTER(c_void_p))),"
        ));
    }

    #[test]
    fn declares_callbacks_structs_enums_and_constants_in_usable_order() {
        let text = generated();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} missing"));
        assert!(text.contains(
            "aa_hid_read_fn = CFUNCTYPE(c_int32, c_void_p, c_void_p, POINTER(c_uint8), c_size_t, c_int32)"
        ));
        assert!(
            text.contains("aa_hid_device_sink = CFUNCTYPE(c_uint32, c_void_p, POINTER(aa_hid_device_info))")
        );
        assert!(text.contains("aa_hid_open_fn = CFUNCTYPE(c_void_p, c_void_p, c_char_p)"));
        assert!(text.contains("aa_hid_release_fn = CFUNCTYPE(None, c_void_p)"));
        assert!(at("class aa_hid_device_info(Structure)") < at("aa_hid_device_sink = "));
        assert!(at("aa_hid_device_sink = ") < at("aa_hid_enumerate_fn = "));
        assert!(at("aa_hid_release_fn = ") < at("class aa_hid_io(Structure)"));
        let io = &text[at("class aa_hid_io(Structure)")..];
        let fields: Vec<&str> =
            io.lines().filter(|l| l.starts_with("        (\"")).take(7).map(str::trim).collect();
        assert_eq!(
            fields,
            [
                "(\"userdata\", c_void_p),",
                "(\"enumerate\", aa_hid_enumerate_fn),",
                "(\"open\", aa_hid_open_fn),",
                "(\"close\", aa_hid_close_fn),",
                "(\"write\", aa_hid_write_fn),",
                "(\"read\", aa_hid_read_fn),",
                "(\"release\", aa_hid_release_fn),",
            ]
        );
        assert!(text.contains("class DeviceCodeKind(IntEnum):"));
        assert!(text.contains("    CTAPHID_ERROR = 1\n    ISO7816_STATUS = 2\n    CTAP2_STATUS = 3\n"));
        assert!(text.contains("class Presence(IntEnum):"));
        assert!(text.contains("    \"aa_presence\": Presence,"));
        assert!(text.contains("\nAA_HID_REPORT_LEN = 64\n"));
        assert!(text.contains("\nAA_LOGON_VERSION_MAJOR = 0\n"));
        assert!(!text.contains("AA_LOGON_H "), "include guards are not constants");
    }

    #[test]
    fn every_function_of_both_headers_is_in_the_table_once() {
        let headers = headers();
        let text = generated();
        for function in headers.library.functions.iter().chain(&headers.testkit.functions) {
            assert_eq!(
                text.matches(&format!("    \"{}\": (", function.name)).count(),
                1,
                "{}",
                function.name
            );
        }
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(generated(), generated());
    }

    #[test]
    fn unknown_shapes_fail_instead_of_being_skipped() {
        let mut broken = headers();
        broken.library.functions[0].params[0].ty = CType::Named("aa_no_such_type".into());
        assert!(generate(&broken).unwrap_err().contains("aa_no_such_type"));
        let mut duplicate = headers();
        let again = duplicate.library.functions[0].clone();
        duplicate.testkit.functions.push(again);
        assert!(generate(&duplicate).unwrap_err().contains("declared twice"));
        let mut bad_define = headers();
        bad_define.library.defines.push(("AA_TEXT".into(), "\"text\"".into()));
        assert!(generate(&bad_define).unwrap_err().contains("AA_TEXT"));
    }

    #[test]
    fn c_spellings_read_like_the_header() {
        let headers = headers();
        let new = headers.library.function("aa_logon_new").unwrap();
        assert_eq!(
            c_prototype(new),
            "aa_status aa_logon_new(const aa_client *client, const char *user_name, const char *event, \
             const char *method_id, aa_logon **logon_out, aa_error **error_out)"
        );
        assert_eq!(
            c_prototype(headers.library.function("aa_version").unwrap()),
            "const char *aa_version(void)"
        );
        assert_eq!(enum_class_name("aa_device_code_kind").unwrap(), "DeviceCodeKind");
    }
}
