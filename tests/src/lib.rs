//! Helpers for end-to-end tests: locate the built binaries, start a real server.
