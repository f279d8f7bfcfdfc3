//! The one module that knows which YAML library we use (yaml-rust2, maintained,
//! in place of the archived serde_yaml). It turns text into a tree of [`Node`]s
//! that remember their line and column, so validation can point at the exact spot.
//! Anchors, aliases and tags are refused: a site file has no use for them, and
//! refusing aliases makes "billion laughs" inputs harmless.

use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper nesting than this is refused (a site file needs about 5 levels).
pub const MAX_DEPTH: usize = 64;
/// More nodes than this is refused (a large site file has a few thousand).
pub const MAX_NODES: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Mark {
    pub line: usize,
    pub col: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        Mark {
            line: m.line(),
            col: m.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty value or a plain `~`/`null`.
    Null,
    /// A scalar; `quoted` tells `"22"` (a string) from `22` (maybe a number).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

impl Node {
    /// What kind of value this is, for messages ("expected a list, found a string").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing",
            Value::Scalar { text, quoted } => {
                if !quoted && (text.parse::<i64>().is_ok() || text.parse::<f64>().is_ok()) {
                    "a number"
                } else if !quoted && matches!(text.as_str(), "true" | "false") {
                    "a boolean"
                } else {
                    "a string"
                }
            }
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub mark: Mark,
    pub message: String,
    /// For a duplicate key: the line of its first occurrence (callers may
    /// explain duplicates in their own words).
    pub duplicate_of: Option<usize>,
}

/// Parse one YAML document. An empty document is `Value::Null`.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    loop {
        let (event, marker) = parser.next_token().map_err(|e| YamlError {
            duplicate_of: None,
            mark: Mark::from(*e.marker()),
            message: e.info().to_string(),
        })?;
        let mark = Mark::from(marker);
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                builder.documents += 1;
                if builder.documents > 1 {
                    return Err(YamlError {
                        duplicate_of: None,
                        mark,
                        message: "more than one YAML document; a site file is one document".into(),
                    });
                }
            }
            Event::Alias(_) => return Err(unsupported(mark, "aliases (*name)")),
            Event::Scalar(text, style, anchor, tag) => {
                builder.check_extras(mark, anchor, tag.is_some())?;
                let value = if style == TScalarStyle::Plain
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::Scalar {
                        text,
                        quoted: style != TScalarStyle::Plain,
                    }
                };
                builder.push_value(Node { value, mark })?;
            }
            Event::SequenceStart(anchor, tag) => {
                builder.check_extras(mark, anchor, tag.is_some())?;
                builder.open(Node {
                    value: Value::Seq(Vec::new()),
                    mark,
                })?;
            }
            Event::MappingStart(anchor, tag) => {
                builder.check_extras(mark, anchor, tag.is_some())?;
                builder.open(Node {
                    value: Value::Map(Vec::new()),
                    mark,
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
        }
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        mark: Mark { line: 1, col: 1 },
    }))
}

fn unsupported(mark: Mark, what: &str) -> YamlError {
    YamlError {
        duplicate_of: None,
        mark,
        message: format!("{what} are not supported in stackprov files; write the value out"),
    }
}

#[derive(Default)]
struct Builder {
    /// Open collections; for maps, a pending key waiting for its value.
    stack: Vec<(Node, Option<Node>)>,
    /// For each open collection (in step with `stack`), the hashes of the
    /// keys seen so far: a duplicate is found in constant time, so a mapping
    /// of 100k keys costs no more than 100k values (and 8 bytes a key). The
    /// hasher is seeded per process, so collisions cannot be crafted; one
    /// costs a scan of that mapping.
    keys: Vec<HashSet<u64>>,
    hasher: RandomState,
    root: Option<Node>,
    nodes: usize,
    documents: usize,
}

impl Builder {
    fn check_extras(&self, mark: Mark, anchor: usize, tagged: bool) -> Result<(), YamlError> {
        if anchor != 0 {
            return Err(unsupported(mark, "anchors (&name)"));
        }
        if tagged {
            return Err(unsupported(mark, "tags (!name)"));
        }
        Ok(())
    }

    fn count(&mut self, mark: Mark) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                duplicate_of: None,
                mark,
                message: format!("more than {MAX_NODES} values; this is not a site file"),
            });
        }
        Ok(())
    }

    fn open(&mut self, node: Node) -> Result<(), YamlError> {
        self.count(node.mark)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                duplicate_of: None,
                mark: node.mark,
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        self.stack.push((node, None));
        self.keys.push(HashSet::new());
        Ok(())
    }

    fn close(&mut self) -> Result<(), YamlError> {
        let (mut node, _) = self
            .stack
            .pop()
            .expect("parser balances start and end events");
        self.keys.pop();
        // a host is a mapping of two or three keys: no room kept for more
        match &mut node.value {
            Value::Seq(items) => items.shrink_to_fit(),
            Value::Map(entries) => entries.shrink_to_fit(),
            _ => {}
        }
        self.push_value(node)
    }

    fn push_value(&mut self, node: Node) -> Result<(), YamlError> {
        if matches!(node.value, Value::Null | Value::Scalar { .. }) {
            self.count(node.mark)?;
        }
        let Some((parent, pending_key)) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match pending_key.take() {
                None => {
                    if !matches!(node.value, Value::Scalar { .. }) {
                        return Err(YamlError {
                            duplicate_of: None,
                            mark: node.mark,
                            message: "mapping keys must be plain strings".into(),
                        });
                    }
                    // `"a"` and `a` are the same key: compared by text
                    let text = node.as_str().unwrap_or_default();
                    let seen = self.keys.last_mut().expect("in step with the stack");
                    if !seen.insert(self.hasher.hash_one(text))
                        && let Some((first, _)) =
                            entries.iter().find(|(k, _)| k.as_str() == Some(text))
                    {
                        return Err(YamlError {
                            duplicate_of: Some(first.mark.line),
                            mark: node.mark,
                            message: format!(
                                "duplicate key `{text}` (first at line {})",
                                first.mark.line
                            ),
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            _ => unreachable!("only collections are pushed on the stack"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_values_with_positions() {
        let n = parse("a: 1\nb:\n  - x\n  - \"y\"\n").unwrap();
        let Value::Map(entries) = &n.value else {
            panic!("map expected")
        };
        assert_eq!(entries[0].0.as_str(), Some("a"));
        assert_eq!(entries[0].1.mark, Mark { line: 1, col: 4 });
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("seq expected")
        };
        assert_eq!(items[1].mark, Mark { line: 4, col: 5 });
        assert_eq!(
            items[1].value,
            Value::Scalar {
                text: "y".into(),
                quoted: true
            }
        );
    }

    #[test]
    fn refuses_aliases_duplicates_and_depth() {
        assert!(
            parse("a: &x 1\nb: *x\n")
                .unwrap_err()
                .message
                .contains("anchors")
        );
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.mark.line, 2);
        assert!(e.message.contains("duplicate key `a`"));
        // a quoted key is the same key as the plain one
        let e = parse("a: 1\n\"a\": 2\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `a` (first at line 1)");
        // keys of nested mappings are their own
        assert!(parse("a: {x: 1}\nb: {x: 1}\n").is_ok());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").unwrap().value, Value::Null);
        assert_eq!(parse("# only a comment\n").unwrap().value, Value::Null);
    }
}
