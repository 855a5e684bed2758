//! SeaORM entities of MissionLink, one module per database.
//!
//! `users` maps the identity database, `missions` the money database. Nothing here relates an
//! entity of one database to an entity of the other: ids that cross (a user id on an account)
//! are plain strings, never foreign keys or joins. These are data shapes only; rules about how
//! rows may change live in `missionlink-ledger` (money) and `missionlink-identity` (users).

mod text_enum;

pub mod missions;
pub mod users;
