//! The tests' own view of a security descriptor, as SDDL text through the Windows API, so
//! that what the crate sets is read back by other code than its own.
#![allow(unsafe_code)]

use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::ptr::null_mut;

use windows_sys::Win32::Foundation::{LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW, ConvertSidToStringSidW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, SDDL_REVISION_1,
    SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, SetFileSecurityW, TokenUser, DACL_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

fn wide(text: &std::ffi::OsStr) -> Vec<u16> {
    text.encode_wide().chain([0]).collect()
}

/// Reads a NUL-terminated UTF-16 string the API allocated, and frees it.
fn take(text: *mut u16) -> String {
    assert!(!text.is_null());
    // SAFETY: the API returned a NUL-terminated string; we read up to the NUL, then free it
    // with LocalFree as documented, once.
    unsafe {
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        s
    }
}

/// Owner and DACL of `path` in SDDL, e.g. `O:S-1-5-21-...D:P(A;;FA;;;S-1-5-21-...)`.
pub fn of(path: &Path) -> String {
    let name = wide(path.as_os_str());
    let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = null_mut();
    let mut text = null_mut();
    // SAFETY: `name` is NUL-terminated; the out pointers are valid; `sd` is freed below.
    unsafe {
        let status = GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            info,
            null_mut(),
            null_mut(),
            null_mut(),
            null_mut(),
            &mut sd,
        );
        assert_eq!(status, 0, "GetNamedSecurityInfoW {}", path.display());
        let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            info,
            &mut text,
            null_mut(),
        );
        LocalFree(sd);
        assert_ne!(ok, 0);
    }
    take(text)
}

/// Sets the DACL of `path` from SDDL (`D:P(A;;FA;;;WD)`).
pub fn set_dacl(path: &Path, sddl: &str) {
    let name = wide(path.as_os_str());
    let text = wide(std::ffi::OsStr::new(sddl));
    let mut sd: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: both strings are NUL-terminated; `sd` is allocated by the API and freed once.
    unsafe {
        let ok = ConvertStringSecurityDescriptorToSecurityDescriptorW(
            text.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            null_mut(),
        );
        assert_ne!(ok, 0, "bad SDDL {sddl}");
        let ok = SetFileSecurityW(name.as_ptr(), DACL_SECURITY_INFORMATION, sd);
        LocalFree(sd);
        assert_ne!(ok, 0, "SetFileSecurityW {}", path.display());
    }
}

/// The SID of the process token's user, `S-1-5-21-...`.
pub fn current_user() -> String {
    let mut token: HANDLE = null_mut();
    let mut buf = [0u64; 16];
    let mut len = 0;
    let mut text = null_mut();
    // SAFETY: valid out pointers; `buf` is writable and aligned for TOKEN_USER, whose SID
    // lies in it; the token handle is leaked (one per test, harmless).
    unsafe {
        assert_ne!(
            OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token),
            0
        );
        let size = std::mem::size_of_val(&buf) as u32;
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), size, &mut len);
        assert_ne!(ok, 0);
        let sid = (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid;
        assert_ne!(ConvertSidToStringSidW(sid, &mut text), 0);
    }
    take(text)
}

/// Whether this runs under Wine (its ntdll exports `wine_get_version`).
pub fn is_wine() -> bool {
    let ntdll = wide(std::ffi::OsStr::new("ntdll.dll"));
    // SAFETY: NUL-terminated names; ntdll is loaded in every process; nothing is called.
    unsafe {
        let module = GetModuleHandleW(ntdll.as_ptr());
        !module.is_null() && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
    }
}
