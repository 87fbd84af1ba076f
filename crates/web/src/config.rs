//! Portal settings: read from a TOML file, then overridden by `COLLABO_*` environment
//! variables (the variable name is the field name in upper case). Every option is
//! documented where it is declared; `ServeConfig::default()` is the sample config.

use serde::Deserialize;
use std::path::PathBuf;

/// Settings of `collabo serve`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Database URL (`sqlite:collabo.db` or `postgres://…`). Env `COLLABO_DATABASE_URL`.
    pub database_url: String,
    /// 保険者番号 of the society to serve when the database holds several.
    pub insurer: Option<String>,
    /// Address to listen on. Env `COLLABO_LISTEN`. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Send cookies with `Secure` (HTTPS only). Turn off only for plain-HTTP localhost
    /// tests. Env `COLLABO_SECURE_COOKIES`.
    pub secure_cookies: bool,
    /// Idle-independent session lifetime in minutes. Default 480 (one working day).
    pub session_minutes: i64,
    /// Wrong second-factor (TOTP) codes in a row before the account is locked, counted
    /// across password logins. Wrong passwords never lock an account: they are
    /// throttled per account and client address (see `login_free_failures`). Default 5.
    pub lockout_failures: i64,
    /// Minutes an account stays locked. Default 15.
    pub lockout_minutes: i64,
    /// Failures of one account from one address (or, for the second factor, of one
    /// account or one address) answered without delay; after them each further failure
    /// doubles the wait before the next attempt is considered (1 s, 2 s, 4 s …).
    /// Default 3.
    pub login_free_failures: i64,
    /// The longest wait between two attempts, in seconds. Default 900 (15 minutes).
    pub login_max_delay_seconds: i64,
    /// Days an API token is valid from its issue. Default 90.
    pub token_days: i64,
    /// Uploads one employer's contacts may make per day (portal and API, accepted,
    /// repeated or refused alike); the society's staff are not limited. Default 50.
    pub employer_uploads_per_day: i64,
    /// The portal's own origin as browsers see it (`https://portal.example`). Form
    /// posts whose `Origin` header names another origin are refused. When unset, the
    /// `Origin` must match the request's `Host` header. Env `COLLABO_PUBLIC_ORIGIN`.
    pub public_origin: Option<String>,
    /// Addresses (or CIDR ranges such as `10.0.0.0/8`) of reverse proxies whose
    /// `X-Forwarded-For` header is trusted: behind them the audit log records the
    /// client's address, not the proxy's. Empty (default): the header is ignored.
    /// Env `COLLABO_TRUSTED_PROXIES` (comma-separated).
    pub trusted_proxies: Vec<String>,
    /// A separate address serving only `/metrics` (e.g. `127.0.0.1:9090`), without
    /// a token. Env `COLLABO_METRICS_LISTEN`.
    pub metrics_listen: Option<String>,
    /// A bearer token that opens `/metrics` on the main address. Without it (and
    /// by default) `/metrics` answers 404 there. Env `COLLABO_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// Largest upload accepted, in bytes. Default 50 MiB.
    pub max_upload_bytes: usize,
    /// The data folder: the audit key (`audit.key`) and anchor file
    /// (`audit-anchor.log`) live here, as for the command line. Env `COLLABO_DATA`.
    pub data_dir: PathBuf,
    /// Run as if today were this day (`collabo serve --date`): the clock is shifted
    /// so that every timestamp falls on it. Env `COLLABO_DATE`.
    pub date: Option<String>,
    /// Directory where uploaded letter templates (.typ) are stored; the letters crate
    /// reads overrides from here.
    pub templates_dir: PathBuf,
    /// Directory for prepared letter batches (PDF, mailing CSV).
    pub batches_dir: PathBuf,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            database_url: "sqlite:collabo.db".into(),
            insurer: None,
            listen: "127.0.0.1:8080".into(),
            secure_cookies: true,
            session_minutes: 480,
            lockout_failures: 5,
            lockout_minutes: 15,
            login_free_failures: 3,
            login_max_delay_seconds: 900,
            token_days: 90,
            employer_uploads_per_day: 50,
            public_origin: None,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            metrics_token: None,
            max_upload_bytes: 50 * 1024 * 1024,
            data_dir: PathBuf::from("collabo-data"),
            date: None,
            templates_dir: PathBuf::from("templates"),
            batches_dir: PathBuf::from("batches"),
        }
    }
}

/// A configuration file or variable that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// File.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("{file}: {message}")]
    Toml {
        /// File.
        file: String,
        /// What is wrong (with line and column).
        message: String,
    },
    /// An environment variable has a value of the wrong kind.
    #[error("environment variable {name}: {message}")]
    Env {
        /// Variable.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl ServeConfig {
    /// Reads a TOML file (all fields optional).
    pub fn from_toml(file: &str, text: &str) -> Result<ServeConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml {
            file: file.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads a file, or the defaults when `path` is `None`, then applies the environment.
    pub fn load(path: Option<&std::path::Path>) -> Result<ServeConfig, ConfigError> {
        let config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                    file: p.display().to_string(),
                    source,
                })?;
                ServeConfig::from_toml(&p.display().to_string(), &text)?
            }
            None => ServeConfig::default(),
        };
        config.with_env(|name| std::env::var(name).ok())
    }

    /// The trusted proxies, parsed; an entry that is no address or range is an error
    /// naming it.
    pub fn proxies(&self) -> Result<Vec<crate::client::IpRange>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                crate::client::IpRange::parse(p).ok_or_else(|| ConfigError::Env {
                    name: "trusted_proxies".into(),
                    message: format!("{p:?} is not an IP address or CIDR range"),
                })
            })
            .collect()
    }

    /// Applies `COLLABO_*` overrides read through `var` (injectable for tests).
    pub fn with_env(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, ConfigError> {
        fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError> {
            v.trim().parse().map_err(|_| ConfigError::Env {
                name: name.to_owned(),
                message: format!("{v:?} is not a number"),
            })
        }
        fn flag(name: &str, v: &str) -> Result<bool, ConfigError> {
            match v.trim() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                other => Err(ConfigError::Env {
                    name: name.to_owned(),
                    message: format!("{other:?} is not true/false"),
                }),
            }
        }
        if let Some(v) = var("COLLABO_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("COLLABO_INSURER") {
            self.insurer = Some(v);
        }
        if let Some(v) = var("COLLABO_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("COLLABO_SECURE_COOKIES") {
            self.secure_cookies = flag("COLLABO_SECURE_COOKIES", &v)?;
        }
        if let Some(v) = var("COLLABO_SESSION_MINUTES") {
            self.session_minutes = num("COLLABO_SESSION_MINUTES", &v)?;
        }
        if let Some(v) = var("COLLABO_LOCKOUT_FAILURES") {
            self.lockout_failures = num("COLLABO_LOCKOUT_FAILURES", &v)?;
        }
        if let Some(v) = var("COLLABO_LOCKOUT_MINUTES") {
            self.lockout_minutes = num("COLLABO_LOCKOUT_MINUTES", &v)?;
        }
        if let Some(v) = var("COLLABO_LOGIN_FREE_FAILURES") {
            self.login_free_failures = num("COLLABO_LOGIN_FREE_FAILURES", &v)?;
        }
        if let Some(v) = var("COLLABO_LOGIN_MAX_DELAY_SECONDS") {
            self.login_max_delay_seconds = num("COLLABO_LOGIN_MAX_DELAY_SECONDS", &v)?;
        }
        if let Some(v) = var("COLLABO_TOKEN_DAYS") {
            self.token_days = num("COLLABO_TOKEN_DAYS", &v)?;
        }
        if let Some(v) = var("COLLABO_EMPLOYER_UPLOADS_PER_DAY") {
            self.employer_uploads_per_day = num("COLLABO_EMPLOYER_UPLOADS_PER_DAY", &v)?;
        }
        if let Some(v) = var("COLLABO_PUBLIC_ORIGIN") {
            self.public_origin = Some(v.trim().trim_end_matches('/').to_owned());
        }
        if let Some(v) = var("COLLABO_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = var("COLLABO_METRICS_LISTEN") {
            self.metrics_listen = Some(v);
        }
        if let Some(v) = var("COLLABO_METRICS_TOKEN") {
            self.metrics_token = Some(v);
        }
        if let Some(v) = var("COLLABO_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = num("COLLABO_MAX_UPLOAD_BYTES", &v)?;
        }
        if let Some(v) = var("COLLABO_DATA") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("COLLABO_DATE") {
            self.date = Some(v);
        }
        if let Some(v) = var("COLLABO_TEMPLATES_DIR") {
            self.templates_dir = v.into();
        }
        if let Some(v) = var("COLLABO_BATCHES_DIR") {
            self.batches_dir = v.into();
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file() {
        let c = ServeConfig::from_toml(
            "c.toml",
            "listen = \"0.0.0.0:9000\"\nlockout_failures = 3\n",
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.lockout_failures, 3);
        let c = c
            .with_env(|n| (n == "COLLABO_LOCKOUT_FAILURES").then(|| "7".to_owned()))
            .unwrap();
        assert_eq!(c.lockout_failures, 7);
        assert!(c.secure_cookies);
    }

    #[test]
    fn proxies_are_read_from_a_comma_list_and_checked() {
        let c = ServeConfig::default()
            .with_env(|n| {
                (n == "COLLABO_TRUSTED_PROXIES").then(|| "10.0.0.1, 192.168.0.0/16".into())
            })
            .unwrap();
        assert_eq!(c.trusted_proxies, ["10.0.0.1", "192.168.0.0/16"]);
        assert_eq!(c.proxies().unwrap().len(), 2);
        let bad = ServeConfig {
            trusted_proxies: vec!["proxy.local".into()],
            ..ServeConfig::default()
        };
        assert!(bad.proxies().is_err());
    }

    #[test]
    fn unknown_keys_and_bad_numbers_are_errors() {
        assert!(ServeConfig::from_toml("c.toml", "lisen = 1").is_err());
        let err = ServeConfig::default()
            .with_env(|n| (n == "COLLABO_LOCKOUT_FAILURES").then(|| "ten".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("COLLABO_LOCKOUT_FAILURES"));
    }
}
