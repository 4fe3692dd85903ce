//! [`ProgressCounter`]: turns the engine's download progress into [`DownloadEvent`]s whose
//! `Progress` chunks add up to `Started`'s `contentLength`, as tauri-plugin-updater's do,
//! whatever happened underneath: bytes already on disk (a resumed download, a file
//! downloaded before) come as the first chunk, and bytes fetched again (a mirror tried
//! after another, a download started over after it failed verification) are not counted
//! twice.

use tuf_updater_core::Progress;

use crate::models::DownloadEvent;

/// Counts one download (of the artifact, or of its patch then maybe the artifact).
#[derive(Debug, Default)]
pub(crate) struct ProgressCounter {
    /// The length of the file being downloaded, once it started.
    length: Option<u64>,
    /// The bytes reported so far: the furthest point the file on disk reached.
    reported: u64,
}

impl ProgressCounter {
    /// The events `p` makes, in order (none, one or two).
    pub(crate) fn events(&mut self, p: Progress) -> Vec<DownloadEvent> {
        match p {
            Progress::Started {
                content_length,
                resumed_from,
            } => {
                let mut out = Vec::new();
                if self.length != Some(content_length) {
                    // A new file: the first, or the full release after a patch that failed.
                    self.length = Some(content_length);
                    self.reported = 0;
                    out.push(DownloadEvent::Started {
                        content_length,
                        resumed_from,
                    });
                }
                // Another attempt at the same file (a mirror) continues the count.
                out.extend(self.reached(resumed_from));
                out
            }
            Progress::Progress { downloaded, .. } => self.reached(downloaded).into_iter().collect(),
            Progress::Verifying => vec![DownloadEvent::Verifying],
            Progress::Finished => vec![DownloadEvent::Finished],
        }
    }

    /// A `Progress` event for the bytes between what was reported and `position`, if any.
    fn reached(&mut self, position: u64) -> Option<DownloadEvent> {
        let position = position.min(self.length.unwrap_or(u64::MAX));
        let chunk = position.checked_sub(self.reported).filter(|c| *c > 0)?;
        self.reported = position;
        Some(DownloadEvent::Progress {
            chunk_length: chunk,
            downloaded: position,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn started(content_length: u64, resumed_from: u64) -> Progress {
        Progress::Started {
            content_length,
            resumed_from,
        }
    }

    fn chunk(chunk_length: u64, downloaded: u64) -> Progress {
        Progress::Progress {
            chunk_length,
            downloaded,
        }
    }

    /// The events for `input`, and the sum of the chunks after each `Started`.
    fn run(input: Vec<Progress>) -> (Vec<DownloadEvent>, Vec<(u64, u64)>) {
        let mut counter = ProgressCounter::default();
        let events: Vec<DownloadEvent> =
            input.into_iter().flat_map(|p| counter.events(p)).collect();
        let mut sums: Vec<(u64, u64)> = Vec::new();
        for e in &events {
            match e {
                DownloadEvent::Started { content_length, .. } => sums.push((*content_length, 0)),
                DownloadEvent::Progress { chunk_length, .. } => {
                    sums.last_mut().unwrap().1 += chunk_length
                }
                _ => {}
            }
        }
        (events, sums)
    }

    #[test]
    fn a_fresh_download_passes_through() {
        let (events, sums) = run(vec![
            started(10, 0),
            chunk(4, 4),
            chunk(6, 10),
            Progress::Verifying,
            Progress::Finished,
        ]);
        assert_eq!(sums, vec![(10, 10)]);
        assert_eq!(events.len(), 5);
    }

    #[test]
    fn a_resumed_download_reports_the_bytes_on_disk_first() {
        let (events, sums) = run(vec![started(10, 7), chunk(3, 10), Progress::Finished]);
        assert_eq!(sums, vec![(10, 10)]);
        assert_eq!(
            events[1],
            DownloadEvent::Progress {
                chunk_length: 7,
                downloaded: 7
            }
        );
    }

    #[test]
    fn a_file_downloaded_before_counts_whole() {
        let (_, sums) = run(vec![
            started(10, 10),
            Progress::Verifying,
            Progress::Finished,
        ]);
        assert_eq!(sums, vec![(10, 10)]);
    }

    #[test]
    fn another_mirror_or_a_start_over_does_not_count_twice() {
        let (events, sums) = run(vec![
            started(10, 0),
            chunk(6, 6),
            // the next mirror resumes at 6
            started(10, 6),
            chunk(2, 8),
            // verification failed; started over from byte 0
            chunk(5, 5),
            chunk(5, 10),
            Progress::Finished,
        ]);
        assert_eq!(sums, vec![(10, 10)]);
        let started_count = events
            .iter()
            .filter(|e| matches!(e, DownloadEvent::Started { .. }))
            .count();
        assert_eq!(started_count, 1);
    }

    #[test]
    fn a_patch_then_the_full_release_are_two_counted_downloads() {
        // A 3-byte patch that fails to apply, then the 10-byte release.
        let (_, sums) = run(vec![
            started(3, 0),
            chunk(3, 3),
            Progress::Verifying,
            started(10, 0),
            chunk(10, 10),
            Progress::Finished,
        ]);
        assert_eq!(sums, vec![(3, 3), (10, 10)]);
    }
}
