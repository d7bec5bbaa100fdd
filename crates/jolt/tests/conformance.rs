//! Runs every case of the Jolt reference suite (`shared/conformance/jolt/manifest.json`) the
//! way its README describes, with exact JSON equality (and key order where asked).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_jolt::{CompileOptions, Jolt, parse_json_with_comments};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

fn suite_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/jolt"
    ))
}

struct Files {
    cache: HashMap<String, Value>,
}

impl Files {
    fn resolve(&mut self, reference: &Value) -> Option<Value> {
        if reference.is_null() {
            return None;
        }
        if let Some(v) = reference.get("inline") {
            return Some(v.clone());
        }
        let file = reference["file"].as_str().unwrap().to_string();
        let pointer = reference["pointer"].as_str().unwrap();
        let doc = self.cache.entry(file.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(suite_dir().join(&file)).unwrap();
            parse_json_with_comments(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
        });
        Some(
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{file} has no {pointer}"))
                .clone(),
        )
    }
}

/// The two custom functions `modifier/functions/labelsLookupTest` needs (see the README).
fn label_options() -> CompileOptions {
    fn pick(args: &[&Value], want_max: bool) -> Option<Value> {
        let map = match args {
            [Value::Object(m)] => m,
            _ => return None,
        };
        let best = map
            .keys()
            .filter_map(|k| k.parse::<i32>().ok())
            .reduce(|a, b| if want_max == (b > a) { b } else { a });
        let key = match best {
            Some(k) => k.to_string(),
            None => if want_max { i32::MIN } else { i32::MAX }.to_string(),
        };
        Some(map.get(&key).cloned().unwrap_or(Value::Null))
    }
    CompileOptions::new()
        .function("minLabelComputation", |a| pick(a, false))
        .function("maxLabelComputation", |a| pick(a, true))
}

const CONTEXT_CLASS: &str = "com.bazaarvoice.jolt.chainr.transforms.GoodContextDrivenTransform";
const SPEC_CONTEXT_CLASS: &str =
    "com.bazaarvoice.jolt.chainr.transforms.GoodSpecAndContextDrivenTransform";

/// Rust stand-ins for the two Java test classes of `chainr/context`, registered by name.
fn context_class_options() -> CompileOptions {
    CompileOptions::new()
        .operation(CONTEXT_CLASS, |mut input, _spec, ctx| {
            let v = ctx
                .and_then(|c| c.get("test_context_key_1"))
                .cloned()
                .unwrap_or(Value::Null);
            input
                .as_object_mut()
                .ok_or("input is not an object")?
                .insert("c".into(), v);
            Ok(input)
        })
        .operation(SPEC_CONTEXT_CLASS, |mut input, spec, ctx| {
            let key = spec
                .and_then(|s| s.get("KEY_TO_ADD"))
                .and_then(Value::as_str)
                .ok_or("spec needs KEY_TO_ADD")?
                .to_string();
            let v = ctx
                .and_then(|c| c.get("test_context_key_2"))
                .cloned()
                .unwrap_or(Value::Null);
            input
                .as_object_mut()
                .ok_or("input is not an object")?
                .insert(key, v);
            Ok(input)
        })
}

fn java_classes_in(spec: &Value) -> Vec<String> {
    spec.as_array()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s.get("operation").and_then(Value::as_str))
                .filter(|op| op.contains('.') && !op.starts_with("com.bazaarvoice.jolt.Shiftr"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn key_order_mismatch(actual: &Value, expected: &Value, path: &str) -> Option<String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let ak: Vec<&String> = a.keys().collect();
            let ek: Vec<&String> = e.keys().collect();
            if ak != ek {
                return Some(format!("{path}: key order {ak:?} != {ek:?}"));
            }
            for (k, v) in a {
                if let Some(m) = key_order_mismatch(v, &e[k], &format!("{path}/{k}")) {
                    return Some(m);
                }
            }
            None
        }
        (Value::Array(a), Value::Array(e)) => a
            .iter()
            .zip(e)
            .enumerate()
            .find_map(|(i, (x, y))| key_order_mismatch(x, y, &format!("{path}/{i}"))),
        _ => None,
    }
}

fn build(
    case: &Value,
    spec: Option<&Value>,
    options: &CompileOptions,
) -> Result<Jolt, omnibridge_jolt::SpecError> {
    let operation = case["operation"].as_str().unwrap();
    let wrap = case["wrap_in_chainr"].as_bool().unwrap_or(false);
    if operation == "chainr" {
        Jolt::compile_with(spec.unwrap_or(&Value::Null), options)
    } else if wrap {
        let mut step = json!({"operation": operation});
        if let Some(s) = spec {
            step["spec"] = s.clone();
        }
        Jolt::compile_with(&json!([step]), options)
    } else {
        Jolt::compile_operation(operation, spec, options)
    }
}

fn run(jolt: &Jolt, case: &Value, input: &Value, context: Option<&Value>) -> Result<Value, String> {
    let result = match (case.get("chainr_from"), case.get("chainr_to")) {
        (Some(f), Some(t)) => {
            jolt.apply_range(input, context, f.as_i64().unwrap(), t.as_i64().unwrap())
        }
        _ => jolt.apply_with_context(input, context),
    };
    result.map_err(|e| e.to_string())
}

/// Runs one case; `Ok(true)` passed, `Ok(false)` skipped (with its reason checked).
fn run_case(case: &Value, files: &mut Files, golden: &Value) -> Result<bool, String> {
    let id = case["id"].as_str().unwrap();
    let spec = files.resolve(&case["spec"]);
    let input = files.resolve(&case["input"]);
    let context = files.resolve(&case["context"]);
    let expect = case["expect"].as_str().unwrap();
    let requires: Vec<&str> = case["requires"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let needs_java = requires.contains(&"java-class-transform");
    let mut options = if requires.iter().any(|r| r.starts_with("custom-functions:")) {
        label_options()
    } else {
        CompileOptions::new()
    };

    if needs_java {
        // Without a registered operation, the chain must be rejected, naming the class.
        let err = build(case, spec.as_ref(), &options)
            .err()
            .ok_or("a chain naming a Java class compiled without that operation registered")?;
        let classes = java_classes_in(spec.as_ref().unwrap());
        let named = classes.iter().any(|c| err.message.contains(c.as_str()));
        if !named || !err.message.contains("not supported") {
            return Err(format!(
                "error does not name the Java class as not supported: {err}"
            ));
        }
        if expect != "output" {
            // The exploding transform: rejecting it at compile time is the documented outcome.
            return Ok(false);
        }
        options = context_class_options();
    }

    let built = build(case, spec.as_ref(), &options);
    if expect == "spec_error" {
        return match built {
            Err(_) => Ok(true),
            Ok(_) => Err("spec compiled but must be rejected".into()),
        };
    }
    let jolt = built.map_err(|e| format!("spec failed to compile: {e}"))?;
    let input = input.unwrap_or(Value::Null);
    let result = run(&jolt, case, &input, context.as_ref());
    if expect == "transform_error" {
        if case.get("chainr_from").is_none()
            && let Ok(out) = jolt.transform_with_context(&input, context.as_ref())
        {
            return Err(format!(
                "transform() succeeded but must fail; output {}",
                out.to_value()
            ));
        }
        return match result {
            Err(_) => Ok(true),
            Ok(v) => Err(format!("transform succeeded but must fail; output {v}")),
        };
    }
    let mut actual = result?;
    if case.get("repeat").is_some() {
        // Change the first output as upstream's deep-copy test does, then run again.
        if let Some(arr) = actual.get_mut("array").and_then(Value::as_array_mut) {
            arr.push(json!("a"));
        }
        if let Some(map) = actual.get_mut("map").and_then(Value::as_object_mut) {
            map.insert("c".into(), json!("c"));
        }
        actual = run(&jolt, case, &input, context.as_ref())?;
    }
    let expected = match files.resolve(&case["expected"]) {
        Some(v) => v,
        None => golden["cases"][id]["output"].clone(),
    };
    if actual != expected {
        return Err(format!(
            "output differs\n  actual:   {}\n  expected: {}",
            serde_json::to_string(&actual).unwrap(),
            serde_json::to_string(&expected).unwrap()
        ));
    }
    if case["check_key_order"].as_bool().unwrap_or(false)
        && let Some(m) = key_order_mismatch(&actual, &expected, "")
    {
        return Err(m);
    }
    // The JSON-text output path (no context, whole chain) writes the same bytes.
    if context.is_none() && case.get("chainr_from").is_none() && case.get("repeat").is_none() {
        let text = jolt
            .apply_to_json(&input)
            .map_err(|e| format!("apply_to_json failed: {e}"))?;
        let expected_text = serde_json::to_vec(&actual).unwrap();
        if text != expected_text {
            return Err(format!(
                "apply_to_json differs\n  text:  {}\n  value: {}",
                String::from_utf8_lossy(&text),
                String::from_utf8_lossy(&expected_text)
            ));
        }
    }
    // Explain runs the general (traced) code paths; the fast paths of a plain run must give
    // the very same document, key order included.
    if context.is_none() && case.get("chainr_from").is_none() && case.get("repeat").is_none() {
        let explained = jolt.explain(&input).output;
        if explained.as_ref() != Some(&actual)
            || explained
                .as_ref()
                .and_then(|e| key_order_mismatch(e, &actual, ""))
                .is_some()
        {
            return Err(format!(
                "explain's output differs\n  explain: {}\n  apply:   {}",
                serde_json::to_string(&explained).unwrap(),
                serde_json::to_string(&actual).unwrap()
            ));
        }
    }
    // The borrowed output (transform) reads, converts and serializes to the same document.
    if case.get("chainr_from").is_none() && case.get("repeat").is_none() {
        check_borrowed_output(&jolt, &input, context.as_ref(), &actual)?;
    }
    // A compiled spec remembers the output object shapes it built; later runs build from
    // them, and must give the very same document, key order included.
    let again = run(&jolt, case, &input, context.as_ref())?;
    if case.get("repeat").is_none()
        && (again != actual || key_order_mismatch(&again, &actual, "").is_some())
    {
        return Err(format!(
            "a second run of the same compiled spec differs\n  first:  {}\n  second: {}",
            serde_json::to_string(&actual).unwrap(),
            serde_json::to_string(&again).unwrap()
        ));
    }
    Ok(!needs_java || expect == "output")
}

/// `Jolt::transform` must give exactly `apply`'s document every way it can be read.
fn check_borrowed_output(
    jolt: &Jolt,
    input: &Value,
    context: Option<&Value>,
    expected: &Value,
) -> Result<(), String> {
    let output = jolt
        .transform_with_context(input, context)
        .map_err(|e| format!("transform failed where apply succeeded: {e}"))?;
    let same = |what: &str, v: &Value| -> Result<(), String> {
        if v != expected || key_order_mismatch(v, expected, "").is_some() {
            return Err(format!(
                "transform {what} differs\n  got:      {}\n  expected: {}",
                serde_json::to_string(v).unwrap(),
                serde_json::to_string(expected).unwrap()
            ));
        }
        Ok(())
    };
    same("to_value", &output.to_value())?;
    same("root().to_value", &output.root().to_value())?;
    let text = output.to_json_vec().map_err(|e| e.to_string())?;
    if text != serde_json::to_vec(expected).unwrap() {
        return Err(format!(
            "transform text differs: {}",
            String::from_utf8_lossy(&text)
        ));
    }
    // Every node reads in place as the Value's node does.
    check_view(output.root(), expected, "")?;
    same("into_value", &output.into_value())
}

fn check_view(
    view: omnibridge_jolt::OutputRef<'_>,
    expected: &Value,
    path: &str,
) -> Result<(), String> {
    let bad = |what: &str| Err(format!("transform view at `{path}`: {what} differs"));
    if view.as_str() != expected.as_str()
        || view.as_f64() != expected.as_f64()
        || view.as_bool() != expected.as_bool()
        || view.is_null() != expected.is_null()
        || view.is_object() != expected.is_object()
        || view.is_array() != expected.is_array()
    {
        return bad("scalar reading");
    }
    match expected {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            if view.keys() != keys
                || view.len() != Some(map.len())
                || view.is_empty() != map.is_empty()
            {
                return bad("keys");
            }
            for (k, v) in map {
                let child = view.get(k).ok_or_else(|| format!("`{path}/{k}` missing"))?;
                check_view(child, v, &format!("{path}/{k}"))?;
            }
        }
        Value::Array(items) => {
            if view.len() != Some(items.len()) || view.index(items.len()).is_some() {
                return bad("length");
            }
            for (i, v) in items.iter().enumerate() {
                let child = view
                    .index(i)
                    .ok_or_else(|| format!("`{path}/{i}` missing"))?;
                check_view(child, v, &format!("{path}/{i}"))?;
            }
        }
        _ => {
            if view.len().is_some() {
                return bad("len of a scalar");
            }
        }
    }
    Ok(())
}

#[test]
fn every_manifest_case_matches_the_java_reference() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(suite_dir().join("manifest.json")).unwrap())
            .unwrap();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(suite_dir().join("golden/java-outputs.json")).unwrap(),
    )
    .unwrap();
    let mut files = Files {
        cache: HashMap::new(),
    };
    let cases = manifest["cases"].as_array().unwrap();
    let (mut passed, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_case(
                case,
                &mut Files {
                    cache: std::mem::take(&mut files.cache),
                },
                &golden,
            )
        }));
        match outcome {
            Ok(Ok(true)) => passed += 1,
            Ok(Ok(false)) => skipped.push(id.to_string()),
            Ok(Err(e)) => failures.push(format!("{id}: {e}")),
            Err(_) => failures.push(format!("{id}: PANICKED")),
        }
    }
    println!(
        "jolt conformance: {} cases, {passed} passed, {} skipped (Java class, clear error asserted: {:?}), {} failed",
        cases.len(),
        skipped.len(),
        skipped,
        failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(passed + skipped.len(), cases.len());
}
