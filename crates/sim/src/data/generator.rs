//! The seeded data generator.
//!
//! Orders are the seed-004 example with the parts that vary in real life varied: customer,
//! addresses (nested country/city/township/district), payment (credit card, funds transfer or
//! pay on delivery with the matching transaction sets), 1–6 items drawn from a product catalogue,
//! 0–2 discounts with benefit and condition applicants, channel, status, `is_send`, and dates
//! spread over the last 30 days (so the Order Flow's 3-week window leaves some out). Cancellation
//! plans cover both plan types in every status, and approved/completed refunds have refund
//! transactions, half of them already mapped. Same seed, same count, same `now` → same data.

use crate::clock::iso;
use crate::data::ingest::ingest_order;
use crate::omnitron::model::{CancellationPlan, Db, OrderTransaction, PLAN_STATUSES, PlanItem};
use crate::rng::SimRng;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

static CANONICAL: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("seed_004_order.json")).unwrap_or(Value::Null)
});

/// The full example order of seed 004, verbatim (pk 9876421, two items, two discounts).
pub fn canonical_order() -> Value {
    CANONICAL.clone()
}

/// Channels the generator spreads orders over: (pk, name, channel_type).
pub const CHANNELS: &[(u64, &str, &str)] = &[
    (1, "Shop", "web"),
    (2, "Trendyol", "trendyol"),
    (3, "Hepsiburada", "hepsiburada"),
    (4, "Store POS", "pos"),
];

/// First pk of generated orders (orders are `ORDER_PK_BASE + index`).
pub const ORDER_PK_BASE: u64 = 100_001;

const FIRST_NAMES: &[&str] = &[
    "Ayşe", "Mehmet", "Zeynep", "Can", "Elif", "Burak", "Deniz", "Ece", "Mert", "Selin",
];
const LAST_NAMES: &[&str] = &[
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Öztürk", "Arslan",
];
/// (city pk, city, ups code, [(township pk, township, [(district pk, district, zip)])])
type District = (u64, &'static str, &'static str);
type Township = (u64, &'static str, &'static [District]);
const CITIES: &[(u64, &str, &str, &[Township])] = &[
    (
        40,
        "İSTANBUL",
        "34",
        &[
            (
                457,
                "BEŞİKTAŞ",
                &[
                    (35351, "BEBEK MAH", "34342"),
                    (35352, "LEVENT MAH", "34330"),
                ],
            ),
            (
                458,
                "KADIKÖY",
                &[
                    (35401, "MODA MAH", "34710"),
                    (35402, "FENERBAHÇE MAH", "34726"),
                ],
            ),
        ],
    ),
    (
        6,
        "ANKARA",
        "06",
        &[(
            101,
            "ÇANKAYA",
            &[
                (12001, "KIZILAY MAH", "06420"),
                (12002, "BAHÇELİEVLER MAH", "06490"),
            ],
        )],
    ),
    (
        35,
        "İZMİR",
        "35",
        &[
            (301, "KONAK", &[(22001, "ALSANCAK MAH", "35220")]),
            (302, "KARŞIYAKA", &[(22101, "BOSTANLI MAH", "35590")]),
        ],
    ),
];
/// (status, weight): mostly sendable statuses, but every status appears.
const STATUS_WEIGHTS: &[(&str, u64)] = &[
    ("400", 40),
    ("450", 8),
    ("500", 7),
    ("510", 5),
    ("520", 3),
    ("540", 3),
    ("544", 2),
    ("545", 2),
    ("550", 8),
    ("100", 3),
    ("200", 3),
    ("300", 3),
    ("350", 3),
    ("600", 2),
];
/// Statuses the Order Flow reads.
const SENDABLE: &[&str] = &["400", "450", "500", "510", "540", "550"];

fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn uuid_like(rng: &mut SimRng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn weighted_status(rng: &mut SimRng) -> &'static str {
    let total: u64 = STATUS_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.range(0, total - 1);
    for (s, w) in STATUS_WEIGHTS {
        if roll < *w {
            return s;
        }
        roll -= w;
    }
    "400"
}

fn channel_doc(pk: u64, name: &str, channel_type: &str) -> Value {
    json!({
        "catalog": 1, "category_tree": null, "channel_type": channel_type,
        "created_date": "2020-11-18T13:39:54.915941Z", "is_active": true,
        "modified_date": "2020-12-03T10:45:42.549091Z", "name": name, "pk": pk
    })
}

fn set(v: &mut Value, key: &str, new: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), new);
    }
}

fn product(rng: &mut SimRng, template: &Value, idx: u64) -> Value {
    let mut p = template.clone();
    let pk = 3000 + idx;
    set(&mut p, "pk", json!(pk));
    set(&mut p, "name", json!(format!("Product Name {idx}")));
    set(
        &mut p,
        "sku",
        json!(format!("SKU{:06}{}", pk, rng.range(10, 99))),
    );
    set(&mut p, "base_code", json!(format!("BC{pk:06}")));
    set(&mut p, "uuid", json!(uuid_like(rng)));
    p
}

/// Generate `count` orders (and their plans and transactions) for `seed`, dated relative to `now`.
pub(crate) fn generate(seed: u64, count: usize, now: DateTime<Utc>) -> Db {
    let mut rng = SimRng::new(seed);
    let mut db = Db::default();
    let canonical = canonical_order();
    let item_templates: Vec<Value> = canonical
        .get("orderitem_set")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let discount_template = canonical
        .pointer("/discountitem_set/0")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let ot_template = canonical
        .pointer("/ordertransaction_set/0")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let catalogue: Vec<Value> = (0..24)
        .map(|i| {
            let t = item_templates
                .get(i as usize % item_templates.len().max(1))
                .and_then(|t| t.get("product"))
                .cloned()
                .unwrap_or_else(|| json!({}));
            product(&mut rng, &t, i + 1)
        })
        .collect();
    for (pk, name, ct) in CHANNELS {
        let _ = ingest_channel(&mut db, *pk, name, ct);
    }
    let mut next_item = 240_001u64;
    let mut next_discount = 198_001u64;
    let mut next_benefit = 401_001u64;
    let mut next_condition = 131_001u64;
    let mut next_ot = 500_001u64;

    for i in 0..count {
        let pk = ORDER_PK_BASE + i as u64;
        let number = format!("10{:04}{:06}", seed % 10_000, i + 1);
        let mut o = canonical.clone();
        let (cpk, cname, ctype) = *rng.pick(CHANNELS);
        let status = weighted_status(&mut rng);
        let is_send = if SENDABLE.contains(&status) {
            rng.chance(0.25)
        } else {
            rng.chance(0.5)
        };
        let modified = now - Duration::seconds(rng.range(60, 30 * 86_400) as i64);
        let created = modified - Duration::seconds(rng.range(0, 3 * 86_400) as i64);
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let email = format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        )
        .replace(['ş', 'ç', 'ö', 'ü', 'ı', 'ğ', 'ş'], "x");
        let customer_pk = 28_000 + i as u64;
        let mut customer = canonical
            .get("customer")
            .cloned()
            .unwrap_or_else(|| json!({}));
        for (k, v) in [
            ("pk", json!(customer_pk)),
            ("channel", json!(cpk)),
            ("email", json!(email)),
            ("first_name", json!(first)),
            ("last_name", json!(last)),
            ("channel_code", json!(format!("{}", 100_000 + customer_pk))),
            ("created_date", json!(iso(created))),
            ("modified_date", json!(iso(created))),
            ("date_joined", json!(iso(created))),
        ] {
            set(&mut customer, k, v);
        }
        let (city_pk, city, city_code, townships) = *rng.pick(CITIES);
        let (town_pk, town, districts) = *rng.pick(townships);
        let (dist_pk, dist, zip) = *rng.pick(districts);
        let phone = format!("0555{:07}", rng.range(0, 9_999_999));
        let make_address = |addr_pk: u64, title: &str, template: &Value| {
            let mut a = template.clone();
            set(&mut a, "pk", json!(addr_pk));
            set(&mut a, "email", json!(email));
            set(&mut a, "phone_number", json!(phone));
            set(&mut a, "first_name", json!(first));
            set(&mut a, "last_name", json!(last));
            set(&mut a, "title", json!(title));
            set(
                &mut a,
                "line",
                json!(format!("{dist} No:{} D:{}", addr_pk % 97, addr_pk % 13)),
            );
            set(
                &mut a,
                "city",
                json!({"pk": city_pk, "is_active": true, "name": city, "country": 1,
                "translations": null, "priority": null, "mapping": [{"pk": 7000 + city_pk,
                "content_type": 56, "object_id": city_pk, "integration_type": "ups", "code": city_code}]}),
            );
            set(
                &mut a,
                "township",
                json!({"pk": town_pk, "is_active": true, "name": town, "city": city_pk,
                "mapping": [{"pk": 7200 + town_pk, "content_type": 54, "object_id": town_pk,
                "integration_type": "ups", "code": format!("{}", town_pk % 1000)}]}),
            );
            set(
                &mut a,
                "district",
                json!({"pk": dist_pk, "is_active": true, "name": dist, "city": city_pk,
                "township": town_pk, "zipcode": zip, "mapping": []}),
            );
            set(&mut a, "customer", customer.clone());
            a
        };
        let ship_t = canonical
            .get("shipping_address")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let bill_t = canonical
            .get("billing_address")
            .cloned()
            .unwrap_or_else(|| json!({}));
        set(
            &mut o,
            "shipping_address",
            make_address(60_000 + 2 * i as u64, "Home", &ship_t),
        );
        set(
            &mut o,
            "billing_address",
            make_address(60_001 + 2 * i as u64, "Ev", &bill_t),
        );
        set(&mut o, "customer", customer);
        set(&mut o, "channel", channel_doc(cpk, cname, ctype));

        // Items, discounts.
        let n_items = rng.range(1, 6) as usize;
        let mut items = Vec::new();
        let mut item_total = 0u64;
        for _ in 0..n_items {
            let t = item_templates
                .get(1)
                .or(item_templates.first())
                .cloned()
                .unwrap_or_else(|| json!({}));
            let mut it = t;
            let price = rng.range(1_000, 200_000);
            item_total += price;
            set(&mut it, "pk", json!(next_item));
            set(&mut it, "order", json!(pk));
            set(&mut it, "product", rng.pick(&catalogue).clone());
            set(&mut it, "status", json!(status));
            set(&mut it, "price", json!(money(price)));
            set(&mut it, "retail_price", json!(money(price)));
            set(&mut it, "net_amount", json!(money(price)));
            set(&mut it, "benefitapplicant_set", json!([]));
            set(&mut it, "modified_date", json!(iso(modified)));
            items.push((next_item, price, it));
            next_item += 1;
        }
        let mut discounts = Vec::new();
        let mut discount_total = 0u64;
        for _ in 0..rng.range(0, 2) {
            let dpk = next_discount;
            next_discount += 1;
            let mut d = discount_template.clone();
            let mut benefits = Vec::new();
            let mut amount = 0u64;
            for (ipk, price, it) in items.iter_mut() {
                if !rng.chance(0.6) {
                    continue;
                }
                let share = *price / 10;
                amount += share;
                let b = json!({"id": next_benefit, "created_date": iso(created), "modified_date": iso(created),
                    "discount_share": money(share), "discount_item": dpk, "order_item": *ipk});
                next_benefit += 1;
                if let Some(set_) = it
                    .get_mut("benefitapplicant_set")
                    .and_then(Value::as_array_mut)
                {
                    set_.push(b.clone());
                }
                *price -= share;
                set(it, "net_amount", json!(money(*price)));
                set(it, "discount_amount", json!(money(share)));
                benefits.push(b);
            }
            discount_total += amount;
            let cond_item = items.first().map_or(0, |(ipk, _, _)| *ipk);
            let promo_id = 5500 + rng.range(0, 40);
            set(&mut d, "pk", json!(dpk));
            set(&mut d, "order", json!(pk));
            set(&mut d, "name", json!(format!("Promotion {promo_id}")));
            set(&mut d, "amount", json!(money(amount)));
            set(&mut d, "benefitapplicant_set", Value::Array(benefits));
            set(
                &mut d,
                "promotion",
                json!({"id": promo_id, "created_date": "2021-03-04T13:51:16.662294Z",
                "modified_date": "2021-03-04T13:51:16.662319Z", "name": format!("Promotion {promo_id}"),
                "slug": format!("promotion-{promo_id}")}),
            );
            set(
                &mut d,
                "conditionapplicant_set",
                json!([{"id": next_condition, "created_date": iso(created),
                "modified_date": iso(created), "discount_item": dpk, "order_item": cond_item}]),
            );
            next_condition += 1;
            discounts.push(d);
        }
        let shipping = if item_total > 20_000 { 0 } else { 2_999 };
        let amount = item_total - discount_total + shipping;
        set(&mut o, "pk", json!(pk));
        set(&mut o, "number", json!(number));
        set(&mut o, "status", json!(status));
        set(&mut o, "is_send", json!(is_send));
        set(&mut o, "date_placed", json!(iso(created)));
        set(&mut o, "amount", json!(money(amount)));
        set(&mut o, "shipping_amount", json!(money(shipping)));
        set(&mut o, "discount_amount", json!(money(discount_total)));
        set(&mut o, "invoice_number", Value::Null);
        set(&mut o, "invoice_date", Value::Null);
        set(&mut o, "created_date", json!(iso(created)));
        set(&mut o, "modified_date", json!(iso(modified)));
        set(
            &mut o,
            "bin_number",
            json!(format!("{}", rng.range(400_000, 599_999))),
        );
        set(
            &mut o,
            "remote_addr",
            json!(format!(
                "10.{}.{}.{}",
                rng.range(0, 255),
                rng.range(0, 255),
                rng.range(1, 254)
            )),
        );

        // Payment: one of three kinds, with the matching transaction set.
        let payment = rng.range(0, 9);
        let mut purchase = o
            .pointer("/transaction_set/0")
            .cloned()
            .unwrap_or_else(|| json!({}));
        set(&mut purchase, "pk", json!(22_000 + i as u64));
        set(&mut purchase, "amount", json!(money(amount)));
        set(&mut purchase, "created_date", json!(iso(created)));
        set(
            &mut purchase,
            "transaction_id",
            json!(format!("{:016}", rng.next_u64() % 10_000_000_000_000_000)),
        );
        if let Some(inner) = purchase.get_mut("order") {
            set(inner, "pk", json!(pk));
            set(inner, "number", json!(number));
            set(inner, "amount", json!(money(amount)));
            set(inner, "status", json!(status));
        }
        let (tx, funds, pod) = match payment {
            0..=6 => (vec![purchase], vec![], vec![]),
            7 | 8 => {
                let mut f = o
                    .pointer("/fundstransfertransaction_set/0")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                set(&mut f, "pk", json!(7_000 + i as u64));
                set(&mut f, "order", json!(pk));
                set(&mut f, "amount", json!(money(amount)));
                (vec![], vec![f], vec![])
            }
            _ => {
                let mut p = o
                    .pointer("/payondeliverytransaction_set/0")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                set(&mut p, "pk", json!(18_000 + i as u64));
                set(&mut p, "order", json!(pk));
                set(&mut p, "amount", json!(money(amount)));
                (vec![], vec![], vec![p])
            }
        };
        set(&mut o, "transaction_set", Value::Array(tx));
        set(&mut o, "fundstransfertransaction_set", Value::Array(funds));
        set(&mut o, "payondeliverytransaction_set", Value::Array(pod));
        set(&mut o, "cashregistertransaction_set", json!([]));
        if let Some(info) = o.pointer_mut("/ordershippinginfo_set/0") {
            set(info, "pk", json!(22_000 + i as u64));
            set(info, "order", json!(pk));
            set(info, "order_number", json!(number));
        }
        let mut ot = ot_template.clone();
        set(&mut ot, "pk", json!(next_ot));
        set(&mut ot, "uuid", json!(uuid_like(&mut rng)));
        set(&mut ot, "amount", json!(money(amount)));
        set(&mut ot, "order", json!(pk));
        set(&mut ot, "transaction_object_id", json!(22_000 + i as u64));
        set(&mut ot, "modified_date", json!(iso(created)));
        next_ot += 1;
        set(&mut o, "ordertransaction_set", json!([ot]));
        set(
            &mut o,
            "orderitem_set",
            Value::Array(items.into_iter().map(|(_, _, it)| it).collect()),
        );
        set(&mut o, "discountitem_set", Value::Array(discounts));
        if let Err(e) = ingest_order(&mut db, o, now) {
            tracing::warn!("generated order {pk} rejected: {e}");
        }
    }
    add_plans(&mut db, &mut rng, now);
    db
}

fn ingest_channel(db: &mut Db, pk: u64, name: &str, channel_type: &str) -> Option<()> {
    let doc = channel_doc(pk, name, channel_type);
    db.channels.insert(
        pk,
        crate::omnitron::model::Channel {
            channel_type: channel_type.to_string(),
            doc: doc.as_object()?.clone(),
        },
    );
    Some(())
}

fn reason(plan_type: &str, pk: u64) -> Value {
    json!({"pk": pk, "cancellation_type": plan_type, "extra_information_needed": false, "order": 100,
        "subject": if plan_type == "cancel" { "Yanlış ürün aldım." } else { "Ürün hasarlı geldi." },
        "is_active": true, "send_to_remote": false, "modified_date": "2022-11-23T07:51:22.698626Z",
        "created_date": "2022-11-23T07:51:22.534643Z", "translations": null,
        "uuid": "3d32baeb-69a2-4e9e-ad6f-d58027c22bef", "send_to_oms": false})
}

/// Plans: every (plan type × status) combination at least once when there are 36+ orders
/// (at most a third of the orders get a plan), and one plan per ~8 orders beyond 96. Plan orders are already sent (`is_send` true), as in Omnitron.
fn add_plans(db: &mut Db, rng: &mut SimRng, now: DateTime<Utc>) {
    let order_pks: Vec<u64> = db.orders.keys().copied().collect();
    let wanted = (order_pks.len() / 8).max(12).min(order_pks.len() / 3);
    if wanted == 0 {
        return;
    }
    let step = (order_pks.len() / wanted).max(1);
    for (n, idx) in (0..wanted).map(|k| k * step).enumerate() {
        let Some(&order_pk) = order_pks.get(idx) else {
            break;
        };
        let plan_type = if n % 2 == 0 { "cancel" } else { "refund" };
        let (status, _) = PLAN_STATUSES[(n / 2) % PLAN_STATUSES.len()];
        create_plan(db, rng, order_pk, plan_type, status, now);
    }
}

/// Build a plan over (some of) the order's items and put the order and items in the state a
/// plan of that status implies. Also used by `POST /orders/{pk}/cancel/`.
pub(crate) fn create_plan(
    db: &mut Db,
    rng: &mut SimRng,
    order_pk: u64,
    plan_type: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Option<u64> {
    let item_pks: Vec<u64> = db.order_items.get(&order_pk)?.clone();
    let take = rng.range(1, item_pks.len().max(1) as u64) as usize;
    let chosen: Vec<u64> = item_pks.iter().take(take).copied().collect();
    create_plan_for_items(db, order_pk, plan_type, status, &chosen, now)
}

pub(crate) fn create_plan_for_items(
    db: &mut Db,
    order_pk: u64,
    plan_type: &str,
    status: &str,
    item_pks: &[u64],
    now: DateTime<Utc>,
) -> Option<u64> {
    let previous = if plan_type == "refund" { "550" } else { "400" };
    db.next_plan_pk += 1;
    let plan_pk = db.next_plan_pk;
    let mut items = Vec::new();
    let mut refund = 0u64;
    for ipk in item_pks {
        let item = db.items.get_mut(ipk)?;
        db.next_plan_item_pk += 1;
        let price = item
            .doc
            .get("net_amount")
            .and_then(Value::as_str)
            .and_then(|s| s.replace('.', "").parse::<u64>().ok())
            .unwrap_or(0);
        refund += price;
        let pending = matches!(status, "waiting" | "confirmation_waiting" | "confirmed");
        let done = matches!(status, "approved" | "completed");
        item.status = if done {
            if plan_type == "refund" { "600" } else { "100" }.to_string()
        } else {
            previous.to_string()
        };
        item.cancel_status = Some(
            if pending || status == "rejected" {
                status
            } else {
                "approved"
            }
            .to_string(),
        );
        if done {
            item.stock_reserved = false;
        }
        item.modified_date = now;
        items.push(PlanItem {
            pk: db.next_plan_item_pk,
            order_item: *ipk,
            previous_status: previous.to_string(),
            status: item.status.clone(),
            modified_date: now,
        });
    }
    let all_items = db.order_items.get(&order_pk).map_or(0, Vec::len);
    let order = db.orders.get_mut(&order_pk)?;
    order.is_send = true;
    order.modified_date = now;
    match status {
        "waiting" | "confirmation_waiting" | "confirmed" => {
            order.status = "50".into();
            order.cancel_status = Some(status.into());
        }
        "approved" | "completed" => {
            order.cancel_status = Some("approved".into());
            order.status = if items.len() == all_items {
                if plan_type == "refund" { "600" } else { "100" }.into()
            } else {
                previous.into()
            };
        }
        _ => {
            order.cancel_status = Some("rejected".into());
            order.status = previous.into();
        }
    }
    let plan = CancellationPlan {
        pk: plan_pk,
        order: order_pk,
        plan_type: plan_type.into(),
        status: status.into(),
        order_previous_status: previous.into(),
        items,
        refund_amount: money(refund),
        created_date: now - Duration::hours(2),
        modified_date: now,
        reason: reason(plan_type, if plan_type == "cancel" { 1 } else { 2 }),
    };
    if plan_type == "refund" && matches!(status, "approved" | "completed") {
        db.next_transaction_pk += 1;
        let tpk = db.next_transaction_pk;
        // Alternate: the first refund transaction is unmapped, the next mapped, ...
        let mapped = db
            .transactions
            .values()
            .filter(|t| t.transaction_type == "refund")
            .count()
            % 2
            == 1;
        let mut t = OrderTransaction {
            pk: tpk,
            order: order_pk,
            transaction_type: "refund".into(),
            amount: plan.refund_amount.clone(),
            related_cancellation_plan: Some(plan_pk),
            modified_date: now,
            mapping: vec![],
            doc: Map::new(),
        };
        t.doc.insert(
            "uuid".into(),
            json!(format!("00000000-0000-4000-a000-{tpk:012}")),
        );
        t.doc.insert(
            "transaction_content_type".into(),
            json!("orders.transaction"),
        );
        if mapped {
            t.mapping.push(db.new_mapping(
                crate::omnitron::model::CONTENT_TYPE_ORDER_TRANSACTION,
                tpk,
                &format!("REF-{tpk}"),
                "external_company",
            ));
        }
        db.transactions.insert(tpk, t);
    }
    db.plans.insert(plan_pk, plan);
    Some(plan_pk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_covers_every_plan_combination() {
        let now: DateTime<Utc> = "2024-06-01T12:00:00Z".parse().unwrap();
        let a = generate(7, 120, now);
        let b = generate(7, 120, now);
        let render = |db: &Db| {
            db.orders
                .values()
                .map(|o| db.order_detailed(o))
                .collect::<Vec<_>>()
        };
        assert_eq!(render(&a), render(&b));
        assert_eq!(a.orders.len(), 120);
        for (status, _) in PLAN_STATUSES {
            for t in ["cancel", "refund"] {
                assert!(
                    a.plans
                        .values()
                        .any(|p| p.status == *status && p.plan_type == t),
                    "missing plan {t}/{status}"
                );
            }
        }
        assert!(
            a.transactions
                .values()
                .any(|t| t.transaction_type == "refund" && t.mapping.is_empty())
        );
        let old = a
            .orders
            .values()
            .filter(|o| o.modified_date < now - Duration::days(21))
            .count();
        assert!(old > 0 && old < 120);
        for o in a.orders.values() {
            let n = a.order_items[&o.pk].len();
            assert!((1..=6).contains(&n));
        }
        assert_ne!(render(&a), render(&generate(8, 120, now)));
    }

    #[test]
    fn the_canonical_fixture_is_the_seed_004_example() {
        let c = canonical_order();
        assert_eq!(c["pk"], 9876421);
        assert_eq!(c["orderitem_set"].as_array().unwrap().len(), 2);
        assert_eq!(c["shipping_address"]["district"]["name"], "BEBEK MAH");
    }
}
