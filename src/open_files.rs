//! The open-file limit: every socket (a board, a console, a tracker) is a file. A process starts
//! under a soft limit (often 1024) below the hard limit the system allows it; the hub raises the
//! soft one to the hard one at start and says how many sockets that leaves.

/// Files the hub keeps for itself (the database, logs, listeners, models, outgoing connections)
/// before counting what is left for sockets.
pub const RESERVED: u64 = 256;

/// The soft and hard limits, as the system has them.
pub fn limits() -> Option<(u64, u64)> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0;
    ok.then_some((rl.rlim_cur, rl.rlim_max))
}

/// The most files Linux lets a process have, where the hard limit says "unlimited".
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Raises the soft limit to the hard one; answers the soft limit in force afterwards.
pub fn raise() -> Option<u64> {
    let (soft, hard) = limits()?;
    let target = if hard == libc::RLIM_INFINITY {
        nr_open().unwrap_or(soft)
    } else {
        hard
    };
    if soft >= target {
        return Some(soft);
    }
    let rl = libc::rlimit {
        rlim_cur: target,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct it is given; a refusal leaves the limits as they were.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } == 0 {
        Some(target)
    } else {
        Some(soft)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_is_raised_as_far_as_the_system_allows() {
        let (before, hard) = super::limits().expect("limits");
        let after = super::raise().expect("raised");
        assert!(after >= before && after <= hard, "{before} -> {after} (hard {hard})");
        assert_eq!(super::limits().map(|l| l.0), Some(after), "in force");
    }
}
