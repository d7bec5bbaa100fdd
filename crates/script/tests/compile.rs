//! Scripts that do not compile: the line, and for Python 2 code what to change; `migrate` fixes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attrs, pool};
use omnibridge_script::{Relationship, Script, ScriptError, ScriptForm, migrate};

/// A legacy Jython script as Integrator users wrote them.
const JYTHON_SCRIPT: &str = r#"import json
from org.apache.commons.io import IOUtils
from java.nio.charset import StandardCharsets
from org.apache.nifi.processor.io import StreamCallback

class TransformCallback(StreamCallback):
    def process(self, inputStream, outputStream):
        order = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))
        lines = []
        for sku, qty in order['lines'].iteritems():
            lines.append({'sku': unicode(sku), 'qty': long(qty)})
        if order.has_key('note') and order['note'] <> '':
            print "note:", order['note']
        lines.sort(key=lambda l: l['sku'])
        outputStream.write(bytearray(json.dumps({'lines': lines}).encode('utf-8')))

flowFile = session.get()
if flowFile != None:
    try:
        flowFile = session.write(flowFile, TransformCallback())
        session.transfer(flowFile, REL_SUCCESS)
    except Exception, e:
        session.putAttribute(flowFile, 'log.script.error', str(e))
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
"#;

#[tokio::test]
async fn a_syntax_error_names_the_line() {
    let pool = pool(1).await;
    let script =
        Script::new("ff = session.get()\nif ff:\n    x = (1,\nsession.transfer(ff, REL_SUCCESS)\n");
    let err = pool.check(&script).await.unwrap_err();
    let ScriptError::Compile(diag) = &err else {
        panic!("expected a compile error, got {err}");
    };
    assert_eq!(diag.line, Some(3));
    assert!(diag.py2_hints.is_empty());
    assert!(
        err.to_string()
            .starts_with("the script does not compile: line 3"),
        "{err}"
    );

    // run() reports the same instead of running anything.
    let err = pool.run(&script, "x", attrs(&[])).await.unwrap_err();
    assert!(matches!(err, ScriptError::Compile(_)), "{err}");
    pool.shutdown().await;
}

#[tokio::test]
async fn a_python2_script_gets_an_error_saying_how_to_fix_it() {
    let pool = pool(1).await;
    let err = pool.check(&Script::new(JYTHON_SCRIPT)).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("line 13"), "{message}");
    assert!(
        message.contains("This looks like Python 2 code"),
        "{message}"
    );
    for expected in [
        "line 10: `.iteritems()` does not exist in Python 3: use `.items()`",
        "line 11: `unicode` is `str` in Python 3",
        "line 12: `d.has_key(k)` does not exist in Python 3: use `k in d`",
        "line 12: `<>` is written `!=` in Python 3",
        "line 13: print statement: write `print(...)` as a function call",
        "line 22: `except X, e:` is `except X as e:` in Python 3",
        "omnibridge script migrate",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    pool.shutdown().await;
}

#[tokio::test]
async fn the_migrated_script_compiles_and_runs() {
    let pool = pool(1).await;
    let migration = migrate(JYTHON_SCRIPT);
    assert!(migration.source.contains("print(\"note:\", order['note'])"));
    assert!(migration.source.contains("except Exception as e:"));
    assert!(
        migration
            .source
            .contains("if ('note' in order) and order['note'] != '':")
    );
    assert_eq!(migration.changes.len(), 7, "{:#?}", migration.changes);

    let script = Script::new(migration.source);
    let report = pool.check(&script).await.unwrap();
    assert_eq!(report.form, ScriptForm::Nifi);
    assert!(report.py2_warnings.is_empty(), "{:?}", report.py2_warnings);
    let result = pool
        .run(
            &script,
            r#"{"lines": {"b": "2", "a": 1}, "note": "kapıda ödeme"}"#,
            attrs(&[]),
        )
        .await
        .unwrap();
    assert_eq!(
        result.relationship,
        Some(Relationship::Success),
        "{result:?}"
    );
    assert_eq!(
        result.result_text(),
        Some(r#"{"lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}"#)
    );
    assert_eq!(result.stdout, "note: kapıda ödeme\n");
    assert_eq!(
        migrate(script.source()).source,
        script.source(),
        "migrating twice changes nothing"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn python2_methods_that_compile_are_warned_at_check_and_hinted_at_run_time() {
    let pool = pool(1).await;
    let script = Script::new(
        "ff = session.get()\nfor k, v in ff.getAttributes().iteritems():\n    pass\nsession.transfer(ff, REL_SUCCESS)\n",
    );
    let report = pool.check(&script).await.unwrap();
    assert_eq!(report.py2_warnings.len(), 1);
    assert_eq!(report.py2_warnings[0].line, 2);
    let result = pool.run(&script, "x", attrs(&[("a", "b")])).await.unwrap();
    let error = result.error.unwrap();
    assert!(
        error.contains("Python 2 idiom: .iteritems does not exist in Python 3; use .items()"),
        "{error}"
    );
    pool.shutdown().await;
}
