//! The portal's Vietnamese: names of the API's enumerated values and, for the
//! rules people meet most, what a refusal means in words. A rule without its
//! own sentence is still shown with the API's explanation and its article.

/// The review state of a dossier (`hoso_domain::review::ReviewState`'s names).
pub(crate) fn workflow(s: &str) -> &str {
    match s {
        "awaiting_declaration" => "Chờ kê khai",
        "declaring" => "Đang kê khai",
        "returned" => "Bị trả lại để kê khai lại",
        "verified" => "Đã thẩm định",
        "locked" => "Đã khóa, chờ phê duyệt",
        "approved" => "Đã phê duyệt",
        other => other,
    }
}

/// A personnel category.
pub(crate) fn category(s: &str) -> &str {
    match s {
        "can_bo" => "Cán bộ",
        "cong_chuc" => "Công chức",
        "vien_chuc" => "Viên chức",
        "nguoi_lao_dong" => "Người lao động",
        "commune_cadre" => "Cán bộ, công chức cấp xã",
        other => other,
    }
}

/// A dossier's employment status.
pub(crate) fn status(s: &str) -> &str {
    hoso_domain::dossier::status_words_of(s).unwrap_or(s)
}

/// An account's kind.
pub(crate) fn account_kind(s: &str) -> &str {
    match s {
        "system_admin" => "Quản trị hệ thống (Sở Nội vụ)",
        "agency_admin" => "Quản trị cơ quan",
        "agency_head" => "Thủ trưởng cơ quan",
        "specialist" => "Chuyên viên tổ chức cán bộ",
        "personal" => "Cán bộ, công chức, viên chức",
        "inspector" => "Thanh tra",
        "national_sync" => "Cơ sở dữ liệu quốc gia",
        other => other,
    }
}

/// A unit's kind (`hoso_domain::org::OrgUnitKind`'s names).
pub(crate) fn unit_kind(s: &str) -> &str {
    match s {
        "provincial_department" => "Sở, ban, ngành cấp tỉnh",
        "peoples_committee_province" => "Ủy ban nhân dân tỉnh",
        "peoples_committee_district" => "Ủy ban nhân dân cấp huyện",
        "peoples_committee_commune" => "Ủy ban nhân dân cấp xã",
        "public_service_unit" => "Đơn vị sự nghiệp công lập",
        "association" => "Hội",
        "internal_division" => "Phòng, ban trực thuộc",
        other => other,
    }
}

/// A unit's status as recorded.
pub(crate) fn unit_status(s: &str) -> &str {
    match s {
        "active" => "Đang hoạt động",
        "merged" => "Sáp nhập",
        "split" => "Chia tách",
        "dissolved" => "Giải thể",
        other => other,
    }
}

/// The kind of an entry of the security record (`Attempt::kind`).
pub(crate) fn attempt_kind(s: &str) -> &str {
    match s {
        "login-ok" => "Đăng nhập thành công",
        "login-failed" => "Đăng nhập sai",
        "login-throttled" => "Bị chặn do đăng nhập sai nhiều lần",
        "account-locked" => "Tài khoản bị khóa",
        "password-change-failed" => "Đổi mật khẩu: sai mật khẩu hiện tại",
        "scope-refused" => "Truy cập ngoài phạm vi bị từ chối",
        "token-refused" => "Phiên làm việc không hợp lệ bị từ chối",
        other => other,
    }
}

/// Why an account is locked (`LockReason`'s names).
pub(crate) fn lock_reason(s: &str) -> &str {
    match s {
        "declaration_verified" => "bản kê khai đã thẩm định",
        "security" => "lý do an ninh",
        "holder_left" => "người dùng đã nghỉ hoặc chuyển đi",
        "unit_reorganised" => "đơn vị đã sắp xếp lại",
        "other" => "lý do khác",
        other => other,
    }
}

/// A security attempt's detail, in words when the API wrote one of the
/// sentences it writes for logins and sessions; any other (a refused read's
/// route, a reason) as the API wrote it.
pub(crate) fn attempt_detail(d: &str) -> String {
    let number = |s: &str| s.parse::<u64>().ok();
    if let Some((by_name, rest)) = d.split_once(" failures for this name, ")
        && let (Some(n), Some(c)) = (
            number(by_name),
            rest.strip_suffix(" from this address").and_then(number),
        )
    {
        return format!("{n} lần sai với tên đăng nhập này, {c} lần sai từ địa chỉ máy này");
    }
    if let Some(n) = d
        .strip_suffix(" failures from this address in the window")
        .and_then(number)
    {
        return format!("{n} lần sai từ địa chỉ máy này trong khoảng thời gian theo dõi");
    }
    if let Some(n) = d
        .strip_prefix("wrong current password (")
        .and_then(|r| r.strip_suffix(" for this name)"))
        .and_then(number)
    {
        return format!("Sai mật khẩu hiện tại ({n} lần với tên đăng nhập này)");
    }
    match d {
        "token-expired" => "Phiên làm việc đã hết hạn".to_owned(),
        "invalid-token" => "Phiên làm việc không tồn tại".to_owned(),
        _ => match d
            .strip_prefix("account locked (")
            .and_then(|r| r.strip_suffix(')'))
        {
            Some(reason) => format!("Tài khoản đã bị khóa ({})", lock_reason(reason)),
            None => d.to_owned(),
        },
    }
}

/// An access right.
pub(crate) fn right(s: &str) -> &str {
    match s {
        "access" => "Xem",
        "update" => "Cập nhật",
        "admin" => "Quản trị",
        other => other,
    }
}

/// The ground a read of a dossier was recorded under (the API's
/// `own-data`, `right:<right>`, `consent:<id>`, `delegation:<id>`,
/// `inspection:<id>`), in words with the record it names.
pub(crate) fn read_basis(basis: &str) -> String {
    let (kind, reference) = basis.split_once(':').unwrap_or((basis, ""));
    match kind {
        "own-data" => "Chính người có hồ sơ (tài khoản cá nhân)".to_owned(),
        "right" => format!(
            "Quyền {} đối với đơn vị quản lý, sử dụng hồ sơ",
            right(reference).to_lowercase()
        ),
        "consent" => format!("Văn bản đồng ý cho xem hồ sơ (mã {reference})"),
        "delegation" => format!("Ủy quyền phê duyệt (mã {reference})"),
        "inspection" => format!("Quyết định thanh tra, kiểm tra (mã {reference})"),
        _ => basis.to_owned(),
    }
}

/// A fact of a dossier the restriction levels name apart from the form's
/// fields (`hoso_domain::restriction`'s facts, as a read records them).
pub(crate) fn fact(s: &str) -> &str {
    match s {
        "person_id" => "Số định danh cá nhân",
        "rank" => "Ngạch, chức danh nghề nghiệp",
        "salary" => "Bậc, hệ số lương",
        "positions" => "Chức vụ, vị trí việc làm",
        "awards" => "Khen thưởng",
        "discipline" => "Kỷ luật",
        "evaluations" => "Đánh giá, xếp loại",
        "planning" => "Quy hoạch",
        other => other,
    }
}

/// An obligation of the profile (`hoso_domain::profile::Obligation`'s keys).
pub(crate) fn obligation(s: &str) -> &str {
    match s {
        "issue_new_dossier_account" => "Cấp tài khoản cho người có hồ sơ mới",
        "declare_new_dossier" => "Kê khai hồ sơ mới",
        "review_new_dossier" => "Thẩm định hồ sơ mới",
        "sign_new_dossier" => "Ký phê duyệt hồ sơ mới",
        "declare_personal_change" => "Kê khai thay đổi thông tin",
        "approve_personal_change" => "Thẩm định, phê duyệt thay đổi",
        "record_state_decision" => "Cập nhật quyết định vào hồ sơ",
        "transfer_within_agency" => "Điều động trong cơ quan",
        "send_inter_agency_transfer" => "Gửi hồ sơ chuyển công tác",
        "receive_inter_agency_transfer" => "Tiếp nhận hồ sơ chuyển đến",
        "request_arrival_from_other_province" => "Đề nghị chuyển hồ sơ từ tỉnh khác",
        "record_status_change" => "Cập nhật tình trạng công tác",
        other => other,
    }
}

/// A kind of transfer to another agency (DL 10.2).
pub(crate) fn transfer_kind(s: &str) -> &str {
    match s {
        "reassignment" => "Điều động",
        "rotation" => "Luân chuyển",
        "secondment" => "Biệt phái",
        "transfer" => "Thuyên chuyển",
        other => other,
    }
}

/// The transfer kinds, as the API spells them, in the order offered.
pub(crate) const TRANSFER_KINDS: [&str; 4] = ["reassignment", "rotation", "secondment", "transfer"];

/// The employment statuses, as the API spells them, in the order offered.
pub(crate) const STATUSES: [&str; 8] = [
    "active",
    "seconded",
    "transferred_out",
    "party_bloc",
    "retired",
    "resigned",
    "dismissed",
    "deceased",
];

/// A kind of decision of the state (`POST /dossiers/{id}/decisions`).
pub(crate) fn decision_kind(s: &str) -> &str {
    match s {
        "appointment" => "Bổ nhiệm, miễn nhiệm, kiêm nhiệm",
        "rank" => "Ngạch, chức danh nghề nghiệp",
        "salary" => "Bậc, hệ số lương",
        "allowance" => "Phụ cấp",
        "award" => "Khen thưởng",
        "discipline" => "Kỷ luật",
        "training" => "Đào tạo, bồi dưỡng",
        "evaluation" => "Đánh giá, xếp loại",
        "planning" => "Quy hoạch",
        other => other,
    }
}

/// The values of a decision's enumerated member, as the API spells them,
/// each with its Vietnamese name.
pub(crate) fn decision_values(member: &str) -> &'static [(&'static str, &'static str)] {
    match member {
        "appointment_kind" => &[
            ("appointed", "Bổ nhiệm"),
            ("reappointed", "Bổ nhiệm lại"),
            ("concurrent", "Kiêm nhiệm"),
            ("relieved", "Miễn nhiệm, thôi giữ chức vụ"),
            ("elected", "Bầu cử"),
        ],
        "rank_change_kind" => &[
            ("initial", "Bổ nhiệm ngạch lần đầu"),
            ("promoted", "Nâng ngạch, thăng hạng"),
            ("transferred", "Chuyển ngạch"),
            ("demoted", "Hạ ngạch"),
        ],
        "allowance_kind" => &[
            ("position", "Phụ cấp chức vụ (hệ số)"),
            ("over_frame_seniority", "Phụ cấp thâm niên vượt khung (%)"),
            ("professional_seniority", "Phụ cấp thâm niên nghề (%)"),
            ("professional_preference", "Phụ cấp ưu đãi nghề (%)"),
            ("responsibility", "Phụ cấp trách nhiệm (hệ số)"),
            ("regional", "Phụ cấp khu vực (hệ số)"),
            ("concurrent_position", "Phụ cấp kiêm nhiệm (%)"),
            ("other", "Phụ cấp khác"),
        ],
        "discipline_form" => &[
            ("reprimand", "Khiển trách"),
            ("warning", "Cảnh cáo"),
            ("salary_step_reduction", "Hạ bậc lương"),
            ("demotion", "Giáng chức"),
            ("removal_from_office", "Cách chức"),
            ("removal_from_elected_office", "Bãi nhiệm"),
            ("dismissal", "Buộc thôi việc"),
        ],
        "discipline_body" => &[
            ("party", "Tổ chức Đảng"),
            ("government", "Cơ quan nhà nước"),
            ("union", "Đoàn thể"),
        ],
        "training_mode" => &[
            ("full_time", "Chính quy"),
            ("in_service", "Tại chức, vừa làm vừa học"),
            ("conversion", "Chuyển đổi, văn bằng hai"),
            ("short_course", "Bồi dưỡng ngắn hạn"),
            ("distance", "Từ xa"),
            ("other", "Khác"),
        ],
        "grade" => &[
            ("excellent", "Hoàn thành xuất sắc nhiệm vụ"),
            ("good", "Hoàn thành tốt nhiệm vụ"),
            ("completed", "Hoàn thành nhiệm vụ"),
            ("not_completed", "Không hoàn thành nhiệm vụ"),
        ],
        _ => &[],
    }
}

/// A warning the API gave with an accepted command, in words when we know
/// its shape (the approval window's, HY 10.4 under a `warn` profile:
/// "approval outside window (ART): LEVEL approve from Y-M-D to Y-M-D");
/// any other as the API wrote it.
pub(crate) fn warning(w: &str) -> String {
    let parsed = w
        .strip_prefix("approval outside window (")
        .and_then(|rest| rest.split_once("): "))
        .and_then(|(citation, rest)| {
            let (level, dates) = rest.split_once(" approve from ")?;
            let (first, last) = dates.split_once(" to ")?;
            let level = match level {
                "unit heads" => "thủ trưởng đơn vị",
                "department and district heads" => "giám đốc sở, chủ tịch UBND cấp huyện",
                "the Sở Nội vụ director" => "Giám đốc Sở Nội vụ",
                _ => return None,
            };
            Some(format!(
                "Phê duyệt ngoài thời hạn hằng tháng ({citation}): {level} phê duyệt từ {} đến {}. Chữ ký vẫn được ghi nhận vì quy định của tỉnh chỉ cảnh báo.",
                crate::format::date(first),
                crate::format::date(last)
            ))
        });
    parsed.unwrap_or_else(|| w.to_owned())
}

/// What the API's refusal means, in words, when we have them for its rule
/// (`family:code`).
pub(crate) fn refusal(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "session:bad-credentials" => {
            "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang bị khóa."
        }
        "session:throttled" | "session:too-many-failures" => {
            "Đăng nhập sai quá nhiều lần. Vui lòng chờ rồi thử lại."
        }
        "session:missing" | "session:expired" | "session:unknown" => {
            "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."
        }
        "access:password-change-required" => {
            "Mật khẩu được cấp phải được đổi trước khi sử dụng hệ thống."
        }
        "access:insufficient-right" | "access:escalation" => {
            "Tài khoản không có quyền thực hiện thao tác này đối với đơn vị quản lý hồ sơ."
        }
        "access:inspector-read-only" => "Tài khoản thanh tra chỉ được xem, không được thay đổi.",
        "access:self-review" => "Không được tự thẩm định hoặc phê duyệt hồ sơ của chính mình.",
        "access:outside-approval-window" => {
            "Ngoài thời hạn phê duyệt hằng tháng theo quy định của tỉnh."
        }
        "access:key-not-usable" => "Khóa ký số chưa có hiệu lực, đã hết hạn hoặc đã bị thu hồi.",
        "access:not-declarant" => "Chỉ người có hồ sơ hoặc đơn vị quản lý được kê khai.",
        "access:not-approver" => "Tài khoản không có thẩm quyền phê duyệt hồ sơ của đơn vị này.",
        "access:system-admin-only" => "Chức năng này chỉ dành cho Sở Nội vụ.",
        "request:not-found" | "read:not-found" => {
            "Không tìm thấy, hoặc nằm ngoài phạm vi quản lý của tài khoản."
        }
        "dossier:declaration-locked" => {
            "Bản kê khai đã bị khóa sau thẩm định; không thể kê khai thêm cho đến khi được phê duyệt."
        }
        "dossier:nothing-pending" => "Không có nội dung kê khai nào đang chờ xử lý.",
        "dossier:reasons-required" => "Phải nêu lý do khi trả lại hồ sơ để kê khai lại.",
        "dossier:section-not-pending" => "Mục được trả lại không nằm trong bản kê khai đang chờ.",
        "dossier:section-missing" => {
            "Thiếu mục bắt buộc để phê duyệt lần đầu (nhân thân và tuyển dụng)."
        }
        "dossier:wrong-step" => "Thao tác không đúng bước của quy trình thẩm định.",
        "dossier:stale-approval" => {
            "Hồ sơ đã thay đổi sau khi chữ ký được tạo. Vui lòng tải lại và ký lại."
        }
        "dossier:hash-mismatch" => "Chữ ký không khớp với phiên bản hồ sơ đang chờ phê duyệt.",
        "dossier:bad-signature" => {
            "Chữ ký số không hợp lệ với khóa đã đăng ký. Kiểm tra lại tệp khóa."
        }
        "dossier:proof-required" => {
            "Thay đổi sau khi hồ sơ đã phê duyệt phải kèm bản số hóa giấy tờ chứng minh."
        }
        "dossier:form" => {
            "Nội dung kê khai chưa đúng mẫu: thiếu trường bắt buộc hoặc giá trị sai định dạng."
        }
        "dossier:in-transit" => "Hồ sơ đang được chuyển công tác nên tạm thời không thể thay đổi.",
        "dossier:archived" => "Hồ sơ đã lưu trữ, không thể thay đổi.",
        "conflict:conflict" => {
            "Hồ sơ vừa được người khác thay đổi. Vui lòng tải lại trang và thực hiện lại."
        }
        "attachment:not-uploaded" => "Tài liệu đính kèm chưa được tải lên cho hồ sơ này.",
        "attachment:quota-exceeded" => {
            "Dung lượng tài liệu tải lên chưa sử dụng đã vượt hạn mức. Hãy dùng các tài liệu đã tải lên hoặc chờ hệ thống dọn."
        }
        "password:password-rule" => "Mật khẩu mới chưa đạt yêu cầu về độ phức tạp.",
        "storage:unavailable" => {
            "Hệ thống tạm thời không ghi được dữ liệu. Vui lòng thử lại sau ít phút."
        }
        "portal:forged-form" => {
            "Biểu mẫu không hợp lệ hoặc đã hết hạn (chống giả mạo yêu cầu). Vui lòng tải lại trang."
        }
        "portal:no-file" => "Chưa chọn tệp.",
        "portal:bad-date" => "Ngày chưa đúng dạng ngày/tháng/năm (dd/mm/yyyy).",
        "portal:missing-field" => "Chưa điền đủ các mục bắt buộc.",
        "portal:bad-number" => "Giá trị số chưa đúng (chỉ gồm chữ số; hệ số viết dạng 2,34).",
        "portal:account-not-issued" => {
            "Đã lập hồ sơ nhưng chưa cấp được tài khoản cá nhân. Xem lý do bên dưới và cấp lại."
        }
        "request:invalid-value" | "request:invalid-body" => {
            "Có giá trị không thuộc danh mục hoặc không đúng định dạng."
        }
        "request:unit-required" => "Tài khoản quản lý nhiều đơn vị: hãy chọn một đơn vị.",
        "access:no-search-scope" => "Tài khoản không được phân quyền đối với đơn vị nào.",
        "access:delegation" => {
            "Chỉ thủ trưởng cơ quan được ủy quyền phê duyệt, và chỉ trong phạm vi đơn vị của mình."
        }
        "access:delegation-ended" => "Việc ủy quyền đã hết hiệu lực.",
        "dossier:status-transition" => {
            "Không được chuyển từ tình trạng hiện tại sang tình trạng này theo quy định."
        }
        "dossier:no-such-transfer" => {
            "Không có việc chuyển công tác này đang chờ xử lý (có thể đã được tiếp nhận hoặc từ chối)."
        }
        "dossier:same-unit" => "Hồ sơ đã thuộc đơn vị này.",
        "dossier:bad-decision" => "Nội dung quyết định chưa hợp lệ.",
        "dossier:scanned-decision-required" => {
            "Chuyển công tác sang cơ quan khác phải kèm bản số hóa quyết định."
        }
        "dossier:decision-incomplete" => "Quyết định phải có số, ngày ký và cơ quan ban hành.",
        "dossier:decision-in-future" => "Ngày ký quyết định không được sau ngày hôm nay.",
        "dossier:decision-before-records" => "Ngày ký quyết định quá sớm so với hồ sơ.",
        "dossier:bad-person-id" | "account:bad-person-id" => {
            "Số định danh cá nhân phải gồm đúng 12 chữ số hợp lệ."
        }
        "dossier:person-id-taken" | "scope:person-id-taken" => {
            "Số định danh cá nhân này đã có hồ sơ trong tỉnh."
        }
        "dossier:name-required" | "account:name-required" => "Phải ghi họ và tên.",
        "dossier:category-required" => "Phải chọn phân loại cán bộ, công chức, viên chức.",
        "dossier:birth-date-out-of-range" | "account:birth-date-out-of-range" => {
            "Ngày sinh không hợp lệ."
        }
        "dossier:recruitment-out-of-range" => {
            "Ngày tuyển dụng không hợp lệ (trước ngày sinh hoặc quá sớm)."
        }
        "scope:unknown-unit" => "Không có đơn vị với mã này.",
        "scope:unit-not-active" => {
            "Đơn vị không còn hoạt động (đã sáp nhập, chia tách hoặc giải thể)."
        }
        "scope:not-same-agency" => {
            "Hai đơn vị không cùng một cơ quan: hãy dùng chuyển công tác sang cơ quan khác."
        }
        "scope:same-agency" => "Hai đơn vị cùng một cơ quan: hãy dùng điều động trong cơ quan.",
        "scope:outside-receiver" => "Đơn vị chuyển tiếp không thuộc cơ quan tiếp nhận.",
        "scope:personal-account-taken" => "Người này đã có tài khoản cá nhân.",
        "scope:username-taken" => "Tên đăng nhập đã được sử dụng.",
        "scope:no-dossier-for-person" => "Số định danh cá nhân này chưa có hồ sơ trong tỉnh.",
        "scope:unknown-account" => "Không có tài khoản này, hoặc nằm ngoài phạm vi quản lý.",
        "scope:bad-delegate" => {
            "Người được ủy quyền phải là tài khoản cán bộ thuộc đơn vị của thủ trưởng (không phải tài khoản cá nhân hay thanh tra)."
        }
        "account:bad-username" => "Tên đăng nhập chưa hợp lệ.",
        "account:bad-period" => "Thời hạn chưa hợp lệ (ngày kết thúc trước ngày bắt đầu).",
        "account:delegation-to-self" => "Không thể tự ủy quyền cho chính mình.",
        "account:unknown-delegation" => "Không có việc ủy quyền này.",
        "account:already-revoked" => "Việc ủy quyền đã được chấm dứt trước đó.",
        "account:delegation-decision-required" => {
            "Ủy quyền phải có văn bản (số, ngày, cơ quan ban hành)."
        }
        "account:person-id-placement" => {
            "Chỉ tài khoản cá nhân mới ghi số định danh cá nhân, và tài khoản cá nhân phải có số này."
        }
        "portal:unknown-report" => "Không có báo cáo này.",
        "portal:bundle-unreadable" => "Gói hồ sơ nhận được không đọc được để kiểm chứng.",
        "access:staff-only" => {
            "Chức năng này chỉ dành cho tài khoản cán bộ, công chức làm công tác quản lý."
        }
        "access:account-scope" => {
            "Tài khoản quản trị cơ quan chỉ xem được tài khoản thuộc đơn vị mình quản lý."
        }
        "ledger:not-yet-covered" => {
            "Gói hồ sơ chưa thể xuất: chưa có gốc cây được ký bao trùm các sự kiện mới nhất. Vui lòng thử lại sau ít phút."
        }
        "ledger:no-tree" => "Máy chủ này không lưu cây Merkle nên không xuất được gói hồ sơ.",
        "request:invalid-dimension" => "Tiêu chí thống kê không hợp lệ.",
        "request:invalid-period" => {
            "Khoảng thời gian không hợp lệ: ngày bắt đầu sau ngày kết thúc."
        }
        "sync:not-director" => "Chỉ Giám đốc Sở Nội vụ được ký niêm phong lô đồng bộ quốc gia.",
        "sync:already-sealed" => "Lô này đã được niêm phong.",
        "sync:too-early" => "Chưa đến ngày được ký niêm phong lô của tháng.",
        "sync:bad-signature" => {
            "Chữ ký số không hợp lệ với khóa đã đăng ký. Kiểm tra lại tệp khóa."
        }
        "sync:sealed-by-connection" => {
            "Tỉnh đang đồng bộ liên tục: máy chủ tự niêm phong bằng khóa kết nối của tỉnh."
        }
        "sync:not-national-sync" => {
            "Chỉ Sở Nội vụ và tài khoản đồng bộ với cơ sở dữ liệu quốc gia được xem báo cáo này."
        }
        "sync:not-next-batch" | "sync:statement-mismatch" => {
            "Lô đồng bộ vừa thay đổi. Vui lòng tải lại trang và ký lại."
        }
        "sync:nothing-to-seal" => "Không có hồ sơ phê duyệt mới cần đồng bộ.",
        _ => return None,
    })
}

/// A sentence for a status when the rule has none of its own.
pub(crate) fn status_words(status: u16) -> &'static str {
    match status {
        400 => "Yêu cầu không hợp lệ.",
        401 => "Vui lòng đăng nhập.",
        403 => "Tài khoản không được phép thực hiện thao tác này.",
        404 => "Không tìm thấy, hoặc nằm ngoài phạm vi quản lý của tài khoản.",
        409 | 412 => "Dữ liệu vừa thay đổi. Vui lòng tải lại trang và thực hiện lại.",
        413 => "Tệp hoặc yêu cầu quá lớn.",
        422 => "Yêu cầu vi phạm quy định nên không được thực hiện.",
        429 => "Quá nhiều yêu cầu. Vui lòng chờ rồi thử lại.",
        503 => "Hệ thống tạm thời không sẵn sàng. Vui lòng thử lại sau.",
        _ => "Đã xảy ra lỗi. Vui lòng thử lại; nếu lỗi lặp lại, hãy báo quản trị hệ thống.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hy_5_1_login_failures_are_told_in_words() {
        assert_eq!(
            attempt_detail("1 failures for this name, 2 from this address"),
            "1 lần sai với tên đăng nhập này, 2 lần sai từ địa chỉ máy này"
        );
        assert_eq!(
            attempt_detail("5 failures from this address in the window"),
            "5 lần sai từ địa chỉ máy này trong khoảng thời gian theo dõi"
        );
        assert_eq!(
            attempt_detail("wrong current password (3 for this name)"),
            "Sai mật khẩu hiện tại (3 lần với tên đăng nhập này)"
        );
        assert_eq!(attempt_detail("token-expired"), "Phiên làm việc đã hết hạn");
        assert_eq!(
            attempt_detail("GET /api/v1/dossiers/x"),
            "GET /api/v1/dossiers/x"
        );
    }

    #[test]
    fn hy_10_4_the_approval_window_warning_in_words() {
        assert_eq!(
            warning(
                "approval outside window (HY 10.4): unit heads approve from 2026-12-01 to 2026-12-10"
            ),
            "Phê duyệt ngoài thời hạn hằng tháng (HY 10.4): thủ trưởng đơn vị phê duyệt từ 01/12/2026 đến 10/12/2026. Chữ ký vẫn được ghi nhận vì quy định của tỉnh chỉ cảnh báo."
        );
        assert_eq!(warning("something new"), "something new");
    }

    #[test]
    fn every_review_state_has_a_name() {
        for s in [
            "awaiting_declaration",
            "declaring",
            "returned",
            "verified",
            "locked",
            "approved",
        ] {
            assert_ne!(workflow(s), s);
        }
    }

    #[test]
    fn every_recorded_ground_of_a_read_is_said_in_words_with_its_record() {
        assert_eq!(
            read_basis("right:update"),
            "Quyền cập nhật đối với đơn vị quản lý, sử dụng hồ sơ"
        );
        assert_eq!(
            read_basis("consent:c-1"),
            "Văn bản đồng ý cho xem hồ sơ (mã c-1)"
        );
        assert!(read_basis("inspection:tt-7").contains("tt-7"));
        assert!(read_basis("delegation:uq-2").contains("uq-2"));
        assert_ne!(read_basis("own-data"), "own-data");
        assert_eq!(read_basis("unspecified"), "unspecified");
    }

    #[test]
    fn every_category_has_a_name() {
        for s in [
            "can_bo",
            "cong_chuc",
            "vien_chuc",
            "nguoi_lao_dong",
            "commune_cadre",
        ] {
            assert_ne!(category(s), s);
        }
    }
}
