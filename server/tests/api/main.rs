//! Integration tests over real HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod cli;
mod http;
mod sessions;
