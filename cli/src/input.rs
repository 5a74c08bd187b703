//! Questions to the user: secrets without echo on a terminal, plain lines otherwise. When standard
//! input is not a terminal, every answer is the next line of standard input (for scripts and tests).

use std::io::{BufRead, IsTerminal, Write};

use aa_logon::Secret;

use crate::exit::{CmdResult, Failure};
use crate::interrupt;

fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// `prompt` followed by `: `, unless it already ends as a question or a label does.
fn label(prompt: &str) -> String {
    if prompt.ends_with(['?', ':']) {
        format!("{prompt} ")
    } else {
        format!("{prompt}: ")
    }
}

/// Asks for a secret (password, one-time code, answer); never echoed, never logged.
pub fn secret(prompt: &str) -> CmdResult<Secret> {
    let secret = if interactive() {
        let typed = interrupt::while_reading_secret(|| rpassword::prompt_password(label(prompt)));
        Secret::new(typed.map_err(|e| Failure::usage(format!("cannot read the {prompt}: {e}")))?)
    } else {
        eprintln!("{}(reading a line from standard input)", label(prompt));
        read_line(prompt)?
    };
    if secret.is_empty() {
        return Err(Failure::usage(format!("the {prompt} is empty")));
    }
    Ok(secret)
}

/// Asks the user to pick one of `options`; returns its index.
pub fn choose(question: &str, options: &[String]) -> CmdResult<usize> {
    eprintln!("{question}");
    for (number, option) in options.iter().enumerate() {
        eprintln!("  {}) {option}", number + 1);
    }
    loop {
        eprint!("Choice [1-{}]: ", options.len());
        let _ = std::io::stderr().flush();
        let answer = read_line("choice")?;
        match answer.expose().trim().parse::<usize>() {
            Ok(number) if (1..=options.len()).contains(&number) => return Ok(number - 1),
            _ if interactive() => eprintln!("Please type a number from 1 to {}.", options.len()),
            _ => {
                return Err(Failure::usage(format!(
                    "invalid choice {:?}: expected a number from 1 to {}",
                    answer.expose().trim(),
                    options.len()
                )))
            }
        }
    }
}

/// One line of standard input without its line ending, kept in a wiped buffer.
fn read_line(what: &str) -> CmdResult<Secret> {
    let mut buffer = String::new();
    let read = std::io::stdin().lock().read_line(&mut buffer);
    // Move the text into the wiped container before anything else can fail.
    let text = Secret::new(buffer);
    match read {
        Ok(0) => Err(Failure::usage(format!("standard input ended before the {what} was given"))),
        Ok(_) => Ok(Secret::from(text.expose().trim_end_matches(['\r', '\n']))),
        Err(e) => Err(Failure::usage(format!("cannot read the {what}: {e}"))),
    }
}
