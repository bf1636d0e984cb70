//! A small, hostile-input-safe XML reader: text → a tree of [`Element`]s keyed by
//! (namespace URI, local name).
//!
//! Legacy XML arrives from systems the hub does not control, so this refuses rather
//! than guesses: any DTD (and with it any entity declaration) is rejected before it can
//! be expanded or fetched, unknown entity references are errors, nesting is bounded
//! (the tree is dropped recursively, and a 1 MiB body of `<a><a>…` must not overflow
//! the stack), and a document must have exactly one root element and nothing but
//! white space, comments and processing instructions around it. Errors are short
//! phrases with a byte position; they never quote the document's text content.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::XmlVersion;

/// Deeper documents are rejected: no legacy format nests more than five levels (six
/// inside a SOAP envelope), and the limit keeps recursive walks of the tree cheap.
const MAX_DEPTH: usize = 64;

/// The detail of every rejection caused by a DTD or an entity declaration.
pub(crate) const DTD_DETAIL: &str = "DTD or entity declarations are not accepted";

/// One XML element: its expanded name, unqualified and qualified attributes, child
/// elements in document order and its own text (text and CDATA of direct children,
/// entities decoded, not trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Namespace URI, `None` when the name is in no namespace.
    pub ns: Option<String>,
    /// Local name (without prefix).
    pub name: String,
    /// Attributes as (namespace URI, local name, normalised value); namespace
    /// declarations (`xmlns`, `xmlns:p`) are not attributes here.
    pub attrs: Vec<(Option<String>, String, String)>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own character data, concatenated.
    pub text: String,
}

impl Element {
    /// An element with no attributes, no children and only white space: what a legacy
    /// system writes for "nothing here" (`<POXX/>`, `<原报文编号></原报文编号>`).
    pub fn is_blank(&self) -> bool {
        self.attrs.is_empty() && self.children.is_empty() && self.text.trim().is_empty()
    }

    /// The value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(ns, local, _)| ns.is_none() && local == name)
            .map(|(_, _, value)| value.as_str())
    }

    /// Whether this element has the expanded name (`ns`, `name`).
    pub fn is(&self, ns: Option<&str>, name: &str) -> bool {
        self.ns.as_deref() == ns && self.name == name
    }
}

/// Parses a whole XML document held in memory as text (already decoded).
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text);
    // End tags must match their start tags; quick-xml's default, stated for the reader.
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => return Err(syntax_error(text, reader.error_position(), &err)),
        };
        let position = reader.buffer_position();
        match event {
            Event::DocType(_) => return Err(DTD_DETAIL.to_owned()),
            Event::Decl(_) => {
                if root.is_some() || !stack.is_empty() {
                    return Err(format!(
                        "XML declaration after the root element (byte {position})"
                    ));
                }
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                if root.is_some() {
                    return Err(format!("more than one root element (byte {position})"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "elements nested more than {MAX_DEPTH} deep (byte {position})"
                    ));
                }
                let element = open(&reader, &start, position)?;
                stack.push(element);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return Err(format!("more than one root element (byte {position})"));
                }
                // An empty element's prefixes are in scope only for itself: the
                // reader pops its bindings on the next read, after we resolved them.
                let element = open(&reader, &start, position)?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => match stack.pop() {
                Some(element) => close(&mut stack, &mut root, element),
                None => return Err(format!("unexpected end tag (byte {position})")),
            },
            Event::Text(content) => {
                let content = content.xml10_content();
                push_text(&mut stack, &content, position)?;
            }
            Event::CData(content) => {
                let content = content.xml10_content();
                match stack.last_mut() {
                    Some(element) => element.text.push_str(&content),
                    None => {
                        return Err(format!("CDATA outside the root element (byte {position})"))
                    }
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => match predefined_entity(&reference) {
                        Some(ch) => ch.to_owned(),
                        None => {
                            // Not quoted: in a broken document it may be a person's name.
                            return Err(format!(
                                "unknown entity reference (byte {position}): only &lt; &gt; &amp; \
                                 &apos; &quot; and character references are allowed"
                            ))
                        }
                    },
                    Err(_) => return Err(format!("invalid character reference (byte {position})")),
                };
                push_text(&mut stack, &resolved, position)?;
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "document ends inside an element (truncated at byte {})",
            text.len()
        ));
    }
    root.ok_or_else(|| "no root element".to_owned())
}

/// Builds an element from its start tag, resolving the element's and its attributes'
/// namespaces while the tag's own bindings are in scope.
fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    position: u64,
) -> Result<Element, String> {
    let resolver = reader.resolver();
    let (ns, local) = resolver.resolve_element(start.name());
    let ns = namespace(ns, position)?;
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|err| format!("invalid attribute (byte {position}): {err}"))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (attr_ns, attr_local) = resolver.resolve_attribute(attr.key);
        let attr_ns = namespace(attr_ns, position)?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| match err {
                quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                    ..,
                )) => format!("unknown entity reference in an attribute (byte {position})"),
                _ => format!("invalid attribute value (byte {position})"),
            })?;
        attrs.push((attr_ns, attr_local.as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element {
        ns,
        name: local.as_ref().to_owned(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

fn namespace(result: ResolveResult<'_>, position: u64) -> Result<Option<String>, String> {
    match result {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(ns.0.to_owned())),
        ResolveResult::Unknown(_) => Err(format!(
            "an element or attribute uses an undeclared namespace prefix (byte {position})"
        )),
    }
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], content: &str, position: u64) -> Result<(), String> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(format!("text outside the root element (byte {position})")),
    }
}

/// How the writer names namespaces: each URI gets a prefix, or `None` for the
/// default namespace (declared with `xmlns="…"`).
pub(crate) type Bindings = Vec<(Option<String>, String)>;

/// Writes a whole document: the XML declaration naming `encoding`, then `root`,
/// declaring every binding on the root element. With `cdata`, element text is written
/// as CDATA (an envelope carrying a document) instead of escaped.
pub(crate) fn write(root: &Element, encoding: &str, bindings: &Bindings, cdata: bool) -> String {
    let mut out = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n");
    let default_declared = bindings.iter().any(|(prefix, _)| prefix.is_none());
    write_element(&mut out, root, bindings, default_declared, true, 0, cdata);
    out.push('\n');
    out
}

fn qualified(ns: Option<&str>, name: &str, bindings: &Bindings) -> String {
    let prefix = ns.and_then(|uri| {
        bindings
            .iter()
            .find(|(_, bound)| bound == uri)
            .and_then(|(prefix, _)| prefix.as_deref())
    });
    match prefix {
        Some(prefix) => format!("{prefix}:{name}"),
        None => name.to_owned(),
    }
}

fn write_element(
    out: &mut String,
    element: &Element,
    bindings: &Bindings,
    default_in_scope: bool,
    is_root: bool,
    depth: usize,
    cdata: bool,
) {
    let name = qualified(element.ns.as_deref(), &element.name, bindings);
    out.push('<');
    out.push_str(&name);
    if is_root {
        for (prefix, uri) in bindings {
            match prefix {
                Some(prefix) => out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape(uri, true))),
                None => out.push_str(&format!(" xmlns=\"{}\"", escape(uri, true))),
            }
        }
    }
    // An unqualified element inside a default namespace must step out of it.
    let mut default_in_scope = default_in_scope;
    if element.ns.is_none() && default_in_scope {
        out.push_str(" xmlns=\"\"");
        default_in_scope = false;
    }
    for (ns, local, value) in &element.attrs {
        let attr = match ns {
            Some(_) => qualified(ns.as_deref(), local, bindings),
            None => local.clone(),
        };
        out.push_str(&format!(" {attr}=\"{}\"", escape(value, true)));
    }
    if element.children.is_empty() && element.text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if cdata && !element.text.is_empty() {
        // `]]>` cannot occur inside CDATA: split it across two sections.
        out.push_str("<![CDATA[");
        out.push_str(&element.text.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]>");
    } else {
        out.push_str(&escape(&element.text, false));
    }
    for child in &element.children {
        out.push('\n');
        out.push_str(&"  ".repeat(depth + 1));
        write_element(
            out,
            child,
            bindings,
            default_in_scope,
            false,
            depth + 1,
            cdata,
        );
    }
    if !element.children.is_empty() {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Escapes text for element content or (with `attribute`) a double-quoted attribute.
fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The five entities XML predefines; nothing else is ever expanded.
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// A syntax error as a short detail. Markup that only a DTD may contain
/// (`<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`, `<!NOTATION`) gets the DTD detail, so a
/// stray entity declaration is reported for what it is.
fn syntax_error(text: &str, position: u64, err: &quick_xml::Error) -> String {
    let at = usize::try_from(position).unwrap_or(usize::MAX);
    let rest = text.get(at..).unwrap_or("");
    let dtd_markup = ["<!ENTITY", "<!ELEMENT", "<!ATTLIST", "<!NOTATION"];
    if dtd_markup.iter().any(|m| rest.starts_with(m)) {
        return DTD_DETAIL.to_owned();
    }
    format!("XML not well-formed at byte {position}: {}", describe(err))
}

/// What is wrong, in words of our own: the parser's messages quote tag and entity names,
/// which in a broken document may be any text — a person's name included.
fn describe(err: &quick_xml::Error) -> &'static str {
    use quick_xml::errors::IllFormedError as I;
    use quick_xml::errors::SyntaxError as S;
    use quick_xml::Error as E;
    match err {
        E::Syntax(S::InvalidBangMarkup) => "unknown or missing symbol in markup",
        E::Syntax(S::UnclosedPI) => "a processing instruction is not closed",
        E::Syntax(S::UnclosedXmlDecl) => "the XML declaration is not closed",
        E::Syntax(S::UnclosedComment) => "a comment is not closed",
        E::Syntax(S::UnclosedDoctype) => "a DOCTYPE is not closed",
        E::Syntax(S::UnclosedCData) => "a CDATA section is not closed",
        E::Syntax(S::UnclosedTag) => "a tag is not closed (`>` missing)",
        E::Syntax(_) => "an attribute value is not closed",
        E::IllFormed(I::MismatchedEndTag { .. }) => "an end tag does not match the element it closes",
        E::IllFormed(I::UnmatchedEndTag(_)) => "an end tag closes no open element",
        E::IllFormed(I::MissingEndTag(_)) => "an element is not closed",
        E::IllFormed(I::MissingDeclVersion(_) | I::UnknownVersion) => {
            "the XML declaration lacks a known version as its first attribute"
        }
        E::IllFormed(_) => "the markup is not well-formed",
        E::InvalidAttr(_) => "an attribute is not well-formed",
        E::Encoding(_) => "the text is not valid in its encoding",
        E::Escape(_) => "an escape (&…;) is not valid",
        E::Namespace(_) => "a namespace prefix is unknown or wrongly bound",
        E::Io(_) => "the document could not be read",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_with_namespaces_attributes_and_text() {
        let doc = parse(
            r#"<?xml version="1.0"?>
<zj:batch xmlns:zj="urn:zj" id="B1">
  <zj:record seq="1"><woman xmlns="urn:zj" name="a&amp;b"/><zj:item>x&lt;y&#x41;</zj:item>
  <n><![CDATA[<杨>]]></n></zj:record>
</zj:batch>"#,
        )
        .expect("parses");
        assert!(doc.is(Some("urn:zj"), "batch"));
        assert_eq!(doc.attr("id"), Some("B1"));
        let record = &doc.children[0];
        assert_eq!(record.children[0].ns.as_deref(), Some("urn:zj"));
        assert_eq!(record.children[0].attr("name"), Some("a&b"));
        assert_eq!(record.children[1].text, "x<yA");
        assert_eq!(record.children[2].ns, None);
        assert_eq!(record.children[2].text, "<杨>");
    }

    #[test]
    fn refuses_dtds_entities_and_broken_documents() {
        let dtd = parse(r#"<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>"#);
        assert_eq!(dtd, Err(DTD_DETAIL.to_owned()));
        assert_eq!(parse(r#"<!ENTITY x "y"><a/>"#), Err(DTD_DETAIL.to_owned()));
        for bad in [
            "<a>&foo;</a>",
            "<a b='&foo;'/>",
            "<a><b>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<p:a/>",
            "<a b='1' b='2'/>",
            "",
            "<a><![CDATA[x]]</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn bounds_nesting() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }
}
