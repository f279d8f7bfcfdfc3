//! The ssh2 transport (see issue 3).
