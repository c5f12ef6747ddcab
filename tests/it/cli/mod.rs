//! The `sportello` command: the client keys it manages, and `sportello demo`, in-process and as a
//! separate process.

mod clients;
mod demo;
