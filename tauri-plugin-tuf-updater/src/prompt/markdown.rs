//! Release notes are markdown; a native dialog shows plain text. This renders the notes
//! with pulldown-cmark's parser into readable text: headings as lines of their own, lists
//! with bullets (indented when nested), links as `text (url)`, no emphasis or code markup,
//! a blank line between paragraphs, HTML left out.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Bullets by nesting depth (the last one repeats deeper down).
const BULLETS: [&str; 3] = ["•", "◦", "▪"];
/// Each level of list nesting indents by this much.
const INDENT: &str = "  ";

/// What separates the next text from what was written before it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    None,
    Line,
    Blank,
}

/// A list being written: the next item's number, `None` for bullets.
struct List {
    next: Option<u64>,
}

/// The plain text written so far and where in the document it is.
struct Writer {
    out: String,
    pending: Break,
    /// The current list item's marker, written with its first text.
    marker: Option<String>,
    lists: Vec<List>,
    /// Where each open link's text starts in `out`, and its URL.
    links: Vec<(usize, String)>,
    /// Inside an HTML block: its text is markup, left out.
    in_html: bool,
    /// Inside a code block: its text ends with a line break the block's end adds again.
    in_code: bool,
}

impl Writer {
    fn new() -> Self {
        Writer {
            out: String::new(),
            pending: Break::None,
            marker: None,
            lists: Vec::new(),
            links: Vec::new(),
            in_html: false,
            in_code: false,
        }
    }

    /// Asks for at least `brk` before the next text (the larger request wins).
    fn want(&mut self, brk: Break) {
        self.pending = self.pending.max(brk);
    }

    /// Writes the pending break, indentation and list marker, then `text`.
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.pending != Break::None && !self.out.is_empty() {
            self.out.push_str(if self.pending == Break::Blank {
                "\n\n"
            } else {
                "\n"
            });
            let depth = self.lists.len();
            match self.marker.take() {
                Some(marker) => {
                    self.out.push_str(&INDENT.repeat(depth.saturating_sub(1)));
                    self.out.push_str(&marker);
                }
                None => self.out.push_str(&INDENT.repeat(depth)),
            }
        } else if let Some(marker) = self.marker.take() {
            // The notes start with a list.
            self.out.push_str(&marker);
        }
        self.pending = Break::None;
        // Lines of a code block keep the indentation of the list they are in.
        let indent = format!("\n{}", INDENT.repeat(self.lists.len()));
        self.out.push_str(&text.replace('\n', &indent));
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            // The first paragraph of a list item goes right after its marker.
            Tag::Paragraph | Tag::BlockQuote(_) | Tag::DefinitionList if self.marker.is_none() => {
                self.want(Break::Blank)
            }
            Tag::Heading { .. } | Tag::Table(_) => self.want(Break::Blank),
            Tag::CodeBlock(_) => {
                self.want(Break::Blank);
                self.in_code = true;
            }
            Tag::HtmlBlock => self.in_html = true,
            Tag::List(first) => {
                // A nested list starts on the line after its parent item's text.
                self.want(if self.lists.is_empty() {
                    Break::Blank
                } else {
                    Break::Line
                });
                self.lists.push(List { next: first });
            }
            Tag::Item => {
                self.want(Break::Line);
                let depth = self.lists.len();
                let marker = match self.lists.last_mut() {
                    Some(List { next: Some(n) }) => {
                        let marker = format!("{n}. ");
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => {
                        let bullet = BULLETS
                            .get(depth.saturating_sub(1))
                            .or(BULLETS.last())
                            .copied()
                            .unwrap_or("•");
                        format!("{bullet} ")
                    }
                };
                self.marker = Some(marker);
            }
            Tag::TableRow | Tag::TableHead | Tag::DefinitionListTitle => self.want(Break::Line),
            Tag::DefinitionListDefinition => {
                self.want(Break::Line);
                self.marker = Some(INDENT.into());
            }
            // Cells after a row's first one.
            Tag::TableCell if self.pending == Break::None && !self.out.is_empty() => {
                self.out.push_str(" | ")
            }
            Tag::Link { dest_url, .. } => self.links.push((self.out.len(), dest_url.to_string())),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::CodeBlock => {
                self.in_code = false;
                self.want(Break::Blank);
            }
            TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::BlockQuote(_) | TagEnd::Table => {
                self.want(Break::Blank)
            }
            TagEnd::HtmlBlock => self.in_html = false,
            TagEnd::List(_) => {
                self.lists.pop();
                self.want(if self.lists.is_empty() {
                    Break::Blank
                } else {
                    Break::Line
                });
            }
            TagEnd::Item => {
                self.marker = None;
                self.want(Break::Line);
            }
            TagEnd::Link => {
                if let Some((start, url)) = self.links.pop() {
                    let text = self.out.get(start..).unwrap_or_default().trim();
                    let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                    if !url.is_empty() && text != url && text != bare {
                        self.text(&format!(" ({url})"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `markdown` as plain text for a dialog.
pub(crate) fn to_plain_text(markdown: &str) -> String {
    let options =
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES;
    let mut w = Writer::new();
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(tag) => w.start(tag),
            Event::End(tag) => w.end(tag),
            Event::Text(text) if w.in_code => w.text(text.trim_end_matches('\n')),
            Event::Text(text) if !w.in_html => w.text(&text),
            Event::Code(code) | Event::InlineMath(code) | Event::DisplayMath(code) => w.text(&code),
            Event::SoftBreak => w.text(" "),
            Event::HardBreak => w.want(Break::Line),
            Event::Rule => {
                w.want(Break::Blank);
                w.text("———");
                w.want(Break::Blank);
            }
            Event::TaskListMarker(done) => w.text(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(name) => w.text(&format!("[{name}]")),
            // Markup only; what a reader should see of HTML is in the text around it.
            Event::Html(_) | Event::InlineHtml(_) | Event::Text(_) => {}
        }
    }
    clean(&w.out)
}

/// No control characters but line breaks (a NUL would end the dialog's C string), no
/// trailing spaces on a line, no blank lines at either end.
fn clean(text: &str) -> String {
    let text: String = text
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_string()
}

/// `text` cut to at most `max` characters (on a character boundary), with an ellipsis
/// when something was cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => {
            let mut cut = text.get(..end).unwrap_or_default().trim_end().to_string();
            cut.push('…');
            cut
        }
    }
}

#[cfg(test)]
#[path = "markdown_tests.rs"]
mod tests;
