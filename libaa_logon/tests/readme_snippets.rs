//! Every ```c, ```python and ```csharp block of the READMEs and of docs/testing-without-a-key.md
//! compiles (C with `cc`, C# with `mcs` against bindings/csharp/src) or passes `mypy --strict`
//! (Python), and the complete programs among them run:
//!
//! - a block that names the docs' simulator (`https://127.0.0.1:8443`, CA `/tmp/aa-sim-ca.pem`)
//!   runs against a simulator of its own, those two strings replaced by its URL and CA file, and
//!   must succeed;
//! - a C program for a real server (aa.example.com) runs without AA_ENDPOINT_SECRET: it must exit
//!   non-zero and print the library's message, which names the missing endpoint_secret (no
//!   connection is attempted without a secret).
//!
//! A block opts out only with a reason, in a marker on the line before its fence:
//! `<!-- snippet-test: skip: REASON -->`. A block of these languages under another tag (```cs,
//! ```py, ```cpp…) is refused, so that nothing escapes the check by its spelling.
//!
//! A missing cc, python3/mypy or mcs/mono makes the test concerned print a loud skip notice and
//! pass, unless AA_REQUIRE_ALL=1 (CI), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use aa_sim::demo;

#[path = "support/native.rs"]
mod native;
#[path = "support/programs.rs"]
mod programs;

use programs::{describe, repo, run, simulator, tool_present};

/// The documents whose blocks are checked, with the languages each must contain (so that a
/// parsing mistake cannot make the check pass by finding nothing).
const DOCUMENTS: &[(&str, &[Language])] = &[
    ("README.md", &[Language::C, Language::Python, Language::CSharp]),
    ("bindings/python/README.md", &[Language::Python]),
    ("bindings/csharp/README.md", &[Language::CSharp]),
    ("docs/testing-without-a-key.md", &[Language::C, Language::Python, Language::CSharp]),
];

/// The simulator address and CA file the docs use; replaced by the test simulator's.
const DOC_SIMULATOR_URL: &str = "https://127.0.0.1:8443";
const DOC_SIMULATOR_CA: &str = "/tmp/aa-sim-ca.pem";

/// The opt-out marker; the reason follows it, then `-->`.
const SKIP_MARKER: &str = "<!-- snippet-test: skip:";

/// Fence tags that mean one of the checked languages under another spelling.
const REFUSED_TAGS: &[(&str, &str)] = &[
    ("C", "c"),
    ("h", "c"),
    ("cpp", "c"),
    ("c++", "c"),
    ("cxx", "c"),
    ("py", "python"),
    ("python3", "python"),
    ("pycon", "python"),
    ("cs", "csharp"),
    ("c#", "csharp"),
    ("C#", "csharp"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Language {
    C,
    Python,
    CSharp,
}

impl Language {
    fn from_tag(tag: &str) -> Option<Language> {
        match tag {
            "c" => Some(Language::C),
            "python" => Some(Language::Python),
            "csharp" => Some(Language::CSharp),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Language::C => "c",
            Language::Python => "py",
            Language::CSharp => "cs",
        }
    }
}

/// One checked block.
struct Snippet {
    document: &'static str,
    /// 1-based line of the opening fence.
    line: usize,
    language: Language,
    code: String,
}

impl Snippet {
    /// `README.md:42`, for messages.
    fn place(&self) -> String {
        format!("{}:{}", self.document, self.line)
    }

    /// A file name for it: `README.md-42.c`.
    fn file_name(&self) -> String {
        format!("{}-{}.{}", self.document.replace('/', "_"), self.line, self.language.extension())
    }

    /// A Python module file name for it (mypy takes a file's name as its module's).
    fn module_file_name(&self) -> String {
        format!("{}_{}.py", self.document.replace(['/', '.', '-'], "_"), self.line)
    }

    /// Whether it talks to the docs' simulator (and so runs against the test's).
    fn uses_simulator(&self) -> bool {
        self.code.contains(DOC_SIMULATOR_URL)
    }

    /// The code with the docs' simulator replaced by the test's.
    fn for_simulator(&self, url: &str, ca: &Path) -> String {
        self.code.replace(DOC_SIMULATOR_URL, url).replace(DOC_SIMULATOR_CA, &ca.display().to_string())
    }
}

/// The blocks of `document` (a path under the repository root), with the skipped ones and their
/// reasons; see [`parse_blocks`].
fn blocks_of(document: &'static str) -> (Vec<Snippet>, Vec<String>) {
    let text =
        std::fs::read_to_string(repo().join(document)).unwrap_or_else(|e| panic!("read {document}: {e}"));
    parse_blocks(document, &text).unwrap_or_else(|problem| panic!("{problem}"))
}

/// The checked blocks of the Markdown `text` of `document`, and the skipped ones with their
/// reasons. Fails on a block of a checked language under another tag, a skip marker without a
/// reason, or an unterminated fence.
fn parse_blocks(document: &'static str, text: &str) -> Result<(Vec<Snippet>, Vec<String>), String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut snippets = Vec::new();
    let mut skipped = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let Some(tag) = trimmed.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let indent = lines[i].len() - trimmed.len();
        let tag = tag.trim();
        let start = i;
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .ok_or_else(|| format!("{document}:{}: the ``` block is not closed", start + 1))?;
        i = end + 1;
        if let Some((_, proper)) = REFUSED_TAGS.iter().find(|(alias, _)| *alias == tag) {
            return Err(format!(
                "{document}:{}: tag the block ```{proper}, not ```{tag}, so that it is checked",
                start + 1
            ));
        }
        let Some(language) = Language::from_tag(tag) else { continue };
        let marker = start.checked_sub(1).map(|j| lines[j].trim()).filter(|l| l.starts_with(SKIP_MARKER));
        if let Some(marker) = marker {
            let reason = marker[SKIP_MARKER.len()..].trim_end_matches("-->").trim();
            if reason.is_empty() {
                return Err(format!("{document}:{start}: a skipped block needs a reason after the marker"));
            }
            skipped.push(format!("{document}:{}: {reason}", start + 1));
            continue;
        }
        // Code inside a list item is indented like its fence: remove that indentation.
        let code: String = lines[start + 1..end]
            .iter()
            .map(|line| {
                let dedented = if line.len() >= indent && line[..indent].trim().is_empty() {
                    &line[indent..]
                } else {
                    line
                };
                format!("{dedented}\n")
            })
            .collect();
        snippets.push(Snippet { document, line: start + 1, language, code });
    }
    Ok((snippets, skipped))
}

/// Every checked block of every document.
fn snippets() -> Vec<Snippet> {
    let mut all = Vec::new();
    for (document, languages) in DOCUMENTS {
        let (snippets, skipped) = blocks_of(document);
        for reason in skipped {
            println!("not checked: {reason}");
        }
        for language in *languages {
            assert!(
                snippets.iter().any(|s| s.language == *language),
                "{document} has no {language:?} block: the test's list of documents or its parser is out of date"
            );
        }
        all.extend(snippets);
    }
    all
}

fn of(language: Language) -> Vec<Snippet> {
    snippets().into_iter().filter(|s| s.language == language).collect()
}

/// target/<profile>/readme-snippets/<language>/, fresh.
fn work_dir(language: Language) -> PathBuf {
    programs::fresh_dir(native::profile_dir().join("readme-snippets").join(language.extension()))
}

#[test]
fn every_block_is_checked_or_skipped_with_a_reason() {
    // blocks_of panics on refused tags and reasonless markers; snippets() on missing languages.
    let all = snippets();
    for snippet in &all {
        assert!(!snippet.code.trim().is_empty(), "{}: an empty block", snippet.place());
    }
    println!("{} blocks checked", all.len());
}

// --- C ----------------------------------------------------------------------------------------

#[test]
fn c_blocks_compile_and_the_programs_run() {
    if !tool_present(&["cc"], "the C blocks of the docs", "Install a C compiler (gcc)") {
        return;
    }
    let dir = work_dir(Language::C);
    for snippet in of(Language::C) {
        let is_program = snippet.code.contains("int main(");
        let (sim, code) = if snippet.uses_simulator() {
            let (sim, ca) = simulator(&dir);
            let code = snippet.for_simulator(sim.base_url(), &ca);
            (Some(sim), code)
        } else {
            (None, snippet.code.clone())
        };
        let source = dir.join(snippet.file_name());
        std::fs::write(&source, code).expect("write the C block");
        let output = dir.join(snippet.file_name().replace(".c", if is_program { "" } else { ".o" }));
        let mut cc = Command::new("cc");
        cc.args(programs::STRICT_C);
        for include in ["include", "testkit/capi/include"] {
            cc.arg("-I").arg(repo().join(include));
        }
        if !is_program {
            cc.arg("-c");
        }
        cc.arg(&source).arg("-o").arg(&output);
        if is_program {
            let library = native::library_dir();
            cc.arg("-L").arg(library).arg(format!("-Wl,-rpath,{}", library.display())).arg("-laa_logon");
            if snippet.code.contains("aa_logon_testkit.h") {
                let testkit = native::testkit_library_dir();
                cc.arg("-L").arg(testkit).arg(format!("-Wl,-rpath,{}", testkit.display()));
                cc.arg("-laa_logon_testkit");
            }
        }
        let built = run(&mut cc, "");
        assert!(built.status.success(), "{} does not compile:\n{}", snippet.place(), describe(&cc, &built));
        if !is_program {
            continue;
        }
        let mut program = Command::new(&output);
        if sim.is_some() {
            program.env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
            let ran = run(&mut program, "");
            assert!(
                ran.status.success(),
                "{} fails against the simulator:\n{}",
                snippet.place(),
                describe(&program, &ran)
            );
        } else {
            program.env_remove("AA_ENDPOINT_SECRET");
            let ran = run(&mut program, "");
            let stderr = String::from_utf8_lossy(&ran.stderr).to_ascii_lowercase();
            assert!(
                !ran.status.success() && stderr.contains("endpoint_secret"),
                "{}: without AA_ENDPOINT_SECRET the program must fail (non-zero) and say so:\n{}",
                snippet.place(),
                describe(&program, &ran)
            );
        }
        drop(sim);
    }
}

// --- Python -----------------------------------------------------------------------------------

#[test]
fn python_blocks_pass_mypy_strict_and_the_programs_run() {
    let what = "the Python blocks of the docs";
    if !tool_present(&["python3"], what, "Install python3")
        || !tool_present(&["python3", "-m", "mypy"], what, "pip install mypy")
    {
        return;
    }
    let dir = work_dir(Language::Python);
    let snippets = of(Language::Python);
    // mypy takes each block as a module of its own: one run for all of them.
    let files: Vec<PathBuf> = snippets
        .iter()
        .map(|snippet| {
            let file = dir.join(snippet.module_file_name());
            std::fs::write(&file, &snippet.code).expect("write the Python block");
            file
        })
        .collect();
    let mut mypy = Command::new("python3");
    mypy.args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null"])
        .args(&files)
        .env("MYPYPATH", repo().join("bindings/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let checked = run(&mut mypy, "");
    assert!(checked.status.success(), "mypy --strict rejects a Python block:\n{}", describe(&mypy, &checked));

    for (snippet, file) in snippets.iter().zip(&files) {
        if !snippet.uses_simulator() {
            continue;
        }
        let (sim, ca) = simulator(&dir);
        std::fs::write(file, snippet.for_simulator(sim.base_url(), &ca)).expect("write the Python block");
        let mut program = Command::new("python3");
        program
            .arg(file)
            .env("PYTHONPATH", repo().join("bindings/python"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("AA_LOGON_LIBRARY", native::library())
            .env("AA_LOGON_TESTKIT_LIBRARY", native::testkit_library())
            .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
        let ran = run(&mut program, "");
        assert!(
            ran.status.success(),
            "{} fails against the simulator:\n{}",
            snippet.place(),
            describe(&program, &ran)
        );
    }
}

// --- C# ---------------------------------------------------------------------------------------

#[test]
fn csharp_blocks_compile_and_the_programs_run() {
    let what = "the C# blocks of the docs";
    let install = "Install the mono-mcs and mono-runtime packages";
    if !tool_present(&["mcs"], what, install) || !tool_present(&["mono"], what, install) {
        return;
    }
    let dir = work_dir(Language::CSharp);
    let dll = dir.join("AaLogon.dll");
    programs::compile_csharp_binding(&dll);
    for snippet in of(Language::CSharp) {
        let is_program = snippet.code.contains(" Main(");
        let (sim, code) = if snippet.uses_simulator() {
            let (sim, ca) = simulator(&dir);
            let code = snippet.for_simulator(sim.base_url(), &ca);
            (Some(sim), code)
        } else {
            (None, snippet.code.clone())
        };
        let source = dir.join(snippet.file_name());
        std::fs::write(&source, code).expect("write the C# block");
        let output = dir.join(snippet.file_name().replace(".cs", if is_program { ".exe" } else { ".dll" }));
        let mut mcs = Command::new("mcs");
        mcs.args(["-nologo", "-warn:4", "-warnaserror+"])
            .arg(if is_program { "-target:exe" } else { "-target:library" })
            .arg(format!("-out:{}", output.display()))
            .arg(format!("-r:{}", dll.display()))
            .arg(&source);
        let built = run(&mut mcs, "");
        assert!(built.status.success(), "{} does not compile:\n{}", snippet.place(), describe(&mcs, &built));
        if sim.is_none() {
            continue; // a program for a real server (aa.example.com): compiled, not run
        }
        let library_path = std::env::join_paths([native::library_dir(), native::testkit_library_dir()])
            .expect("LD_LIBRARY_PATH");
        let mut program = Command::new("mono");
        program
            .arg(&output)
            .current_dir(&dir) // AaLogon.dll is found next to the program
            .env("LD_LIBRARY_PATH", library_path)
            .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
        let ran = run(&mut program, "");
        assert!(
            ran.status.success(),
            "{} fails against the simulator:\n{}",
            snippet.place(),
            describe(&program, &ran)
        );
        drop(sim);
    }
}

#[test]
fn the_parser_dedents_list_items_honours_reasoned_skips_and_refuses_other_spellings() {
    let text = "- item:\n  ```c\n  int x;\n    int y;\n  ```\n\
                <!-- snippet-test: skip: needs a smart card reader -->\n```python\nimport pcsc\n```\n\
                ```sh\nls\n```\n";
    let (snippets, skipped) = parse_blocks("test.md", text).expect("parses");
    assert_eq!(snippets.len(), 1);
    assert_eq!(
        (snippets[0].line, snippets[0].language, snippets[0].code.as_str()),
        (2, Language::C, "int x;\n  int y;\n")
    );
    assert_eq!(skipped, ["test.md:7: needs a smart card reader"]);

    let refused = parse_blocks("test.md", "```cs\nclass A {}\n```\n").err().expect("refused");
    assert!(refused.contains("tag the block ```csharp, not ```cs"), "{refused}");
    let no_reason = parse_blocks("test.md", "<!-- snippet-test: skip: -->\n```c\nint x;\n```\n").err();
    assert!(no_reason.expect("refused").contains("needs a reason"));
    assert!(parse_blocks("test.md", "```c\nint x;\n").err().expect("refused").contains("not closed"));
}
