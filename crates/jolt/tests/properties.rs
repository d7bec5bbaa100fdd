//! Property tests: whatever spec compiles never panics on any input, and the spec compiler
//! itself never panics on arbitrary JSON or text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_jolt::{CompileOptions, Jolt};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Keys that exercise every kind of Jolt key, plus plain and numeric ones.
const LHS_KEYS: &[&str] = &[
    "a", "b", "0", "1", "*", "a*", "*b", "a*b*", "*-*-*", "&", "&1", "&(1,1)", "@", "@1", "@(1,a)",
    "@(2,b.c)", "@a", "$", "$1", "$(0,1)", "#x", "#(y)", "[0]", "[1]", "a|b", "x[]", "\\@a",
    "a\\.b", "+a", "~b", "_c", "a?", "[0]?", "ONE", "@(3)", "&(9,9)", "",
];

const RHS_PATHS: &[&str] = &[
    "a",
    "a.b",
    "x[&1]",
    "x[&1].y",
    "x[]",
    "[0]",
    "[#2]",
    "y[#3].z",
    "&",
    "&1.&",
    "@(1,a)",
    "out.@(2,b)",
    "a\\.b",
    "",
    "&(0,1)",
    "z[&2][&1]",
    "&(5,0)",
];

const MODIFY_RHS: &[&str] = &[
    "=toUpper",
    "=toInteger",
    "=concat(@(1,a),'-',@(2,b))",
    "=divide(@(1,a),0)",
    "=size",
    "=split(',',@(1,a))",
    "=join('-',@(1,a))",
    "=substring(@(1,a),0,2)",
    "=intSum(1,'2',2.5)",
    "=max(@(1,a),'7')",
    "=firstElement",
    "=elementAt(1,@(1,a))",
    "=leftPad(@(1,a),5,'0')",
    "=squashNulls",
    "=recursivelySquashNulls",
    "=sort",
    "=toList",
    "=noop",
    "=isNull",
    "@(1,b)",
    "^ctx",
    "=unknown(1)",
    "=divideAndRound(2,@(1,a),3)",
    "=toString",
    "=abs",
    "=ob:multiply(@(1,a),2)",
    "=ob:if(@(1,a),'y','n')",
    "=ob:dateFormat(@(1,a),'yyyy','yy')",
];

const OPERATIONS: &[&str] = &[
    "shift",
    "default",
    "remove",
    "sort",
    "cardinality",
    "modify-overwrite-beta",
    "modify-default-beta",
    "modify-define-beta",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        prop::sample::select(vec![
            "a", "b", "0", "1", "x,y,,", "TRUE", "12", "2.5", " t "
        ])
        .prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["a", "b", "c", "0", "1", "x", "tag-1"]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_string(), v);
                }
                Value::Object(m)
            }),
        ]
    })
}

/// A spec tree for one operation, built from the key and right-hand-side vocabularies.
fn spec_tree(rhs: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop::sample::select(rhs.to_vec()).prop_map(Value::from),
        prop::sample::select(vec!["ONE", "MANY", ""]).prop_map(Value::from),
        Just(json!(["a", "b.c"])),
        Just(json!(1)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec((prop::sample::select(LHS_KEYS.to_vec()), inner), 1..4).prop_map(
            |kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_string(), v);
                }
                Value::Object(m)
            },
        )
    })
}

/// Shift specs built only from valid shift keys and output paths, so nearly all compile.
fn shift_spec() -> impl Strategy<Value = Value> {
    const SHIFT_KEYS: &[&str] = &[
        "a", "b", "0", "1", "*", "a*", "*b", "a*b*", "&", "&1", "@(1,a)", "@(2,b.c)", "#x", "a|b",
        "\\@a", "tag-*",
    ];
    const SHIFT_LEAF_KEYS: &[&str] = &["a", "b", "0", "*", "@", "$", "$(0,1)", "#y", "&", "@1"];
    let leaf = prop::collection::vec(
        (
            prop::sample::select(SHIFT_LEAF_KEYS.to_vec()),
            prop::sample::select(RHS_PATHS.to_vec()),
        ),
        1..4,
    )
    .prop_map(|kv| {
        let mut m = Map::new();
        for (k, v) in kv {
            m.insert(k.to_string(), Value::from(v));
        }
        Value::Object(m)
    });
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop::collection::vec((prop::sample::select(SHIFT_KEYS.to_vec()), inner), 1..3).prop_map(
            |kv| {
                let mut m = Map::new();
                for (k, v) in kv {
                    m.insert(k.to_string(), v);
                }
                Value::Object(m)
            },
        )
    })
}

fn chain_spec() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(OPERATIONS.to_vec()),
            prop_oneof![spec_tree(RHS_PATHS), spec_tree(MODIFY_RHS)],
        ),
        1..4,
    )
    .prop_map(|steps| {
        Value::Array(
            steps
                .into_iter()
                .map(|(op, spec)| json!({"operation": op, "spec": spec}))
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn compiled_specs_never_panic_on_any_input(spec in chain_spec(), input in json_value(), ctx in json_value()) {
        let options = CompileOptions::new().with_extensions();
        if let Ok(jolt) = Jolt::compile_with(&spec, &options) {
            let _ = jolt.apply_with_context(&input, Some(&ctx));
            let _ = jolt.explain(&input);
        }
    }

    #[test]
    fn compiled_shift_specs_never_panic_on_any_input(spec in shift_spec(), input in json_value()) {
        if let Ok(jolt) = Jolt::compile_operation("shift", Some(&spec), &CompileOptions::new()) {
            let _ = jolt.apply(&input);
        }
    }

    /// `explain` runs every step through the general (traced) code paths, which the fast paths
    /// of a plain run (shared output objects, `[&n]` writes, batched modify leaves) must agree
    /// with exactly.
    #[test]
    fn fast_paths_agree_with_the_traced_paths(spec in chain_spec(), input in json_value()) {
        let options = CompileOptions::new().with_extensions();
        if let Ok(jolt) = Jolt::compile_with(&spec, &options) {
            let explained = jolt.explain(&input);
            match jolt.apply(&input) {
                Ok(v) => prop_assert_eq!(explained.output, Some(v)),
                Err(e) => prop_assert!(explained.error.is_some(), "apply failed ({e}) but explain did not"),
            }
        }
    }

    #[test]
    fn shift_fast_paths_agree_with_the_traced_paths(spec in shift_spec(), input in json_value()) {
        if let Ok(jolt) = Jolt::compile_operation("shift", Some(&spec), &CompileOptions::new()) {
            let explained = jolt.explain(&input);
            match jolt.apply(&input) {
                Ok(v) => prop_assert_eq!(explained.output, Some(v)),
                Err(e) => prop_assert!(explained.error.is_some(), "apply failed ({e}) but explain did not"),
            }
        }
    }

    #[test]
    fn the_compiler_never_panics_on_arbitrary_json(spec in json_value()) {
        let _ = Jolt::compile(&spec);
        for op in OPERATIONS {
            let _ = Jolt::compile_operation(op, Some(&spec), &CompileOptions::new());
        }
    }

    #[test]
    fn the_compiler_never_panics_on_arbitrary_keys_and_paths(key in "\\PC{0,12}", path in "\\PC{0,12}", input in json_value()) {
        let mut level = Map::new();
        level.insert(key.clone(), Value::from(path.clone()));
        let spec = Value::Object(level);
        for op in OPERATIONS {
            if let Ok(j) = Jolt::compile_operation(op, Some(&spec), &CompileOptions::new()) {
                let _ = j.apply(&input);
            }
        }
        let nested = json!({ "*": { key.as_str(): path.as_str() } });
        if let Ok(j) = Jolt::compile_operation("shift", Some(&nested), &CompileOptions::new()) {
            let _ = j.apply(&input);
        }
    }

    #[test]
    fn spec_text_parsing_never_panics(text in "\\PC{0,64}") {
        let _ = Jolt::compile_str(&text);
        let _ = Jolt::compile_str(&format!("[{{\"operation\":\"shift\",\"spec\":{{\"a\":\"{text}\"}}}}]"));
    }
}

#[test]
fn one_compiled_spec_serves_many_threads() {
    let jolt = Jolt::compile(&json!([{"operation": "shift", "spec": {"*": "out.&"}}])).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let j = jolt.clone();
            std::thread::spawn(move || j.apply(&json!({ "k": i })).unwrap())
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), json!({"out": {"k": i}}));
    }
}
