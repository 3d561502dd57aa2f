//! Integration tests over real HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod http;
mod sessions;
