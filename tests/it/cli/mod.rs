//! The `sportello` command: the client keys it manages, `sportello demo` (in-process and as a
//! separate process), and `sportello serve` as an admin runs it (with its secrets, log, connection
//! limits and the commands that rotate credentials and erase a requester's data).

mod clients;
mod demo;
mod serve;
