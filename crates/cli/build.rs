//! Links the `sfn` binary for a fast cold start (`sfn validate` is run per file, by editors and
//! scripts). On GNU/Linux it is linked as a fixed-address executable (`-no-pie`, the last of the
//! linker driver's `-pie`/`-no-pie` wins; the libraries' position-independent code links into it as
//! is): a position-independent `sfn` made the loader apply ~66,000 relative relocations before `main`,
//! writing into every page of its 1.1 MB `.data.rel.ro` (copy-on-write faults). Measured with
//! `perf stat -r 40 -e task-clock,page-faults target/release/sfn validate fixtures/seed/run-job.asl.json`:
//! 617 page faults and 2.36 ms of CPU position-independent, 323 and 1.74 ms fixed (packing the
//! relocations instead, `-z pack-relative-relocs`, left 593 and 2.18 ms). The cost: the executable's own
//! code is not address-randomized (its libraries, heap and stacks still are). `SFN_LINK_PIE=1` at build
//! time links it position-independent.

fn main() {
    println!("cargo:rerun-if-env-changed=SFN_LINK_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let pie = std::env::var_os("SFN_LINK_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    if os == "linux" && env == "gnu" && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
