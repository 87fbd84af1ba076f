//! Integration tests of collabo-checkup.
