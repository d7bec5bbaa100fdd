//! Evaluates one template of `shared/bench/expr/templates.json` many times, for instruction
//! counting under callgrind (wall time on a shared machine is too noisy to compare small changes):
//! `valgrind --tool=callgrind target/release/examples/eval_loop <name> <count> [sip|fold|fx|btree|hand]
//! [evaluate|into]`; run it with two counts and divide the difference of the totals by the
//! difference of the counts. Uses mimalloc, as the production binary does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use omnibridge_expr::{AttributeMap, Attributes, Template};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::Value;

const TEMPLATES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bench/expr/templates.json"
);

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .expect("usage: eval_loop <template name> [count]");
    let count: usize = args.next().map_or(10_000, |n| n.parse().unwrap());
    let text = std::fs::read_to_string(TEMPLATES).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    let case = cases
        .iter()
        .find(|case| case["name"] == name.as_str())
        .unwrap();
    let attributes: HashMap<String, String> = case["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let template = Template::compile(case["expr"].as_str().unwrap()).unwrap();
    let container = args.next().unwrap_or_else(|| "fold".to_string());
    let into = args.next().is_some_and(|mode| mode == "into");
    let total = match container.as_str() {
        // The query-check URL written by hand (two lookups, one allocation): the floor.
        "hand" => {
            let attributes: AttributeMap = attributes.into_iter().collect();
            let mut total = 0;
            for _ in 0..count {
                let attributes = std::hint::black_box(&attributes);
                let mut out = String::with_capacity(96);
                out.push_str("https://erp.example.com/api/orders?number=");
                out.push_str(attributes.get("_order.number").map_or("", String::as_str));
                out.push_str("&token=");
                out.push_str(attributes.get("token.erp").map_or("", String::as_str));
                total += out.len();
            }
            total
        }
        "sip" => run(&template, &attributes, count, into),
        "fx" => run(
            &template,
            &attributes
                .into_iter()
                .collect::<rustc_hash::FxHashMap<_, _>>(),
            count,
            into,
        ),
        "btree" => run(
            &template,
            &attributes.into_iter().collect::<BTreeMap<_, _>>(),
            count,
            into,
        ),
        _ => run(
            &template,
            &attributes.into_iter().collect::<AttributeMap>(),
            count,
            into,
        ),
    };
    println!("{total}");
}

fn run<A: Attributes>(template: &Template, attributes: &A, count: usize, into: bool) -> usize {
    let mut total = 0;
    let mut reused = String::new();
    for _ in 0..count {
        if into {
            reused.clear();
            template
                .evaluate_into(std::hint::black_box(attributes), &mut reused)
                .unwrap();
            total += reused.len();
        } else {
            total += template
                .evaluate(std::hint::black_box(attributes))
                .unwrap()
                .len();
        }
    }
    total
}
