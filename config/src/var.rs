//! How a variable is declared ([`Var`]) and read ([`Env`]).
//!
//! A [`Var`] is the one place a variable's name, default, range and meaning are written:
//! parsing reads its value through [`Env`], which falls back on the declared default and
//! refuses a value outside the declared range, and `--help` prints the same declaration
//! ([`crate::variables_help`]).

use crate::{AppEnv, ConfigError, err};
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// One environment variable.
#[derive(Clone, Copy, Debug)]
pub struct Var {
    pub name: &'static str,
    pub value: Value,
    /// What it means, for `--help`.
    pub help: &'static str,
}

/// A variable's value when it is unset (or blank), and what it may be.
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// Text, this when unset.
    Text(&'static str),
    /// An integer, `default` when unset; refused outside `min..=max`.
    Int { default: i64, min: i64, max: i64 },
    /// Text whose default depends on `APP_ENV`.
    ByEnv {
        dev: &'static str,
        production: &'static str,
    },
    /// No default: unset means what this says (shown by `--help`).
    Optional(&'static str),
}

impl Var {
    /// Text with a default.
    pub const fn text(name: &'static str, default: &'static str, help: &'static str) -> Self {
        Self {
            name,
            value: Value::Text(default),
            help,
        }
    }

    /// An integer with a default and a range.
    pub const fn int(
        name: &'static str,
        default: i64,
        range: RangeInclusive<i64>,
        help: &'static str,
    ) -> Self {
        Self {
            name,
            value: Value::Int {
                default,
                min: *range.start(),
                max: *range.end(),
            },
            help,
        }
    }

    /// Text whose default is `dev` when `APP_ENV=dev`, `production` when `APP_ENV=production`.
    pub const fn by_env(
        name: &'static str,
        dev: &'static str,
        production: &'static str,
        help: &'static str,
    ) -> Self {
        Self {
            name,
            value: Value::ByEnv { dev, production },
            help,
        }
    }

    /// No default; `unset` says what its absence means.
    pub const fn optional(name: &'static str, unset: &'static str, help: &'static str) -> Self {
        Self {
            name,
            value: Value::Optional(unset),
            help,
        }
    }

    /// The default as `--help` shows it.
    pub fn default_text(&self) -> Cow<'static, str> {
        match self.value {
            Value::Text(default) => Cow::Borrowed(default),
            Value::Int { default, .. } => Cow::Owned(default.to_string()),
            Value::ByEnv { dev, production } => {
                Cow::Owned(format!("{dev} (dev), {production} (production)"))
            }
            Value::Optional(unset) => Cow::Owned(format!("({unset})")),
        }
    }

    /// The range as `--help` shows it, if the variable has one.
    pub fn range_text(&self) -> Option<String> {
        match self.value {
            Value::Int { min, max, .. } => Some(format!("{min} to {max}")),
            _ => None,
        }
    }
}

/// The value as an http(s) URL with a host, without a trailing `/` (an API's base, to which paths
/// are appended). Production wants https, or plain http to a loopback address
/// ([`crate::Config::validate`]).
pub(crate) fn http_url(raw: String) -> Result<String, String> {
    match url::Url::parse(&raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err(format!("{raw:?} is not an http(s) URL")),
    }
}

/// The variables' values: a lookup function (the process environment, or a test's map) and
/// the declarations' defaults. `APP_ENV` is read first, as other defaults depend on it.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub app_env: AppEnv,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Self {
            lookup,
            app_env: AppEnv::Dev,
        };
        env.app_env = crate::process::app_env(&env)?;
        Ok(env)
    }

    /// The value as set, blank or not; `None` when unset.
    pub fn raw(&self, var: &Var) -> Option<String> {
        (self.lookup)(var.name)
    }

    /// The value as set, `None` when unset or blank.
    pub fn set(&self, var: &Var) -> Option<String> {
        self.raw(var).filter(|v| !v.trim().is_empty())
    }

    /// The value, or the declared default (empty for a variable without one).
    pub fn text(&self, var: &Var) -> String {
        self.set(var).unwrap_or_else(|| match var.value {
            Value::ByEnv { dev, production } => match self.app_env {
                AppEnv::Dev => dev.to_owned(),
                AppEnv::Production => production.to_owned(),
            },
            Value::Optional(_) => String::new(),
            Value::Text(_) | Value::Int { .. } => var.default_text().into_owned(),
        })
    }

    /// An integer within the declared range, as `T`.
    pub fn int<T: TryFrom<i64>>(&self, var: &Var) -> Result<T, ConfigError> {
        let name = var.name;
        let Value::Int { min, max, .. } = var.value else {
            return Err(err(name, "is not declared as an integer"));
        };
        let raw = self.text(var);
        let value: i64 = raw
            .trim()
            .parse()
            .map_err(|_| err(name, format!("{raw:?} is not an integer")))?;
        if !(min..=max).contains(&value) {
            return Err(err(name, format!("{value} is outside {min}..={max}")));
        }
        T::try_from(value).map_err(|_| err(name, "out of range"))
    }

    /// `true` or `false`, in any letter case (the value, or the declared default).
    pub fn flag(&self, var: &Var) -> Result<bool, ConfigError> {
        self.parse(var, |raw| match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("{other:?} is neither true nor false")),
        })
    }

    /// The value (or default) parsed by `parse`, whose refusal names the variable.
    pub fn parse<T>(
        &self,
        var: &Var,
        parse: impl FnOnce(String) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(self.text(var)).map_err(|problem| err(var.name, problem))
    }

    /// The value, if set, parsed by `parse`, whose refusal names the variable.
    pub fn optional<T>(
        &self,
        var: &Var,
        parse: impl FnOnce(String) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.set(var)
            .map(parse)
            .transpose()
            .map_err(|problem| err(var.name, problem))
    }
}
