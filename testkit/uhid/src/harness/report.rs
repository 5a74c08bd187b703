//! The line protocol between the guest binary and the harness.
//!
//! The guest prints `SCENARIO <name> PASS <ms>` or `SCENARIO <name> FAIL <why>` per scenario and a
//! final `GUEST SUMMARY <n> passed, <m> failed`; the harness requires every expected scenario to pass.

use std::fmt;

/// Every scenario the guest runs, in order.
pub const SCENARIOS: [&str; 12] = [
    "hidapi_raw_init",
    "list_and_identify",
    "ctaphid_init",
    "u2f_sign_verified_by_simulator",
    "two_keys_one_owner",
    "hot_plug_during_wait",
    "unplug_during_wait",
    "touch_after_one_second",
    "ctap2_only_get_info",
    "u2f_logon_over_hidraw",
    "fido2_logon_with_pin_over_hidraw",
    "cancel_during_touch_over_hidraw",
];

pub const SCENARIO_PREFIX: &str = "SCENARIO";
pub const SUMMARY_PREFIX: &str = "GUEST SUMMARY";

/// How one scenario ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass { millis: u64 },
    Fail { why: String },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass { millis } => write!(f, "PASS {millis}"),
            Outcome::Fail { why } => write!(f, "FAIL {}", why.replace('\n', " ")),
        }
    }
}

/// The line the guest prints for one scenario.
pub fn scenario_line(name: &str, outcome: &Outcome) -> String {
    format!("{SCENARIO_PREFIX} {name} {outcome}")
}

/// Every scenario line in the console text, in order; other lines (kernel, init) are ignored.
pub fn parse(console: &str) -> Vec<(String, Outcome)> {
    console
        .lines()
        .filter_map(|line| {
            // Kernel messages can share a line with guest output on the serial console.
            let at = line.find(&format!("{SCENARIO_PREFIX} "))?;
            let mut words = line[at + SCENARIO_PREFIX.len() + 1..].splitn(3, ' ');
            let name = words.next()?.to_string();
            let outcome = match (words.next()?, words.next().unwrap_or("")) {
                ("PASS", millis) => Outcome::Pass { millis: millis.trim().parse().ok()? },
                ("FAIL", why) => Outcome::Fail { why: why.trim().to_string() },
                _ => return None,
            };
            Some((name, outcome))
        })
        .collect()
}

/// Problems with a run: failed scenarios and expected scenarios that never reported.
pub fn problems(results: &[(String, Outcome)]) -> Vec<String> {
    let mut problems: Vec<String> = results
        .iter()
        .filter_map(|(name, outcome)| match outcome {
            Outcome::Fail { why } => Some(format!("{name} failed: {why}")),
            Outcome::Pass { .. } => None,
        })
        .collect();
    for expected in SCENARIOS {
        if !results.iter().any(|(name, _)| name == expected) {
            problems.push(format!("{expected} never reported"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_lines_and_finds_failures_and_gaps() {
        let console = format!(
            "[    0.1] boot noise\n{}\n{}\nGUEST SUMMARY 1 passed, 1 failed\n",
            scenario_line("ctaphid_init", &Outcome::Pass { millis: 12 }),
            scenario_line("list_and_identify", &Outcome::Fail { why: "no device\nat all".into() }),
        );
        let results = parse(&console);
        assert_eq!(results[0], ("ctaphid_init".to_string(), Outcome::Pass { millis: 12 }));
        assert_eq!(results[1].1, Outcome::Fail { why: "no device at all".into() });
        let problems = problems(&results);
        assert!(problems.iter().any(|p| p.contains("list_and_identify failed")));
        assert!(problems.iter().any(|p| p.contains("touch_after_one_second never reported")));
        assert!(!problems.iter().any(|p| p.contains("ctaphid_init")));
    }

    #[test]
    fn ignores_garbled_lines() {
        assert!(parse("SCENARIO x PASS notanumber\nSCENARIO y MAYBE\nSCENARIO\n").is_empty());
        let all_pass: Vec<_> =
            SCENARIOS.iter().map(|name| (name.to_string(), Outcome::Pass { millis: 1 })).collect();
        assert!(problems(&all_pass).is_empty());
    }
}
