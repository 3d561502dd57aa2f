//! Integration tests over real HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod accounts;
mod attachments;
mod audit;
mod business_hours;
mod cases;
mod catalog;
mod changes;
mod cli;
mod communications;
mod followers;
mod forms;
mod hardening;
mod home;
mod http;
mod imap;
mod imports;
mod inbound;
mod invitations;
mod kb;
mod mail;
mod manage;
mod passkeys;
mod reviews;
mod schema;
mod scim;
mod search;
mod second_factor;
mod sessions;
mod sso;
mod storage;
