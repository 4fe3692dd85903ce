//! The Windows rules on descriptors made here, among them the stock DACLs of `C:\` and
//! `C:\ProgramData` (as `icacls` shows them on Windows 10 and 11).

use super::*;

fn sid(text: &str) -> Sid {
    let mut parts = text
        .split('-')
        .skip(1)
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let revision = parts.next().unwrap_or(1) as u8;
    let authority = parts.next().unwrap_or(0);
    let subs: Vec<u64> = parts.collect();
    let mut bytes = vec![revision, subs.len() as u8];
    bytes.extend(&authority.to_be_bytes()[2..]);
    for s in subs {
        bytes.extend((s as u32).to_le_bytes());
    }
    Sid::parse(&bytes).unwrap()
}

/// ACL bytes from `(type, flags, mask, SID)`.
fn acl(aces: &[(u8, u8, u32, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, flags, mask, who) in aces {
        let sid = sid(who);
        body.extend([*kind, *flags]);
        body.extend(((8 + sid.as_bytes().len()) as u16).to_le_bytes());
        body.extend(mask.to_le_bytes());
        body.extend(sid.as_bytes());
    }
    let mut acl = vec![ACL_REVISION, 0];
    acl.extend(((8 + body.len()) as u16).to_le_bytes());
    acl.extend((aces.len() as u16).to_le_bytes());
    acl.extend([0, 0]);
    acl.extend(body);
    acl
}

fn descriptor(owner: &str, aces: &[(u8, u8, u32, &str)]) -> Descriptor {
    Descriptor {
        owner: Some(sid(owner)),
        dacl: Some(parse_acl(&acl(aces)).unwrap()),
    }
}

fn name(sid: &Sid) -> String {
    sid.to_string()
}

const USER: &str = "S-1-5-21-1-2-3-1001";
const USERS: &str = "S-1-5-32-545";
const EVERYONE: &str = "S-1-1-0";
const AUTHENTICATED: &str = "S-1-5-11";
const A: u8 = ACCESS_ALLOWED;
const OICI: u8 = OBJECT_INHERIT | CONTAINER_INHERIT;
const CI: u8 = CONTAINER_INHERIT;
const IO: u8 = INHERIT_ONLY;
const READ_EXECUTE: u32 = 0x1200a9;
const MODIFY: u32 = 0x1301bf;

#[test]
fn sids_read_as_windows_writes_them() {
    for text in [ADMINISTRATORS, SYSTEM, TRUSTED_INSTALLER, USER, EVERYONE] {
        assert_eq!(sid(text).to_string(), text);
    }
    assert!(sid(TRUSTED_INSTALLER).is_admin());
    assert!(!sid(USERS).is_admin());
    assert_eq!(
        Sid::parse(&[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0]),
        None,
        "truncated"
    );
}

#[test]
fn the_owner_only_acl_is_one_full_control_ace() {
    let user = sid(USER);
    let file = parse_acl(&owner_only_acl(&user, false)).unwrap();
    assert_eq!(
        file,
        vec![Ace {
            kind: ACCESS_ALLOWED,
            flags: 0,
            mask: FILE_ALL_ACCESS,
            sid: Some(user.clone()),
        }]
    );
    let dir = parse_acl(&owner_only_acl(&user, true)).unwrap();
    assert_eq!(dir[0].flags, OICI, "inherited by what the directory holds");

    let sd = owner_only_descriptor(&user, false);
    assert_eq!(
        u16_at(&sd, 2),
        Some(0x9004),
        "self-relative, DACL present, protected"
    );
    assert_eq!(u32_at(&sd, 16), Some(20), "DACL right after the header");
    assert_eq!(parse_acl(&sd[20..]).unwrap(), file);
    assert_eq!(sd.len() % 4, 0);
}

#[test]
fn malformed_acls_are_errors_not_panics() {
    let good = acl(&[(A, 0, FILE_ALL_ACCESS, USER)]);
    for len in 0..good.len() {
        let mut cut = good[..len].to_vec();
        if cut.len() >= 4 {
            cut[2..4].copy_from_slice(&(len as u16).to_le_bytes());
        }
        assert!(parse_acl(&cut).is_err(), "{len}");
    }
}

#[test]
fn owner_only_allows_the_owner_the_user_and_system() {
    let sd = descriptor(
        USER,
        &[
            (A, 0, FILE_ALL_ACCESS, USER),
            (A, 0, FILE_ALL_ACCESS, SYSTEM),
        ],
    );
    let (user, system) = (sid(USER), sid(SYSTEM));
    assert_eq!(shared_with(&sd, &[&user, &system], false, &name), vec![]);

    let sd = descriptor(
        USER,
        &[
            (A, 0, FILE_ALL_ACCESS, USER),
            (A, 0, FILE_GENERIC_READ, EVERYONE),
            (A, IO | OICI, FILE_ALL_ACCESS, USERS), // inherit-only: not on this file
            (ACCESS_DENIED, 0, FILE_ALL_ACCESS, AUTHENTICATED), // not credited
        ],
    );
    assert_eq!(
        shared_with(&sd, &[&user], false, &name),
        vec![Grant {
            who: EVERYONE.into(),
            rights: "read".into()
        }]
    );
}

#[test]
fn a_null_dacl_is_everyone_full_control() {
    let sd = Descriptor {
        owner: Some(sid(ADMINISTRATORS)),
        dacl: None,
    };
    assert_eq!(shared_with(&sd, &[], false, &name).len(), 1);
    assert!(matches!(
        &admin_problems(&sd, Role::Target, false, &name)[..],
        [ProblemKind::Writable { grants, .. }] if grants[0].who.contains("NULL DACL")
    ));
}

#[test]
fn stock_c_and_programdata_are_admin_controlled_above_a_policy() {
    // C:\ : Authenticated Users may create folders in it.
    let c = descriptor(
        TRUSTED_INSTALLER,
        &[
            (A, OICI, FILE_ALL_ACCESS, ADMINISTRATORS),
            (A, OICI, FILE_ALL_ACCESS, SYSTEM),
            (A, OICI, READ_EXECUTE, USERS),
            (A, CI, FILE_APPEND_DATA, AUTHENTICATED),
            (A, OICI | IO, MODIFY, AUTHENTICATED),
        ],
    );
    assert_eq!(admin_problems(&c, Role::Ancestor, true, &name), vec![]);
    // C:\ProgramData : Users may create files and folders in it; their creator owns them.
    let program_data = descriptor(
        SYSTEM,
        &[
            (A, OICI, FILE_ALL_ACCESS, SYSTEM),
            (A, OICI, FILE_ALL_ACCESS, ADMINISTRATORS),
            (A, OICI | IO, GENERIC_ALL, CREATOR_OWNER),
            (A, OICI, READ_EXECUTE, USERS),
            (A, CI, 0x116, USERS),
        ],
    );
    assert_eq!(
        admin_problems(&program_data, Role::Ancestor, true, &name),
        vec![]
    );
    // The same as the directory checked: Users could add files to it.
    assert_eq!(
        admin_problems(&program_data, Role::Target, true, &name),
        vec![ProblemKind::Writable {
            grants: vec![Grant {
                who: USERS.into(),
                rights: "create files, create folders".into()
            }],
            mode: None
        }]
    );
}

#[test]
fn a_directory_users_may_modify_is_refused_above_a_policy() {
    let dir = descriptor(
        ADMINISTRATORS,
        &[(A, OICI, FILE_ALL_ACCESS, SYSTEM), (A, 0, MODIFY, EVERYONE)],
    );
    assert_eq!(
        admin_problems(&dir, Role::Ancestor, true, &name),
        vec![ProblemKind::Writable {
            grants: vec![Grant {
                who: EVERYONE.into(),
                rights: "delete".into()
            }],
            mode: None
        }]
    );
    let full = descriptor(ADMINISTRATORS, &[(A, 0, GENERIC_ALL, USERS)]);
    assert!(matches!(
        &admin_problems(&full, Role::Ancestor, true, &name)[..],
        [ProblemKind::Writable { grants, .. }]
            if grants[0].rights == "delete subfolders and files, delete, change permissions, take ownership"
    ));
}

#[test]
fn a_policy_file_users_may_write_or_own_is_refused() {
    let file = descriptor(
        USER,
        &[
            (A, 0, FILE_ALL_ACCESS, SYSTEM),
            (A, 0, GENERIC_WRITE, USERS),
        ],
    );
    assert_eq!(
        admin_problems(&file, Role::Target, false, &name),
        vec![
            ProblemKind::Owner { owner: USER.into() },
            ProblemKind::Writable {
                grants: vec![Grant {
                    who: USERS.into(),
                    rights: "write, append".into()
                }],
                mode: None
            }
        ]
    );
}

#[test]
fn an_ace_this_crate_cannot_read_counts_as_a_grant() {
    // An object ACE (type 5) keeps GUIDs before its SID.
    let mut bytes = acl(&[(0x5, 0, GENERIC_ALL, EVERYONE)]);
    bytes[8] = 0x5;
    let sd = Descriptor {
        owner: Some(sid(SYSTEM)),
        dacl: Some(parse_acl(&bytes).unwrap()),
    };
    let grants = shared_with(&sd, &[], false, &name);
    assert_eq!(grants.len(), 1);
    assert!(grants[0].who.contains("type 0x5"), "{grants:?}");
}
