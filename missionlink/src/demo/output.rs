//! What `missionlink demo` prints: the users, the missions, headers to paste, the refresh
//! tokens, the payout, as text for a person or as JSON.

use super::{DEMO_PASSWORD, Demo, DemoUser};
use serde_json::{Value, json};

impl Demo {
    fn users(&self) -> [(&'static str, &DemoUser); 3] {
        [
            ("streamer", &self.streamer),
            ("viewer", &self.viewer),
            ("viewer2", &self.viewer2),
        ]
    }

    /// Everything the demo made, as one JSON object (`missionlink demo --json`).
    pub fn to_json(&self) -> Value {
        let mut users = serde_json::Map::new();
        let mut headers = serde_json::Map::new();
        for (name, u) in self.users() {
            users.insert(
                name.into(),
                json!({ "id": u.id, "handle": u.handle, "email": u.email, "role": u.role,
                        "accessToken": u.access_token, "refreshToken": u.refresh_token }),
            );
            headers.insert(
                name.into(),
                json!({ "Authorization": format!("Bearer {}", u.access_token) }),
            );
        }
        let missions: serde_json::Map<String, Value> = self
            .missions
            .iter()
            .map(|(status, id, _)| ((*status).to_owned(), json!(id)))
            .collect();
        let p = &self.payout;
        json!({ "endpoint": self.endpoint, "password": DEMO_PASSWORD, "users": users,
                "missions": missions, "headers": headers,
                "payout": { "id": p.id, "amount": p.amount, "status": p.status,
                            "holdUntil": p.hold_until } })
    }

    /// The demo for a person at a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "MissionLink demo seeded on {}\n\nUsers (password for each: {DEMO_PASSWORD}):\n",
            self.endpoint
        );
        for (name, u) in self.users() {
            out += &format!(
                "  {name:<9} {:<14} {:<9} id {}  email {}\n",
                u.handle, u.role, u.id, u.email
            );
        }
        out += "  (the streamer registered itself: this instance runs with \
                STREAMER_SELF_REGISTRATION=true, a development setting)\n";
        out += "\nMissions of the streamer, one in every state:\n";
        for (status, id, title) in &self.missions {
            out += &format!("  {status:<10} {id}  {title}\n");
        }
        out += "  (VERIFYING: its backers may object until the instance's objection window \
                closes, OBJECTION_WINDOW_SECONDS after the demo; then it settles as SUCCEEDED.\n   \
                DISPUTED: both backers objected; an operator resolves it with resolveDispute, \
                as the walkthrough shows.)\n";
        let p = &self.payout;
        out += &format!(
            "\nThe streamer's payout of {} won: {} (id {}; it goes to the bank at {})\n",
            p.amount, p.status, p.id, p.hold_until
        );
        out += "\nGraphiQL headers (paste one into the Headers pane of ";
        out += &self.endpoint;
        out += "):\n";
        for (name, u) in self.users() {
            out += &format!(
                "  as {name} ({}):\n  {{\"Authorization\": \"Bearer {}\"}}\n",
                u.handle, u.access_token
            );
        }
        out += "\nAccess tokens expire after 15 minutes (a socket using one is then closed with 4401).\nFor a new one, run\n  mutation { refresh(refreshToken: \"<refreshToken>\") { accessToken refreshToken } }\nwith the user's refresh token below, or log in again with the email and password above:\n";
        for (name, u) in self.users() {
            out += &format!("  {name:<9} refreshToken {}\n", u.refresh_token);
        }
        out
    }
}
