//! A scenario's repository: a copy of the shared project (its keys, and the root the builds
//! embed) in which the scenario releases what it needs, with the `updater_pack` library (what
//! `updater-pack release` runs).

use std::fs;
use std::path::{Path, PathBuf};

use updater_pack::keys::Passphrase;
use updater_pack::ops::release::{release, ReleaseOptions};
use updater_pack::ops::session::Context;
use updater_pack::Project;

use super::{APP, PLATFORM};

pub struct Repo {
    pub project: Project,
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

impl Repo {
    /// A copy of the shared project in `dir`.
    pub fn new(dir: &Path) -> Repo {
        copy_dir(&super::builds::bins().template, dir);
        Repo {
            project: Project::new(dir, None),
        }
    }

    /// Releases `artifact` as demo-app `version` on `channel`, with `notes` (Markdown).
    /// (Published as a bare executable named `demo-app`, or, for a package, under its own
    /// file name: `updater-pack release` tells the format from the content.)
    pub fn release(&self, artifact: &Path, version: &str, channel: &str, notes: &str) {
        let notes_file = self.project.dir().join(format!("notes-{version}.md"));
        fs::write(&notes_file, notes).unwrap();
        let ctx = Context {
            now: updater_pack::clock::now().unwrap(),
            expires: Vec::new(),
            passphrase: Passphrase::none(),
        };
        let opts = ReleaseOptions {
            app: APP.into(),
            version: version.into(),
            platform: PLATFORM.into(),
            channel: channel.into(),
            artifact: artifact.to_path_buf(),
            name: Some(match artifact.extension() {
                Some(ext) if ext == "deb" => artifact.file_name().unwrap().to_string_lossy().into(),
                _ => APP.into(),
            }),
            notes: Some(notes_file),
            ..ReleaseOptions::default()
        };
        release(&self.project, ctx, &opts)
            .unwrap_or_else(|e| panic!("release {version} on {channel}: {e}"));
    }

    /// The directory a web server serves.
    pub fn repository(&self) -> PathBuf {
        self.project.repository()
    }
}
