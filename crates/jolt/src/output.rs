//! [`Output`]: a transform's result that borrows from the input and the compiled spec instead
//! of copying them, as the Java reference's output (maps whose values are the input's own
//! objects and whose keys are the spec's strings) does.
//!
//! A chain whose only step is `shift` gives a borrowed tree: building it copies no input value
//! and hashes no key. Other chains give the owned `Value` their last step produced. Either way
//! the caller can read it in place ([`Output::root`]), serialize it ([`Output::write_json`],
//! `Serialize`), or turn it into a `serde_json::Value` once ([`Output::into_value`]); all give
//! exactly what [`crate::Jolt::apply`] gives.

use crate::object_templates::ObjectTemplates;
use crate::shift_output::Out;
use serde::ser::{Serialize, Serializer};
use serde_json::Value;

/// The result of [`crate::Jolt::transform`], borrowing from the input and the spec.
#[derive(Debug)]
pub struct Output<'a> {
    repr: Repr<'a>,
}

#[derive(Debug)]
enum Repr<'a> {
    /// A shift's output tree, with the shapes its objects are built from.
    Tree(Out<'a>, &'a ObjectTemplates),
    Value(Value),
}

impl<'a> Output<'a> {
    pub(crate) fn tree(root: Out<'a>, templates: &'a ObjectTemplates) -> Output<'a> {
        Output {
            repr: Repr::Tree(root, templates),
        }
    }

    pub(crate) fn value(value: Value) -> Output<'a> {
        Output {
            repr: Repr::Value(value),
        }
    }

    /// Whether the output is a tree borrowing from the input (rather than an owned `Value`).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.repr, Repr::Tree(..))
    }

    /// The output document, to read in place.
    pub fn root(&self) -> OutputRef<'_> {
        match &self.repr {
            Repr::Tree(out, _) => OutputRef::of_out(out),
            Repr::Value(v) => OutputRef::of_value(v),
        }
    }

    /// Copies the output into a `serde_json::Value` (what [`crate::Jolt::apply`] returns).
    pub fn to_value(&self) -> Value {
        match &self.repr {
            Repr::Tree(out, templates) => {
                let mut view = templates.view();
                let value = out.to_value(&mut view);
                view.finish();
                value
            }
            Repr::Value(v) => v.clone(),
        }
    }

    /// Turns the output into a `serde_json::Value`, copying only what it borrows.
    pub fn into_value(self) -> Value {
        match self.repr {
            Repr::Tree(..) => self.to_value(),
            Repr::Value(v) => v,
        }
    }

    /// Appends the output as JSON text, byte for byte what `serde_json::to_vec` gives for
    /// [`Output::to_value`].
    pub fn write_json(&self, buffer: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(buffer, self)
    }

    /// The output as JSON text.
    pub fn to_json_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut buffer = Vec::with_capacity(1024);
        self.write_json(&mut buffer)?;
        Ok(buffer)
    }
}

impl Serialize for Output<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Tree(out, _) => out.serialize(serializer),
            Repr::Value(v) => v.serialize(serializer),
        }
    }
}

/// A read-only view of one node of an [`Output`] (the counterpart of `&serde_json::Value`).
#[derive(Debug, Clone, Copy)]
pub struct OutputRef<'o> {
    node: Node<'o>,
}

#[derive(Debug, Clone, Copy)]
enum Node<'o> {
    Out(&'o Out<'o>),
    Value(&'o Value),
}

static NULL: Value = Value::Null;

impl<'o> OutputRef<'o> {
    fn of_out(out: &'o Out<'o>) -> OutputRef<'o> {
        // Leaves that are plain JSON are read as such.
        match out {
            Out::Borrowed(v) => OutputRef::of_value(v),
            Out::Null => OutputRef::of_value(&NULL),
            _ => OutputRef {
                node: Node::Out(out),
            },
        }
    }

    fn of_value(v: &'o Value) -> OutputRef<'o> {
        OutputRef {
            node: Node::Value(v),
        }
    }

    /// The member `key` of an object; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<OutputRef<'o>> {
        match self.node {
            Node::Out(Out::Object(m)) => {
                m.position(key).map(|p| OutputRef::of_out(&m.entries[p].1))
            }
            Node::Value(Value::Object(m)) => m.get(key).map(OutputRef::of_value),
            _ => None,
        }
    }

    /// The element `index` of an array; `None` when out of range or not an array.
    pub fn index(&self, index: usize) -> Option<OutputRef<'o>> {
        match self.node {
            Node::Out(Out::Array(items)) => items.get(index).map(OutputRef::of_out),
            Node::Value(Value::Array(items)) => items.get(index).map(OutputRef::of_value),
            _ => None,
        }
    }

    /// Follows a JSON Pointer (`/a/0/b`), as `serde_json::Value::pointer`.
    pub fn pointer(&self, pointer: &str) -> Option<OutputRef<'o>> {
        if pointer.is_empty() {
            return Some(*self);
        }
        let rest = pointer.strip_prefix('/')?;
        let mut cur = *self;
        for raw in rest.split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            cur = if cur.is_array() {
                let i = token.parse::<usize>().ok()?;
                cur.index(i)?
            } else {
                cur.get(&token)?
            };
        }
        Some(cur)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&'o str> {
        match self.node {
            Node::Out(Out::Str(s)) => Some(s),
            Node::Value(v) => v.as_str(),
            _ => None,
        }
    }

    /// The plain JSON value, if this node is one (every node except objects and arrays the
    /// transform built itself).
    pub fn as_value(&self) -> Option<&'o Value> {
        match self.node {
            Node::Value(v) => Some(v),
            Node::Out(_) => None,
        }
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_value().and_then(Value::as_f64)
    }

    /// The number as `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_value().and_then(Value::as_i64)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        self.as_value().and_then(Value::as_bool)
    }

    /// Whether this is JSON null.
    pub fn is_null(&self) -> bool {
        matches!(self.node, Node::Value(Value::Null))
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(
            self.node,
            Node::Out(Out::Object(_)) | Node::Value(Value::Object(_))
        )
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(
            self.node,
            Node::Out(Out::Array(_)) | Node::Value(Value::Array(_))
        )
    }

    /// Number of members of an object or elements of an array; `None` for anything else.
    pub fn len(&self) -> Option<usize> {
        match self.node {
            Node::Out(Out::Object(m)) => Some(m.entries.len()),
            Node::Out(Out::Array(items)) => Some(items.len()),
            Node::Value(Value::Object(m)) => Some(m.len()),
            Node::Value(Value::Array(items)) => Some(items.len()),
            _ => None,
        }
    }

    /// Whether this has no members or elements (true for a scalar, which has none).
    pub fn is_empty(&self) -> bool {
        self.len().is_none_or(|n| n == 0)
    }

    /// The keys of an object, in output order (empty for anything else).
    pub fn keys(&self) -> Vec<&'o str> {
        match self.node {
            Node::Out(Out::Object(m)) => m.entries.iter().map(|(k, _)| k.as_ref()).collect(),
            Node::Value(Value::Object(m)) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Copies this node into a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self.node {
            Node::Value(v) => v.clone(),
            Node::Out(out) => out.to_plain_value(),
        }
    }
}

impl Serialize for OutputRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.node {
            Node::Out(out) => out.serialize(serializer),
            Node::Value(v) => v.serialize(serializer),
        }
    }
}
