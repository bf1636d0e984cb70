//! Paths of the mapping language (`ywsj/jycs`, `zj:record[]`, `@seq`, `{kind}`) and
//! their resolution against a document, whatever its syntax.
//!
//! A [`Path`] is compiled once, when the mapping file is loaded: prefixes are turned
//! into namespace URIs there, so that at run time elements are matched by
//! (namespace URI, local name) and a document's own choice of prefix never matters.
//! Resolution yields a [`Found`]; what a found value means (a date, a code, a person)
//! is decided by the caller.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::xml::Element;

/// The placeholder replaced by the record's legacy kind code.
const KIND_PLACEHOLDER: &str = "{kind}";

/// One compiled step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A JSON key or an XML child element. `name` may contain `{kind}`.
    Child {
        ns: Option<String>,
        name: String,
        all: bool,
    },
    /// An unqualified XML attribute (only as the last step).
    Attr(String),
}

/// A compiled path, with the text it was written as (used in rejection details so a
/// province's engineers see their own field names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    text: String,
    steps: Vec<Step>,
}

/// What a mapping path may assume about the document it is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathSyntax {
    Json,
    Xml,
}

impl Path {
    /// Compiles `text` for documents of `syntax`; `namespaces` are the mapping's
    /// `[namespaces]` (`default` = the namespace of unprefixed steps).
    pub fn parse(
        text: &str,
        syntax: PathSyntax,
        namespaces: &BTreeMap<String, String>,
    ) -> Result<Path, String> {
        if text.trim().is_empty() {
            return Err("a path must not be empty".to_owned());
        }
        let raw: Vec<&str> = text.split('/').collect();
        let mut steps = Vec::with_capacity(raw.len());
        for (index, step) in raw.iter().enumerate() {
            let last = index + 1 == raw.len();
            if step.is_empty() {
                return Err(format!("path \"{text}\" has an empty step"));
            }
            if let Some(name) = step.strip_prefix('@') {
                if syntax == PathSyntax::Json {
                    return Err(format!(
                        "path \"{text}\": attributes (`@`) exist only in XML documents"
                    ));
                }
                if !last {
                    return Err(format!(
                        "path \"{text}\": an attribute can only be the last step"
                    ));
                }
                if name.is_empty() || name.contains(':') || name.contains(KIND_PLACEHOLDER) {
                    return Err(format!(
                        "path \"{text}\": `@` must be followed by an unqualified attribute name"
                    ));
                }
                steps.push(Step::Attr(name.to_owned()));
                continue;
            }
            let (step, all) = match step.strip_suffix("[]") {
                Some(step) => (step, true),
                None => (*step, false),
            };
            if all && !last {
                return Err(format!(
                    "path \"{text}\": only the last step can be a list (`[]`)"
                ));
            }
            let (ns, name) = match syntax {
                // A JSON key is taken literally, colons included.
                PathSyntax::Json => (None, step),
                PathSyntax::Xml => match step.split_once(':') {
                    Some((prefix, name)) => match namespaces.get(prefix) {
                        Some(uri) if prefix != "default" => (Some(uri.clone()), name),
                        _ => {
                            return Err(format!(
                            "path \"{text}\": prefix \"{prefix}\" is not declared in [namespaces]"
                        ))
                        }
                    },
                    None => (namespaces.get("default").cloned(), step),
                },
            };
            if name.is_empty() || name.contains('@') || name.contains(['[', ']']) {
                return Err(format!("path \"{text}\": step \"{step}\" is not a name"));
            }
            steps.push(Step::Child {
                ns,
                name: name.to_owned(),
                all,
            });
        }
        Ok(Path {
            text: text.to_owned(),
            steps,
        })
    }

    /// Whether the path uses `{kind}` (only meaningful once a record's kind is known).
    pub fn uses_kind(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step, Step::Child { name, .. } if name.contains(KIND_PLACEHOLDER)))
    }

    /// Whether the path is a single element step (what `root` and `[envelope] root` are).
    pub fn single_element(&self) -> bool {
        matches!(self.steps.as_slice(), [Step::Child { all: false, .. }])
    }

    /// Whether the root element `element` is the one this single-step path names.
    pub fn names_element(&self, element: &Element) -> bool {
        match self.steps.as_slice() {
            [Step::Child { ns, name, .. }] => element.is(ns.as_deref(), name),
            _ => false,
        }
    }

    /// Resolves the path from `from`; `kind` replaces `{kind}` (no match without it).
    pub fn resolve<'a>(&self, from: Node<'a>, kind: Option<&str>) -> Found<'a> {
        let mut current = from;
        for (index, step) in self.steps.iter().enumerate() {
            let last = index + 1 == self.steps.len();
            match step {
                Step::Attr(name) => {
                    return match current {
                        Node::Xml(element) => match element.attr(name) {
                            Some(value) => Found::Attr(value),
                            None => Found::Absent,
                        },
                        Node::Json(_) => Found::Absent,
                    }
                }
                Step::Child { ns, name, all } => {
                    let name = if name.contains(KIND_PLACEHOLDER) {
                        match kind {
                            Some(kind) => {
                                std::borrow::Cow::Owned(name.replace(KIND_PLACEHOLDER, kind))
                            }
                            None => return Found::Absent,
                        }
                    } else {
                        std::borrow::Cow::Borrowed(name.as_str())
                    };
                    match current {
                        Node::Json(value) => match value.get(name.as_ref()) {
                            None | Some(Value::Null) => return Found::Absent,
                            Some(Value::Array(items)) if last && *all => {
                                return Found::List(items.iter().map(Node::Json).collect())
                            }
                            Some(next) => current = Node::Json(next),
                        },
                        Node::Xml(element) => {
                            let mut matches = element
                                .children
                                .iter()
                                .filter(|child| child.is(ns.as_deref(), &name));
                            if last && *all {
                                return Found::List(matches.map(Node::Xml).collect());
                            }
                            match matches.next() {
                                Some(child) => current = Node::Xml(child),
                                None => return Found::Absent,
                            }
                        }
                    }
                }
            }
        }
        Found::Node(current)
    }
}

/// Writing: the inverse of [`Path::resolve`], used by the renderer to build a legacy
/// document from canonical messages. Missing parents are created; an existing element
/// or object is reused (the first match, as resolution reads the first match).
impl Path {
    /// Whether the last step is a list step (`name[]`).
    pub fn is_list(&self) -> bool {
        matches!(self.steps.last(), Some(Step::Child { all: true, .. }))
    }

    /// Whether the last step is an attribute (`@name`).
    pub fn is_attribute(&self) -> bool {
        matches!(self.steps.last(), Some(Step::Attr(_)))
    }

    /// Puts `value` into a JSON object tree at this path.
    pub fn json_put(&self, root: &mut Value, kind: Option<&str>, value: Value) {
        let mut current = root;
        for (index, step) in self.steps.iter().enumerate() {
            let Step::Child { name, .. } = step else {
                return;
            };
            let name = expand(name, kind);
            if !current.is_object() {
                *current = Value::Object(serde_json::Map::new());
            }
            let Value::Object(map) = current else { return };
            if index + 1 == self.steps.len() {
                map.insert(name, value);
                return;
            }
            current = map
                .entry(name)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
    }

    /// A new, empty element named like the last step (which must be an element step).
    pub fn new_element(&self, kind: Option<&str>) -> Option<Element> {
        match self.steps.last() {
            Some(Step::Child { ns, name, .. }) => Some(Element {
                ns: ns.clone(),
                name: expand(name, kind),
                ..Element::default()
            }),
            _ => None,
        }
    }

    /// Appends `elements` under the parent this path's last step lives in (creating the
    /// parents), e.g. the records of a batch or a person element.
    pub fn xml_append(&self, root: &mut Element, kind: Option<&str>, elements: Vec<Element>) {
        let parents = self.steps.len().saturating_sub(1);
        let parent = descend(root, &self.steps[..parents], kind);
        parent.children.extend(elements);
    }

    /// Writes text values at this path: an attribute, one element's text, or (for a
    /// list step) one element per value.
    pub fn xml_put(&self, root: &mut Element, kind: Option<&str>, values: Vec<String>) {
        let parents = self.steps.len().saturating_sub(1);
        let parent = descend(root, &self.steps[..parents], kind);
        match self.steps.last() {
            Some(Step::Attr(name)) => {
                let value = values.join("");
                parent
                    .attrs
                    .retain(|(ns, local, _)| !(ns.is_none() && local == name));
                parent.attrs.push((None, name.clone(), value));
            }
            Some(Step::Child { all: true, .. }) => {
                for value in values {
                    if let Some(mut element) = self.new_element(kind) {
                        element.text = value;
                        parent.children.push(element);
                    }
                }
            }
            Some(Step::Child { ns, name, .. }) => {
                let name = expand(name, kind);
                let element = child_mut(parent, ns.as_deref(), &name);
                element.text = values.join("");
            }
            None => {}
        }
    }
}

fn expand(name: &str, kind: Option<&str>) -> String {
    match kind {
        Some(kind) => name.replace(KIND_PLACEHOLDER, kind),
        None => name.to_owned(),
    }
}

/// Follows element steps from `root`, creating missing elements.
fn descend<'a>(root: &'a mut Element, steps: &[Step], kind: Option<&str>) -> &'a mut Element {
    let mut current = root;
    for step in steps {
        if let Step::Child { ns, name, .. } = step {
            let name = expand(name, kind);
            current = child_mut(current, ns.as_deref(), &name);
        }
    }
    current
}

/// The first child (`ns`, `name`), created when there is none.
fn child_mut<'a>(parent: &'a mut Element, ns: Option<&str>, name: &str) -> &'a mut Element {
    let position = match parent.children.iter().position(|c| c.is(ns, name)) {
        Some(position) => position,
        None => {
            parent.children.push(Element {
                ns: ns.map(str::to_owned),
                name: name.to_owned(),
                ..Element::default()
            });
            parent.children.len() - 1
        }
    };
    &mut parent.children[position]
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A place in a parsed document: a JSON value or an XML element.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node<'a> {
    Json(&'a Value),
    Xml(&'a Element),
}

/// The result of resolving a path.
#[derive(Debug, Clone)]
pub(crate) enum Found<'a> {
    /// Nothing there (a missing key or element, JSON `null`).
    Absent,
    /// One JSON value or XML element.
    Node(Node<'a>),
    /// An XML attribute's value.
    Attr(&'a str),
    /// A `name[]` step: every matching element, or the items of a JSON array.
    List(Vec<Node<'a>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn namespaces() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("default".to_owned(), "urn:d".to_owned()),
            ("s".to_owned(), "urn:s".to_owned()),
        ])
    }

    #[test]
    fn compiles_and_rejects_paths() {
        let ns = namespaces();
        assert!(Path::parse("a/s:b/@c", PathSyntax::Xml, &ns).is_ok());
        assert!(Path::parse("a/{kind}", PathSyntax::Xml, &ns).is_ok_and(|p| p.uses_kind()));
        for bad in [
            "",
            "a//b",
            "@a/b",
            "a[]/b",
            "x:a",
            "default:a",
            "a/@",
            "a/@s:b",
        ] {
            assert!(Path::parse(bad, PathSyntax::Xml, &ns).is_err(), "{bad}");
        }
        assert!(Path::parse("a/@b", PathSyntax::Json, &ns).is_err());
        assert!(Path::parse("header/count", PathSyntax::Json, &ns).is_ok());
    }

    #[test]
    fn resolves_json() {
        let doc = json!({"header": {"count": 2}, "records": [{"seq": 1}, {"seq": 2}], "n": null});
        let ns = BTreeMap::new();
        let count = Path::parse("header/count", PathSyntax::Json, &ns).expect("path");
        assert!(
            matches!(count.resolve(Node::Json(&doc), None), Found::Node(Node::Json(v)) if v == &json!(2))
        );
        let records = Path::parse("records[]", PathSyntax::Json, &ns).expect("path");
        assert!(matches!(records.resolve(Node::Json(&doc), None), Found::List(l) if l.len() == 2));
        let n = Path::parse("n", PathSyntax::Json, &ns).expect("path");
        assert!(matches!(n.resolve(Node::Json(&doc), None), Found::Absent));
        let deep = Path::parse("header/count/x", PathSyntax::Json, &ns).expect("path");
        assert!(matches!(
            deep.resolve(Node::Json(&doc), None),
            Found::Absent
        ));
    }

    #[test]
    fn resolves_xml_by_namespace_uri_and_kind() {
        let doc = crate::xml::parse(
            r#"<p:r xmlns:p="urn:d" xmlns:q="urn:s"><p:checkup date="1"><item>x</item><q:item>y</q:item><p:item>z</p:item></p:checkup></p:r>"#,
        )
        .expect("xml");
        let ns = namespaces();
        let date = Path::parse("{kind}/@date", PathSyntax::Xml, &ns).expect("path");
        assert!(matches!(
            date.resolve(Node::Xml(&doc), Some("checkup")),
            Found::Attr("1")
        ));
        assert!(matches!(date.resolve(Node::Xml(&doc), None), Found::Absent));
        let items = Path::parse("checkup/item[]", PathSyntax::Xml, &ns).expect("path");
        match items.resolve(Node::Xml(&doc), None) {
            Found::List(list) => assert_eq!(list.len(), 1),
            other => panic!("{other:?}"),
        }
        let s_items = Path::parse("checkup/s:item[]", PathSyntax::Xml, &ns).expect("path");
        assert!(matches!(s_items.resolve(Node::Xml(&doc), None), Found::List(l) if l.len() == 1));
    }
}
