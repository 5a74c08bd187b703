//! What a command prints: human text, or exactly one JSON object on standard output.

use serde_json::{json, Value};

use crate::exit::{Exit, Failure};

/// A successful command's result in both forms.
pub struct Outcome {
    pub text: String,
    pub json: Value,
    /// [`Exit::Ok`] unless the command finished its output but still reports a problem.
    pub exit: Exit,
}

impl Outcome {
    pub fn ok(text: String, json: Value) -> Outcome {
        Outcome { text, json, exit: Exit::Ok }
    }
}

pub fn report_success(outcome: &Outcome, json: bool) {
    if json {
        println!("{}", outcome.json);
    } else {
        print!("{}", outcome.text);
    }
}

/// Errors go to standard error as text, or to standard output as the command's JSON object.
pub fn report_failure(failure: &Failure, json: bool) {
    if json {
        let status = match failure.kind {
            "logon_failed" => "FAILED",
            "logon_stopped" => "STOP",
            _ => "ERROR",
        };
        println!("{}", json!({ "status": status, "error": failure.to_json() }));
    } else {
        eprintln!("error: {failure}");
    }
}
