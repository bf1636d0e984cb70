//! The reports' words: Chinese first, English beside it (DOMAIN.md §6) — kinds, rejection
//! reasons, expectation states and provinces.

use yipanqi_adapters::Registry;

/// A label in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    /// Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl Label {
    /// A label.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Label {
        Label {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// `中文 English`, for one-line places (CSV and spreadsheet headers).
    pub fn both(&self) -> String {
        if self.en.is_empty() {
            self.zh.clone()
        } else {
            format!("{} {}", self.zh, self.en)
        }
    }
}

/// A kind's Chinese name (DOMAIN.md §3), or the kind itself when unknown.
pub fn kind_zh(kind: &str) -> &str {
    match kind {
        "birth_verify_request" => "一孩生育服务登记核查请求",
        "birth_verify_reply" => "核查反馈",
        "birth_registration_result" => "生育服务登记办理结果",
        "second_birth_consult" => "再生育审批协作函",
        "second_birth_opinion" => "再生育协作意见",
        "honor_cert_request" => "独生子女父母光荣证协作",
        "marriage_cert_issued" => "《婚育证明》发放",
        "marriage_cert_verified" => "《婚育证明》查验",
        "marriage_cert_missing" => "无证人员通报",
        "marriage_cert_reissued" => "补办《婚育证明》",
        "marriage_cert_delegated" => "委托现居住地代办",
        "migration_notice" => "流入/流出/变更通报",
        "checkup_result" => "孕环情检查结果通报",
        "fee_collection" => "社会抚养费征收协作",
        "case_referral" => "“两非”案件协查",
        "receipt" => "回执",
        "rejection" => "退回通知",
        "reminder" => "催办",
        "escalation" => "督办",
        other => other,
    }
}

/// A rejection reason's Chinese name.
pub fn reason_zh(reason: &str) -> &str {
    match reason {
        "malformed" => "格式错误",
        "too_large" => "超过大小限制",
        "unknown_kind" => "未知业务类别",
        "schema_violation" => "字段不合规",
        "invalid_id_number" => "身份证号无效",
        "unknown_division" => "未知行政区划",
        "sender_mismatch" => "发送方不符",
        "unknown_reference" => "引用的消息不存在",
        "unauthorized_reply" => "无权答复",
        "subject_mismatch" => "答复对象不符",
        "conflicting_duplicate" => "重复且内容不同",
        other => other,
    }
}

/// An expectation state's Chinese name.
pub fn state_zh(state: &str) -> &str {
    match state {
        "open" => "待答复",
        "overdue" => "已逾期",
        "answered_on_time" => "按时答复",
        "answered_late" => "逾期答复",
        other => other,
    }
}

/// A province by code: `安徽 anhui` inside the region, `广东省 (PADIS)` outside it.
pub fn province(registry: &Registry, code: &str) -> Label {
    match registry.by_code(code) {
        Some(m) => Label::new(m.province().label.clone(), m.province().name.clone()),
        None => Label::new(
            yipanqi_schemas::province_name(code).unwrap_or(code).to_string(),
            format!("{code} (PADIS)"),
        ),
    }
}

/// A province in one line: `安徽 anhui`.
pub fn province_line(registry: &Registry, code: &str) -> String {
    province(registry, code).both()
}
