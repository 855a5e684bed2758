//! Every declared variable, in the order `--help` lists them, and the `--help` text.

use crate::Var;

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
