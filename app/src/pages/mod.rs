pub mod audit;
pub mod errors;
pub mod home;
pub mod imports;
pub mod links;
pub mod manage;
pub mod password;
pub mod staff;
