//! Windows security descriptors as bytes (the layouts of MS-DTYP 2.4: SID, ACL, ACE,
//! self-relative descriptor): the owner-only DACL built, the owner and DACL that
//! `windows.rs` copies out of the OS read, and who may read or change decided. Safe code,
//! so it is unit-tested on every platform.

use std::fmt;

use crate::{Grant, ProblemKind, Role};

// Access rights (winnt.h).
const FILE_READ_DATA: u32 = 0x1; // list a directory
const FILE_WRITE_DATA: u32 = 0x2; // create a file in a directory
const FILE_APPEND_DATA: u32 = 0x4; // create a subdirectory
const FILE_WRITE_EA: u32 = 0x10;
const FILE_DELETE_CHILD: u32 = 0x40;
const FILE_WRITE_ATTRIBUTES: u32 = 0x100;
const DELETE: u32 = 0x1_0000;
const WRITE_DAC: u32 = 0x4_0000;
const WRITE_OWNER: u32 = 0x8_0000;
const FILE_ALL_ACCESS: u32 = 0x1F_01FF;
const FILE_GENERIC_READ: u32 = 0x12_0089;
const FILE_GENERIC_WRITE: u32 = 0x12_0116;
const FILE_GENERIC_EXECUTE: u32 = 0x12_00A0;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_EXECUTE: u32 = 0x2000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const GENERIC_READ: u32 = 0x8000_0000;

// ACE types and flags.
const ACCESS_ALLOWED: u8 = 0x0;
const ACCESS_DENIED: u8 = 0x1;
const ACCESS_DENIED_OBJECT: u8 = 0x6;
const ACCESS_ALLOWED_CALLBACK: u8 = 0x9;
const ACCESS_DENIED_CALLBACK: u8 = 0xA;
const ACCESS_DENIED_CALLBACK_OBJECT: u8 = 0xC;
const OBJECT_INHERIT: u8 = 0x1;
const CONTAINER_INHERIT: u8 = 0x2;
const INHERIT_ONLY: u8 = 0x8;

const ACL_REVISION: u8 = 2;
const SE_DACL_PRESENT: u16 = 0x4;
const SE_DACL_PROTECTED: u16 = 0x1000;
const SE_SELF_RELATIVE: u16 = 0x8000;

pub(crate) const SYSTEM: &str = "S-1-5-18";
const ADMINISTRATORS: &str = "S-1-5-32-544";
const TRUSTED_INSTALLER: &str = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";
/// Never in a token: an ACE for it only serves as a template for what is created inside.
const CREATOR_OWNER: &str = "S-1-3-0";
/// Stands for the object's owner.
const OWNER_RIGHTS: &str = "S-1-3-4";

/// A security identifier, as bytes: revision, count, 6-byte authority, 32-bit sub-authorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sid(Vec<u8>);

impl Sid {
    /// The SID at the start of `bytes`, if well formed.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Sid> {
        let count = usize::from(*bytes.get(1)?);
        let len = 8 + 4 * count;
        (bytes.first() == Some(&1) && count <= 15)
            .then(|| bytes.get(..len))
            .flatten()
            .map(|b| Sid(b.to_vec()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn is(&self, text: &str) -> bool {
        self.to_string() == text
    }

    pub(crate) fn is_admin(&self) -> bool {
        [ADMINISTRATORS, SYSTEM, TRUSTED_INSTALLER]
            .iter()
            .any(|s| self.is(s))
    }
}

impl fmt::Display for Sid {
    /// `S-1-5-32-544`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut authority = [0u8; 8];
        if let (Some(dst), Some(src)) = (authority.get_mut(2..), self.0.get(2..8)) {
            dst.copy_from_slice(src);
        }
        let revision = self.0.first().copied().unwrap_or(0);
        write!(f, "S-{revision}-{}", u64::from_be_bytes(authority))?;
        for sub in self.0.get(8..).unwrap_or(&[]).chunks_exact(4) {
            let sub: [u8; 4] = sub.try_into().unwrap_or_default();
            write!(f, "-{}", u32::from_le_bytes(sub))?;
        }
        Ok(())
    }
}

/// One ACE: its type, flags, access mask and (for the types read here) its SID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ace {
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) mask: u32,
    pub(crate) sid: Option<Sid>,
}

/// The parts of a security descriptor the checks need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub(crate) owner: Option<Sid>,
    /// `None`: a NULL DACL (or none), which grants everyone everything.
    pub(crate) dacl: Option<Vec<Ace>>,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The ACEs of an ACL (header: revision, pad, size, count, pad; then the ACEs).
pub(crate) fn parse_acl(bytes: &[u8]) -> Result<Vec<Ace>, String> {
    let bad = || "malformed ACL".to_string();
    let size = usize::from(u16_at(bytes, 2).ok_or_else(bad)?);
    let count = u16_at(bytes, 4).ok_or_else(bad)?;
    let bytes = bytes.get(..size).ok_or_else(bad)?;
    let mut at = 8;
    let mut aces = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let ace = bytes.get(at..).ok_or_else(bad)?;
        let len = usize::from(u16_at(ace, 2).ok_or_else(bad)?);
        let ace = ace.get(..len).filter(|_| len >= 8).ok_or_else(bad)?;
        let kind = ace.first().copied().ok_or_else(bad)?;
        let sid = match kind {
            ACCESS_ALLOWED | ACCESS_DENIED | ACCESS_ALLOWED_CALLBACK | ACCESS_DENIED_CALLBACK => {
                Some(ace.get(8..).and_then(Sid::parse).ok_or_else(bad)?)
            }
            _ => None,
        };
        aces.push(Ace {
            kind,
            flags: ace.get(1).copied().ok_or_else(bad)?,
            mask: u32_at(ace, 4).ok_or_else(bad)?,
            sid,
        });
        at += len;
    }
    Ok(aces)
}

/// An ACL with one ACE granting `user` full control; a directory passes it on to what it
/// will hold.
fn owner_only_acl(user: &Sid, dir: bool) -> Vec<u8> {
    let ace_len = 8 + user.as_bytes().len();
    let acl_len = 8 + ace_len;
    let mut acl = Vec::with_capacity(acl_len);
    acl.extend([ACL_REVISION, 0]);
    acl.extend(len16(acl_len).to_le_bytes());
    acl.extend(1u16.to_le_bytes());
    acl.extend(0u16.to_le_bytes());
    let flags = if dir {
        OBJECT_INHERIT | CONTAINER_INHERIT
    } else {
        0
    };
    acl.extend([ACCESS_ALLOWED, flags]);
    acl.extend(len16(ace_len).to_le_bytes());
    acl.extend(FILE_ALL_ACCESS.to_le_bytes());
    acl.extend(user.as_bytes());
    acl
}

/// A self-relative security descriptor holding only the protected [`owner_only_acl`] (owner
/// and group left to the system's defaults).
pub(crate) fn owner_only_descriptor(user: &Sid, dir: bool) -> Vec<u8> {
    const HEADER: u32 = 20;
    let mut sd = vec![1, 0];
    sd.extend((SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_PROTECTED).to_le_bytes());
    // Offsets of owner, group, SACL (none) and DACL.
    for offset in [0, 0, 0, HEADER] {
        sd.extend(offset.to_le_bytes());
    }
    sd.extend(owner_only_acl(user, dir));
    sd
}

/// A SID is at most 68 bytes, so an ACL of one ACE is far below 64 KiB.
fn len16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

fn map_generic(mask: u32) -> u32 {
    let mut mapped = mask & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
    for (generic, specific) in [
        (GENERIC_READ, FILE_GENERIC_READ),
        (GENERIC_WRITE, FILE_GENERIC_WRITE),
        (GENERIC_EXECUTE, FILE_GENERIC_EXECUTE),
        (GENERIC_ALL, FILE_ALL_ACCESS),
    ] {
        if mask & generic != 0 {
            mapped |= specific;
        }
    }
    mapped
}

/// Whom an ACE grants something, when it is not a SID this crate reads.
enum Trustee<'a> {
    Sid(&'a Sid),
    Unreadable(u8),
}

/// Each allow ACE that applies to the object itself: whom, and its rights (generic ones
/// mapped). Deny ACEs are left out (not credited).
fn grants(dacl: &[Ace]) -> impl Iterator<Item = (Trustee<'_>, u32)> {
    dacl.iter().filter_map(|ace| {
        if ace.flags & INHERIT_ONLY != 0 {
            return None;
        }
        let mask = map_generic(ace.mask);
        match (ace.kind, &ace.sid) {
            (ACCESS_ALLOWED | ACCESS_ALLOWED_CALLBACK, Some(sid)) => {
                Some((Trustee::Sid(sid), mask))
            }
            (
                ACCESS_DENIED
                | ACCESS_DENIED_OBJECT
                | ACCESS_DENIED_CALLBACK
                | ACCESS_DENIED_CALLBACK_OBJECT,
                _,
            ) => None,
            (kind, _) => Some((Trustee::Unreadable(kind), mask)),
        }
    })
}

fn grant(trustee: &Trustee<'_>, rights: String, name: &dyn Fn(&Sid) -> String) -> Grant {
    let who = match trustee {
        Trustee::Sid(sid) => name(sid),
        Trustee::Unreadable(kind) => format!("whoever an ACE of type {kind:#x} names"),
    };
    Grant { who, rights }
}

fn everyone_full_control() -> Grant {
    Grant {
        who: "Everyone (NULL DACL: no access control at all)".into(),
        rights: "full control".into(),
    }
}

/// Who besides `allowed` may read or change the object (for `check_owner_only`).
pub(crate) fn shared_with(
    sd: &Descriptor,
    allowed: &[&Sid],
    dir: bool,
    name: &dyn Fn(&Sid) -> String,
) -> Vec<Grant> {
    const ACCESS: u32 = FILE_READ_DATA
        | FILE_WRITE_DATA
        | FILE_APPEND_DATA
        | FILE_WRITE_EA
        | FILE_DELETE_CHILD
        | FILE_WRITE_ATTRIBUTES
        | DELETE
        | WRITE_DAC
        | WRITE_OWNER;
    let Some(dacl) = &sd.dacl else {
        return vec![everyone_full_control()];
    };
    let own = |sid: &Sid| {
        allowed.contains(&sid)
            || sid.is(CREATOR_OWNER)
            || (sid.is(OWNER_RIGHTS) && sd.owner.as_ref().is_some_and(|o| allowed.contains(&o)))
    };
    grants(dacl)
        .filter(|(who, mask)| mask & ACCESS != 0 && !matches!(who, Trustee::Sid(s) if own(s)))
        .map(|(who, mask)| grant(&who, rights(mask & ACCESS, dir), name))
        .collect()
}

/// Whether only the administrators can change the object (for `check_admin_controlled`).
pub(crate) fn admin_problems(
    sd: &Descriptor,
    role: Role,
    dir: bool,
    name: &dyn Fn(&Sid) -> String,
) -> Vec<ProblemKind> {
    // What lets someone change the object, or replace it: on a directory above the path,
    // creating new entries does not touch the existing ones, deleting them does.
    let dangerous = match role {
        Role::Target if dir => {
            FILE_WRITE_DATA
                | FILE_APPEND_DATA
                | FILE_DELETE_CHILD
                | DELETE
                | WRITE_DAC
                | WRITE_OWNER
        }
        Role::Target => FILE_WRITE_DATA | FILE_APPEND_DATA | DELETE | WRITE_DAC | WRITE_OWNER,
        Role::Ancestor => FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER,
    };
    let mut problems = Vec::new();
    match &sd.owner {
        Some(owner) if owner.is_admin() => {}
        Some(owner) => problems.push(ProblemKind::Owner { owner: name(owner) }),
        None => problems.push(ProblemKind::Owner {
            owner: "no one (the descriptor has no owner)".into(),
        }),
    }
    let writers: Vec<Grant> = match &sd.dacl {
        None => vec![everyone_full_control()],
        Some(dacl) => grants(dacl)
            .filter(|(who, mask)| {
                let admin = matches!(who, Trustee::Sid(s)
                    if s.is_admin() || s.is(CREATOR_OWNER) || s.is(OWNER_RIGHTS));
                mask & dangerous != 0 && !admin
            })
            .map(|(who, mask)| grant(&who, rights(mask & dangerous, dir), name))
            .collect(),
    };
    if !writers.is_empty() {
        problems.push(ProblemKind::Writable {
            grants: writers,
            mode: None,
        });
    }
    problems
}

/// Names of the rights in `mask`, in the words of the Windows security dialog.
fn rights(mask: u32, dir: bool) -> String {
    let names = [
        (FILE_READ_DATA, if dir { "list" } else { "read" }),
        (FILE_WRITE_DATA, if dir { "create files" } else { "write" }),
        (
            FILE_APPEND_DATA,
            if dir { "create folders" } else { "append" },
        ),
        (FILE_WRITE_EA, "write extended attributes"),
        (FILE_WRITE_ATTRIBUTES, "write attributes"),
        (FILE_DELETE_CHILD, "delete subfolders and files"),
        (DELETE, "delete"),
        (WRITE_DAC, "change permissions"),
        (WRITE_OWNER, "take ownership"),
    ];
    names
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
