//! The printed table: each figure as the floor's value, the library's (Rust API, C ABI) and the
//! ratio library / floor.

/// One value of a row: how it prints, and the number a ratio is taken of (None: no ratio).
struct Cell {
    text: String,
    value: Option<f64>,
}

impl Cell {
    fn none() -> Cell {
        Cell { text: "-".into(), value: None }
    }
}

pub struct Row {
    label: String,
    floor: Cell,
    rust: Cell,
    capi: Cell,
}

fn ms(seconds: f64) -> Cell {
    Cell { text: format!("{:.3} ms", seconds * 1e3), value: Some(seconds) }
}

impl Row {
    fn new(label: &str, floor: Cell, rust: Cell, capi: Cell) -> Row {
        Row { label: label.to_owned(), floor, rust, capi }
    }

    pub fn time3(label: &str, floor: f64, rust: f64, capi: f64) -> Row {
        Row::new(label, ms(floor), ms(rust), ms(capi))
    }

    pub fn time(label: &str, floor: f64, rust: f64) -> Row {
        Row::new(label, ms(floor), ms(rust), Cell::none())
    }

    pub fn rate(label: &str, floor: f64, rust: f64) -> Row {
        let cell = |v: f64| Cell { text: format!("{v:.0}/s"), value: Some(v) };
        Row::new(label, cell(floor), cell(rust), Cell::none())
    }

    pub fn kib3(label: &str, floor: u64, rust: u64, capi: u64) -> Row {
        let cell = |v: u64| Cell { text: format!("{v} KiB"), value: Some(v as f64) };
        Row::new(label, cell(floor), cell(rust), cell(capi))
    }

    pub fn percent3(label: &str, floor: f64, rust: f64, capi: f64) -> Row {
        let cell = |v: f64| Cell { text: format!("{v:+.2} %"), value: None };
        Row::new(label, cell(floor), cell(rust), cell(capi))
    }

    /// A time added to the floor's (the library's column alone; no ratio).
    pub fn extra(label: &str, seconds: f64) -> Row {
        let cell = Cell { text: format!("{:+.3} ms", seconds * 1e3), value: None };
        Row::new(label, Cell::none(), cell, Cell::none())
    }

    pub fn cpu_per_s(label: &str, floor: f64, rust: f64) -> Row {
        let cell = |v: f64| Cell { text: format!("{:.2} ms/s", v * 1e3), value: Some(v) };
        Row::new(label, cell(floor), cell(rust), Cell::none())
    }

    pub fn reports(label: &str, floor: (u64, u64), rust: (u64, u64)) -> Row {
        let cell = |(w, r): (u64, u64)| Cell { text: format!("{w} + {r}"), value: Some((w + r) as f64) };
        Row::new(label, cell(floor), cell(rust), Cell::none())
    }
}

fn ratio(library: &Cell, floor: &Cell) -> String {
    match (library.value, floor.value) {
        (Some(l), Some(f)) if f > 0.0 => format!("{:.2}x", l / f),
        _ => "-".into(),
    }
}

enum Line {
    Section(String),
    Note(String),
    Row(Row),
}

#[derive(Default)]
pub struct Table {
    lines: Vec<Line>,
}

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    pub fn section(&mut self, title: &str) {
        self.lines.push(Line::Section(title.to_owned()));
    }

    /// A line of text under the current section (what the figures rest on).
    pub fn note(&mut self, text: &str) {
        self.lines.push(Line::Note(text.to_owned()));
    }

    pub fn row(&mut self, row: Row) {
        self.lines.push(Line::Row(row));
    }

    pub fn print(&self) {
        let width = self
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Row(r) => Some(r.label.len()),
                Line::Section(_) | Line::Note(_) => None,
            })
            .max()
            .unwrap_or(10);
        println!();
        println!(
            "| {:width$} | {:>12} | {:>12} | {:>6} | {:>12} | {:>6} |",
            "figure", "floor", "Rust API", "ratio", "C ABI", "ratio"
        );
        println!("|{:-<w1$}|{:->14}|{:->14}|{:->8}|{:->14}|{:->8}|", "", "", "", "", "", "", w1 = width + 2);
        for line in &self.lines {
            match line {
                Line::Section(title) => println!("| **{title}** | | | | | |"),
                Line::Note(text) => println!("| *{text}* | | | | | |"),
                Line::Row(r) => println!(
                    "| {:width$} | {:>12} | {:>12} | {:>6} | {:>12} | {:>6} |",
                    r.label,
                    r.floor.text,
                    r.rust.text,
                    ratio(&r.rust, &r.floor),
                    r.capi.text,
                    ratio(&r.capi, &r.floor)
                ),
            }
        }
        println!();
    }
}
