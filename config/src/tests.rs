//! The configuration's behaviour: defaults, refusals that name their variable, and the
//! declarations `--help` and the README list.

use crate::{Config, ConfigError, EmailTransport};
use missionlink_workflows::bank::{BankChoice, SandboxOutcome};
use missionlink_workflows::payments::PaymentChoice;
use std::collections::HashMap;

/// The least a production configuration needs: a JWT secret, an identity hash key and a public
/// URL (shared by the sections' own tests).
pub(crate) const PRODUCTION: [(&str, &str); 4] = [
    ("APP_ENV", "production"),
    ("JWT_SECRET", "ssssssssssssssssssssssssssssssssssss"),
    ("IDENTITY_HASH_KEY", "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"),
    ("PUBLIC_URL", "https://api.example.com"),
];

/// [`PRODUCTION`] with `extra` on top: a variable in `extra` replaces the base's.
pub(crate) fn production(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut vars = PRODUCTION.to_vec();
    vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    vars.extend_from_slice(extra);
    config(&vars)
}

/// The configuration from `vars` alone (shared by the sections' own tests).
pub(crate) fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_follow_the_contract() {
    let c = config(&[]).unwrap();
    assert_eq!(c.http.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(c.databases.users_url, "sqlite://data/users.db?mode=rwc");
    assert_eq!(
        c.databases.missions_url,
        "sqlite://data/missions.db?mode=rwc"
    );
    assert_eq!(c.temporal.task_queue, "missions");
    assert_eq!(c.identity.signup_points, 1_000);
    assert_eq!(c.missions.pledge_max_won, 3_000_000);
    assert_eq!(c.email.transport, EmailTransport::File);
    assert_eq!(c.identity.jwt_secret.len(), 32);
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let e = config(&[("APP_ENV", "production")]).unwrap_err();
    assert_eq!(e.variable, "JWT_SECRET");
    assert!(production(&[]).is_ok());
}

#[test]
fn a_bad_trusted_proxy_is_named() {
    let e = config(&[("CORS_ALLOWED_ORIGINS", "*")]).unwrap_err();
    assert_eq!(e.variable, "CORS_ALLOWED_ORIGINS");
    let e = config(&[("TRUSTED_PROXIES", "10.0.0.0/16, alb")]).unwrap_err();
    assert_eq!(e.variable, "TRUSTED_PROXIES");
    assert!(e.problem.contains("alb"), "{e}");
    assert!(config(&[("TRUSTED_PROXIES", "10.0.0.0/16,fd00::/8")]).is_ok());
}

#[test]
fn payouts_default_to_the_sandbox_in_dev_and_refuse_it_in_production() {
    let c = config(&[]).unwrap();
    assert_eq!(c.payouts.min_won, 10_000);
    assert_eq!(c.payouts.fee_won, 0);
    assert_eq!(c.payouts.hold_seconds, 3_600);
    assert_eq!(c.payouts.bank, BankChoice::Sandbox(SandboxOutcome::Succeed));
    let prod = production(&[]).unwrap();
    assert_eq!(prod.payouts.bank, BankChoice::None);
    let e = production(&[("BANK_PROVIDER", "sandbox")]).unwrap_err();
    assert_eq!(e.variable, "BANK_PROVIDER");
    assert!(
        e.problem.contains("no real bank provider exists yet"),
        "{e}"
    );
    assert_eq!(
        config(&[("BANK_SANDBOX_OUTCOME", "maybe")])
            .unwrap_err()
            .variable,
        "BANK_SANDBOX_OUTCOME"
    );
    assert_eq!(
        config(&[("PAYOUT_FEE_WON", "10000")]).unwrap_err().variable,
        "PAYOUT_FEE_WON"
    );
    assert_eq!(
        config(&[
            ("GOAL_FUNDING_MIN_SECONDS", "700"),
            ("GOAL_FUNDING_MAX_SECONDS", "600")
        ])
        .unwrap_err()
        .variable,
        "GOAL_FUNDING_MIN_SECONDS"
    );
}

#[test]
fn top_ups_default_to_the_sandbox_in_dev_and_refuse_it_in_production() {
    let c = config(&[]).unwrap();
    assert_eq!(c.topups.provider, Some(PaymentChoice::Sandbox));
    assert_eq!(c.topups.rules.daily_limit_won, 1_000_000);
    assert_eq!(c.topups.rules.withdrawal_days, 7);
    let prod = production(&[]).unwrap();
    assert_eq!(prod.topups.provider, None);
    let e = production(&[("PAYMENT_PROVIDER", "sandbox")]).unwrap_err();
    assert_eq!(e.variable, "PAYMENT_PROVIDER");
    let e = production(&[("PAYMENT_PROVIDER", "toss")]).unwrap_err();
    assert_eq!(e.variable, "TOSS_SECRET_KEY");
    let webhook = "w".repeat(32);
    let toss = production(&[
        ("PAYMENT_PROVIDER", "toss"),
        ("TOSS_SECRET_KEY", "live_sk_x"),
        ("TOSS_WEBHOOK_SECRET", &webhook),
    ])
    .unwrap();
    assert_eq!(toss.topups.provider.map(|p| p.name()), Some("toss"));
    assert_eq!(
        config(&[("TOPUP_DAILY_LIMIT_WON", "0")])
            .unwrap_err()
            .variable,
        "TOPUP_DAILY_LIMIT_WON"
    );
}

#[test]
fn production_refuses_the_development_conveniences_that_undo_who_is_who() {
    let defaults = production(&[]);
    assert!(defaults.is_ok(), "{defaults:?}");
    for (name, value) in [
        ("STREAMER_SELF_REGISTRATION", "true"),
        ("EMAIL_VERIFICATION_REQUIRED", "false"),
        ("TOPUP_REQUIRES_IDENTITY", "false"),
    ] {
        assert_eq!(production(&[(name, value)]).unwrap_err().variable, name);
    }
}

#[test]
fn production_needs_a_public_url_and_links_never_follow_the_request() {
    let secret = "s".repeat(32);
    let prod = [
        ("APP_ENV", "production"),
        ("JWT_SECRET", secret.as_str()),
        ("IDENTITY_HASH_KEY", "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"),
    ];
    assert_eq!(config(&prod).unwrap_err().variable, "PUBLIC_URL");
    let with = |url: &'static str| {
        let mut vars = prod.to_vec();
        vars.push(("PUBLIC_URL", url));
        config(&vars)
    };
    assert_eq!(
        with("https://live.example.com/")
            .unwrap()
            .http
            .public_url
            .as_deref(),
        Some("https://live.example.com")
    );
    assert_eq!(
        with("https://example.com/missionlink/")
            .unwrap()
            .http
            .public_url
            .as_deref(),
        Some("https://example.com/missionlink")
    );
    for bad in [
        "live.example.com",
        "ftp://live.example.com",
        "https://user@live.example.com",
        "https://live.example.com/?a=b",
        "https://live.example.com/#x",
    ] {
        assert_eq!(with(bad).unwrap_err().variable, "PUBLIC_URL", "{bad}");
    }
    // Dev: optional; unset, links name the address the API listens on.
    assert_eq!(config(&[]).unwrap().http.public_url, None);
    assert_eq!(
        config(&[("PUBLIC_URL", "http://127.0.0.1:8080")])
            .unwrap()
            .http
            .public_url
            .as_deref(),
        Some("http://127.0.0.1:8080")
    );
}

#[test]
fn short_secrets_and_bad_numbers_are_named() {
    assert_eq!(
        config(&[("JWT_SECRET", "short")]).unwrap_err().variable,
        "JWT_SECRET"
    );
    assert_eq!(
        config(&[("PLATFORM_FEE_BPS", "10001")])
            .unwrap_err()
            .variable,
        "PLATFORM_FEE_BPS"
    );
    assert_eq!(
        config(&[("PLEDGE_MIN", "ten")]).unwrap_err().variable,
        "PLEDGE_MIN"
    );
}

/// The README's configuration table is the one `--help`'s declarations print, variable by
/// variable: the same meaning, default and range in both (issue 30, item 10).
/// `UPDATE_README=1` writes the current table into the README.
#[test]
fn the_readme_table_says_what_help_says() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("the README");
    let start = readme
        .find("| variable | default | meaning |")
        .expect("the README's configuration table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |i| start + i + 1);
    let want = crate::readme_table();
    if readme[start..end] == want {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{want}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).expect("write the README");
        return;
    }
    let written: Vec<&str> = readme[start..end].lines().collect();
    for row in want.lines().filter(|row| !written.contains(row)) {
        eprintln!("README lacks or differs: {row}");
    }
    panic!(
        "the README's configuration table is not --help's: run UPDATE_README=1 cargo test -p missionlink-config"
    );
}

/// Every variable's meaning, default and range are in `--help`'s text as declared.
#[test]
fn help_prints_every_declaration() {
    let help = crate::variables_help();
    for var in crate::variables() {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", var.name)))
            .unwrap_or_else(|| panic!("{} not in --help", var.name));
        assert!(line.contains(var.help), "{}'s meaning", var.name);
        assert!(
            line.contains(&*var.default_text()),
            "{}'s default",
            var.name
        );
        if let Some(range) = var.range_text() {
            assert!(line.contains(&range), "{}'s range", var.name);
        }
    }
}

/// Each variable is declared once, says what it means, and its default is within its range.
#[test]
fn every_declaration_is_whole() {
    let mut names = std::collections::HashSet::new();
    for var in crate::variables() {
        assert!(names.insert(var.name), "{} declared twice", var.name);
        assert!(!var.help.is_empty(), "{} has no meaning", var.name);
        if let crate::Value::Int { default, min, max } = var.value {
            assert!((min..=max).contains(&default), "{}'s default", var.name);
        }
    }
}

/// Every variable the configuration reads is declared (so `--help` lists it), and every
/// declared variable is read (but the trace exporter's, which `missionlink-telemetry` reads).
#[test]
fn every_variable_read_is_declared_and_every_declared_one_is_read() {
    let secret = "s".repeat(32);
    let setups: [&[(&str, &str)]; 3] = [
        &[],
        &[("BANK_PROVIDER", "sandbox"), ("PAYMENT_PROVIDER", "toss")],
        &[
            ("APP_ENV", "production"),
            ("JWT_SECRET", &secret),
            ("IDENTITY_HASH_KEY", "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"),
            ("PUBLIC_URL", "https://api.example.com"),
            ("PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "live_sk_x"),
            ("TOSS_WEBHOOK_SECRET", &secret),
        ],
    ];
    let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
    for vars in setups {
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        });
    }
    let read = read.into_inner();
    let declared: std::collections::BTreeSet<String> =
        crate::variables().map(|v| v.name.to_owned()).collect();
    let undeclared: Vec<&String> = read.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "read but not declared: {undeclared:?}"
    );
    let unread: Vec<&String> = declared
        .difference(&read)
        .filter(|name| *name != "OTEL_EXPORTER_OTLP_ENDPOINT")
        .collect();
    assert!(unread.is_empty(), "declared but never read: {unread:?}");
}

/// `--help` shows each variable's default and, for integers, its range.
#[test]
fn help_shows_defaults_and_ranges() {
    let help = crate::variables_help();
    let line = |name: &str| {
        help.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in --help"))
            .to_owned()
    };
    assert!(line("PLEDGE_MIN").ends_with("[default: 1000] [range: 1 to 2147483647]"));
    assert!(line("HTTP_ADDR").ends_with("[default: 127.0.0.1:8080]"));
    assert!(line("BANK_PROVIDER").ends_with("[default: sandbox (dev), none (production)]"));
    assert!(line("JWT_SECRET").ends_with(
        "[default: (generated per process when `APP_ENV=dev`; required (≥ 32 bytes) in production)]"
    ));
}

#[test]
fn cors_allows_loopback_origins_by_default_only_outside_production() {
    let dev = config(&[]).unwrap().http.cors_allowed_origins;
    assert!(dev.allows("http://localhost:5173") && dev.allows_loopback());
    assert!(!dev.allows("https://app.example.com"));
    let production = production(&[]).unwrap().http.cors_allowed_origins;
    assert!(production.is_empty(), "{production:?}");
    let none = config(&[("CORS_ALLOWED_ORIGINS", "none")])
        .unwrap()
        .http
        .cors_allowed_origins;
    assert!(!none.allows("http://localhost:5173"));
    let listed = config(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")])
        .unwrap()
        .http
        .cors_allowed_origins;
    assert!(listed.allows("https://app.example.com") && !listed.allows("http://localhost:5173"));
}
