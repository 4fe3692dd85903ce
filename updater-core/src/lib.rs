pub mod tuf;
