//! Summarises the per-report CTAPHID trace lines (`-> virtual:0 cid=… MSG len=…`,
//! `<- virtual:0 cid=… cont seq=0`) into counts by direction and command.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Reports counted by command, continuation packets added to the command they continue.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Direction {
    /// Command name → (initialisation packets, continuation packets), in first-seen order.
    pub commands: Vec<(String, usize, usize)>,
    last_command: Option<String>,
}

impl Direction {
    fn add_init(&mut self, command: &str) {
        match self.commands.iter_mut().find(|(name, _, _)| name == command) {
            Some(entry) => entry.1 += 1,
            None => self.commands.push((command.to_owned(), 1, 0)),
        }
        self.last_command = Some(command.to_owned());
    }

    fn add_continuation(&mut self) {
        let command = self.last_command.clone().unwrap_or_else(|| "?".to_owned());
        match self.commands.iter_mut().find(|(name, _, _)| *name == command) {
            Some(entry) => entry.2 += 1,
            None => self.commands.push((command, 0, 1)),
        }
    }

    pub fn reports(&self) -> usize {
        self.commands.iter().map(|(_, init, cont)| init + cont).sum()
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .commands
            .iter()
            .map(|(name, init, cont)| match cont {
                0 => format!("{name} {init}"),
                _ => format!("{name} {init} (+{cont} continuation)"),
            })
            .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// The exchange with the keys, per device path.
#[derive(Default, Debug)]
pub struct Summary {
    pub devices: BTreeMap<String, (Direction, Direction)>,
    /// The channel ids used (first seen order).
    pub channels: Vec<String>,
    /// Reports read that were meant for another channel.
    pub skipped: usize,
}

impl Summary {
    pub fn from_lines(lines: &[String]) -> Summary {
        let mut summary = Summary::default();
        for line in lines {
            let mut words = line.split_whitespace();
            let (outgoing, path) = match (words.next(), words.next()) {
                (Some("->"), Some(path)) => (true, path),
                (Some("<-"), Some("(not")) => {
                    summary.skipped += 1;
                    continue;
                }
                (Some("<-"), Some(path)) => (false, path),
                _ => continue,
            };
            let (sent, received) = summary.devices.entry(path.to_owned()).or_default();
            let direction = if outgoing { sent } else { received };
            if let Some(cid) = words.next().and_then(|w| w.strip_prefix("cid=")) {
                if cid != "ffffffff" && !summary.channels.iter().any(|c| c == cid) {
                    summary.channels.push(cid.to_owned());
                }
            }
            match words.next() {
                Some("cont") => direction.add_continuation(),
                Some(command) => direction.add_init(command),
                None => {}
            }
        }
        summary
    }

    pub fn total_reports(&self) -> usize {
        self.devices.values().map(|(sent, received)| sent.reports() + received.reports()).sum()
    }

    /// Indented lines for the demo's output.
    pub fn describe(&self, indent: &str) -> String {
        let mut text = String::new();
        for (path, (sent, received)) in &self.devices {
            let _ = writeln!(
                text,
                "{indent}{path}: {} reports of 64 bytes on channel {}",
                sent.reports() + received.reports(),
                if self.channels.is_empty() { "-".to_owned() } else { self.channels.join(", ") }
            );
            let _ = writeln!(text, "{indent}  host -> key: {}", sent.describe());
            let _ = writeln!(text, "{indent}  key -> host: {}", received.describe());
        }
        if self.skipped > 0 {
            let _ = writeln!(text, "{indent}({} reports for other channels ignored)", self.skipped);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reports_by_direction_and_command() {
        let lines: Vec<String> = [
            "-> virtual:0 cid=ffffffff INIT len=8",
            "<- virtual:0 cid=ffffffff INIT len=17",
            "-> virtual:0 cid=00000001 MSG len=138",
            "-> virtual:0 cid=00000001 cont seq=0",
            "-> virtual:0 cid=00000001 cont seq=1",
            "<- virtual:0 cid=00000001 KEEPALIVE len=1",
            "<- virtual:0 cid=00000001 MSG len=77",
            "<- virtual:0 cid=00000001 cont seq=0",
            "<- (not ours) virtual:0 cid=00000002 MSG len=2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let summary = Summary::from_lines(&lines);
        let (sent, received) = &summary.devices["virtual:0"];
        assert_eq!(sent.commands, vec![("INIT".into(), 1, 0), ("MSG".into(), 1, 2)]);
        assert_eq!(
            received.commands,
            vec![("INIT".into(), 1, 0), ("KEEPALIVE".into(), 1, 0), ("MSG".into(), 1, 1)]
        );
        assert_eq!(summary.total_reports(), 8);
        assert_eq!(summary.skipped, 1);
        assert_eq!(summary.channels, ["00000001"]);
        assert!(summary.describe("").contains("MSG 1 (+2 continuation)"));
    }
}
