//! Test data: one populated event of every catalogue type, and a reader for
//! the hex fixtures of frozen formats.

use crate::DomainEvent;
use crate::pb::account::{self, AccountKind, KeyAlgorithm, LockReason, PasswordChangeKind};
use crate::pb::common::{AccessRight, Date, DecisionRef, PersonnelCategory};
use crate::pb::dossier::{
    self, AllowanceKind, AppointmentKind, DisciplineBody, DisciplineForm, EmploymentStatus,
    EvaluationGrade, FieldEntry, RankChangeKind, SectionData, TrainingMode, TransferKind,
};
use crate::pb::ledger::{self, TreeHeadReason};
use crate::pb::{org, sync};

/// Bytes of a hex fixture; whitespace and `#` comment lines are ignored.
pub(crate) fn hex_fixture(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| line.bytes())
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).unwrap_or_default();
            u8::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad hex {text:?}"))
        })
        .collect()
}

fn date(year: u32, month: u32, day: u32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn decision(number: &str) -> Option<DecisionRef> {
    Some(DecisionRef {
        number: number.to_owned(),
        date: date(2025, 7, 1),
        issuer: "000.00.00.H30".to_owned(),
        attachment_sha256: vec![0x5a; 32],
    })
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn field(code: &str, value: &str, row: u32) -> FieldEntry {
    FieldEntry {
        field_code: s(code),
        value: s(value),
        row,
        sealed: Vec::new(),
    }
}

/// One event of every type, every field set to a non-default value where
/// the message allows it.
pub(crate) fn samples() -> Vec<DomainEvent> {
    let established = org::OrgUnitEstablished {
        code: s("000.00.31.H30"),
        name: s("Sở Nội vụ"),
        kind: org::OrgUnitKind::ProvincialDepartment.into(),
        parent_code: s("000.00.00.H30"),
        effective: date(2025, 7, 1),
        decision: decision("01/QĐ-UBND"),
    };
    vec![
        established.into(),
        org::OrgUnitRenamed {
            name: s("Sở Nội vụ tỉnh Hưng Yên"),
            effective: date(2025, 7, 1),
            decision: decision("02/QĐ-UBND"),
        }
        .into(),
        org::OrgUnitMerged {
            successor_code: s("000.00.31.H31"),
            effective: date(2025, 7, 1),
            decision: decision("03/QĐ-UBND"),
        }
        .into(),
        org::OrgUnitSplit {
            successor_codes: vec![s("000.01.31.H30"), s("000.02.31.H30")],
            effective: date(2025, 7, 1),
            decision: decision("04/QĐ-UBND"),
        }
        .into(),
        org::OrgUnitDissolved {
            effective: date(2025, 6, 30),
            decision: decision("05/QĐ-UBND"),
        }
        .into(),
        org::StaffingQuotaSet {
            year: 2026,
            civil_servants: 48,
            public_employees: 12,
            contract_workers: 5,
            decision: decision("06/QĐ-UBND"),
        }
        .into(),
        org::JobPositionDefined {
            position_code: s("CV-TCCB"),
            title: s("Chuyên viên tổ chức cán bộ"),
            group: org::JobPositionGroup::Professional.into(),
            required_rank_code: s("01.003"),
            headcount: 3,
            effective: date(2026, 1, 1),
            decision: decision("07/QĐ-UBND"),
        }
        .into(),
        org::ApprovalAuthorityAssigned {
            categories: vec![
                PersonnelCategory::CongChuc.into(),
                PersonnelCategory::VienChuc.into(),
            ],
            subordinate_codes: vec![s("000.00.31.H30")],
            effective: date(2025, 7, 1),
            decision: decision("08/QĐ-UBND"),
        }
        .into(),
        account::AccountIssued {
            kind: AccountKind::Personal.into(),
            username: s("nguyenvana"),
            org_code: s("000.00.31.H30"),
            person_id: s("033090001234"),
            display_name: s("Nguyễn Văn A"),
            birth_date: date(1990, 5, 17),
            person_id_sealed: vec![1, 0x5e, 0xa1],
            person_key: s("9f2c5b0e4d7a1c3e8b6f0a2d4c6e8f1a3b5d7f9e1c3a5b7d9f1e3c5a7b9d1f3e"),
        }
        .into(),
        account::AccessGranted {
            right: AccessRight::Update.into(),
            org_code: s("000.00.31.H30"),
            reason: s("đầu mối"),
            decision: decision("09/QĐ-SNV"),
        }
        .into(),
        account::AccessRestricted {
            org_code: s("000.00.31.H30"),
            right: AccessRight::Access.into(),
            reason: s("chuyển công tác"),
        }
        .into(),
        account::AccessExpanded {
            org_code: s("000.00.31.H30"),
            right: AccessRight::Admin.into(),
            reason: s("quản trị đơn vị"),
            decision: decision("10/QĐ-SNV"),
        }
        .into(),
        account::AccessRevoked {
            org_code: s("000.00.31.H30"),
            reason: s("nghỉ hưu"),
        }
        .into(),
        account::AccountLocked {
            reason: LockReason::DeclarationVerified.into(),
            note: s("HY 10.3"),
        }
        .into(),
        account::AccountUnlocked {
            reason: s("mở kê khai bổ sung"),
        }
        .into(),
        account::PasswordChanged {
            kind: PasswordChangeKind::Reissued.into(),
            changed_by: s("0197f5c2-admin"),
        }
        .into(),
        account::SigningKeyRegistered {
            key_id: s("key-2026-01"),
            account_id: s("0197f5c2-head"),
            algorithm: KeyAlgorithm::Ed25519.into(),
            public_key: (0..32).collect(),
            valid_from: date(2026, 1, 1),
            valid_until: date(2027, 12, 31),
        }
        .into(),
        account::SigningKeyRevoked {
            key_id: s("key-2026-01"),
            reason: s("mất thiết bị"),
            effective: date(2026, 3, 2),
        }
        .into(),
        account::DelegationGranted {
            delegation_id: s("del-1"),
            from_account: s("0197f5c2-head"),
            to_account: s("0197f5c2-deputy"),
            valid_from: date(2026, 1, 20),
            valid_until: date(2026, 1, 31),
            org_codes: vec![s("000.00.31.H30")],
            categories: vec![PersonnelCategory::CongChuc.into()],
            decision: decision("11/QĐ-SNV"),
        }
        .into(),
        account::DelegationRevoked {
            delegation_id: s("del-1"),
            reason: s("trở lại công tác"),
        }
        .into(),
        account::ConsentGranted {
            consent_id: s("consent-1"),
            reader_account: s("0197f5c2-inspector"),
            subject_person_id: s("033090001234"),
            document: decision("12/CV-SNV"),
            expires: date(2026, 6, 30),
            section_codes: vec![s("27"), s("28")],
            subject_person_id_sealed: vec![1, 0xc0, 0x5e],
            subject_key: s("9f2c5b0e4d7a1c3e8b6f0a2d4c6e8f1a3b5d7f9e1c3a5b7d9f1e3c5a7b9d1f3e"),
        }
        .into(),
        account::ConsentRevoked {
            consent_id: s("consent-1"),
            reason: s("hết nhu cầu"),
        }
        .into(),
        account::UsernameReserved {
            account_id: s("0197f5c2-account"),
        }
        .into(),
        account::PersonalAccountReserved {
            account_id: s("0197f5c2-account"),
        }
        .into(),
        account::AccountReassigned {
            from_org_code: s("000.00.31.H30"),
            to_org_code: s("000.00.32.H30"),
            reason: s("hợp nhất đơn vị"),
            decision: decision("15/QĐ-UBND"),
        }
        .into(),
        account::InspectionGranted {
            inspection_id: s("inspection-1"),
            org_codes: vec![s("000.00.31.H30")],
            valid_from: date(2026, 3, 1),
            valid_until: date(2026, 5, 31),
            clearance: account::InspectionClearance::Restricted.into(),
            decision: decision("42/QĐ-TTr"),
        }
        .into(),
        account::InspectionRevoked {
            inspection_id: s("inspection-1"),
            reason: s("kết thúc thanh tra sớm"),
        }
        .into(),
        account::InspectionQueried {
            inspection_id: s("inspection-1"),
            route: s("GET /dossiers"),
            criteria: s("name=nguyen"),
            dossier_ids: vec![s("0197f5c2-dossier")],
        }
        .into(),
        dossier::DossierOpened {
            person_id: s("033090001234"),
            full_name: s("Nguyễn Văn A"),
            category: PersonnelCategory::CongChuc.into(),
            managing_unit: s("000.00.31.H30"),
            employing_unit: s("000.01.31.H30"),
            recruitment_decision: decision("13/QĐ-SNV"),
            recruited_on: date(2020, 9, 1),
            birth_date: date(1990, 5, 17),
            person_id_sealed: vec![1, 0xd0, 0x55],
            person_key: s("9f2c5b0e4d7a1c3e8b6f0a2d4c6e8f1a3b5d7f9e1c3a5b7d9f1e3c5a7b9d1f3e"),
        }
        .into(),
        dossier::DeclarationSubmitted {
            form: s("2C-BNV/2008"),
            section_code: s("27"),
            fields: vec![
                field("27.c1", "Học viện Hành chính Quốc gia", 1),
                field("27.c3", "09/2012-06/2016", 1),
                field("27.c5", "Cử nhân", 1),
            ],
            supporting_attachments: vec![vec![0x11; 32]],
            sealed_attachments: Vec::new(),
        }
        .into(),
        dossier::DeclarationReturned {
            section_code: s("27"),
            reasons: vec![s("thiếu bản số hóa văn bằng")],
        }
        .into(),
        dossier::DeclarationVerified {
            section_codes: vec![s("27")],
            note: s("khớp hồ sơ giấy"),
        }
        .into(),
        dossier::DossierLocked {
            reason: s("đã thẩm định"),
        }
        .into(),
        dossier::ApprovalSigned {
            revision: 17,
            stream_hash: vec![0x22; 32],
            key_id: s("key-2026-01"),
            signature: vec![0x33; 64],
            signer: s("0197f5c2-deputy"),
            delegated_from: Some(s("0197f5c2-head")),
        }
        .into(),
        dossier::AppointmentRecorded {
            kind: AppointmentKind::Appointed.into(),
            position_title: s("Phó Trưởng phòng"),
            org_code: s("000.01.31.H30"),
            effective: date(2026, 2, 1),
            term_end: date(2031, 1, 31),
            decision: decision("14/QĐ-SNV"),
        }
        .into(),
        dossier::RankChanged {
            kind: RankChangeKind::Promoted.into(),
            rank_code: s("01.002"),
            rank_name: s("Chuyên viên chính"),
            effective: date(2026, 1, 1),
            decision: decision("15/QĐ-SNV"),
        }
        .into(),
        dossier::SalaryChanged {
            rank_code: s("01.003"),
            step: 3,
            coefficient_x100: 300,
            salary_group: s("A1"),
            effective: date(2026, 1, 1),
            decision: decision("16/QĐ-SNV"),
        }
        .into(),
        dossier::AllowanceChanged {
            kind: AllowanceKind::OverFrameSeniority.into(),
            name: s("Phụ cấp thâm niên vượt khung"),
            amount: Some(dossier::allowance_changed::Amount::PercentX100(700)),
            effective: date(2026, 1, 1),
            decision: decision("17/QĐ-SNV"),
        }
        .into(),
        dossier::AwardGranted {
            form: s("Bằng khen của Chủ tịch UBND tỉnh"),
            reason: s("hoàn thành xuất sắc nhiệm vụ năm 2025"),
            year: 2025,
            decision: decision("18/QĐ-UBND"),
        }
        .into(),
        dossier::DisciplineImposed {
            form: DisciplineForm::Reprimand.into(),
            body: DisciplineBody::Government.into(),
            reason: s("vi phạm quy chế"),
            effective: date(2026, 4, 1),
            until: date(2026, 9, 30),
            decision: decision("19/QĐ-SNV"),
            sealed_reason: Vec::new(),
        }
        .into(),
        dossier::TrainingRecorded {
            institution: s("Học viện Chính trị khu vực I"),
            major: s("Lý luận chính trị"),
            from: date(2024, 3, 0),
            until: date(2024, 9, 0),
            mode: TrainingMode::InService.into(),
            qualification: s("Trung cấp"),
            certificate_sha256: vec![0x44; 32],
        }
        .into(),
        dossier::EvaluationRecorded {
            year: 2025,
            grade: EvaluationGrade::Good.into(),
            comments: s("hoàn thành tốt"),
            decision: decision("20/QĐ-SNV"),
        }
        .into(),
        dossier::PlanningRecorded {
            position_title: s("Phó Giám đốc Sở"),
            org_code: s("000.02.00.H33"),
            from_year: 2026,
            until_year: 2031,
            effective: date(2026, 3, 1),
            decision: decision("21/QĐ-UBND"),
        }
        .into(),
        dossier::AttachmentAdded {
            sha256: vec![0x55; 32],
            media_type: s("application/pdf"),
            size_bytes: 183_204,
            description: s("Quyết định nâng bậc lương"),
        }
        .into(),
        dossier::DepartmentChanged {
            from_org_code: s("000.01.31.H30"),
            to_org_code: s("000.02.31.H30"),
            effective: date(2026, 5, 1),
            decision: decision("21/QĐ-SNV"),
        }
        .into(),
        dossier::TransferInitiated {
            transfer_id: s("tr-1"),
            kind: TransferKind::Reassignment.into(),
            from_org_code: s("000.00.31.H30"),
            to_org_code: s("000.00.32.H30"),
            effective: date(2026, 6, 1),
            decision: decision("22/QĐ-UBND"),
        }
        .into(),
        dossier::TransferAccepted {
            transfer_id: s("tr-1"),
            org_code: s("000.00.32.H30"),
        }
        .into(),
        dossier::TransferForwarded {
            transfer_id: s("tr-1"),
            from_org_code: s("000.00.32.H30"),
            to_org_code: s("000.01.32.H30"),
        }
        .into(),
        dossier::TransferRejected {
            transfer_id: s("tr-2"),
            org_code: s("000.00.32.H30"),
            reason: s("không đủ chỉ tiêu biên chế"),
        }
        .into(),
        dossier::StatusChanged {
            status: EmploymentStatus::Retired.into(),
            effective: date(2030, 1, 1),
            decision: decision("23/QĐ-UBND"),
            note: s("nghỉ hưu theo chế độ"),
        }
        .into(),
        dossier::DossierImported {
            source_system: s("csdlqg"),
            source_record_id: s("VN-2019-000123"),
            person_id: s("001085004321"),
            full_name: s("Trần Thị B"),
            category: PersonnelCategory::VienChuc.into(),
            managing_unit: s("000.00.31.H30"),
            employing_unit: s("000.03.31.H30"),
            sections: vec![SectionData {
                section_code: s("1"),
                fields: vec![field("1", "TRẦN THỊ B", 0)],
            }],
            person_id_sealed: vec![1, 0x1a, 0x90],
            person_key: s("0d4e6a8c1b3f5d7e9a2c4e6f8b1d3f5a7c9e2b4d6f8a1c3e5b7d9f2a4c6e8b1d"),
            source_digest: vec![0x5a; 32],
        }
        .into(),
        dossier::AccessLogged {
            reader_account: s("0197f5c2-inspector"),
            field_codes: vec![s("29a"), s("29c")],
            basis: Some(dossier::access_logged::Basis::ConsentId(s("consent-1"))),
            purpose: s("thanh tra"),
            dossier_id: s("0197f5c2-dossier"),
        }
        .into(),
        dossier::PersonIdReserved {
            dossier_id: s("0197f5c2-dossier"),
        }
        .into(),
        dossier::ManagingUnitReassigned {
            from_org_code: s("000.00.31.H30"),
            to_org_code: s("000.00.32.H30"),
            effective: date(2025, 7, 1),
            decision: decision("15/QĐ-UBND"),
            reason: s("hợp nhất đơn vị"),
        }
        .into(),
        dossier::ObligationOpened {
            obligation_id: s("0197f5c2-obligation"),
            obligation: s("review_new_dossier"),
            counted_from: date(2026, 3, 2),
            due: date(2026, 3, 9),
            citation: s("HY 10.3"),
            responsible_org_code: s("000.00.31.H30"),
        }
        .into(),
        dossier::ObligationClosed {
            obligation_id: s("0197f5c2-obligation"),
            closed_on: date(2026, 3, 10),
            late: true,
            outcome: s("locked"),
        }
        .into(),
        sync::MonthlyBatchSealed {
            month: s("2026-01"),
            item_count: 412,
            merkle_root: vec![0x66; 32],
            director_key_id: s("key-director-2026"),
            signature: vec![0x77; 64],
            sequence: 3,
            from_position: 10_240,
            to_position: 12_288,
            previous_digest: vec![0x78; 32],
            statement_digest: vec![0x79; 32],
            signer: s("0197f5c2-director"),
            province: s("hung-yen"),
            format: s("hoso-sync-statement/1"),
            signer_public_key: Vec::new(),
        }
        .into(),
        sync::BatchDelivered {
            month: s("2026-01"),
            destination: s("ndxp://csdlqg"),
            delivery_id: s("dl-2026-01-1"),
            sequence: 3,
        }
        .into(),
        sync::MonthStatementSigned {
            format: s("hoso-sync-month/1"),
            province: s("hung-yen"),
            month: s("2026-07"),
            first_sequence: 4,
            last_sequence: 6,
            batch_count: 3,
            item_count: 12,
            merkle_root: vec![0x6a; 32],
            previous_digest: vec![0x6b; 32],
            statement_digest: vec![0x6c; 32],
            signer: s("0197f5c2-director"),
            key_id: s("key-director-2026"),
            signature: vec![0x6d; 64],
        }
        .into(),
        sync::BatchAcknowledged {
            month: s("2026-01"),
            delivery_id: s("dl-2026-01-1"),
            receipt: s("BNV-ACK-778"),
            sequence: 3,
            acknowledged_by: s("0197f5c2-national"),
        }
        .into(),
        ledger::TreeHeadSigned {
            tree_size: 1_024,
            root: vec![0x88; 32],
            signed_at_micros: 1_796_550_000_123_456,
            key_id: vec![0x99; 8],
            reason: TreeHeadReason::Shutdown.into(),
            signature: vec![0xaa; 64],
        }
        .into(),
        ledger::LedgerKeyRegistered {
            key_id: vec![0x99; 8],
            public_key: vec![0xbb; 32],
            registered_at_micros: 1_796_500_000_000_000,
        }
        .into(),
        ledger::LedgerKeyRevoked {
            key_id: vec![0x99; 8],
            revoked_at_micros: 1_796_560_000_000_000,
            valid_through_tree_size: 1_024,
        }
        .into(),
        ledger::RollbackAccepted {
            newer_tree_size: 2_048,
            newer_root: vec![0xcc; 32],
            restored_tree_size: 1_500,
            restored_root: vec![0xdd; 32],
            reason: s("đĩa hỏng, khôi phục bản sao lưu ngày 30/11"),
            accepted_at_micros: 1_796_600_000_000_000,
        }
        .into(),
    ]
}
