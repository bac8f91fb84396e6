//! Who the current user is, for ownership rules.

/// The current user: `WRITEBACK_USER` if set and not empty, else the operating-system user.
pub fn current_user() -> String {
    if let Some(u) = std::env::var("WRITEBACK_USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return u.trim().to_owned();
    }
    os_user().unwrap_or_else(|| format!("uid{}", unsafe { libc::getuid() }))
}

fn os_user() -> Option<String> {
    // SAFETY: getpwuid_r writes only into the buffers we pass it and the passwd struct.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return std::env::var("USER").ok().filter(|u| !u.is_empty());
        }
        Some(
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// This process as run records name it: `PID:START`, where START is the process's start time in
/// clock ticks since boot (`/proc/PID/stat`, field 22). The PID alone is not enough: after a
/// crash a new process may get the same PID (a service in a container is PID 1 every time), and
/// it would take the dead process's runs for its own.
pub fn process_identity() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let pid = std::process::id();
        format!("{pid}:{}", start_time(pid).unwrap_or(0))
    })
}

/// Whether the process a run record names is still running (and is the same process).
pub fn process_alive(identity: &str) -> bool {
    if identity == process_identity() {
        return true;
    }
    let Some((pid, start)) = identity.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    start_time(pid) == Some(start)
}

/// The start time of process `pid` in clock ticks since boot, if it exists.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_identity_tells_live_from_dead_and_reused() {
        let me = process_identity();
        assert!(process_alive(me));
        let (pid, start) = me.split_once(':').unwrap();
        assert_ne!(start, "0", "the start time is read from /proc");
        // Same PID, another start time: a process that reused the PID of a dead one.
        let start: u64 = start.parse().unwrap();
        assert!(!process_alive(&format!("{pid}:{}", start + 1)));
        // A child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(&format!("{pid}:1")));
        assert!(!process_alive("garbage"));
    }
}
