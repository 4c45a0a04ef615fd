//! The organisation aggregate and tree against the rules: identifier codes
//! (QĐ 20/2020/QĐ-TTg), parents, mergers (DL 5.5), scope (DL 6), approval
//! authority (DT 11), and the tree answered at any date.
//!
//! Tests read given / when / then: `given` runs decisions through `decide`
//! and folds what they produce into a tree, so the history itself passed
//! the rules; `when` decides one more command against that tree.

use chrono::NaiveDate;
use hoso_domain::org::{
    ApprovalAuthority, JobPosition, JobPositionGroup, OrgChange, OrgCommand, OrgRejection,
    OrgStatus, OrgTree, OrgUnit, OrgUnitKind, PersonnelCategory, StaffingQuota, UnitLookup, decide,
    evolve, is_valid_code, stream_id,
};
use hoso_schemas::DomainEvent;
use hoso_schemas::SourceDocument;

/// Injected "today": no test reads the system clock.
fn today() -> NaiveDate {
    d(2025, 12, 31)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn decision(number: &str, date: NaiveDate) -> SourceDocument {
    SourceDocument {
        number: number.into(),
        date,
        issuer: "UBND tỉnh".into(),
        attachment_sha256: None,
    }
}

fn cmd(code: &str, change: OrgChange) -> OrgCommand {
    OrgCommand {
        code: code.into(),
        decision: decision("1/QĐ-UBND", d(2020, 1, 1)),
        change,
    }
}

fn establish(code: &str, name: &str, parent: Option<&str>, on: NaiveDate) -> OrgCommand {
    cmd(
        code,
        OrgChange::Establish {
            name: name.into(),
            kind: OrgUnitKind::ProvincialDepartment,
            parent: parent.map(Into::into),
            effective: on,
        },
    )
}

fn rename(code: &str, name: &str, on: NaiveDate) -> OrgCommand {
    cmd(
        code,
        OrgChange::Rename {
            name: name.into(),
            effective: on,
        },
    )
}

fn merge(code: &str, into: &str, on: NaiveDate) -> OrgCommand {
    cmd(
        code,
        OrgChange::MergeInto {
            successor: into.into(),
            effective: on,
        },
    )
}

const ROOT: &str = "000.00.00.H33";
const HOME: &str = "000.01.00.H33";
const LABOUR: &str = "000.02.00.H33";
const SCHOOL: &str = "001.02.00.H33";

fn province() -> Vec<OrgCommand> {
    vec![
        establish(ROOT, "UBND tỉnh Kon Tum", None, d(2000, 1, 1)),
        establish(HOME, "Sở Nội vụ", Some(ROOT), d(2000, 1, 1)),
        establish(
            LABOUR,
            "Sở Lao động - Thương binh và Xã hội",
            Some(ROOT),
            d(2000, 1, 1),
        ),
        establish(
            SCHOOL,
            "Trung tâm Dịch vụ việc làm",
            Some(LABOUR),
            d(2005, 1, 1),
        ),
    ]
}

/// Runs each decision through `decide` and folds its events into the tree.
fn given(history: Vec<OrgCommand>) -> OrgTree {
    let mut tree = OrgTree::new();
    for c in history {
        let code = c.code.clone();
        let events = when(&tree, c).expect("history must pass the rules");
        for e in &events {
            tree.apply(&stream_id(&code), e);
        }
    }
    tree
}

fn when(tree: &OrgTree, command: OrgCommand) -> Result<Vec<DomainEvent>, OrgRejection> {
    decide(tree.unit(&command.code), command, tree, today())
}

fn then_applied(
    mut tree: OrgTree,
    code: &str,
    outcome: Result<Vec<DomainEvent>, OrgRejection>,
) -> OrgTree {
    for e in &outcome.unwrap() {
        tree.apply(&stream_id(code), e);
    }
    tree
}

fn codes(tree: &OrgTree, on: NaiveDate) -> Vec<String> {
    tree.tree_at(on).into_iter().map(|(c, _, _)| c).collect()
}

#[test]
fn establish_then_rename_is_effective_dated() {
    let tree = given(province());
    let outcome = when(&tree, rename(HOME, "Sở Nội vụ (mới)", d(2025, 3, 1)));
    let tree = then_applied(tree, HOME, outcome);

    assert_eq!(tree.name_at(HOME, d(2025, 2, 28)), Some("Sở Nội vụ"));
    assert_eq!(tree.name_at(HOME, d(2025, 3, 1)), Some("Sở Nội vụ (mới)"));
    assert_eq!(
        tree.name_at(HOME, d(1999, 12, 31)),
        None,
        "not yet established"
    );
    let node = tree
        .tree_at(d(2024, 6, 1))
        .into_iter()
        .find(|(c, _, _)| c == HOME)
        .unwrap();
    assert_eq!(node, (HOME.into(), "Sở Nội vụ".into(), Some(ROOT.into())));
}

#[test]
fn backdated_rename_is_ordered_by_effective_date() {
    let tree = given(vec![
        establish(ROOT, "A", None, d(2000, 1, 1)),
        rename(ROOT, "C", d(2020, 1, 1)),
        rename(ROOT, "B", d(2010, 1, 1)),
    ]);
    assert_eq!(tree.name_at(ROOT, d(2005, 1, 1)), Some("A"));
    assert_eq!(tree.name_at(ROOT, d(2015, 1, 1)), Some("B"));
    assert_eq!(tree.name_at(ROOT, d(2021, 1, 1)), Some("C"));
}

#[test]
fn dl_5_5_merger_moves_scope_to_successor() {
    let tree = given(province());
    let outcome = when(&tree, merge(LABOUR, HOME, d(2025, 3, 1)));
    let tree = then_applied(tree, LABOUR, outcome);

    let before = d(2025, 2, 28);
    let after = d(2025, 3, 1);
    assert!(codes(&tree, before).contains(&LABOUR.to_owned()));
    assert!(!codes(&tree, after).contains(&LABOUR.to_owned()));
    assert_eq!(tree.successor_of(LABOUR, before).as_deref(), Some(LABOUR));
    assert_eq!(tree.successor_of(LABOUR, after).as_deref(), Some(HOME));

    // The merged unit's former subordinates now sit under the successor.
    assert_eq!(
        tree.subtree(LABOUR, before),
        vec![LABOUR.to_owned(), SCHOOL.to_owned()]
    );
    assert!(tree.subtree(LABOUR, after).is_empty());
    assert_eq!(
        tree.subtree(HOME, after),
        vec![HOME.to_owned(), SCHOOL.to_owned()]
    );
    let school = tree
        .tree_at(after)
        .into_iter()
        .find(|(c, _, _)| c == SCHOOL)
        .unwrap();
    assert_eq!(school.2.as_deref(), Some(HOME));
    // History keeps the merged unit's name.
    assert_eq!(
        tree.name_at(LABOUR, after),
        Some("Sở Lao động - Thương binh và Xã hội")
    );
}

#[test]
fn dl_5_5_successor_followed_through_repeated_mergers() {
    let mut history = province();
    history.push(merge(SCHOOL, LABOUR, d(2024, 1, 1)));
    history.push(merge(LABOUR, HOME, d(2025, 3, 1)));
    let tree = given(history);
    assert_eq!(
        tree.successor_of(SCHOOL, d(2024, 6, 1)).as_deref(),
        Some(LABOUR)
    );
    assert_eq!(
        tree.successor_of(SCHOOL, d(2025, 6, 1)).as_deref(),
        Some(HOME)
    );
}

#[test]
fn dl_5_5_merged_unit_refuses_changes_after_merger() {
    let mut history = province();
    history.push(merge(LABOUR, HOME, d(2025, 3, 1)));
    let tree = given(history);
    let outcome = when(&tree, rename(LABOUR, "Tên khác", d(2025, 4, 1)));
    match outcome {
        Err(OrgRejection::UnitCeased {
            code,
            revision,
            status: OrgStatus::Merged { into, effective },
        }) => {
            assert_eq!(code, LABOUR);
            assert_eq!(revision, 1);
            assert_eq!(into, HOME);
            assert_eq!(effective, d(2025, 3, 1));
        }
        other => panic!("expected UnitCeased, got {other:?}"),
    }
    let message = when(&tree, rename(LABOUR, "x", d(2025, 4, 1)))
        .unwrap_err()
        .to_string();
    assert!(message.contains("DL 5.5"), "{message}");
}

#[test]
fn dl_5_5_merger_into_itself_or_inactive_successor_refused() {
    let tree = given(province());
    assert!(matches!(
        when(&tree, merge(LABOUR, LABOUR, d(2025, 3, 1))),
        Err(OrgRejection::MergeIntoSelf { .. })
    ));
    assert!(matches!(
        when(&tree, merge(LABOUR, "009.00.00.H33", d(2025, 3, 1))),
        Err(OrgRejection::SuccessorMissing { .. })
    ));
    // The school exists only from 2005: it cannot take over in 2004.
    assert!(matches!(
        when(&tree, merge(HOME, SCHOOL, d(2004, 1, 1))),
        Err(OrgRejection::SuccessorNotActive { .. })
    ));
}

#[test]
fn split_needs_two_successors() {
    let tree = given(province());
    let split = |to: &[&str]| {
        cmd(
            LABOUR,
            OrgChange::Split {
                successors: to.iter().map(|s| (*s).to_owned()).collect(),
                effective: d(2025, 3, 1),
            },
        )
    };
    assert!(matches!(
        when(&tree, split(&[HOME, HOME])),
        Err(OrgRejection::SplitTooFew { count: 1, .. })
    ));
    let tree = then_applied(tree.clone(), LABOUR, when(&tree, split(&[HOME, SCHOOL])));
    assert_eq!(tree.successor_of(LABOUR, d(2025, 3, 1)), None);
    assert!(!codes(&tree, d(2025, 3, 1)).contains(&LABOUR.to_owned()));
}

#[test]
fn dissolved_unit_leaves_the_tree_and_refuses_changes() {
    let tree = given(province());
    let dissolve = cmd(
        SCHOOL,
        OrgChange::Dissolve {
            effective: d(2025, 1, 1),
        },
    );
    let tree = then_applied(tree.clone(), SCHOOL, when(&tree, dissolve));
    assert!(codes(&tree, d(2024, 12, 31)).contains(&SCHOOL.to_owned()));
    assert!(!codes(&tree, d(2025, 1, 1)).contains(&SCHOOL.to_owned()));
    assert!(matches!(
        when(&tree, rename(SCHOOL, "x", d(2025, 2, 1))),
        Err(OrgRejection::UnitCeased { .. })
    ));
}

#[test]
fn qd_20_2020_bad_code_format_refused() {
    for bad in [
        "000.00.00",
        "00.00.00.H33",
        "000.00.00.h33",
        "000.00.00.H3",
        "000.0a.00.H33",
        "000.00.00.H33.1",
        "",
    ] {
        assert!(!is_valid_code(bad), "{bad:?}");
        let tree = OrgTree::new();
        let outcome = when(&tree, establish(bad, "X", None, d(2020, 1, 1)));
        assert_eq!(outcome, Err(OrgRejection::InvalidCode { code: bad.into() }));
    }
    assert!(is_valid_code("000.00.00.H33"));
    assert!(is_valid_code("123.45.67.G01"));
    let message = OrgRejection::InvalidCode { code: "x".into() }.to_string();
    assert!(message.contains("QĐ 20/2020/QĐ-TTg"), "{message}");
}

#[test]
fn parent_missing_refused() {
    let tree = given(vec![establish(ROOT, "UBND", None, d(2000, 1, 1))]);
    let outcome = when(
        &tree,
        establish(HOME, "Sở Nội vụ", Some("000.09.00.H33"), d(2020, 1, 1)),
    );
    assert_eq!(
        outcome,
        Err(OrgRejection::ParentMissing {
            code: HOME.into(),
            parent: "000.09.00.H33".into(),
        })
    );
}

#[test]
fn parent_must_be_active_at_the_effective_date() {
    let mut history = province();
    history.push(merge(LABOUR, HOME, d(2025, 3, 1)));
    let tree = given(history);
    // Before its establishment.
    assert!(matches!(
        when(
            &tree,
            establish("002.02.00.H33", "X", Some(SCHOOL), d(2004, 1, 1))
        ),
        Err(OrgRejection::ParentNotActive { .. })
    ));
    // After its merger.
    assert!(matches!(
        when(
            &tree,
            establish("002.02.00.H33", "X", Some(LABOUR), d(2025, 3, 1))
        ),
        Err(OrgRejection::ParentNotActive { .. })
    ));
    // The day before the merger it still exists.
    assert!(
        when(
            &tree,
            establish("002.02.00.H33", "X", Some(LABOUR), d(2025, 2, 28))
        )
        .is_ok()
    );
}

#[test]
fn establish_twice_refused_with_revision() {
    let tree = given(province());
    assert_eq!(
        when(
            &tree,
            establish(HOME, "Sở Nội vụ", Some(ROOT), d(2001, 1, 1))
        ),
        Err(OrgRejection::AlreadyEstablished {
            code: HOME.into(),
            revision: 0,
        })
    );
    assert_eq!(
        when(&OrgTree::new(), rename(HOME, "x", d(2020, 1, 1))),
        Err(OrgRejection::NotEstablished { code: HOME.into() })
    );
}

#[test]
fn every_command_needs_a_complete_decision_not_dated_in_the_future() {
    let tree = given(province());
    let mut c = rename(HOME, "x", d(2025, 3, 1));
    c.decision.number = " ".into();
    assert!(matches!(
        when(&tree, c),
        Err(OrgRejection::DecisionIncomplete {
            missing: "number",
            revision: Some(0),
            ..
        })
    ));
    let mut c = rename(HOME, "x", d(2025, 3, 1));
    c.decision.issuer = String::new();
    assert!(matches!(
        when(&tree, c),
        Err(OrgRejection::DecisionIncomplete {
            missing: "issuer",
            ..
        })
    ));
    let mut c = rename(HOME, "x", d(2026, 3, 1));
    c.decision.date = d(2026, 1, 1);
    assert!(matches!(
        when(&tree, c),
        Err(OrgRejection::DecisionInFuture { .. })
    ));
}

#[test]
fn decided_events_carry_the_decision() {
    let tree = given(province());
    let events = when(&tree, rename(HOME, "Sở Nội vụ (mới)", d(2025, 3, 1))).unwrap();
    let DomainEvent::OrgUnitRenamed(e) = &events[0] else {
        panic!("expected a rename, got {events:?}");
    };
    let decision = e.decision.as_ref().unwrap();
    assert_eq!(decision.number, "1/QĐ-UBND");
    assert_eq!(decision.issuer, "UBND tỉnh");
}

#[test]
fn staffing_quota_is_kept_per_year() {
    let quota = |n| StaffingQuota {
        civil_servants: n,
        public_employees: n + 1,
        contract_workers: 2,
    };
    let set = |year, n| {
        cmd(
            HOME,
            OrgChange::SetStaffingQuota {
                year,
                quota: quota(n),
            },
        )
    };
    let mut history = province();
    history.push(set(2024, 40));
    history.push(set(2025, 38));
    history.push(set(2025, 37));
    let tree = given(history);
    let home = tree.unit(HOME).unwrap();
    assert_eq!(home.quota(2024), Some(quota(40)));
    assert_eq!(
        home.quota(2025),
        Some(quota(37)),
        "a later quota for the year replaces it"
    );
    assert_eq!(home.quota(2026), None);
    assert_eq!(home.revision(), 3);
    assert!(matches!(
        when(&tree, set(1999, 1)),
        Err(OrgRejection::QuotaYearBeforeEstablishment { year: 1999, .. })
    ));
}

#[test]
fn job_positions_are_effective_dated() {
    let position = |headcount| JobPosition {
        code: "CV-TCCB".into(),
        title: "Chuyên viên tổ chức cán bộ".into(),
        group: JobPositionGroup::Professional,
        required_rank_code: "01.003".into(),
        headcount,
    };
    let define = |p, on| {
        cmd(
            HOME,
            OrgChange::DefineJobPosition {
                position: p,
                effective: on,
            },
        )
    };
    let mut history = province();
    history.push(define(position(3), d(2023, 1, 1)));
    history.push(define(position(5), d(2025, 1, 1)));
    let tree = given(history);
    let home = tree.unit(HOME).unwrap();
    assert!(home.job_positions_at(d(2022, 12, 31)).is_empty());
    assert_eq!(home.job_positions_at(d(2024, 1, 1))["CV-TCCB"].headcount, 3);
    assert_eq!(home.job_positions_at(d(2025, 1, 1))["CV-TCCB"].headcount, 5);
    assert!(matches!(
        when(&tree, define(position(0), d(2025, 6, 1))),
        Err(OrgRejection::JobPositionIncomplete {
            missing: "headcount",
            ..
        })
    ));
}

#[test]
fn dt_11_approval_authority_only_within_own_subtree() {
    let assign = |code: &str, subordinates: &[&str]| {
        cmd(
            code,
            OrgChange::AssignApprovalAuthority {
                authority: ApprovalAuthority {
                    categories: vec![PersonnelCategory::VienChuc, PersonnelCategory::NguoiLaoDong],
                    subordinates: subordinates.iter().map(|s| (*s).to_owned()).collect(),
                },
                effective: d(2024, 1, 1),
            },
        )
    };
    let tree = given(province());
    let outcome = when(&tree, assign(HOME, &[SCHOOL]));
    match outcome {
        Err(OrgRejection::AuthorityOutsideScope { subordinate, .. }) => {
            assert_eq!(subordinate, SCHOOL)
        }
        other => panic!("expected AuthorityOutsideScope, got {other:?}"),
    }
    let tree = then_applied(
        tree.clone(),
        LABOUR,
        when(&tree, assign(LABOUR, &[LABOUR, SCHOOL])),
    );
    let authority = tree
        .unit(LABOUR)
        .unwrap()
        .approval_authority_at(d(2024, 1, 1))
        .unwrap();
    assert_eq!(
        authority.subordinates,
        vec![LABOUR.to_owned(), SCHOOL.to_owned()]
    );
    assert!(
        tree.unit(LABOUR)
            .unwrap()
            .approval_authority_at(d(2023, 12, 31))
            .is_none()
    );
    // The province's root covers everything below it.
    assert!(when(&tree, assign(ROOT, &[SCHOOL])).is_ok());
}

#[test]
fn evolve_ignores_other_families_and_counts_revisions() {
    let tree = given(province());
    let events = when(&tree, rename(HOME, "x", d(2025, 3, 1))).unwrap();
    let unit: Option<OrgUnit> = tree.unit(HOME).cloned();
    assert_eq!(unit.as_ref().map(OrgUnit::revision), Some(0));
    let unit = evolve(unit, &events[0]).unwrap();
    assert_eq!(unit.revision(), 1);
    let other = DomainEvent::from(hoso_schemas::pb::sync::BatchAcknowledged::default());
    assert_eq!(evolve(Some(unit.clone()), &other), Some(unit));
    assert_eq!(evolve(None, &other), None);
}
