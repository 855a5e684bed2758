//! Every declared variable, in the order `--help` lists them, and the `--help` text.

use crate::{Value, Var};

/// Every variable MissionLink reads, concern by concern.
pub fn variables() -> impl Iterator<Item = &'static Var> {
    [
        crate::process::VARIABLES,
        crate::http::VARIABLES,
        crate::databases::VARIABLES,
        crate::temporal::VARIABLES,
        crate::identity::VARIABLES,
        crate::channels::VARIABLES,
        crate::persons::VARIABLES,
        crate::missions::VARIABLES,
        crate::email::VARIABLES,
        crate::payouts::VARIABLES,
        crate::topups::VARIABLES,
        crate::integrations::VARIABLES,
    ]
    .into_iter()
    .flatten()
}

/// The `--help` text listing [`variables`]: name, meaning, default and range.
pub fn variables_help() -> String {
    let mut out = String::from("Environment (a .env file may supply it):\n");
    for var in variables() {
        let (name, meaning, default) = (var.name, var.help, var.default_text());
        out.push_str(&format!("  {name:<32} {meaning} [default: {default}]"));
        if let Some(range) = var.range_text() {
            out.push_str(&format!(" [range: {range}]"));
        }
        out.push('\n');
    }
    out
}

/// The README's configuration table, one row per variable in [`variables`]' order, printed
/// from the same declarations as [`variables_help`]: the README and `--help` say the same
/// thing because both are printed from here (a test keeps the README's copy current).
pub fn readme_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for var in variables() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            var.name,
            readme_default(var),
            var.help.replace('|', "\\|")
        ));
    }
    out
}

/// A variable's default (and range) as the README's table shows it.
fn readme_default(var: &Var) -> String {
    let default = match var.value {
        Value::Text("") => "empty".to_owned(),
        Value::Text(default) => format!("`{default}`"),
        Value::Int { default, .. } => format!("`{default}`"),
        Value::ByEnv { dev, production } => {
            format!("`{dev}` (dev), `{production}` (production)")
        }
        Value::Optional(unset) => format!("unset: {unset}"),
    };
    match var.range_text() {
        Some(range) => format!("{default} ({range})"),
        None => default,
    }
}
