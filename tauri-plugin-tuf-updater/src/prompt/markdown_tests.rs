#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn release_notes_become_readable_plain_text() {
    // Notes as publishers write them (a GitHub release body, Keep a Changelog style).
    let notes = "## 1.1.0\n\
                 \n\
                 A faster start and a **progress bar**.\n\
                 \n\
                 ### Added\n\
                 - Shows the *download* progress.\n\
                 - `--quiet` flag for the CLI\n\
                 \x20 - nested: works offline\n\
                 \x20   - deeper still\n\
                 \n\
                 ### Fixed\n\
                 1. Crash on start ([#42](https://github.com/acme/app/issues/42)).\n\
                 2. See <https://acme.example/notes>.\n\
                 \n\
                 <!-- internal: ticket 1234 -->\n\
                 <details><summary>Hidden</summary>\n\
                 \n\
                 Thanks to <b>everyone</b>!\n";
    let text = to_plain_text(notes);
    assert_eq!(
        text,
        "1.1.0\n\
         \n\
         A faster start and a progress bar.\n\
         \n\
         Added\n\
         \n\
         • Shows the download progress.\n\
         • --quiet flag for the CLI\n\
         \x20 ◦ nested: works offline\n\
         \x20   ▪ deeper still\n\
         \n\
         Fixed\n\
         \n\
         1. Crash on start (#42 (https://github.com/acme/app/issues/42)).\n\
         2. See https://acme.example/notes.\n\
         \n\
         Thanks to everyone!"
    );
}

#[test]
fn the_demo_notes_render_as_a_heading_and_a_list() {
    let text = to_plain_text("## 1.1.0\n\n- Starts faster.\n- Shows the download progress.\n");
    assert_eq!(
        text,
        "1.1.0\n\n• Starts faster.\n• Shows the download progress."
    );
}

#[test]
fn loose_lists_code_blocks_breaks_and_rules() {
    let notes = "Intro line one\nstill the same paragraph  \nafter a hard break.\n\
                 \n\
                 * First item.\n\
                 \n\
                 \x20 Its second paragraph.\n\
                 \n\
                 * Second item.\n\
                 \n\
                 ```sh\n\
                 app --reset\n\
                 app --check\n\
                 ```\n\
                 \n\
                 ---\n\
                 \n\
                 - [x] done\n\
                 - [ ] to do\n\
                 \n\
                 Setext heading\n\
                 ==============\n\
                 Text with &amp; entity, ~~old~~ and [same](https://x.example) link: [https://x.example](https://x.example).";
    let text = to_plain_text(notes);
    assert_eq!(
        text,
        "Intro line one still the same paragraph\n\
         after a hard break.\n\
         \n\
         • First item.\n\
         \n\
         \x20 Its second paragraph.\n\
         \n\
         • Second item.\n\
         \n\
         app --reset\n\
         app --check\n\
         \n\
         ———\n\
         \n\
         • ☑ done\n\
         • ☐ to do\n\
         \n\
         Setext heading\n\
         \n\
         Text with & entity, old and same (https://x.example) link: https://x.example."
    );
}

#[test]
fn a_table_becomes_rows_of_cells() {
    let text = to_plain_text(
        "Platforms:\n\n| OS | Package |\n| --- | --- |\n| Linux | `.deb` |\n| macOS | `.app` |\n\nDone.",
    );
    assert_eq!(
        text,
        "Platforms:\n\nOS | Package\nLinux | .deb\nmacOS | .app\n\nDone."
    );
}

#[test]
fn markup_only_and_control_characters_leave_nothing_harmful() {
    assert_eq!(to_plain_text(""), "");
    assert_eq!(to_plain_text("<div>\n<p>only html</p>\n</div>\n"), "");
    let text = to_plain_text("nul\u{0}here and a bell\u{7}");
    assert!(
        !text.contains('\u{0}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.starts_with("nul"), "{text:?}");
}

#[test]
fn cut_keeps_whole_characters_and_marks_the_cut() {
    assert_eq!(cut("short", 10), "short");
    assert_eq!(cut("exactly", 7), "exactly");
    assert_eq!(cut("ééééé", 3), "ééé…");
    assert_eq!(cut("word and more", 5), "word…");
}
