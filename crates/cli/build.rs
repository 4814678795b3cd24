//! Links the `sfn` binary for a fast cold start: on GNU/Linux its relative relocations are packed
//! (`-z pack-relative-relocs`, DT_RELR: glibc 2.36 and binutils 2.38 or later). The loader of a
//! position-independent binary applies every relative relocation before `main`; the ~66,000 of this
//! binary took 1.6 MB of `.rela.dyn` to read (page faults) and walk, and packed they take a few
//! kilobytes. The binary stays position-independent (ASLR); only the table's encoding changes.
//! `SFN_NO_RELR=1` links without it (an older linker or glibc).

fn main() {
    println!("cargo:rerun-if-env-changed=SFN_NO_RELR");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let off = std::env::var_os("SFN_NO_RELR").is_some_and(|v| !v.is_empty() && v != "0");
    if os == "linux" && env == "gnu" && !off {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
