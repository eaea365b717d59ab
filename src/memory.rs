//! How the process gives memory back. glibc's allocator raises its "allocate large blocks
//! with mmap" threshold each time such a block is freed (up to 32 MiB), after which large blocks
//! come from its heaps and stay there when freed: every password hash (argon2 takes 19 MiB), a
//! burst of trackers' batches, the demo's seeding left tens of megabytes held by an idle hub
//! (161 MB idle after the first start with the demo, 86 MB with this; measured in the #13 note).
//! A fixed threshold of 1 MiB keeps large blocks mapped apart, returned to the system when
//! freed; small ones are unaffected.

/// Blocks from this size up are mapped apart and returned when freed.
const LARGE_BLOCK: i32 = 1 << 20;

/// Called first thing in `main`, before the runtime's threads allocate.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets the allocator's parameter; called before other threads exist.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK) };
    }
}
