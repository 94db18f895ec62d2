//! The allocator's one setting: blocks of 128 KiB and more are mapped on their own, and given
//! back to the system when freed.
//!
//! glibc maps large blocks on their own at first, then raises that threshold (up to 32 MiB)
//! each time such a block is freed, so that the dedup set's sorted arrays, hash tables and
//! scratch buffers, which grow and are freed once a window, end up in the heap's arenas, where
//! what is freed stays with the process. A fixed threshold keeps them out: at 1,000,000
//! records over 2 hours (a window of 500,000), peak RSS 54.8–56.5 → 52.5–52.7 MiB, and
//! 44.1–44.2 → 43.0–43.5 MiB at 100,000 over a day, in the same wall time (3 % more CPU in
//! the system, mapping and unmapping; BENCHMARKS.md).

/// The threshold, in bytes.
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Sets the threshold, unless the operator set it (`MALLOC_MMAP_THRESHOLD_`, read by glibc
/// itself). Call it first thing, before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes the allocator's parameters; called before any other
        // thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}
