//! `/v1/orgs/{org}/bots`: one file per method, and the bot's identities.

mod create;
mod delete;
mod identities;
mod list;
mod update;
mod view;
