//! Property tests for the Python 2 migrator: it never panics, whatever the input, and on Python 2
//! code it leaves nothing fixable behind and is idempotent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use omnibridge_script::migrate;
use omnibridge_script::py2::scan;
use proptest::prelude::*;

/// One line of Python 2, built from the idioms the migrator knows.
fn py2_line() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z0-9_]{0,5}".prop_filter("not a keyword", |n| {
        ![
            "in", "is", "if", "or", "as", "def", "for", "not", "and", "del", "try",
        ]
        .contains(&n.as_str())
    });
    let text = "[a-zA-Z0-9 çğışöü,.:<>]{0,8}";
    (name.clone(), name, text).prop_flat_map(|(a, b, t)| {
        prop_oneof![
            Just(format!("print '{t}', {a}")),
            Just(format!("print >>{a}, \"{t}\"")),
            Just(format!("print {a},")),
            Just(format!("x = {a}.iteritems()")),
            Just(format!("if {a}.has_key('{t}'): pass")),
            Just(format!("y = `{a}` + unicode({b})")),
            Just(format!("if {a} <> {b}: print {a}")),
            Just(format!("z = {a}.keys()[0] + 10L + 0777")),
            Just(format!("raise ValueError, '{t}'")),
            Just(format!("exec '{t}' in {a}")),
            Just(format!("s = '{t}' # print {a}, {b}")),
            Just(format!("n = {a} / {b}")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn migrate_never_panics(source in "(?s).{0,200}") {
        let _ = migrate(&source);
    }

    #[test]
    fn migrate_never_panics_on_python_like_text(
        source in "[ \\t\\n\\\\'\"`#()\\[\\]{}:;,.<>=+*/%a-z0-9é]{0,200}"
    ) {
        let _ = migrate(&source);
    }

    #[test]
    fn migrated_python2_has_nothing_fixable_left_and_is_stable(lines in prop::collection::vec(py2_line(), 1..8)) {
        let source = lines.join("\n") + "\n";
        let once = migrate(&source);
        let leftovers: Vec<_> = scan(&once.source).hints.into_iter().filter(|h| h.fixable).collect();
        prop_assert!(leftovers.is_empty(), "{}\n-> {}\n{:?}", source, once.source, leftovers);
        prop_assert_eq!(migrate(&once.source).source, once.source.clone());
    }
}
