//! The realistic order mapping of `shared/bench/jolt/`: the full chain (shift, default, two
//! modify-overwrite-beta steps) and the shift step alone. Each output is checked against the
//! Java reference's before anything is timed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use omnibridge_jolt::Jolt;
use serde_json::Value;
use std::hint::black_box;

/// The same allocator as the `omnibridge` binary, so the figures are the production ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(name: &str) -> Value {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bench/jolt/").to_string() + name;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    omnibridge_jolt::parse_json_with_comments(&text).unwrap()
}

/// The reference files are compared after a JSON text round trip: serde_json (without its
/// `float_roundtrip` feature, which this workspace does not enable) may parse a long decimal
/// such as `1419.3999999999999` one ULP off, so both sides go through the same parser.
fn as_parsed(v: &Value) -> Value {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

fn bench(c: &mut Criterion) {
    let input = load("order-input.json");

    let chain = Jolt::compile(&load("order-spec.json")).unwrap();
    let out = chain.apply(&input).unwrap();
    assert_eq!(
        as_parsed(&out),
        load("order-output-java.json"),
        "chain output differs from Java's"
    );

    let shift_spec = load("order-spec-shift-only.json");
    let shift = if shift_spec.is_array() {
        Jolt::compile(&shift_spec).unwrap()
    } else {
        Jolt::compile_operation("shift", Some(&shift_spec), &Default::default()).unwrap()
    };
    let out = shift.apply(&input).unwrap();
    assert_eq!(
        as_parsed(&out),
        load("order-shift-only-output-java.json"),
        "shift output differs from Java's"
    );

    // The HTTP-body path: the same output as JSON text.
    for (name, jolt) in [("chain", &chain), ("shift", &shift)] {
        let text = jolt.apply_to_json(&input).unwrap();
        let via_value = serde_json::to_vec(&jolt.apply(&input).unwrap()).unwrap();
        assert_eq!(
            text, via_value,
            "{name}: apply_to_json differs from apply + to_vec"
        );
    }

    // The borrowed output must be the same document.
    for (name, jolt) in [("chain", &chain), ("shift", &shift)] {
        let output = jolt.transform(&input).unwrap();
        assert_eq!(
            output.to_value(),
            jolt.apply(&input).unwrap(),
            "{name}: transform differs from apply"
        );
    }

    // Like for like with Java, whose output maps hold the input's own objects and the spec's
    // key strings: `transform` builds an output that borrows them (for the shift step alone;
    // a chain with later steps still ends in an owned `Value`).
    c.bench_function("order_mapping/shift_only_transform", |b| {
        b.iter(|| shift.transform(black_box(&input)).unwrap())
    });
    c.bench_function("order_mapping/chain_transform", |b| {
        b.iter(|| chain.transform(black_box(&input)).unwrap())
    });
    // A fresh owned `serde_json::Value` (every string and map copied).
    c.bench_function("order_mapping/chain", |b| {
        b.iter(|| chain.apply(black_box(&input)).unwrap())
    });
    c.bench_function("order_mapping/shift_only", |b| {
        b.iter(|| shift.apply(black_box(&input)).unwrap())
    });

    // What an HTTP body costs each way.
    c.bench_function("order_mapping/chain_apply_then_to_vec", |b| {
        b.iter(|| serde_json::to_vec(&chain.apply(black_box(&input)).unwrap()).unwrap())
    });
    c.bench_function("order_mapping/chain_apply_to_json", |b| {
        b.iter(|| chain.apply_to_json(black_box(&input)).unwrap())
    });
    c.bench_function("order_mapping/shift_only_apply_then_to_vec", |b| {
        b.iter(|| serde_json::to_vec(&shift.apply(black_box(&input)).unwrap()).unwrap())
    });
    c.bench_function("order_mapping/shift_only_apply_to_json", |b| {
        b.iter(|| shift.apply_to_json(black_box(&input)).unwrap())
    });

    // Parsing the input document, which the figures above leave out.
    let input_text = serde_json::to_string(&input).unwrap();
    c.bench_function("order_mapping/parse_input", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(&input_text)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
