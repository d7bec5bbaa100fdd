//! The function catalogue: every NiFi EL function with its arity, where it may appear, and its
//! result type, plus the nearest-name suggestion for typos.

/// Every function the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Func {
    // subjectless
    Ip,
    Uuid,
    Now,
    NextInt,
    Hostname,
    Thread,
    Random,
    Literal,
    GetStateValue,
    GetUri,
    // multi-attribute subjects
    AnyAttribute,
    AllAttributes,
    AnyMatchingAttribute,
    AllMatchingAttributes,
    AnyDelineatedValue,
    AllDelineatedValues,
    // reducers
    Count,
    Join,
    // boolean / logic
    IsNull,
    NotNull,
    IsEmpty,
    Equals,
    EqualsIgnoreCase,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Not,
    IfElse,
    IsJson,
    In,
    // strings
    ToUpper,
    ToLower,
    Trim,
    Length,
    Substring,
    SubstringBefore,
    SubstringBeforeLast,
    SubstringAfter,
    SubstringAfterLast,
    GetDelimitedField,
    Append,
    Prepend,
    Replace,
    ReplaceFirst,
    ReplaceAll,
    ReplaceNull,
    ReplaceEmpty,
    PadLeft,
    PadRight,
    Repeat,
    EvaluateElString,
    ToStringFn,
    // searching
    StartsWith,
    EndsWith,
    Contains,
    Find,
    Matches,
    IndexOf,
    LastIndexOf,
    JsonPath,
    JsonPathDelete,
    JsonPathSet,
    JsonPathAdd,
    JsonPathPut,
    // encode / decode
    UrlEncode,
    UrlDecode,
    Base64Encode,
    Base64Decode,
    EscapeJson,
    EscapeXml,
    EscapeHtml3,
    EscapeHtml4,
    EscapeCsv,
    UnescapeJson,
    UnescapeXml,
    UnescapeHtml3,
    UnescapeHtml4,
    UnescapeCsv,
    Uuid3,
    Uuid5,
    Hash,
    // numbers
    Plus,
    Minus,
    Multiply,
    Divide,
    Mod,
    ToNumber,
    ToDecimal,
    ToRadix,
    FromRadix,
    Math,
    // dates
    Format,
    ToDate,
    FormatInstant,
    ToInstant,
    ToMicros,
    ToNanos,
    // NiFi 2.x
    PlusDuration,
    MinusDuration,
    PlusInstantDuration,
    MinusInstantDuration,
    IsValidDate,
    IsValidInstant,
    Unique,
    CompactDelimitedList,
    TrimDelimitedList,
    ReplaceByPattern,
}

/// Where a function may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Only as the start of an expression: `${now()}`.
    Subjectless,
    /// Subjectless or chained (`math`: `${math('random')}` and `${x:math('abs')}`).
    Either,
    /// Only as the subject of a whole chain: `${anyAttribute('a','b'):...}`.
    Multi,
    /// A reducing function ending a multi-attribute chain (also valid on a single value).
    Reducer,
    /// After a subject: `${x:toUpper()}`.
    Chained,
}

/// The declared result type NiFi's compiler knows statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Bool,
    Whole,
    Decimal,
    Number,
    Date,
    Instant,
}

pub(crate) struct Spec {
    pub func: Func,
    pub name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    pub place: Place,
    pub result: Ty,
}

const MANY: usize = usize::MAX;

macro_rules! spec {
    ($func:ident, $name:literal, $min:expr, $max:expr, $place:ident, $ty:ident) => {
        Spec {
            func: Func::$func,
            name: $name,
            min_args: $min,
            max_args: $max,
            place: Place::$place,
            result: Ty::$ty,
        }
    };
}

pub(crate) const SPECS: &[Spec] = &[
    spec!(Ip, "ip", 0, 0, Subjectless, Str),
    spec!(Uuid, "UUID", 0, 0, Subjectless, Str),
    spec!(Now, "now", 0, 0, Subjectless, Date),
    spec!(NextInt, "nextInt", 0, 0, Subjectless, Whole),
    spec!(Hostname, "hostname", 0, 1, Subjectless, Str),
    spec!(Thread, "thread", 0, 0, Subjectless, Str),
    spec!(Random, "random", 0, 0, Subjectless, Whole),
    spec!(Literal, "literal", 1, 1, Subjectless, Str),
    spec!(GetStateValue, "getStateValue", 1, 1, Subjectless, Str),
    spec!(GetUri, "getUri", 7, 7, Subjectless, Str),
    spec!(AnyAttribute, "anyAttribute", 1, MANY, Multi, Str),
    spec!(AllAttributes, "allAttributes", 1, MANY, Multi, Str),
    spec!(
        AnyMatchingAttribute,
        "anyMatchingAttribute",
        1,
        MANY,
        Multi,
        Str
    ),
    spec!(
        AllMatchingAttributes,
        "allMatchingAttributes",
        1,
        MANY,
        Multi,
        Str
    ),
    spec!(AnyDelineatedValue, "anyDelineatedValue", 2, 2, Multi, Str),
    spec!(AllDelineatedValues, "allDelineatedValues", 2, 2, Multi, Str),
    spec!(Count, "count", 0, 0, Reducer, Whole),
    spec!(Join, "join", 1, 1, Reducer, Str),
    spec!(IsNull, "isNull", 0, 0, Chained, Bool),
    spec!(NotNull, "notNull", 0, 0, Chained, Bool),
    spec!(IsEmpty, "isEmpty", 0, 0, Chained, Bool),
    spec!(Equals, "equals", 1, 1, Chained, Bool),
    spec!(EqualsIgnoreCase, "equalsIgnoreCase", 1, 1, Chained, Bool),
    spec!(Gt, "gt", 1, 1, Chained, Bool),
    spec!(Ge, "ge", 1, 1, Chained, Bool),
    spec!(Lt, "lt", 1, 1, Chained, Bool),
    spec!(Le, "le", 1, 1, Chained, Bool),
    spec!(And, "and", 1, 1, Chained, Bool),
    spec!(Or, "or", 1, 1, Chained, Bool),
    spec!(Not, "not", 0, 0, Chained, Bool),
    spec!(IfElse, "ifElse", 2, 2, Chained, Str),
    spec!(IsJson, "isJson", 0, 0, Chained, Bool),
    spec!(In, "in", 1, MANY, Chained, Bool),
    spec!(ToUpper, "toUpper", 0, 0, Chained, Str),
    spec!(ToLower, "toLower", 0, 0, Chained, Str),
    spec!(Trim, "trim", 0, 0, Chained, Str),
    spec!(Length, "length", 0, 0, Chained, Whole),
    spec!(Substring, "substring", 1, 2, Chained, Str),
    spec!(SubstringBefore, "substringBefore", 1, 1, Chained, Str),
    spec!(
        SubstringBeforeLast,
        "substringBeforeLast",
        1,
        1,
        Chained,
        Str
    ),
    spec!(SubstringAfter, "substringAfter", 1, 1, Chained, Str),
    spec!(SubstringAfterLast, "substringAfterLast", 1, 1, Chained, Str),
    spec!(GetDelimitedField, "getDelimitedField", 1, 5, Chained, Str),
    spec!(Append, "append", 1, 1, Chained, Str),
    spec!(Prepend, "prepend", 1, 1, Chained, Str),
    spec!(Replace, "replace", 2, 2, Chained, Str),
    spec!(ReplaceFirst, "replaceFirst", 2, 2, Chained, Str),
    spec!(ReplaceAll, "replaceAll", 2, 2, Chained, Str),
    spec!(ReplaceNull, "replaceNull", 1, 1, Chained, Str),
    spec!(ReplaceEmpty, "replaceEmpty", 1, 1, Chained, Str),
    spec!(PadLeft, "padLeft", 1, 2, Chained, Str),
    spec!(PadRight, "padRight", 1, 2, Chained, Str),
    spec!(Repeat, "repeat", 1, 2, Chained, Str),
    spec!(EvaluateElString, "evaluateELString", 0, 0, Chained, Str),
    spec!(ToStringFn, "toString", 0, 0, Chained, Str),
    spec!(StartsWith, "startsWith", 1, 1, Chained, Bool),
    spec!(EndsWith, "endsWith", 1, 1, Chained, Bool),
    spec!(Contains, "contains", 1, 1, Chained, Bool),
    spec!(Find, "find", 1, 1, Chained, Bool),
    spec!(Matches, "matches", 1, 1, Chained, Bool),
    spec!(IndexOf, "indexOf", 1, 1, Chained, Whole),
    spec!(LastIndexOf, "lastIndexOf", 1, 1, Chained, Whole),
    spec!(JsonPath, "jsonPath", 1, 1, Chained, Str),
    spec!(JsonPathDelete, "jsonPathDelete", 1, 1, Chained, Str),
    spec!(JsonPathSet, "jsonPathSet", 2, 2, Chained, Str),
    spec!(JsonPathAdd, "jsonPathAdd", 2, 2, Chained, Str),
    spec!(JsonPathPut, "jsonPathPut", 3, 3, Chained, Str),
    spec!(UrlEncode, "urlEncode", 0, 0, Chained, Str),
    spec!(UrlDecode, "urlDecode", 0, 0, Chained, Str),
    spec!(Base64Encode, "base64Encode", 0, 0, Chained, Str),
    spec!(Base64Decode, "base64Decode", 0, 0, Chained, Str),
    spec!(EscapeJson, "escapeJson", 0, 0, Chained, Str),
    spec!(EscapeXml, "escapeXml", 0, 0, Chained, Str),
    spec!(EscapeHtml3, "escapeHtml3", 0, 0, Chained, Str),
    spec!(EscapeHtml4, "escapeHtml4", 0, 0, Chained, Str),
    spec!(EscapeCsv, "escapeCsv", 0, 0, Chained, Str),
    spec!(UnescapeJson, "unescapeJson", 0, 0, Chained, Str),
    spec!(UnescapeXml, "unescapeXml", 0, 0, Chained, Str),
    spec!(UnescapeHtml3, "unescapeHtml3", 0, 0, Chained, Str),
    spec!(UnescapeHtml4, "unescapeHtml4", 0, 0, Chained, Str),
    spec!(UnescapeCsv, "unescapeCsv", 0, 0, Chained, Str),
    spec!(Uuid3, "UUID3", 1, 1, Chained, Str),
    spec!(Uuid5, "UUID5", 1, 1, Chained, Str),
    spec!(Hash, "hash", 1, 1, Chained, Str),
    spec!(Plus, "plus", 1, 1, Chained, Number),
    spec!(Minus, "minus", 1, 1, Chained, Number),
    spec!(Multiply, "multiply", 1, 1, Chained, Number),
    spec!(Divide, "divide", 1, 1, Chained, Number),
    spec!(Mod, "mod", 1, 1, Chained, Number),
    spec!(ToNumber, "toNumber", 0, 0, Chained, Whole),
    spec!(ToDecimal, "toDecimal", 0, 0, Chained, Decimal),
    spec!(ToRadix, "toRadix", 1, 2, Chained, Str),
    spec!(FromRadix, "fromRadix", 1, 1, Chained, Whole),
    spec!(Math, "math", 1, 2, Either, Number),
    spec!(Format, "format", 1, 2, Chained, Str),
    spec!(ToDate, "toDate", 0, 2, Chained, Date),
    spec!(FormatInstant, "formatInstant", 2, 2, Chained, Str),
    spec!(ToInstant, "toInstant", 0, 2, Chained, Instant),
    spec!(ToMicros, "toMicros", 0, 0, Chained, Whole),
    spec!(ToNanos, "toNanos", 0, 0, Chained, Whole),
    spec!(PlusDuration, "plusDuration", 1, 2, Chained, Date),
    spec!(MinusDuration, "minusDuration", 1, 2, Chained, Date),
    spec!(
        PlusInstantDuration,
        "plusInstantDuration",
        1,
        1,
        Chained,
        Instant
    ),
    spec!(
        MinusInstantDuration,
        "minusInstantDuration",
        1,
        1,
        Chained,
        Instant
    ),
    spec!(IsValidDate, "isValidDate", 1, 2, Chained, Bool),
    spec!(IsValidInstant, "isValidInstant", 0, 0, Chained, Bool),
    spec!(Unique, "unique", 1, 1, Chained, Str),
    spec!(
        CompactDelimitedList,
        "compactDelimitedList",
        1,
        1,
        Chained,
        Str
    ),
    spec!(TrimDelimitedList, "trimDelimitedList", 1, 1, Chained, Str),
    spec!(ReplaceByPattern, "replaceByPattern", 1, 1, Chained, Str),
];

/// The catalogue entry for an exact (case-sensitive) function name.
pub(crate) fn lookup(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|spec| spec.name == name)
}

/// The catalogue entry of a function.
pub(crate) fn spec_of(func: Func) -> &'static Spec {
    // SPECS lists the functions in declaration order (asserted by a test), so the
    // discriminant is the index: no search on the evaluation path.
    match SPECS.get(func as usize) {
        Some(spec) if spec.func == func => spec,
        _ => SPECS
            .iter()
            .find(|spec| spec.func == func)
            .unwrap_or(&SPECS[0]),
    }
}

/// Reserved words an unquoted attribute name may not be.
pub(crate) fn is_reserved(name: &str) -> bool {
    matches!(name, "true" | "false" | "null") || lookup(name).is_some()
}

/// The known function name closest to `name` (case-insensitive edit distance), if it is close
/// enough to be a plausible typo.
pub(crate) fn suggest(name: &str) -> Option<String> {
    let lowered = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for spec in SPECS {
        let distance = edit_distance(&lowered, &spec.name.to_lowercase());
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, spec.name));
        }
    }
    let (distance, candidate) = best?;
    let limit = (name.chars().count() / 3).max(2);
    (distance <= limit).then(|| candidate.to_string())
}

/// Damerau-Levenshtein (optimal string alignment) distance, so a swapped pair counts as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut value = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                value = value.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = value;
        }
    }
    table[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_in_declaration_order() {
        for (index, spec) in SPECS.iter().enumerate() {
            assert_eq!(spec.func as usize, index, "{}", spec.name);
        }
    }

    #[test]
    fn typos_suggest_the_nearest_function() {
        assert_eq!(suggest("repalce").as_deref(), Some("replace"));
        assert_eq!(suggest("toupper").as_deref(), Some("toUpper"));
        assert_eq!(
            suggest("substringafterlast").as_deref(),
            Some("substringAfterLast")
        );
        assert_eq!(suggest("qqqqqqqqqqqq"), None);
    }
}
