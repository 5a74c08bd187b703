//! A reader for the two cbindgen-generated headers (include/aa_logon.h and
//! testkit/capi/include/aa_logon_testkit.h). It knows exactly the shapes cbindgen writes with
//! our cbindgen.toml — defines, `enum` blocks with explicit values, opaque and field structs,
//! function-pointer typedefs and function declarations — and fails loudly on anything else, so a
//! header change the generators do not understand stops CI instead of being skipped.

use std::fmt;

/// A C type as the headers spell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CType {
    Void,
    Bool,
    Char,
    U8,
    U16,
    U32,
    I32,
    U64,
    Size,
    /// A typedef of the headers: an enum, a struct, or a function-pointer type.
    Named(String),
    /// `T *`; `is_const` when the pointee is const (`const T *`).
    Pointer {
        pointee: Box<CType>,
        is_const: bool,
    },
}

impl CType {
    fn parse(text: &str) -> Result<CType, String> {
        let text = text.trim();
        if let Some(inner) = text.strip_suffix('*') {
            let inner = inner.trim_end();
            let (is_const, rest) = match inner.strip_prefix("const ") {
                // `const T *`: the const binds to the pointee at the innermost level only.
                Some(rest) if !rest.contains('*') => (true, rest),
                _ => (false, inner),
            };
            return Ok(CType::Pointer { pointee: Box::new(CType::parse(rest)?), is_const });
        }
        let base = text.trim_start_matches("const ").trim_start_matches("struct ").trim();
        Ok(match base {
            "void" => CType::Void,
            "bool" => CType::Bool,
            "char" => CType::Char,
            "uint8_t" => CType::U8,
            "uint16_t" => CType::U16,
            "uint32_t" => CType::U32,
            "int32_t" => CType::I32,
            "uint64_t" => CType::U64,
            "size_t" => CType::Size,
            name if name.starts_with("aa_")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                CType::Named(name.to_owned())
            }
            other => return Err(format!("unknown C type {other:?}")),
        })
    }
}

impl fmt::Display for CType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CType::Void => f.write_str("void"),
            CType::Bool => f.write_str("bool"),
            CType::Char => f.write_str("char"),
            CType::U8 => f.write_str("uint8_t"),
            CType::U16 => f.write_str("uint16_t"),
            CType::U32 => f.write_str("uint32_t"),
            CType::I32 => f.write_str("int32_t"),
            CType::U64 => f.write_str("uint64_t"),
            CType::Size => f.write_str("size_t"),
            CType::Named(name) => f.write_str(name),
            CType::Pointer { pointee, is_const: true } => write!(f, "const {pointee} *"),
            CType::Pointer { pointee, is_const: false } => write!(f, "{pointee} *"),
        }
    }
}

/// A parameter or struct field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: CType,
}

/// A function declaration (or the signature of a function-pointer typedef).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub returns: CType,
    pub params: Vec<Param>,
    pub doc: String,
}

/// An enum with its C constant names and values, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enum {
    pub name: String,
    pub variants: Vec<(String, u32)>,
    pub doc: String,
}

/// A struct with fields (`typedef struct x { … } x;`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Struct {
    pub name: String,
    pub fields: Vec<Param>,
    pub doc: String,
}

/// Everything one header declares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub defines: Vec<(String, String)>,
    pub enums: Vec<Enum>,
    /// Opaque types (`typedef struct x x;`).
    pub opaque: Vec<String>,
    pub structs: Vec<Struct>,
    /// Function-pointer typedefs (`typedef R (*x)(…);`).
    pub callbacks: Vec<Function>,
    pub functions: Vec<Function>,
}

impl Header {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    pub fn enumeration(&self, name: &str) -> Option<&Enum> {
        self.enums.iter().find(|e| e.name == name)
    }
}

/// One item of the header with the doc comment right above it.
struct Chunk {
    doc: String,
    text: String,
}

/// Splits the header into items: doc comments are attached to the next item; preprocessor lines
/// and `extern "C"` guards are dropped, except `#define`s.
fn chunks(header: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut doc = String::new();
    let mut current = String::new();
    let mut in_comment = false;
    let mut comment = String::new();
    let mut depth = 0i32;
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
            if !in_comment && depth == 0 {
                doc = std::mem::take(&mut comment);
            } else if !in_comment {
                comment.clear(); // a comment inside an enum or struct documents a member
            }
            continue;
        }
        if trimmed.starts_with("#define ") && depth == 0 {
            chunks.push(Chunk { doc: std::mem::take(&mut doc), text: trimmed.to_owned() });
            continue;
        }
        if trimmed.starts_with('#')
            || trimmed.starts_with("//")
            || trimmed.is_empty()
            || trimmed.starts_with("extern \"C\"")
            || trimmed == "}  // extern \"C\""
        {
            continue;
        }
        if trimmed.starts_with(": uint32_t") || (depth == 0 && current.is_empty() && trimmed == "}") {
            continue;
        }
        current.push_str(trimmed);
        current.push(' ');
        depth += trimmed.matches('{').count() as i32 - trimmed.matches('}').count() as i32;
        if depth == 0 && trimmed.ends_with(';') {
            chunks.push(Chunk { doc: std::mem::take(&mut doc), text: current.trim().to_owned() });
            current.clear();
        }
    }
    chunks
}

fn split_params(list: &str) -> Result<Vec<Param>, String> {
    let list = list.trim();
    if list.is_empty() || list == "void" {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|param| {
            let param = param.trim();
            let at = param
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .ok_or_else(|| format!("parameter {param:?} has no type"))?;
            Ok(Param { name: param[at + 1..].to_owned(), ty: CType::parse(&param[..=at])? })
        })
        .collect()
}

fn parse_enum(text: &str, doc: String) -> Result<Enum, String> {
    let name = text["enum ".len()..].split_whitespace().next().ok_or("enum without a name")?.to_owned();
    let body =
        text.split_once('{').and_then(|(_, rest)| rest.rsplit_once('}')).ok_or("enum without a body")?.0;
    let mut variants = Vec::new();
    for item in body.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (variant, value) =
            item.split_once('=').ok_or_else(|| format!("{name}: {item:?} has no explicit value"))?;
        let value = value.trim().parse::<u32>().map_err(|e| format!("{name}: {item:?}: {e}"))?;
        variants.push((variant.trim().to_owned(), value));
    }
    Ok(Enum { name, variants, doc })
}

fn parse_struct(text: &str, doc: String) -> Result<Struct, String> {
    let name =
        text["typedef struct ".len()..].split_whitespace().next().ok_or("struct without a name")?.to_owned();
    let body =
        text.split_once('{').and_then(|(_, rest)| rest.rsplit_once('}')).ok_or("struct without a body")?.0;
    let fields = body
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|field| split_params(field).map(|mut p| p.remove(0)))
        .collect::<Result<_, _>>()?;
    Ok(Struct { name, fields, doc })
}

/// `R (*name)(params)` after `typedef `.
fn parse_callback(text: &str, doc: String) -> Result<Function, String> {
    let (returns, rest) = text.split_once("(*").ok_or("callback typedef without (*")?;
    let (name, rest) = rest.split_once(")(").ok_or("callback typedef without )(")?;
    let params = rest.rsplit_once(')').ok_or("callback typedef without closing )")?.0;
    Ok(Function {
        name: name.trim().to_owned(),
        returns: CType::parse(returns)?,
        params: split_params(params)?,
        doc,
    })
}

fn parse_function(text: &str, doc: String) -> Result<Function, String> {
    let (head, rest) = text.split_once('(').ok_or_else(|| format!("not a declaration: {text}"))?;
    let at = head
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .ok_or_else(|| format!("no return type: {text}"))?;
    let params = rest
        .trim_end_matches(';')
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| format!("no closing ): {text}"))?;
    Ok(Function {
        name: head[at + 1..].to_owned(),
        returns: CType::parse(&head[..=at])?,
        params: split_params(params)?,
        doc,
    })
}

/// Reads a header; every item must be one of the shapes above.
pub fn parse(header: &str) -> Result<Header, String> {
    let mut parsed = Header::default();
    for Chunk { doc, text } in chunks(header) {
        let doc = doc.trim().to_owned();
        if let Some(define) = text.strip_prefix("#define ") {
            let (name, value) = define.split_once(' ').unwrap_or((define, ""));
            parsed.defines.push((name.to_owned(), value.trim().to_owned()));
        } else if text.starts_with("enum ") {
            parsed.enums.push(parse_enum(&text, doc)?);
        } else if text.starts_with("typedef struct ") && text.contains('{') {
            parsed.structs.push(parse_struct(&text, doc)?);
        } else if let Some(rest) = text.strip_prefix("typedef struct ") {
            parsed.opaque.push(rest.split_whitespace().next().unwrap_or_default().to_owned());
        } else if text.starts_with("typedef enum ") || text.starts_with("typedef uint32_t ") {
            // cbindgen's enum typedefs (C23 and pre-C23 forms): the enum itself carries the facts.
        } else if let Some(rest) = text.strip_prefix("typedef ") {
            parsed.callbacks.push(parse_callback(rest, doc)?);
        } else {
            parsed.functions.push(parse_function(&text, doc)?);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(path: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
            .unwrap()
    }

    #[test]
    fn reads_the_library_header() {
        let header = parse(&repo_file("include/aa_logon.h")).unwrap();
        let new = header.function("aa_logon_new").unwrap();
        assert_eq!(new.returns, CType::Named("aa_status".into()));
        assert_eq!(new.params.len(), 6);
        assert_eq!(new.params[1].ty.to_string(), "const char *");
        assert_eq!(new.params[4].ty.to_string(), "aa_logon * *");
        let status = header.enumeration("aa_status").unwrap();
        assert!(status.variants.contains(&("AA_STATUS_DEVICE_ERROR".into(), 404)));
        assert!(header.structs.iter().any(|s| s.name == "aa_hid_io" && s.fields.len() == 7));
        assert!(header.callbacks.iter().any(|c| c.name == "aa_hid_read_fn" && c.params.len() == 5));
        assert!(header.opaque.contains(&"aa_client".to_owned()));
        assert!(header.functions.len() > 40);
        assert!(header.functions.iter().all(|f| !f.doc.is_empty()), "every function is documented");
    }

    #[test]
    fn reads_the_testkit_header() {
        let header = parse(&repo_file("testkit/capi/include/aa_logon_testkit.h")).unwrap();
        assert!(header.function("aa_virtual_devices_hid_io").is_some());
        assert!(header.enumeration("aa_presence").is_some());
    }
}
