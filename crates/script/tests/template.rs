//! The seeds' script template and its `get_attribute`/`allVar` helper run unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attrs, pool, seed_template};
use omnibridge_script::{Relationship, Script, ScriptForm};

#[tokio::test]
async fn seed_template_reformats_the_order_and_routes_to_success() {
    let pool = pool(1).await;
    let script = Script::new(seed_template());
    let input = r#"{"number": "1001", "amount": "12.50", "note": "çğıöşü"}"#;
    let input_attrs = attrs(&[("token.omnitron", "t1"), ("token.erp", "t2")]);

    let result = pool.run(&script, input, input_attrs.clone()).await.unwrap();

    assert_eq!(result.relationship, Some(Relationship::Success));
    assert_eq!(result.error, None);
    assert_eq!(result.form, ScriptForm::Nifi);
    let value: serde_json::Value = serde_json::from_str(input).unwrap();
    // json.dumps(output_obj, indent=4): the same object, pretty-printed with ensure_ascii.
    let expected = "{\n    \"number\": \"1001\",\n    \"amount\": \"12.50\",\n    \"note\": \"\\u00e7\\u011f\\u0131\\u00f6\\u015f\\u00fc\"\n}";
    assert_eq!(result.result_text(), Some(expected));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(expected).unwrap(),
        value
    );
    assert_eq!(result.attributes, input_attrs);
    pool.shutdown().await;
}

#[tokio::test]
async fn seed_template_reports_a_caught_exception_as_failure_with_log_script_error() {
    let pool = pool(1).await;
    let script = Script::new(seed_template());

    let result = pool
        .run(&script, "this is not json", attrs(&[("token.erp", "t")]))
        .await
        .unwrap();

    assert_eq!(result.relationship, Some(Relationship::Failure));
    assert_eq!(
        result.error, None,
        "the script handled its exception itself"
    );
    let trace = &result.attributes["log.script.error"];
    assert!(
        trace.starts_with("Traceback (most recent call last):"),
        "{trace}"
    );
    assert!(trace.contains("json.decoder.JSONDecodeError"), "{trace}");
    assert!(trace.contains("line 22, in process"), "{trace}");
    // The write failed, so the content is the input, unchanged.
    assert_eq!(result.result_text(), Some("this is not json"));
    assert_eq!(result.attributes["token.erp"], "t");
    pool.shutdown().await;
}

/// The template's helper, verbatim, used the way flows use it.
const GET_ATTRIBUTE_SCRIPT: &str = r#"import json
from org.apache.nifi.processor.io import StreamCallback

def get_attribute(flow_file, attr_name):
   all_var = flow_file.getAttribute("allVar")
   if all_var:
       all_attributes = json.loads(all_var)
       return all_attributes.get(attr_name, None)
   return flow_file.getAttribute(attr_name)

flowFile = session.get()
if flowFile != None:
   session.putAttribute(flowFile, 'seen.erp', str(get_attribute(flowFile, 'token.erp')))
   session.putAttribute(flowFile, 'seen.flow', str(get_attribute(flowFile, 'flow.name')))
   session.putAttribute(flowFile, 'log.tokens', 'checked')
   session.transfer(flowFile, REL_SUCCESS)
   session.commit()
"#;

#[tokio::test]
async fn get_attribute_reads_all_var_first_then_plain_attributes() {
    let pool = pool(1).await;
    let script = Script::new(GET_ATTRIBUTE_SCRIPT);

    let with_all_var = pool
        .run(
            &script,
            "{}",
            attrs(&[
                ("token.erp", "plain"),
                (
                    "allVar",
                    r#"{"token.erp": "from-allVar", "flow.name": "Orders"}"#,
                ),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(with_all_var.attributes["seen.erp"], "from-allVar");
    assert_eq!(with_all_var.attributes["seen.flow"], "Orders");
    assert_eq!(with_all_var.attributes["log.tokens"], "checked");

    let without = pool
        .run(&script, "{}", attrs(&[("token.erp", "plain")]))
        .await
        .unwrap();
    assert_eq!(without.attributes["seen.erp"], "plain");
    assert_eq!(without.attributes["seen.flow"], "None");
    assert_eq!(without.relationship, Some(Relationship::Success));
    pool.shutdown().await;
}
