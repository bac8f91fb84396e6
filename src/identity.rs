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
