//! Every session / FlowFile / stream call a NiFi script makes, and the native `transform` form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attrs, pool};
use omnibridge_script::{Relationship, RunOptions, Script, ScriptForm};

#[tokio::test]
async fn stream_callback_rewrites_content_and_attributes() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"import json
from org.apache.commons.io import IOUtils
from java.nio.charset import StandardCharsets
from org.apache.nifi.processor.io import StreamCallback, InputStreamCallback, OutputStreamCallback

class Upper(StreamCallback):
    def process(self, inputStream, outputStream):
        text = IOUtils.toString(inputStream, StandardCharsets.UTF_8)
        outputStream.write(bytearray(text.upper().encode('utf-8')))

class Peek(InputStreamCallback):
    def __init__(self):
        self.raw = None
    def process(self, inputStream):
        self.raw = IOUtils.toByteArray(inputStream)

flowFile = session.get()
if flowFile is not None:
    before = flowFile
    flowFile = session.write(flowFile, Upper())
    peek = Peek()
    session.read(flowFile, peek)
    flowFile = session.putAttribute(flowFile, 'peeked', peek.raw.decode('utf-8'))
    flowFile = session.putAllAttributes(flowFile, {'a': '1', 'b': b'2', 'uuid': 'ignored'})
    flowFile = session.removeAttribute(flowFile, 'drop.me')
    flowFile = session.penalize(flowFile)
    attrs = flowFile.getAttributes()
    session.putAttribute(flowFile, 'size', str(flowFile.getSize()))
    session.putAttribute(flowFile, 'stale.size', str(before.getSize()))
    session.putAttribute(flowFile, 'stale.a', str(before.getAttribute('a')))
    session.putAttribute(flowFile, 'map', ','.join(sorted(k for k in attrs.keySet())))
    session.putAttribute(flowFile, 'has.a', str(attrs.containsKey('a') and 'a' in attrs))
    session.putAttribute(flowFile, 'penalized', str(flowFile.isPenalized()))
    session.transfer(flowFile, REL_SUCCESS)
    session.commit()
"#,
    );
    let result = pool
        .run(
            &script,
            "şirket ünvanı",
            attrs(&[("drop.me", "x"), ("keep", "y")]),
        )
        .await
        .unwrap();
    assert_eq!(result.error, None);
    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(result.result_text(), Some("ŞIRKET ÜNVANI"));
    let a = &result.attributes;
    assert_eq!(a["peeked"], "ŞIRKET ÜNVANI");
    assert_eq!((a["a"].as_str(), a["b"].as_str()), ("1", "2"));
    assert!(!a.contains_key("drop.me") && !a.contains_key("uuid"));
    assert_eq!(a["size"], "ŞIRKET ÜNVANI".len().to_string());
    assert_eq!(a["stale.size"], "şirket ünvanı".len().to_string());
    assert_eq!(
        a["stale.a"], "None",
        "an old snapshot still reads the old values"
    );
    assert_eq!(a["map"], "a,b,keep,peeked");
    assert_eq!(
        (a["has.a"].as_str(), a["penalized"].as_str()),
        ("True", "True")
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn output_streams_accept_bytes_bytearray_str_ints_and_io_utils_write() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"from org.apache.nifi.processor.io import OutputStreamCallback
from org.apache.commons.io import IOUtils
from java.nio.charset import StandardCharsets

class Out(OutputStreamCallback):
    def process(self, outputStream):
        outputStream.write(b'bytes|')
        outputStream.write(bytearray(u'bytearray ğ|'.encode('utf-8')))
        outputStream.write('str ı|')
        outputStream.write(65)
        IOUtils.write('|io', outputStream, StandardCharsets.UTF_8)

ff = session.get()
ff = session.write(ff, Out())
session.transfer(ff, REL_SUCCESS)
"#,
    );
    let result = pool.run(&script, "", attrs(&[])).await.unwrap();
    assert_eq!(result.result_text(), Some("bytes|bytearray ğ|str ı|A|io"));
    assert_eq!(result.relationship, Some(Relationship::Success));
    pool.shutdown().await;
}

#[tokio::test]
async fn create_get_n_remove_and_rollback_follow_nifi_semantics() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"from org.apache.nifi.processor.io import OutputStreamCallback
import java.lang

batch = session.get(10)
assert len(batch) == 1, batch
original = batch[0]
child = session.create(original)
child = session.write(child, lambda out: out.write(java.lang.String(b'child', 'UTF-8')))
session.transfer(child, REL_FAILURE)
scratch = session.create()
session.remove(scratch)
session.transfer(original)  # back to the input queue
session.commit()            # commits the child; the input is queued again

first = session.get()
session.putAttribute(first, 'tmp', 'x')
session.rollback()          # undone: the input goes back without 'tmp'
first = session.get()
assert first.getAttribute('tmp') is None
assert session.get() is None
session.putAttribute(first, 'step', 'second-try')
session.transfer(first, REL_SUCCESS)
"#,
    );
    let result = pool
        .run(&script, "input", attrs(&[("order", "7")]))
        .await
        .unwrap();
    assert_eq!(result.error, None, "{:?}", result.error);
    // The input FlowFile is the primary output; the child is an extra one.
    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(result.result_text(), Some("input"));
    assert_eq!(result.attributes["step"], "second-try");
    assert_eq!(result.extra_outputs.len(), 1);
    let child = &result.extra_outputs[0];
    assert_eq!(child.relationship, Relationship::Failure);
    assert_eq!(child.content.as_deref(), Some(&b"child"[..]));
    assert_eq!(
        child.attributes["order"], "7",
        "create(parent) copies the parent's attributes"
    );
    assert!(child.attributes.contains_key("uuid") && child.attributes["path"] == "./");
    pool.shutdown().await;
}

#[tokio::test]
async fn log_calls_stdout_and_context_properties_come_back() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"ff = session.get()
print('hello from the script')
log.info('order {} has {} lines', '1001', 3)
log.warn('careful')
log.error('failed', ValueError('boom'))
log.debug('dbg')
session.putAttribute(ff, 'url', context.getProperty('Remote URL').evaluateAttributeExpressions(ff).getValue())
session.putAttribute(ff, 'mode', mode.getValue())
session.putAttribute(ff, 'log.note', 'from the script')
session.transfer(ff, REL_SUCCESS)
"#,
    );
    let options = RunOptions {
        properties: attrs(&[("Remote URL", "https://erp.example/x"), ("mode", "test")]),
        ..RunOptions::default()
    };
    let result = pool
        .run_with(&script, "{}", &attrs(&[]), &options)
        .await
        .unwrap();
    assert_eq!(result.stdout, "hello from the script\n");
    let logs: Vec<(&str, &str)> = result
        .logs
        .iter()
        .map(|l| (l.level.as_str(), l.message.as_str()))
        .collect();
    assert_eq!(
        logs,
        vec![
            ("info", "order 1001 has 3 lines"),
            ("warn", "careful"),
            ("error", "failed: ValueError: boom"),
            ("debug", "dbg"),
        ]
    );
    assert_eq!(result.attributes["url"], "https://erp.example/x");
    assert_eq!(result.attributes["mode"], "test");
    assert_eq!(result.attributes["log.note"], "from the script");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_non_string_attribute_value_is_an_error_naming_the_attribute() {
    let pool = pool(1).await;
    let script = Script::new(
        "ff = session.get()\nsession.putAttribute(ff, 'count', 3)\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let result = pool.run(&script, "x", attrs(&[("k", "v")])).await.unwrap();
    assert_eq!(result.relationship, None);
    let error = result.error.unwrap();
    assert!(
        error.contains("attribute 'count' must be a string") && error.contains("got int 3"),
        "{error}"
    );
    assert!(error.contains("line 2"), "{error}");
    // The session was rolled back: nothing routed, input attributes as they were.
    assert_eq!(result.result_data, None);
    assert_eq!(result.attributes, attrs(&[("k", "v")]));
    pool.shutdown().await;
}

#[tokio::test]
async fn an_uncaught_exception_rolls_back_and_returns_the_traceback() {
    let pool = pool(1).await;
    let script = Script::new(
        "import json\nff = session.get()\nsession.putAttribute(ff, 'half', 'done')\ndata = json.loads('{')\n",
    );
    let result = pool.run(&script, "x", attrs(&[])).await.unwrap();
    assert_eq!(result.relationship, None);
    assert!(!result.attributes.contains_key("half"));
    let error = result.error.unwrap();
    assert!(
        error.starts_with("Traceback (most recent call last):\n  File \"<script>\", line 4"),
        "{error}"
    );
    assert!(error.contains("JSONDecodeError"), "{error}");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_script_that_never_transfers_gets_an_error_naming_the_cause() {
    let pool = pool(1).await;
    let cases = [
        ("x = 1\n", "never called session.get()"),
        (
            "ff = session.get()\n",
            "transfer relationship not specified",
        ),
        (
            "ff = session.get()\nsession.remove(ff)\n",
            "removed the FlowFile",
        ),
        (
            "ff = session.get()\nsession.rollback()\n",
            "rolled the session back",
        ),
        (
            "ff = session.get()\nsession.transfer(ff, REL_SUCCESS)\nsession.transfer(ff, REL_FAILURE)\n",
            "already marked for transfer",
        ),
    ];
    for (source, cause) in cases {
        let result = pool
            .run(&Script::new(source), "x", attrs(&[]))
            .await
            .unwrap();
        assert_eq!(result.relationship, None, "{source}");
        let error = result.error.unwrap_or_default();
        assert!(error.contains(cause), "{source}: {error}");
    }
    pool.shutdown().await;
}

#[tokio::test]
async fn java_lang_and_python2_builtins_work_unchanged() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"from java.lang import String, Integer, System
from java.util import UUID
import jarray
import java.lang.Thread
import org.apache.commons.io.IOUtils as IOUtils
java.lang.Thread.sleep(1)
ff = session.get()
n = Integer.parseInt('42') + long(1)
text = unicode(String(bytearray(b'abc'), 'UTF-8'))
buf = jarray.zeros(3, 'b')
count = session.read(ff).read(buf)
assert IOUtils.toString(session.read(ff), 'UTF-8') == 'xyz!'
ok = isinstance(text, basestring) and System.currentTimeMillis() > 0 and len(UUID.randomUUID()) == 36
session.putAttribute(ff, 'r', '%d %s %d %s %s' % (n, text, count, buf.tostring(), ok))
session.transfer(ff, REL_SUCCESS)
"#,
    );
    let result = pool.run(&script, "xyz!", attrs(&[])).await.unwrap();
    assert_eq!(result.error, None);
    assert_eq!(result.attributes["r"], "43 abc 3 xyz True");
    pool.shutdown().await;
}

#[tokio::test]
async fn native_transform_form_is_detected_and_run() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"def transform(data, attributes):
    attributes['lines'] = str(len(data['items']))
    data['total'] = sum(i['price'] for i in data['items'])
    return data
"#,
    );
    let report = pool.check(&script).await.unwrap();
    assert_eq!(report.form, ScriptForm::Transform);
    let result = pool
        .run(
            &script,
            r#"{"items": [{"price": 2}, {"price": 3}]}"#,
            attrs(&[("a", "b")]),
        )
        .await
        .unwrap();
    assert_eq!(result.form, ScriptForm::Transform);
    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(
        result.result_text(),
        Some(r#"{"items": [{"price": 2}, {"price": 3}], "total": 5}"#)
    );
    assert_eq!(result.attributes, attrs(&[("a", "b"), ("lines", "2")]));

    let text = Script::new("def transform(data, attributes):\n    return data.upper()\n");
    let result = pool.run(&text, "not json", attrs(&[])).await.unwrap();
    assert_eq!(result.result_text(), Some("NOT JSON"));

    let forgot = Script::new("def transform(data, attributes):\n    data['x'] = 1\n");
    let result = pool.run(&forgot, "{}", attrs(&[])).await.unwrap();
    assert_eq!(result.relationship, None);
    assert!(result.error.unwrap().contains("transform() returned None"));
    pool.shutdown().await;
}

#[tokio::test]
async fn non_utf8_content_round_trips_as_bytes() {
    let pool = pool(1).await;
    let script = Script::new(
        "from org.apache.nifi.processor.io import StreamCallback\nclass C(StreamCallback):\n    def process(self, i, o):\n        o.write(i.readAllBytes()[::-1])\nff = session.write(session.get(), C())\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let result = pool
        .run(&script, vec![0xff_u8, 0x00, 0xfe], attrs(&[]))
        .await
        .unwrap();
    assert_eq!(result.result_data, Some(vec![0xfe, 0x00, 0xff]));
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["result_data"], serde_json::json!({"base64": "/gD/"}));
    pool.shutdown().await;
}

#[tokio::test]
async fn java_util_text_io_classes_and_python2_module_names_are_available() {
    let pool = pool(1).await;
    let script = Script::new(
        r#"from java.util import Date, Base64
from java.text import SimpleDateFormat
from java.io import BufferedReader, InputStreamReader
from java.nio.charset import StandardCharsets
from org.apache.nifi.processor.io import InputStreamCallback
import urllib2, urllib, urlparse
from StringIO import StringIO

class Lines(InputStreamCallback):
    def process(self, inputStream):
        reader = BufferedReader(InputStreamReader(inputStream, StandardCharsets.UTF_8))
        self.first = reader.readLine()
        self.second = reader.readLine()
        self.end = reader.readLine()

ff = session.get()
cb = Lines()
session.read(ff, cb)
fmt = SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")
when = fmt.format(Date(1700000000123))
back = fmt.parse(when).getTime()
auth = Base64.getEncoder().encodeToString(("user:pass").encode('utf-8'))
q = urllib.urlencode({'a': 'b c'})
ok = urllib2.Request is not None and urlparse.urlparse('http://x/y').path == '/y' and StringIO('z').read() == 'z'
session.putAttribute(ff, 'r', '%s|%s|%s|%s|%d|%s|%s|%s' % (cb.first, cb.second, cb.end, when, back, auth, q, ok))
session.transfer(ff, REL_SUCCESS)
"#,
    );
    let result = pool
        .run(&script, "line one\nline two", attrs(&[]))
        .await
        .unwrap();
    assert_eq!(result.error, None);
    assert_eq!(
        result.attributes["r"],
        "line one|line two|None|2023-11-14T22:13:20.123|1700000000123|dXNlcjpwYXNz|a=b+c|True"
    );
    pool.shutdown().await;
}
