pub mod attachments;
pub mod forms;
pub mod layout;
pub mod list;
pub mod passkey;
pub mod time;
pub mod url;
pub mod users;
