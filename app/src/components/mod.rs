pub mod forms;
pub mod layout;
pub mod time;
pub mod users;
