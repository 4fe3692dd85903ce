//! Windows: the owner SID and the DACL, through the security API. The one module with unsafe
//! code: each call copies what the OS returns into bytes that `acl.rs` reads with safe code.
//! Files are opened with std (by handle, so each check reads one object, not a path that
//! could change between two calls).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::{Component, Path, PathBuf, Prefix};
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::{LocalFree, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    GetLengthSid, GetTokenInformation, LookupAccountSidW, SetKernelObjectSecurity, TokenUser, ACL,
    DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR, PSID, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    READ_CONTROL, WRITE_DAC,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::acl::{self, Descriptor, Sid};
use crate::{Exposure, ProblemKind, Role};

pub(crate) fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let file = open(path, WRITE_DAC | READ_CONTROL, true)?;
    let dir = file.metadata()?.is_dir();
    let sd = Aligned::new(&acl::owner_only_descriptor(&current_user()?, dir));
    // Not SetSecurityInfo: it merges the parent's inheritable ACEs into the DACL under Wine 8
    // despite PROTECTED_DACL_SECURITY_INFORMATION. This sets the descriptor as given, on
    // Windows and Wine alike (and, unlike SetSecurityInfo on Windows, does not touch what a
    // directory already holds).
    // SAFETY: the handle is open with WRITE_DAC; `sd` holds a well-formed self-relative
    // descriptor (acl.rs) in 4-aligned memory that outlives the call.
    let ok = unsafe {
        SetKernelObjectSecurity(
            file.as_raw_handle(),
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            sd.as_ptr().cast_mut(),
        )
    };
    if ok == 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot set an owner-only DACL: {e}"),
        ));
    }
    Ok(())
}

pub(crate) fn create_owner_only(path: &Path) -> io::Result<File> {
    // Created with its DACL: no moment where the inherited one applies.
    let sd = Aligned::new(&acl::owner_only_descriptor(&current_user()?, false));
    let name = wide(path)?;
    let attributes = SECURITY_ATTRIBUTES {
        nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.as_ptr().cast_mut().cast::<c_void>(),
        bInheritHandle: 0,
    };
    // SAFETY: `name` is NUL-terminated UTF-16; `attributes` and the self-relative
    // descriptor it points to (well-formed, acl.rs) live across the call; no template.
    let handle = unsafe {
        CreateFileW(
            name.as_ptr(),
            GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            &attributes,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL,
            null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CreateFileW succeeded, so `handle` is an open file handle that nothing else
    // owns or closes.
    Ok(File::from(unsafe { OwnedHandle::from_raw_handle(handle) }))
}

pub(crate) fn check_owner_only(path: &Path) -> Result<(), Exposure> {
    let unknown = |e: io::Error| Exposure::Unknown {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let file = open(path, READ_CONTROL, true).map_err(unknown)?;
    let dir = file.metadata().map_err(unknown)?.is_dir();
    let sd = descriptor(&file).map_err(unknown)?;
    let user = current_user().map_err(unknown)?;
    let system = Sid::parse(&SYSTEM_SID);
    let mut allowed = vec![&user];
    allowed.extend(system.as_ref());
    allowed.extend(sd.owner.as_ref());
    let grants = acl::shared_with(&sd, &allowed, dir, &account_name);
    if grants.is_empty() {
        return Ok(());
    }
    Err(Exposure::Shared {
        path: path.to_path_buf(),
        grants,
        mode: None,
    })
}

/// S-1-5-18 as bytes.
const SYSTEM_SID: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];

pub(crate) fn component_problems(path: &Path, role: Role) -> io::Result<Vec<ProblemKind>> {
    let file = open(path, READ_CONTROL, true)?;
    let dir = file.metadata()?.is_dir();
    Ok(acl::admin_problems(
        &descriptor(&file)?,
        role,
        dir,
        &account_name,
    ))
}

/// A problem when the link (symlink or junction) `path` is not an administrator's.
pub(crate) fn link_problem(path: &Path) -> io::Result<Option<ProblemKind>> {
    let link = open(path, READ_CONTROL, false)?;
    Ok(match descriptor(&link)?.owner {
        Some(owner) if owner.is_admin() => None,
        owner => Some(ProblemKind::LinkOwner {
            owner: owner.map_or_else(|| "no one".into(), |o| account_name(&o)),
        }),
    })
}

pub(crate) fn program_data_dir() -> io::Result<PathBuf> {
    known_folders::get_known_folder_path(known_folders::KnownFolder::ProgramData)
        .ok_or_else(|| io::Error::other("Windows did not give the ProgramData folder"))
}

/// `C:\x` for `\\?\C:\x` (what canonicalize returns), as an administrator would write it.
pub(crate) fn display_path(path: &Path) -> PathBuf {
    let mut components = path.components();
    match components.next() {
        Some(Component::Prefix(p)) => match p.kind() {
            Prefix::VerbatimDisk(letter) => {
                let mut plain = PathBuf::from(format!("{}:\\", char::from(letter)));
                plain.extend(components.filter(|c| !matches!(c, Component::RootDir)));
                plain
            }
            _ => path.to_path_buf(),
        },
        _ => path.to_path_buf(),
    }
}

/// Opens `path` for its security information; directories too, and with `follow` false the
/// link itself rather than its target.
fn open(path: &Path, access: u32, follow: bool) -> io::Result<File> {
    let mut flags = FILE_FLAG_BACKUP_SEMANTICS;
    if !follow {
        flags |= FILE_FLAG_OPEN_REPARSE_POINT;
    }
    OpenOptions::new()
        .access_mode(access)
        .custom_flags(flags)
        .open(path)
}

/// A path for CreateFileW: NUL-terminated UTF-16, in the `\\?\` form when long (std does
/// the same for its own calls).
fn wide(path: &Path) -> io::Result<Vec<u16>> {
    let mut path = std::path::absolute(path)?;
    if path.as_os_str().len() > 247 && path.to_str().is_some_and(|p| p.get(1..2) == Some(":")) {
        let mut verbatim = std::ffi::OsString::from(r"\\?\");
        verbatim.push(path.as_os_str());
        path = verbatim.into();
    }
    let mut wide: Vec<u16> = path.as_os_str().encode_wide().collect();
    if wide.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"));
    }
    wide.push(0);
    Ok(wide)
}

/// Bytes in 4-aligned memory, as the OS wants an ACL, a SID or a descriptor.
struct Aligned(Vec<u32>);

impl Aligned {
    fn new(bytes: &[u8]) -> Aligned {
        Aligned(
            bytes
                .chunks(4)
                .map(|c| {
                    let mut word = [0u8; 4];
                    word.iter_mut().zip(c).for_each(|(w, b)| *w = *b);
                    u32::from_ne_bytes(word)
                })
                .collect(),
        )
    }

    fn as_ptr(&self) -> *const c_void {
        self.0.as_ptr().cast()
    }
}

/// Frees what the security API allocated with LocalAlloc.
struct LocalBox(*mut c_void);

impl Drop for LocalBox {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer came from an API that allocates with LocalAlloc and is freed
            // here only, once.
            unsafe { LocalFree(self.0) };
        }
    }
}

/// The owner and DACL of an open file (opened with READ_CONTROL).
fn descriptor(file: &File) -> io::Result<Descriptor> {
    let mut owner: PSID = null_mut();
    let mut dacl: *mut ACL = null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: the handle is open; every out pointer is a valid local. On success `sd` is a
    // LocalAlloc'd descriptor that `owner` and `dacl` point into (freed by `_sd` after the
    // copies below).
    let status = unsafe {
        GetSecurityInfo(
            file.as_raw_handle(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            null_mut(),
            &mut dacl,
            null_mut(),
            &mut sd,
        )
    };
    if status != 0 {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let _sd = LocalBox(sd);
    let owner = (!owner.is_null()).then(|| copy_sid(owner)).flatten();
    let dacl = if dacl.is_null() {
        None
    } else {
        // SAFETY: `dacl` points at a valid ACL inside the live descriptor, and the ACL's
        // AclSize bytes all lie within it.
        let bytes = unsafe {
            std::slice::from_raw_parts(dacl.cast::<u8>(), usize::from((*dacl).AclSize)).to_vec()
        };
        Some(acl::parse_acl(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?)
    };
    Ok(Descriptor { owner, dacl })
}

/// A copy of the SID that `sid` (valid, from the OS) points at.
fn copy_sid(sid: PSID) -> Option<Sid> {
    // SAFETY: `sid` points at a valid SID, whose size GetLengthSid gives.
    let bytes = unsafe {
        std::slice::from_raw_parts(sid.cast::<u8>(), GetLengthSid(sid) as usize).to_vec()
    };
    Sid::parse(&bytes)
}

/// The user of the process token.
fn current_user() -> io::Result<Sid> {
    let mut token: HANDLE = null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `token` is a
    // valid out pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: OpenProcessToken succeeded: `token` is a handle we own and close once.
    let token = unsafe { OwnedHandle::from_raw_handle(token) };
    // TOKEN_USER and the SID it points to; 8-aligned for the struct's pointer.
    let mut buf = [0u64; 16];
    let mut len = 0u32;
    // SAFETY: `buf` is writable for the size passed and aligned for TOKEN_USER; `len` is a
    // valid out pointer.
    let ok = unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            TokenUser,
            buf.as_mut_ptr().cast(),
            size_of_val(&buf) as u32,
            &mut len,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success `buf` starts with a TOKEN_USER whose SID lies in `buf`.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    copy_sid(sid).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed user SID"))
}

/// `BUILTIN\Users (S-1-5-32-545)`, or the SID alone when it names no account.
fn account_name(sid: &Sid) -> String {
    let bytes = Aligned::new(sid.as_bytes());
    let (mut name, mut domain) = ([0u16; 256], [0u16; 256]);
    let (mut name_len, mut domain_len) = (name.len() as u32, domain.len() as u32);
    let mut kind = 0;
    // SAFETY: `bytes` holds a well-formed SID (acl.rs); each buffer is writable for the
    // length passed with it; the out pointers are valid locals.
    let ok = unsafe {
        LookupAccountSidW(
            null(),
            bytes.as_ptr().cast_mut(),
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    let text =
        |buf: &[u16], len: u32| String::from_utf16_lossy(buf.get(..len as usize).unwrap_or(&[]));
    match (ok, text(&domain, domain_len), text(&name, name_len)) {
        (0, _, _) => sid.to_string(),
        (_, domain, name) if domain.is_empty() => format!("{name} ({sid})"),
        (_, domain, name) => format!("{domain}\\{name} ({sid})"),
    }
}
