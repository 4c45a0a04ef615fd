//! The province profiles against the regulations: one test per row and
//! province of the deadline table of `domain/REGULATIONS.md`, the approval
//! windows, authority rules, report dates and sync cadence.

use std::sync::LazyLock;

use chrono::NaiveDate;
use hoso_domain::calendar::{DayUnit, Deadline, WorkingCalendar};
use hoso_domain::profile::{
    ApprovalLevel, Approver, Basis, Obligation, OrgKind, OutOfWindowPolicy, PersonnelCategory,
    Profile, ProfileError, Reporter, SyncMode, Trigger, WindowCheck,
};
use hoso_domain::restriction::Restriction;

static CAL: LazyLock<WorkingCalendar> = LazyLock::new(|| WorkingCalendar::official().unwrap());

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn profile(name: &str) -> Profile {
    Profile::load(name).unwrap()
}

/// Asserts a deadline rule: amount, unit, trigger and citation.
#[track_caller]
fn assert_rule(
    p: &Profile,
    obligation: Obligation,
    amount: u32,
    unit: DayUnit,
    from: Trigger,
    citation: &str,
) {
    let rule = p
        .deadline(obligation)
        .unwrap_or_else(|| panic!("{}: no rule for {obligation}", p.name()));
    assert_eq!(
        rule.deadline,
        Deadline { amount, unit },
        "{}: {obligation}",
        p.name()
    );
    assert_eq!(rule.counted_from, from, "{}: {obligation}", p.name());
    assert_eq!(rule.citation, citation, "{}: {obligation}", p.name());
}

/// Asserts that a province takes the national rule for an obligation.
#[track_caller]
fn assert_national(p: &Profile, obligation: Obligation) {
    let national = profile("national");
    let rule = p.deadline(obligation).unwrap();
    let expected = national.deadline(obligation).unwrap();
    assert_eq!(
        rule.deadline,
        expected.deadline,
        "{}: {obligation}",
        p.name()
    );
    assert_eq!(
        rule.counted_from,
        expected.counted_from,
        "{}: {obligation}",
        p.name()
    );
    assert_ne!(rule.basis, Basis::Province, "{}: {obligation}", p.name());
    assert!(
        rule.citation.contains("TT06"),
        "{}: {obligation}: {}",
        p.name(),
        rule.citation
    );
}

use DayUnit::{CalendarDays as CD, WorkingDays as WD};
use Obligation as O;
use Trigger as T;

// --- Files --------------------------------------------------------------------

#[test]
fn every_profile_file_parses() {
    assert_eq!(
        Profile::names(),
        [
            "binh-thuan",
            "dak-lak",
            "dong-thap",
            "hung-yen",
            "kon-tum",
            "national"
        ]
    );
    for name in Profile::names() {
        assert_eq!(profile(name).name(), *name);
    }
}

#[test]
fn every_obligation_has_a_rule_in_every_profile() {
    for name in Profile::names() {
        let p = profile(name);
        for obligation in Obligation::ALL {
            assert!(p.deadline(obligation).is_some(), "{name}: {obligation}");
        }
        assert_eq!(p.deadlines().count(), Obligation::ALL.len());
    }
}

#[test]
fn rules_not_set_by_the_province_take_the_national_value() {
    let national = profile("national");
    for name in Profile::names() {
        let p = profile(name);
        for (obligation, rule) in p.deadlines() {
            if rule.basis == Basis::Province {
                assert!(
                    rule.citation.starts_with(&format!("{} ", p.code())),
                    "{name}: {obligation}"
                );
            } else {
                let n = national.deadline(obligation).unwrap();
                assert_eq!(
                    (rule.deadline, rule.counted_from),
                    (n.deadline, n.counted_from),
                    "{name}: {obligation}"
                );
                assert!(rule.citation.contains("TT06"), "{name}: {obligation}");
                if *name != "national" {
                    assert!(rule.note.is_some(), "{name}: {obligation} must say why");
                }
            }
        }
        for level in ApprovalLevel::ALL {
            let window = p.approval_window_rule(level);
            if window.basis != Basis::Province {
                assert_eq!(window.window, national.approval_window_rule(level).window);
                assert!(window.citation.contains("TT06"), "{name}: {level:?}");
            }
        }
    }
}

#[test]
fn national_profile_cites_circular_06_only() {
    let p = profile("national");
    assert_eq!(p.code(), "TT06");
    for (obligation, rule) in p.deadlines() {
        assert!(rule.citation.starts_with("TT06 "), "{obligation}");
        assert_ne!(rule.basis, Basis::Province);
    }
}

#[test]
fn unknown_profile_error_lists_the_valid_names() {
    let err = Profile::load("quang-nam").unwrap_err();
    let ProfileError::UnknownProfile { name, valid } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(name, "quang-nam");
    assert_eq!(valid.len(), 6);
    assert_eq!(
        err.to_string(),
        "unknown province profile \"quang-nam\"; valid profiles: binh-thuan, dak-lak, dong-thap, hung-yen, kon-tum, national"
    );
}

fn national_text() -> String {
    Profile::source("national").unwrap().to_owned()
}

#[test]
fn a_profile_with_an_unknown_field_is_refused() {
    let text = national_text().replace("[sync]\n", "[sync]\nfrequency = \"weekly\"\n");
    assert!(matches!(
        Profile::from_toml_str("national", &text),
        Err(ProfileError::Parse { .. })
    ));
    let text = national_text().replace(
        "[deadlines.record_status_change]",
        "[deadlines.record_status_changes]",
    );
    assert!(matches!(
        Profile::from_toml_str("national", &text),
        Err(ProfileError::Parse { .. })
    ));
}

#[test]
fn a_profile_must_carry_its_own_name() {
    assert!(matches!(
        Profile::from_toml_str("hung-yen", &national_text()),
        Err(ProfileError::Invalid { .. })
    ));
}

#[test]
fn impossible_values_are_refused() {
    let cases = [
        national_text().replace(
            "amount = 10, unit = \"working_days\" }\ncounted_from = \"dossier_handed_over\"",
            "amount = 0, unit = \"working_days\" }\ncounted_from = \"dossier_handed_over\"",
        ),
        national_text().replacen(
            "{ kind = \"last_days_of_month\", days = 5 }",
            "{ kind = \"days_of_month\", first = 25, last = 31 }",
            1,
        ),
        national_text().replace("mode = \"monthly\"", "mode = \"continuous\""),
    ];
    for text in cases {
        assert_ne!(text, national_text());
        assert!(matches!(
            Profile::from_toml_str("national", &text),
            Err(ProfileError::Invalid { .. })
        ));
    }
}

#[test]
fn decree_27_2026_continuous_sync_is_a_profile_setting() {
    let text = national_text().replace(
        "mode = \"monthly\"",
        "mode = \"continuous\"\nlag = { amount = 1, unit = \"working_days\" }",
    );
    let p = Profile::from_toml_str("national", &text).unwrap();
    assert_eq!(p.sync().mode, SyncMode::Continuous);
    assert_eq!(p.sync().lag, Some(Deadline::working_days(1)));
}

#[test]
fn sync_settings_left_out_take_the_national_values() {
    let national = profile("national");
    let text = national_text()
        .replace("seal_from_day = 1\n", "")
        .replace("ack_overdue_working_days = 5\n", "")
        .replace("national_receives = \"restricted\"\n", "");
    assert_ne!(text, national_text());
    let bare = Profile::from_toml_str("national", &text).unwrap();
    assert_eq!(bare.sync(), national.sync());
    for name in Profile::names() {
        let p = profile(name);
        assert_eq!(p.sync().seal_from_day, 1, "{name}");
        assert_eq!(p.sync().ack_overdue_working_days, 5, "{name}");
        assert_eq!(
            p.sync().national_receives,
            Restriction::Restricted,
            "{name}"
        );
    }
}

#[test]
fn a_seal_day_that_some_month_lacks_is_refused() {
    for bad in [
        "seal_from_day = 0",
        "seal_from_day = 29",
        "ack_overdue_working_days = 0",
    ] {
        let key = bad.split(' ').next().unwrap_or_default();
        let line = national_text()
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .to_owned();
        let text = national_text().replace(&line, bad);
        assert!(
            matches!(
                Profile::from_toml_str("national", &text),
                Err(ProfileError::Invalid { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn every_shipped_profile_syncs_monthly() {
    for name in Profile::names() {
        assert_eq!(profile(name).sync().mode, SyncMode::Monthly, "{name}");
        assert_eq!(profile(name).sync().lag, None);
    }
}

// --- New dossier --------------------------------------------------------------------

#[test]
fn kt_10_1_new_dossier_30_working_days_for_the_whole_dossier() {
    let p = profile("kon-tum");
    for o in [
        O::IssueNewDossierAccount,
        O::DeclareNewDossier,
        O::ReviewNewDossier,
    ] {
        assert_rule(&p, o, 30, WD, T::DecisionDated, "KT 10.1");
    }
    assert_national(&p, O::SignNewDossier);
}

#[test]
fn dl_9_1_new_dossier_form_in_10_basic_data_in_2_completion_in_3_working_days() {
    let p = profile("dak-lak");
    assert_rule(
        &p,
        O::IssueNewDossierAccount,
        10,
        WD,
        T::DecisionDated,
        "DL 9.1b",
    );
    assert_rule(
        &p,
        O::ReviewNewDossier,
        2,
        WD,
        T::DeclarationSubmitted,
        "DL 9.1c",
    );
    assert_rule(
        &p,
        O::DeclareNewDossier,
        3,
        WD,
        T::BasicDataEntered,
        "DL 9.1d",
    );
    assert_national(&p, O::SignNewDossier);
}

#[test]
fn bt_6_4_new_dossier_reviewed_within_5_working_days() {
    let p = profile("binh-thuan");
    assert_rule(
        &p,
        O::ReviewNewDossier,
        5,
        WD,
        T::DeclarationSubmitted,
        "BT 6.4",
    );
    // BT 6.2: the person declares, without a number of days.
    assert_national(&p, O::IssueNewDossierAccount);
    assert_national(&p, O::DeclareNewDossier);
    assert_national(&p, O::SignNewDossier);
}

#[test]
fn dt_9_new_dossier_follows_circular_06() {
    let p = profile("dong-thap");
    for o in [
        O::IssueNewDossierAccount,
        O::DeclareNewDossier,
        O::ReviewNewDossier,
        O::SignNewDossier,
    ] {
        assert_national(&p, o);
    }
}

#[test]
fn hy_10_1_to_10_4_new_dossier_four_steps_of_5_working_days() {
    let p = profile("hung-yen");
    assert_rule(
        &p,
        O::IssueNewDossierAccount,
        5,
        WD,
        T::DecisionDated,
        "HY 10.1",
    );
    assert_rule(&p, O::DeclareNewDossier, 5, WD, T::AccountIssued, "HY 10.2");
    assert_rule(
        &p,
        O::ReviewNewDossier,
        5,
        WD,
        T::DeclarationSubmitted,
        "HY 10.3",
    );
    assert_rule(
        &p,
        O::SignNewDossier,
        5,
        WD,
        T::DeclarationLocked,
        "HY 10.4",
    );
}

#[test]
fn hy_10_1_account_due_after_tet_2026() {
    // Recruited on Friday 13 Feb 2026, the eve of the Tết break: the
    // account is due on Friday 27 Feb.
    let rule = profile("hung-yen")
        .deadline(O::IssueNewDossierAccount)
        .cloned()
        .unwrap();
    assert_eq!(rule.due(d(2026, 2, 13), &CAL), d(2026, 2, 27));
}

#[test]
fn national_sign_new_dossier_always_reaches_the_end_of_the_month_window() {
    let p = profile("national");
    let rule = p.deadline(O::SignNewDossier).unwrap();
    for start in d(2026, 1, 1).iter_days().take(365) {
        let (_, window_end) = p
            .approval_window(
                ApprovalLevel::UnitHead,
                2026,
                chrono::Datelike::month(&start),
                &CAL,
            )
            .unwrap();
        assert!(rule.due(start, &CAL) >= window_end, "{start}");
    }
}

// --- Personal change ------------------------------------------------------------------

#[test]
fn kt_10_2_personal_change_15_working_days_from_valid_papers() {
    let p = profile("kon-tum");
    assert_rule(
        &p,
        O::DeclarePersonalChange,
        15,
        WD,
        T::ValidPaperReceived,
        "KT 10.2",
    );
    assert_rule(
        &p,
        O::ApprovePersonalChange,
        15,
        WD,
        T::ValidPaperReceived,
        "KT 10.2",
    );
}

#[test]
fn dl_9_2a_personal_change_verified_within_1_working_day() {
    let p = profile("dak-lak");
    assert_rule(
        &p,
        O::ApprovePersonalChange,
        1,
        WD,
        T::DeclarationSubmitted,
        "DL 9.2a",
    );
    // "ngay" (at once) has no number of days: the national 5 working days.
    assert_national(&p, O::DeclarePersonalChange);
}

#[test]
fn bt_6_3_6_4_personal_change_5_working_days_then_review_5() {
    let p = profile("binh-thuan");
    assert_rule(
        &p,
        O::DeclarePersonalChange,
        5,
        WD,
        T::ChangeOccurred,
        "BT 6.3",
    );
    assert_rule(
        &p,
        O::ApprovePersonalChange,
        5,
        WD,
        T::DeclarationSubmitted,
        "BT 6.4",
    );
}

#[test]
fn dt_9_2_personal_change_per_circular_06_art_6_3() {
    let p = profile("dong-thap");
    assert_national(&p, O::DeclarePersonalChange);
    assert_national(&p, O::ApprovePersonalChange);
    assert_eq!(
        p.deadline(O::DeclarePersonalChange).unwrap().citation,
        "DT 9.2 → TT06 6.3"
    );
}

#[test]
fn hy_10_5_personal_change_5_working_days_then_approval_within_10() {
    let p = profile("hung-yen");
    assert_rule(
        &p,
        O::DeclarePersonalChange,
        5,
        WD,
        T::ChangeOccurred,
        "HY 10.5",
    );
    assert_rule(
        &p,
        O::ApprovePersonalChange,
        10,
        WD,
        T::DeclarationSubmitted,
        "HY 10.5",
    );
}

// --- State decision --------------------------------------------------------------------

#[test]
fn kt_10_2_state_decision_15_working_days() {
    assert_rule(
        &profile("kon-tum"),
        O::RecordStateDecision,
        15,
        WD,
        T::ValidPaperReceived,
        "KT 10.2",
    );
}

#[test]
fn dl_9_2b_state_decision_recorded_within_3_working_days_of_effect() {
    assert_rule(
        &profile("dak-lak"),
        O::RecordStateDecision,
        3,
        WD,
        T::DecisionEffective,
        "DL 9.2b",
    );
}

#[test]
fn bt_6_3_state_decision_5_working_days() {
    assert_rule(
        &profile("binh-thuan"),
        O::RecordStateDecision,
        5,
        WD,
        T::DecisionEffective,
        "BT 6.3",
    );
}

#[test]
fn dt_state_decision_takes_the_national_value() {
    assert_national(&profile("dong-thap"), O::RecordStateDecision);
}

#[test]
fn hy_10_5_state_decision_5_working_days() {
    assert_rule(
        &profile("hung-yen"),
        O::RecordStateDecision,
        5,
        WD,
        T::DecisionEffective,
        "HY 10.5",
    );
}

// --- Transfer within the agency ----------------------------------------------------------

#[test]
fn kt_11_1_intra_agency_transfer_10_calendar_days() {
    let p = profile("kon-tum");
    assert_rule(
        &p,
        O::TransferWithinAgency,
        10,
        CD,
        T::DecisionEffective,
        "KT 11.1",
    );
    // Effective Friday 6 Feb 2026: day 10 is Monday 16 Feb (Tết), so the
    // last day is the next working day, Monday 23 Feb.
    assert_eq!(
        p.deadline(O::TransferWithinAgency)
            .unwrap()
            .due(d(2026, 2, 6), &CAL),
        d(2026, 2, 23)
    );
}

#[test]
fn dl_10_1_intra_agency_transfer_2_working_days() {
    assert_rule(
        &profile("dak-lak"),
        O::TransferWithinAgency,
        2,
        WD,
        T::DecisionEffective,
        "DL 10.1",
    );
}

#[test]
fn bt_dt_hy_intra_agency_transfer_takes_the_national_value() {
    for name in ["binh-thuan", "dong-thap", "hung-yen"] {
        assert_national(&profile(name), O::TransferWithinAgency);
    }
}

// --- Transfer to another agency of the province -----------------------------------------------

#[test]
fn kt_11_2_inter_agency_transfer_10_working_days_in_total() {
    let p = profile("kon-tum");
    assert_rule(
        &p,
        O::SendInterAgencyTransfer,
        10,
        WD,
        T::DecisionEffective,
        "KT 11.2",
    );
    assert_rule(
        &p,
        O::ReceiveInterAgencyTransfer,
        10,
        WD,
        T::DecisionEffective,
        "KT 11.2",
    );
}

#[test]
fn dl_10_2_inter_agency_transfer_sent_in_5_forwarded_in_3_working_days() {
    let p = profile("dak-lak");
    assert_rule(
        &p,
        O::SendInterAgencyTransfer,
        5,
        WD,
        T::DecisionEffective,
        "DL 10.2",
    );
    assert_rule(
        &p,
        O::ReceiveInterAgencyTransfer,
        3,
        WD,
        T::TransferReceived,
        "DL 10.2",
    );
}

#[test]
fn bt_11_3_new_agency_creates_account_and_syncs_within_5_working_days() {
    let p = profile("binh-thuan");
    assert_rule(
        &p,
        O::ReceiveInterAgencyTransfer,
        5,
        WD,
        T::DossierHandedOver,
        "BT 11.3b",
    );
    // 11.3a: the old agency revokes access at the handover, no number of days.
    assert_national(&p, O::SendInterAgencyTransfer);
}

#[test]
fn dt_22_5_transfer_reported_to_so_noi_vu_within_10_working_days() {
    let p = profile("dong-thap");
    assert_rule(
        &p,
        O::SendInterAgencyTransfer,
        10,
        WD,
        T::DecisionDated,
        "DT 22.5",
    );
    assert_rule(
        &p,
        O::ReceiveInterAgencyTransfer,
        10,
        WD,
        T::DecisionDated,
        "DT 22.5",
    );
}

#[test]
fn hy_11_1_access_handed_to_the_new_agency_within_10_working_days() {
    let p = profile("hung-yen");
    assert_rule(
        &p,
        O::SendInterAgencyTransfer,
        10,
        WD,
        T::DecisionEffective,
        "HY 11.1",
    );
    assert_rule(
        &p,
        O::ReceiveInterAgencyTransfer,
        10,
        WD,
        T::DecisionEffective,
        "HY 11.1",
    );
}

// --- Arrival from another province ---------------------------------------------------------

#[test]
fn kt_dl_bt_arrival_takes_the_national_value() {
    for name in ["kon-tum", "dak-lak", "binh-thuan"] {
        assert_national(&profile(name), O::RequestArrivalFromOtherProvince);
    }
    assert!(
        profile("binh-thuan")
            .deadline(O::RequestArrivalFromOtherProvince)
            .unwrap()
            .citation
            .starts_with("BT 11.1a")
    );
}

#[test]
fn dt_22_5_arrival_reported_within_10_working_days_of_the_receiving_decision() {
    assert_rule(
        &profile("dong-thap"),
        O::RequestArrivalFromOtherProvince,
        10,
        WD,
        T::DecisionDated,
        "DT 22.5",
    );
}

#[test]
fn hy_11_2_arrival_synced_from_the_national_db_within_10_working_days() {
    assert_rule(
        &profile("hung-yen"),
        O::RequestArrivalFromOtherProvince,
        10,
        WD,
        T::DossierHandedOver,
        "HY 11.2",
    );
}

// --- Leaving -------------------------------------------------------------------------------

#[test]
fn kt_11_3_status_change_15_calendar_days() {
    assert_rule(
        &profile("kon-tum"),
        O::RecordStatusChange,
        15,
        CD,
        T::DecisionEffective,
        "KT 11.3",
    );
}

#[test]
fn dl_10_3_status_change_5_working_days() {
    assert_rule(
        &profile("dak-lak"),
        O::RecordStatusChange,
        5,
        WD,
        T::DecisionEffective,
        "DL 10.3",
    );
}

#[test]
fn bt_11_2_dt_status_change_take_the_national_value() {
    assert_national(&profile("binh-thuan"), O::RecordStatusChange);
    assert_national(&profile("dong-thap"), O::RecordStatusChange);
}

#[test]
fn hy_11_3_status_change_5_working_days() {
    assert_rule(
        &profile("hung-yen"),
        O::RecordStatusChange,
        5,
        WD,
        T::DecisionEffective,
        "HY 11.3",
    );
}

// --- Approval windows ------------------------------------------------------------------------

#[test]
fn bt_7_1_window_is_last_5_days_of_month() {
    let p = profile("binh-thuan");
    for level in [ApprovalLevel::UnitHead, ApprovalLevel::DepartmentHead] {
        assert_eq!(
            p.approval_window(level, 2026, 1, &CAL).unwrap(),
            (d(2026, 1, 27), d(2026, 1, 31))
        );
        assert_eq!(
            p.approval_window(level, 2026, 2, &CAL).unwrap(),
            (d(2026, 2, 24), d(2026, 2, 28))
        );
        assert_eq!(
            p.approval_window(level, 2024, 2, &CAL).unwrap(),
            (d(2024, 2, 25), d(2024, 2, 29))
        );
        assert_eq!(
            p.approval_window(level, 2026, 4, &CAL).unwrap(),
            (d(2026, 4, 26), d(2026, 4, 30))
        );
        assert_eq!(p.approval_window_rule(level).citation, "BT 7.1");
    }
}

#[test]
fn bt_7_2_director_signs_in_the_last_5_days_too() {
    let p = profile("binh-thuan");
    assert_eq!(
        p.approval_window(ApprovalLevel::HomeAffairsDirector, 2026, 6, &CAL)
            .unwrap(),
        (d(2026, 6, 26), d(2026, 6, 30))
    );
    assert_eq!(
        p.approval_window_rule(ApprovalLevel::HomeAffairsDirector)
            .citation,
        "BT 7.2"
    );
}

#[test]
fn kt_8_1_and_dt_12_window_is_last_5_days_of_month() {
    for (name, citation) in [("kon-tum", "KT 8.1"), ("dong-thap", "DT 12")] {
        let p = profile(name);
        assert_eq!(
            p.approval_window(ApprovalLevel::DepartmentHead, 2025, 12, &CAL)
                .unwrap(),
            (d(2025, 12, 27), d(2025, 12, 31))
        );
        assert_eq!(
            p.approval_window_rule(ApprovalLevel::UnitHead).citation,
            citation
        );
    }
}

#[test]
fn hy_8_2_unit_heads_approve_on_20_to_22() {
    let p = profile("hung-yen");
    assert_eq!(
        p.approval_window(ApprovalLevel::UnitHead, 2026, 3, &CAL)
            .unwrap(),
        (d(2026, 3, 20), d(2026, 3, 22))
    );
    assert_eq!(
        p.approval_window_rule(ApprovalLevel::UnitHead).citation,
        "HY 8.2"
    );
}

#[test]
fn hy_8_1_department_heads_approve_on_23_to_25() {
    let p = profile("hung-yen");
    assert_eq!(
        p.approval_window(ApprovalLevel::DepartmentHead, 2026, 2, &CAL)
            .unwrap(),
        (d(2026, 2, 23), d(2026, 2, 25))
    );
    assert_eq!(
        p.approval_window_rule(ApprovalLevel::DepartmentHead)
            .citation,
        "HY 8.1"
    );
}

#[test]
fn hy_8_4_director_window_is_last_5_working_days() {
    let p = profile("hung-yen");
    let director = ApprovalLevel::HomeAffairsDirector;
    // March 2026 ends on a Tuesday: 25, 26, 27, 30, 31.
    assert_eq!(
        p.approval_window(director, 2026, 3, &CAL).unwrap(),
        (d(2026, 3, 25), d(2026, 3, 31))
    );
    // August 2026: Monday 31 is a swapped day off, so 24–28.
    assert_eq!(
        p.approval_window(director, 2026, 8, &CAL).unwrap(),
        (d(2026, 8, 24), d(2026, 8, 28))
    );
    // April 2024: 29 swapped off, 30 a holiday, so 22–26.
    assert_eq!(
        p.approval_window(director, 2024, 4, &CAL).unwrap(),
        (d(2024, 4, 22), d(2024, 4, 26))
    );
    assert_eq!(p.approval_window_rule(director).citation, "HY 8.4");
}

#[test]
fn dl_and_national_windows_follow_circular_06_art_7_1() {
    for name in ["dak-lak", "national"] {
        let p = profile(name);
        for level in ApprovalLevel::ALL {
            assert_eq!(
                p.approval_window(level, 2026, 9, &CAL).unwrap(),
                (d(2026, 9, 26), d(2026, 9, 30))
            );
            assert!(p.approval_window_rule(level).citation.contains("TT06 7.1"));
        }
    }
}

#[test]
fn out_of_window_approval_is_flagged_with_the_window_and_its_article() {
    let p = profile("hung-yen");
    assert_eq!(p.out_of_window_policy(), OutOfWindowPolicy::Warn);
    assert_eq!(
        p.check_approval_date(ApprovalLevel::UnitHead, d(2026, 3, 21), &CAL)
            .unwrap(),
        WindowCheck::InWindow
    );
    assert_eq!(
        p.check_approval_date(ApprovalLevel::UnitHead, d(2026, 3, 23), &CAL)
            .unwrap(),
        WindowCheck::OutOfWindow {
            policy: OutOfWindowPolicy::Warn,
            window: (d(2026, 3, 20), d(2026, 3, 22)),
            citation: "HY 8.2".into(),
        }
    );
}

#[test]
fn a_province_may_refuse_out_of_window_approvals() {
    let text = national_text().replace("out_of_window = \"warn\"", "out_of_window = \"refuse\"");
    let p = Profile::from_toml_str("national", &text).unwrap();
    assert!(matches!(
        p.check_approval_date(ApprovalLevel::DepartmentHead, d(2026, 3, 2), &CAL)
            .unwrap(),
        WindowCheck::OutOfWindow {
            policy: OutOfWindowPolicy::Refuse,
            ..
        }
    ));
}

#[test]
fn every_shipped_profile_warns_out_of_window() {
    for name in Profile::names() {
        assert_eq!(
            profile(name).out_of_window_policy(),
            OutOfWindowPolicy::Warn,
            "{name}"
        );
    }
}

#[test]
fn approval_window_of_an_impossible_month_is_an_error() {
    let p = profile("binh-thuan");
    assert!(matches!(
        p.approval_window(ApprovalLevel::UnitHead, 2026, 13, &CAL),
        Err(ProfileError::InvalidMonth { month: 13 })
    ));
    assert!(matches!(
        p.approval_window(ApprovalLevel::UnitHead, 2026, 0, &CAL),
        Err(ProfileError::InvalidMonth { month: 0 })
    ));
    assert!(matches!(
        p.approval_window(ApprovalLevel::UnitHead, i32::MAX, 1, &CAL),
        Err(ProfileError::DateOutOfRange { .. })
    ));
}

// --- Approval authority ------------------------------------------------------------------------

use OrgKind as K;
use PersonnelCategory as C;

fn citations(
    p: &Profile,
    org: OrgKind,
    parent: Option<OrgKind>,
    category: PersonnelCategory,
) -> Vec<String> {
    p.authority_for(org, parent, category)
        .map(|r| r.citation.clone())
        .collect()
}

#[test]
fn dt_11_1_department_heads_approve_civil_servants_employees_and_contract_workers() {
    let p = profile("dong-thap");
    let province = Some(K::PeoplesCommitteeProvince);
    for c in [C::CongChuc, C::VienChuc, C::NguoiLaoDong] {
        assert_eq!(
            citations(&p, K::ProvincialDepartment, province, c),
            ["DT 11.1"]
        );
    }
    assert!(citations(&p, K::ProvincialDepartment, province, C::CanBo).is_empty());
}

#[test]
fn dt_11_2_and_11_3_public_service_unit_heads_approve_employees_and_contract_workers() {
    let p = profile("dong-thap");
    let under_province = Some(K::PeoplesCommitteeProvince);
    assert_eq!(
        citations(&p, K::PublicServiceUnit, under_province, C::VienChuc),
        ["DT 11.2"]
    );
    assert_eq!(
        citations(&p, K::PublicServiceUnit, under_province, C::NguoiLaoDong),
        ["DT 11.2"]
    );
    assert!(citations(&p, K::PublicServiceUnit, under_province, C::CongChuc).is_empty());
    for parent in [K::ProvincialDepartment, K::PeoplesCommitteeDistrict] {
        assert_eq!(
            citations(&p, K::PublicServiceUnit, Some(parent), C::VienChuc),
            ["DT 11.3"]
        );
        assert!(citations(&p, K::PublicServiceUnit, Some(parent), C::CongChuc).is_empty());
    }
}

#[test]
fn dt_11_4_district_chairs_approve_every_category_including_communes() {
    let p = profile("dong-thap");
    for c in [
        C::CanBo,
        C::CongChuc,
        C::VienChuc,
        C::NguoiLaoDong,
        C::CommuneCadre,
    ] {
        assert_eq!(
            citations(
                &p,
                K::PeoplesCommitteeDistrict,
                Some(K::PeoplesCommitteeProvince),
                c
            ),
            ["DT 11.4"]
        );
    }
}

#[test]
fn dt_11_5_director_approves_standing_committee_managed_cadres() {
    let p = profile("dong-thap");
    let director: Vec<_> = p
        .authority_rules()
        .iter()
        .filter(|r| r.approver == Approver::HomeAffairsDirector)
        .collect();
    assert_eq!(director.len(), 1);
    let rule = director[0];
    assert_eq!(rule.citation, "DT 11.5");
    assert!(rule.standing_committee_managed_only);
    assert_eq!(rule.level, ApprovalLevel::HomeAffairsDirector);
    assert!(rule.covers(C::CanBo) && rule.covers(C::CongChuc) && rule.covers(C::VienChuc));
    assert!(!rule.covers(C::NguoiLaoDong));
    // The director rule never matches a unit head.
    assert!(!rule.applies_to_head_of(K::ProvincialDepartment, Some(K::PeoplesCommitteeProvince)));
}

#[test]
fn hy_8_1_and_8_2_split_heads_between_the_two_windows() {
    let p = profile("hung-yen");
    let department: Vec<_> = p
        .authority_for(
            K::ProvincialDepartment,
            Some(K::PeoplesCommitteeProvince),
            C::CongChuc,
        )
        .collect();
    assert_eq!(department.len(), 1);
    assert_eq!(
        (department[0].citation.as_str(), department[0].level),
        ("HY 8.1", ApprovalLevel::DepartmentHead)
    );
    // A chi cục (an agency under a department) signs with the units.
    let sub_agency: Vec<_> = p
        .authority_for(
            K::ProvincialDepartment,
            Some(K::ProvincialDepartment),
            C::CongChuc,
        )
        .collect();
    assert_eq!(sub_agency.len(), 1);
    assert_eq!(
        (sub_agency[0].citation.as_str(), sub_agency[0].level),
        ("HY 8.2", ApprovalLevel::UnitHead)
    );
    for kind in [
        K::PublicServiceUnit,
        K::PeoplesCommitteeCommune,
        K::Association,
    ] {
        assert_eq!(citations(&p, kind, None, C::VienChuc), ["HY 8.2"]);
    }
}

#[test]
fn kt_8_1_and_bt_7_1_heads_may_delegate_to_a_deputy() {
    for name in ["kon-tum", "binh-thuan"] {
        let p = profile(name);
        assert!(!p.authority_rules().is_empty());
        assert!(p.authority_rules().iter().all(|r| r.delegable), "{name}");
    }
    assert_eq!(
        citations(
            &profile("kon-tum"),
            K::PeoplesCommitteeDistrict,
            Some(K::PeoplesCommitteeProvince),
            C::CanBo
        ),
        ["KT 8.1b"]
    );
}

#[test]
fn every_category_has_an_approver_in_every_profile() {
    for name in Profile::names() {
        let p = profile(name);
        for c in [
            C::CanBo,
            C::CongChuc,
            C::VienChuc,
            C::NguoiLaoDong,
            C::CommuneCadre,
        ] {
            assert!(
                p.authority_rules().iter().any(|r| r.covers(c)),
                "{name}: {c:?}"
            );
        }
    }
}

// --- Reports ------------------------------------------------------------------------------------

fn last_days(p: &Profile, reporter: Reporter) -> Vec<NaiveDate> {
    p.reports()
        .iter()
        .filter(|r| r.reporter == reporter)
        .map(|r| r.last_day(2026).unwrap())
        .collect()
}

#[test]
fn kt_19_1_report_before_15_january() {
    assert_eq!(
        last_days(&profile("kon-tum"), Reporter::Agencies),
        [d(2026, 1, 14)]
    );
}

#[test]
fn hy_14_1_report_from_10_to_before_20_january() {
    let p = profile("hung-yen");
    assert_eq!(last_days(&p, Reporter::Agencies), [d(2026, 1, 19)]);
    assert_eq!(
        p.reports()[0].opens.unwrap().in_year(2026),
        Some(d(2026, 1, 10))
    );
}

#[test]
fn dt_22_6_and_26_8_reports_on_10_and_31_january() {
    let p = profile("dong-thap");
    assert_eq!(last_days(&p, Reporter::Agencies), [d(2026, 1, 10)]);
    assert_eq!(last_days(&p, Reporter::HomeAffairs), [d(2026, 1, 31)]);
}

#[test]
fn bt_15_9_reports_on_31_may_and_30_november_and_16_5_so_noi_vu_by_20_january() {
    let p = profile("binh-thuan");
    assert_eq!(
        last_days(&p, Reporter::Agencies),
        [d(2026, 5, 31), d(2026, 11, 30)]
    );
    assert_eq!(last_days(&p, Reporter::HomeAffairs), [d(2026, 1, 20)]);
}

#[test]
fn dl_13_1_reports_before_25_may_and_15_december() {
    assert_eq!(
        last_days(&profile("dak-lak"), Reporter::Agencies),
        [d(2026, 5, 24), d(2026, 12, 14)]
    );
}

#[test]
fn report_days_must_exist_every_year() {
    let report = "\n[[reports]]\ntitle = \"x\"\nreporter = \"agencies\"\ncitation = \"TT06 1\"\n";
    let valid = format!("{}{report}due = \"02-28\"\n", national_text());
    assert_eq!(
        Profile::from_toml_str("national", &valid)
            .unwrap()
            .reports()
            .len(),
        1
    );
    let text = format!("{}{report}due = \"02-29\"\n", national_text());
    assert!(matches!(
        Profile::from_toml_str("national", &text),
        Err(ProfileError::Parse { .. })
    ));
}

#[test]
fn upload_limits_are_a_profile_setting_with_defaults() {
    let national = profile("national");
    assert_eq!(national.uploads().pending_quota_bytes, 100 * 1024 * 1024);
    assert_eq!(national.uploads().unreferenced_grace_days, 7);
    // A province without the section takes the defaults.
    assert_eq!(profile("hung-yen").uploads(), national.uploads());
    let text = national_text().replace(
        "pending_quota_bytes = 104857600",
        "pending_quota_bytes = 1048576",
    );
    let p = Profile::from_toml_str("national", &text).unwrap();
    assert_eq!(p.uploads().pending_quota_bytes, 1_048_576);
    for text in [
        national_text().replace("pending_quota_bytes = 104857600", "pending_quota_bytes = 0"),
        national_text().replace("unreferenced_grace_days = 7", "unreferenced_grace_days = 0"),
    ] {
        assert_ne!(text, national_text());
        assert!(matches!(
            Profile::from_toml_str("national", &text),
            Err(ProfileError::Invalid { .. })
        ));
    }
}
