//! Names that are updater-pack's own. The rules for the names of a release (channel, app,
//! version, platform and format, file name) and its target path are the release schema's,
//! shared with the client: [`tuf_updater_core::release::names`], [`tuf_updater_core::release::platform`]
//! and [`tuf_updater_core::release::path`].

use tuf_updater_core::release::names::{check_channel, NameError};

use crate::error::Result;

/// The directory of rotated-out key files, `keys/retired/` (a name no channel can take).
pub const RETIRED: &str = "retired";

/// Parses `stable,beta` (the `--channels` list) into checked, distinct channel names.
pub fn parse_channels(list: &str) -> Result<Vec<String>> {
    let channels: Vec<String> = list.split(',').map(|c| c.trim().to_string()).collect();
    check_channels(&channels)?;
    Ok(channels)
}

/// Checks each channel name, and that none is listed twice.
pub fn check_channels(channels: &[String]) -> Result<(), NameError> {
    for (i, name) in channels.iter().enumerate() {
        check_channel(name)?;
        if channels.iter().take(i).any(|c| c == name) {
            return Err(NameError::Channel {
                name: name.clone(),
                reason: "listed twice".into(),
            });
        }
    }
    Ok(())
}

/// The name of a target's file in the consistent-snapshot repository: `<sha256>.<file>`.
pub fn stored_name(sha256: &str, file: &str) -> String {
    format!("{sha256}.{file}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tuf_updater_core::release::names::RESERVED_CHANNELS;

    #[test]
    fn channel_lists() {
        assert_eq!(
            parse_channels("stable, beta").unwrap(),
            ["stable", "beta"].map(String::from)
        );
        let twice = parse_channels("stable,stable").unwrap_err();
        assert_eq!(
            twice.to_string(),
            "invalid channel name \"stable\": listed twice"
        );
        assert!(parse_channels("stable,").is_err());
        assert!(parse_channels("stable,Beta").is_err());
        assert!(RESERVED_CHANNELS.contains(&RETIRED));
        let retired = parse_channels(RETIRED).unwrap_err().to_string();
        assert!(retired.contains("reserved"), "{retired}");
    }

    #[test]
    fn stored_names_carry_the_hash() {
        assert_eq!(
            stored_name("ab12", "My App.AppImage"),
            "ab12.My App.AppImage"
        );
    }
}
