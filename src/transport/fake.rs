//! An in-memory host for unit tests.
