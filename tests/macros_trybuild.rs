//! Pins what `#[runtime::main]` and `#[runtime::test]` accept, and the compile errors they
//! give for misuse: each `fail/` case has its expected error in the `.stderr` beside it.
//!
//! After changing a message, regenerate the files with
//! `TRYBUILD=overwrite cargo test --test macros_trybuild` and review the carets.

#[test]
fn macros_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
