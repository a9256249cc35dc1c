//! The `tiller` command's integration tests, one binary: the commands as a user calls them, the
//! evaluation pipeline, and the committed steering vectors.

mod commands;
mod eval;
mod vectors;
