//! The engine's mechanisms, each on a small inline mapping (no province's real file):
//! envelopes, encodings, namespaces, batches, `{kind}`, epoch dates, division
//! aliases, and which reason each failure gets.

use chrono::DateTime;
use serde_json::Value;
use yipanqi_adapters::{Adapter, Mapping, TranslateContext, Translation};

fn ctx() -> TranslateContext {
    TranslateContext::new(
        DateTime::parse_from_rfc3339("2026-11-03T09:12:01.532+08:00").expect("time"),
    )
}

/// `(reason, record)` of a whole-document rejection, or of each record.
fn reasons(t: &Translation) -> Vec<(String, Option<u32>)> {
    match &t.result {
        Err(r) => vec![(r.reason.as_str().to_owned(), r.record)],
        Ok(outcomes) => outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(_) => ("ok".to_owned(), Some(o.record)),
                Err(r) => (r.reason.as_str().to_owned(), r.record),
            })
            .collect(),
    }
}

fn message(t: &Translation, i: usize) -> Value {
    let outcomes = t.result.as_ref().expect("document accepted");
    let validated = outcomes[i].result.as_ref().expect("record accepted");
    serde_json::to_value(&validated.message).expect("serialises")
}

const SOAP: &str = r#"
[province]
name = "testsoap"
code = "36"
label = "测试"

[format]
syntax = "xml"
encoding = "declared"
date = "%Y年%m月%d日"
datetime = "%Y年%m月%d日 %H时%M分"
list_separator = ";"
root = "R"

[namespaces]
s = "http://schemas.xmlsoap.org/soap/envelope/"
w = "urn:ws"

[envelope]
root = "s:Envelope"
path = "s:Body/w:send/arg0"

[header]
message_id = "H/ID"
division = "H/FROM"
sent_at = "H/T"

[record]
kind = "H/K"
in_reply_to = "H/REF"
subject = "P"
spouse = "S"
body = "D"

[person]
id_number = "ID"
name = "N"
sex = "X"
birth_date = "B"
registration_division = "HJ"
residence_division = "JZ"
marital_status = "M"

[body]
checked_on = "RQ"
items = "XM"
pregnancy = "YJ"
iud = "HJ"

[codes.kind]
"13" = "checkup_result"

[codes.sex]
"女" = "2"
"男" = "1"

[codes.marital_status]
"初婚" = "21"

[codes.items]
"孕检" = "pregnancy"
"环检" = "iud"

[codes.pregnancy]
"未孕" = "not_pregnant"

[codes.iud]
"正常" = "in_place"

[division_aliases]
"360199" = "360102"
"#;

fn inner(id: &str, birth: &str, hj: &str, checked: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<R><H><ID>JX1</ID><K>13</K><FROM>360102</FROM><T>2026年11月3日 9时5分</T><REF/></H>
<P><ID>{id}</ID><N>陆海燕</N><X>女</X><B>{birth}</B><HJ>{hj}</HJ><JZ>310105</JZ><M>初婚</M></P>
<S/>
<D><RQ>{checked}</RQ><XM>孕检; 环检</XM><YJ>未孕</YJ><HJ>正常</HJ></D></R>"#
    )
}

fn soap_cdata(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<x:send xmlns:x="urn:ws"><arg0><![CDATA[{inner}]]></arg0></x:send></soap:Body></soap:Envelope>"#
    )
}

fn soap_escaped(inner: &str) -> String {
    let escaped = inner
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r#"<?xml version="1.0"?>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>
<send xmlns="urn:ws"><arg0 xmlns="">
{escaped}</arg0></send></e:Body></e:Envelope>"#
    )
}

#[test]
fn soap_envelope_cdata_and_escaped_give_the_same_message() {
    let mapping = Mapping::from_toml(SOAP).expect("mapping");
    let doc = inner(
        "360102830609896",
        "1983年6月9日",
        "360199",
        "2026年10月31日",
    );
    let a = mapping.translate(soap_cdata(&doc).as_bytes(), &ctx());
    let b = mapping.translate(soap_escaped(&doc).as_bytes(), &ctx());
    assert_eq!(reasons(&a), [("ok".to_owned(), Some(0))], "{a:?}");
    let m = message(&a, 0);
    assert_eq!(m, message(&b, 0));
    assert_eq!(a.source_message_id.as_deref(), Some("JX1"));
    assert_eq!(m["sent_at"], "2026-11-03T09:05:00+08:00");
    // 15-digit ID upgraded by validation; unpadded Chinese dates; alias applied.
    assert_eq!(m["subject"]["id_number"], "360102198306098968");
    assert_eq!(m["subject"]["birth_date"], "1983-06-09");
    assert_eq!(m["subject"]["registration_division"], "360102");
    assert_eq!(m["spouse"], Value::Null);
    assert_eq!(m["in_reply_to"], Value::Null);
    assert_eq!(m["body"]["items"], serde_json::json!(["pregnancy", "iud"]));
    assert_eq!(m["source"]["record"], 0);
}

#[test]
fn soap_failures_are_malformed_or_field_errors() {
    let mapping = Mapping::from_toml(SOAP).expect("mapping");
    let good = inner(
        "360102830609896",
        "1983年6月9日",
        "360102",
        "2026年10月31日",
    );
    let dtd = good.replace("<R>", "<!DOCTYPE R [<!ENTITY x \"y\">]><R>");
    for bytes in [
        soap_cdata(&dtd),
        soap_escaped(&dtd),
        soap_cdata(&good[..good.len() - 10]),
        soap_cdata("").replace("<arg0><![CDATA[]]></arg0>", "<arg0/>"),
        soap_cdata(&good).replace("urn:ws", "urn:other"),
        good.clone(),
        soap_cdata(&good.replace("<R>", "<Q>").replace("</R>", "</Q>")),
        soap_cdata(&good).replace("陆海燕", "&unknown;"),
    ] {
        let t = mapping.translate(bytes.as_bytes(), &ctx());
        assert_eq!(reasons(&t), [("malformed".to_owned(), None)], "{bytes}");
    }
    let impossible = inner(
        "360102830609896",
        "1983年6月9日",
        "360102",
        "2026年13月32日",
    );
    let t = mapping.translate(soap_cdata(&impossible).as_bytes(), &ctx());
    let rejection = t.result.as_ref().expect("parsed")[0]
        .result
        .as_ref()
        .expect_err("bad date");
    assert_eq!(rejection.reason.as_str(), "schema_violation");
    assert_eq!(rejection.paths, ["/body/checked_on"]);
    assert_eq!(rejection.record, None);
    assert!(rejection.detail.contains("D/RQ"), "{}", rejection.detail);
}

#[test]
fn declared_gbk_is_decoded_and_broken_gbk_refused() {
    let mapping = Mapping::from_toml(SOAP).expect("mapping");
    let doc = soap_cdata(&inner(
        "360102830609896",
        "1983年6月9日",
        "360102",
        "2026年10月31日",
    ))
    .replacen("encoding=\"UTF-8\"", "encoding=\"GBK\"", 1);
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&doc);
    assert!(!unmappable);
    let t = mapping.translate(&gbk, &ctx());
    assert_eq!(message(&t, 0)["subject"]["name"], "陆海燕");
    let mut broken = gbk.into_owned();
    let at = broken
        .iter()
        .position(|b| *b >= 0x81)
        .expect("a GBK lead byte");
    broken[at + 1] = b'<';
    let t = mapping.translate(&broken, &ctx());
    assert_eq!(reasons(&t), [("malformed".to_owned(), None)]);
    // The same bytes read as UTF-8 are not valid either: never replaced silently.
    let t = mapping.translate(&doc.replacen("GBK", "latin1", 1).into_bytes(), &ctx());
    assert_eq!(reasons(&t), [("malformed".to_owned(), None)]);
}

const BATCH: &str = r#"
[province]
name = "testbatch"
code = "41"
label = "测试"

[format]
syntax = "xml"
date = "epoch_ms"
datetime = "epoch_ms"
root = "batch"

[namespaces]
default = "urn:b"

[batch]
records = "record[]"
count = "@count"
seq = "@seq"

[header]
message_id = "@id"
division = "@org"
sent_at = "@sent"

[record]
kind = "@type"
in_reply_to = "@ref"
subject = "woman"
body = "{kind}"

[person]
id_number = "@idno"
name = "@name"
sex = "@sex"
birth_date = "@born"
registration_division = "@hukou"
residence_division = "@live"
marital_status = "@marital"

[body]
arrived_on = "@date"
status = "@status"
remarks = "remarks"

[codes.kind]
missing = "marriage_cert_missing"
receipt = "receipt"
"#;

fn record(seq: &str, kind: &str, born: &str, extra: &str) -> String {
    // 420322199102135189: 吴琳, born 1991-02-13 (Henan ICD sample).
    format!(
        r#"<p:record seq="{seq}" type="{kind}" ref="{}"><p:woman idno="420322199102135189" name="吴琳" sex="2" born="{born}" hukou="420322" live="410105009" marital="20"/>{extra}</p:record>"#,
        if kind == "receipt" {
            "5b0c2f3e-8d1a-5f4e-9a27-3c6d1e0b7f42"
        } else {
            ""
        }
    )
}

fn batch(count: &str, records: &[String]) -> String {
    format!(
        r#"<p:batch xmlns:p="urn:b" id="B-1" org="410105" sent="1793668320000" count="{count}">{}</p:batch>"#,
        records.concat()
    )
}

#[test]
fn batch_records_stand_alone_and_carry_their_index() {
    let mapping = Mapping::from_toml(BATCH).expect("mapping");
    // 666374400000 = 1991-02-13 00:00 Beijing.
    let ok_missing = record(
        "1",
        "missing",
        "666374400000",
        r#"<p:missing date="1792771200000"/>"#,
    );
    let bad_kind = record("2", "unknown", "666374400000", "");
    let ok_receipt = record(
        "4",
        "receipt",
        "666374400000",
        r#"<p:receipt status="accepted"><p:remarks> 已收到 </p:remarks></p:receipt>"#,
    );
    let bad_date = record(
        "3",
        "missing",
        "666374400000",
        r#"<p:missing date="soon"/>"#,
    );
    let doc = batch("4", &[ok_missing, bad_kind, ok_receipt.clone(), bad_date]);
    let t = mapping.translate(doc.as_bytes(), &ctx());
    assert_eq!(
        reasons(&t),
        [
            ("ok".to_owned(), Some(0)),
            ("unknown_kind".to_owned(), Some(1)),
            ("ok".to_owned(), Some(3)),
            ("schema_violation".to_owned(), Some(2)),
        ]
    );
    let first = message(&t, 0);
    assert_eq!(first["body"]["arrived_on"], "2026-10-24");
    assert_eq!(first["subject"]["birth_date"], "1991-02-13");
    assert_eq!(first["sent_at"], "2026-11-03T09:12:00+08:00");
    let receipt = message(&t, 2);
    assert_eq!(receipt["source"]["record"], 3);
    assert_eq!(receipt["body"]["remarks"], "已收到");
    assert_eq!(
        receipt["message_id"],
        yipanqi_schemas::canonical_message_id("41", "B-1", 3).to_string()
    );
    // Whole-batch failures: the count, a repeated or missing seq, no records.
    let one = record(
        "1",
        "missing",
        "666374400000",
        r#"<p:missing date="1792771200000"/>"#,
    );
    for doc in [
        batch("2", std::slice::from_ref(&one)),
        batch("x", std::slice::from_ref(&one)),
        batch("2", &[one.clone(), one.clone()]),
        batch("1", &[one.replace("seq=\"1\"", "seq=\"0\"")]),
        batch("1", &[one.replace("seq=\"1\"", "")]),
        batch("0", &[]),
    ] {
        let t = mapping.translate(doc.as_bytes(), &ctx());
        assert_eq!(reasons(&t), [("malformed".to_owned(), None)], "{doc}");
        assert_eq!(t.source_message_id.as_deref(), Some("B-1"));
    }
}

#[test]
fn epoch_dates_use_asia_shanghai_summer_time() {
    let mapping = Mapping::from_toml(BATCH).expect("mapping");
    // A woman born 1988-07-01: Beijing midnight was 15:00 UTC the day before (UTC+9).
    let born_1988 = record(
        "1",
        "missing",
        "583686000000",
        r#"<p:missing date="1792771200000"/>"#,
    )
    .replace("420322199102135189", "420322198807015182");
    let t = mapping.translate(batch("1", &[born_1988]).as_bytes(), &ctx());
    assert_eq!(message(&t, 0)["subject"]["birth_date"], "1988-07-01");
}

#[test]
fn mapping_errors_name_the_field() {
    for (from, to, field) in [
        (
            "records = \"record[]\"",
            "records = \"p:record[]\"",
            "batch.records",
        ),
        ("body = \"{kind}\"", "body = \"{kind}[]/x\"", "record.body"),
        (
            "arrived_on = \"@date\"",
            "arrived_on = \"@date\"\nitems = \"@x\"",
            "codes",
        ),
        (
            "\"360199\" = \"360102\"",
            "\"360199\" = \"369999\"",
            "division_aliases",
        ),
    ] {
        let base = if field == "division_aliases" {
            SOAP
        } else {
            BATCH
        };
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base);
        let text = if field == "codes" {
            text + "\n[codes.items]\n\"1\" = \"pregnant\"\n"
        } else {
            text
        };
        let err = Mapping::from_toml(&text).expect_err("invalid").to_string();
        assert!(err.contains(field), "{err} should name {field}");
    }
}
