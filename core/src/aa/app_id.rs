//! Which U2F appIds a client signs for. A security key signs for whatever appId it is handed, and
//! the appId is what a relying party checks, so signing a server-chosen appId unchecked would let
//! a hostile AA server (or anyone impersonating it) obtain the user's assertions for other sites.
//! Default: an `https` appId of the host of one of the client's AA servers (any port, any
//! path); other hosts only when the caller allowed them; everything only with the explicit danger switch.

use super::config::{parse_base_url, ClientConfig};
use crate::fido::SignRequest;
use crate::{Error, ErrorKind, Result};

#[derive(Clone, Debug)]
pub(crate) struct AppIdPolicy {
    /// The hosts of the base URL and the failover URLs, lowercase (IPv6 in brackets).
    server_hosts: Vec<String>,
    /// Normalized by `ClientConfig::check_app_id_host`.
    allowed_hosts: Vec<String>,
    disabled: bool,
}

impl AppIdPolicy {
    pub(crate) fn new(config: &ClientConfig) -> Result<AppIdPolicy> {
        let server_hosts = config
            .server_urls()
            .map(|url| Ok(normalize_host(parse_base_url(url)?.0.host().unwrap_or_default())))
            .collect::<Result<_>>()?;
        let allowed_hosts = config
            .allowed_app_id_hosts
            .iter()
            .map(|host| ClientConfig::check_app_id_host(host))
            .collect::<Result<_>>()?;
        if config.danger_disable_app_id_check {
            log::warn!(
                "U2F appId check is DISABLED (danger_disable_app_id_check): the server can obtain \
                 assertions for any site's appId"
            );
        }
        Ok(AppIdPolicy { server_hosts, allowed_hosts, disabled: config.danger_disable_app_id_check })
    }

    /// Every request's appId must pass; checked before any key is used.
    pub(crate) fn check_all(&self, requests: &[SignRequest]) -> Result<()> {
        requests.iter().try_for_each(|request| self.check(&request.app_id))
    }

    pub(crate) fn check(&self, app_id: &str) -> Result<()> {
        if self.disabled {
            return Ok(());
        }
        let refuse = |why: String| {
            Error::new(
                ErrorKind::MalformedServerData,
                format!(
                    "appId {} {why}; allow its host with ClientConfig::allow_app_id_host \
                     (C: aa_client_options_allow_app_id_host)",
                    app_id.escape_debug()
                ),
            )
        };
        let uri: ureq::http::Uri = app_id.parse().map_err(|_| refuse("is not a URL".into()))?;
        if uri.scheme_str() != Some("https") {
            return Err(refuse("is not an https origin".into()));
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let host = normalize_host(uri.host().unwrap_or_default());
        if authority.contains('@') || host.is_empty() || app_id.contains('#') {
            return Err(refuse("is not an https origin".into()));
        }
        if self.server_hosts.contains(&host) || self.allowed_hosts.contains(&host) {
            Ok(())
        } else if let [server] = self.server_hosts.as_slice() {
            Err(refuse(format!("is not an origin of the AA server {server}")))
        } else {
            Err(refuse(format!("is not an origin of the AA servers {}", self.server_hosts.join(", "))))
        }
    }
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn policy(base_url: &str, allowed: &[&str], disabled: bool) -> AppIdPolicy {
        let mut config = ClientConfig::new(base_url, "id", Secret::from("s"));
        for host in allowed {
            config.allow_app_id_host(host).unwrap();
        }
        config.danger_disable_app_id_check = disabled;
        AppIdPolicy::new(&config).unwrap()
    }

    #[test]
    fn the_servers_own_https_origin_passes_on_any_port_and_path() {
        let policy = policy("https://AA.example.com:8443/tenant", &[], false);
        for good in [
            "https://aa.example.com",
            "https://AA.Example.Com:443",
            "https://aa.example.com:9999/u2f",
            "https://aa.example.com./TOP/app-id.json",
        ] {
            assert!(policy.check(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn other_hosts_schemes_and_shapes_are_refused() {
        let policy = policy("https://aa.example.com", &[], false);
        for bad in [
            "https://evil.example",
            "https://aa.example.com.evil.example",
            "https://sub.aa.example.com",
            "http://aa.example.com",
            "https://user@aa.example.com",
            "https://aa.example.com#frag",
            "aa.example.com",
            "NetIQ",
            "",
        ] {
            let e = policy.check(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{bad}");
            assert!(e.message().contains("aa_client_options_allow_app_id_host"), "{e}");
        }
        let e = policy.check("https://evil.example").unwrap_err();
        assert_eq!(
            e.message(),
            "appId https://evil.example is not an origin of the AA server aa.example.com; allow its host \
             with ClientConfig::allow_app_id_host (C: aa_client_options_allow_app_id_host)"
        );
    }

    #[test]
    fn allowed_hosts_pass_and_the_danger_switch_passes_everything() {
        let policy = policy("https://127.0.0.1:4000", &["aa-sim.local", "::1"], false);
        assert!(policy.check("https://aa-sim.local").is_ok());
        assert!(policy.check("https://[::1]:8443").is_ok());
        assert!(policy.check("https://127.0.0.1").is_ok());
        assert!(policy.check("http://aa-sim.local").is_err(), "still https only");
        assert!(policy.check("https://other.local").is_err());
        let open = self::policy("https://aa.example.com", &[], true);
        assert!(open.check("http://anything").is_ok());
    }
}
