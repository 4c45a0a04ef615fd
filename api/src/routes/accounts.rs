//! Accounts: the caller's own, issuing accounts and passwords, changing
//! one's own password, and the account changes (grants, restrictions,
//! revocations, locks, signing keys, delegations, consents, inspections) —
//! all decided by the write side's rules (DL 12.2, HY 5.1, KT 8.1, BT 4.5).
//! An inspector account is issued with its first inspection in one request.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use hoso_commands::workflows::{InspectionTerms, IssueAccount, right_name};
use hoso_domain::account::{AccountChange, AccountKind, LockReason};
use hoso_domain::restriction::Restriction;
use hoso_schemas::Spelling;
use hoso_schemas::pb::common::{AccessRight, PersonnelCategory};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{DocumentIn, ReceiptOut, parse_enum};
use crate::AppState;
use crate::extract::{Body, Caller, Params, PathParams, PendingCaller};
use crate::problem::{ApiResult, Problem};
use crate::sessions::Attempt;

/// An account as its holder sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Unit.
    pub org_code: String,
    /// Name.
    pub display_name: String,
    /// Rights by subtree root.
    pub grants: BTreeMap<String, String>,
    /// Registered signing keys.
    pub keys: Vec<String>,
    /// Must change the issued password (BT 4.4).
    pub must_change_password: bool,
    /// An inspector's inspections by id (empty for other kinds).
    pub inspections: BTreeMap<String, InspectionOut>,
    /// A personal account's own dossier (`GET /dossiers/{id}`), once the
    /// holder has one here; absent for staff accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dossier: Option<String>,
    /// A head's delegations of approval power by id (KT 8.1), ended ones
    /// included; absent when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub delegations: BTreeMap<String, DelegationOut>,
}

/// A delegation of a head's approval power as the head sees it (KT 8.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationOut {
    /// The deputy's account.
    pub to_account: String,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// Units covered (empty: the head's whole unit).
    pub org_codes: Vec<String>,
    /// Categories covered, e.g. `cong_chuc` (empty: all).
    pub categories: Vec<String>,
    /// Ended before its last day.
    pub revoked: bool,
    /// In force today.
    pub in_force: bool,
}

/// An inspection as its inspector sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    /// Roots of the subtrees inspected.
    pub org_codes: Vec<String>,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// Highest level shown: `general` or `restricted`.
    #[schema(value_type = String)]
    pub clearance: Restriction,
    /// The inspection decision's number.
    pub decision: String,
    /// Ended before its term.
    pub revoked: bool,
}

impl From<hoso_domain::account::Inspection> for InspectionOut {
    fn from(i: hoso_domain::account::Inspection) -> Self {
        Self {
            org_codes: i.org_codes,
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            clearance: i.clearance,
            decision: i.decision_number,
            revoked: i.revoked,
        }
    }
}

/// The caller's account (refused, like every route but the password change, until an
/// issued password is changed: BT 4.4).
#[utoipa::path(get, path = "/api/v1/accounts/me", tag = "accounts",
    responses((status = 200, body = AccountOut), (status = 401, body = Problem)))]
pub async fn me(State(s): State<Arc<AppState>>, c: Caller) -> ApiResult<Json<AccountOut>> {
    let dossier = s.workflows.dossier_of_account(&c.account.id).await?;
    let today = s.today();
    let a = c.account;
    Ok(Json(AccountOut {
        id: a.id,
        kind: a.kind.spelling(),
        username: a.username,
        org_code: a.org_code,
        display_name: a.display_name,
        grants: a
            .grants
            .into_iter()
            .map(|(k, r)| (k, right_name(r).to_owned()))
            .collect(),
        keys: a.keys.into_keys().collect(),
        must_change_password: a.must_change_password,
        inspections: a
            .inspections
            .into_iter()
            .map(|(id, i)| (id, InspectionOut::from(i)))
            .collect(),
        dossier,
        delegations: a
            .delegations
            .into_iter()
            .map(|(id, d)| {
                let in_force = d.in_force_on(today);
                (
                    id,
                    DelegationOut {
                        to_account: d.to_account,
                        valid_from: d.valid_from,
                        valid_until: d.valid_until,
                        org_codes: d.org_codes,
                        categories: d.categories.iter().map(|c| c.spelling()).collect(),
                        revoked: d.revoked,
                        in_force,
                    },
                )
            })
            .collect(),
    }))
}

/// An account as its administrator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountListed {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Unit.
    pub org_code: String,
    /// Holder's name.
    pub display_name: String,
    /// Rights by subtree root.
    pub grants: BTreeMap<String, String>,
    /// Why it is locked (`null` when it is not).
    pub locked: Option<String>,
    /// A password has been issued.
    pub has_password: bool,
    /// The issued password is not yet changed by the holder (BT 4.4).
    pub must_change_password: bool,
    /// Registered signing keys by id.
    pub keys: BTreeMap<String, KeyListed>,
    /// An inspector's inspections by id (empty for other kinds).
    pub inspections: BTreeMap<String, InspectionOut>,
}

/// A registered signing key (the public key itself is in the log).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyListed {
    /// First day it may sign.
    pub valid_from: Option<NaiveDate>,
    /// Last day it may sign, if limited.
    pub valid_until: Option<NaiveDate>,
    /// First day it may no longer sign, once revoked.
    pub revoked_from: Option<NaiveDate>,
}

/// The accounts the caller administers (DL 12.2, HY 5.1), by id: every
/// account for Sở Nội vụ; for an agency administrator, the accounts of the
/// units it holds the admin right over. Anyone else is refused
/// (`urn:hoso:problem:access:insufficient-right`).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", operation_id = "list_accounts",
    responses((status = 200, body = Vec<AccountListed>), (status = 403, body = Problem)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    c: Caller,
) -> ApiResult<Json<Vec<AccountListed>>> {
    let accounts = s.workflows.accounts_administered(&c.actor).await?;
    Ok(Json(
        accounts
            .into_iter()
            .map(|a| AccountListed {
                id: a.id,
                kind: a.kind.spelling(),
                username: a.username,
                org_code: a.org_code,
                display_name: a.display_name,
                grants: a
                    .grants
                    .into_iter()
                    .map(|(k, r)| (k, right_name(r).to_owned()))
                    .collect(),
                locked: a.locked.map(|r| r.spelling()),
                has_password: a.has_password,
                must_change_password: a.must_change_password,
                keys: a
                    .keys
                    .into_iter()
                    .map(|(id, k)| {
                        (
                            id,
                            KeyListed {
                                valid_from: k.valid_from,
                                valid_until: k.valid_until,
                                revoked_from: k.revoked_from,
                            },
                        )
                    })
                    .collect(),
                inspections: a
                    .inspections
                    .into_iter()
                    .map(|(id, i)| (id, InspectionOut::from(i)))
                    .collect(),
            })
            .collect(),
    ))
}

/// An account a head may delegate approval power to, as the head sees it
/// (no rights, locks or passwords: the head administers no one).
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegateListed {
    /// Id (the delegation's `to_account`).
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Unit.
    pub org_code: String,
    /// Holder's name.
    pub display_name: String,
    /// Ids of the signing keys registered, so the head sees whether the
    /// deputy can sign yet.
    pub keys: Vec<String>,
}

/// The accounts the calling head may delegate approval power to today
/// (KT 8.1): the staff accounts of the head's unit and its subtree, not
/// locked, the head left out. Anyone but a head is refused
/// (`urn:hoso:problem:access:delegation`), as their delegation would be.
#[utoipa::path(get, path = "/api/v1/accounts/me/delegates", tag = "accounts",
    operation_id = "list_delegates",
    responses((status = 200, body = Vec<DelegateListed>), (status = 403, body = Problem)))]
pub async fn delegates(
    State(s): State<Arc<AppState>>,
    c: Caller,
) -> ApiResult<Json<Vec<DelegateListed>>> {
    let accounts = s.workflows.delegates_for(&c.actor).await?;
    Ok(Json(
        accounts
            .into_iter()
            .map(|a| DelegateListed {
                id: a.id,
                kind: a.kind.spelling(),
                username: a.username,
                org_code: a.org_code,
                display_name: a.display_name,
                keys: a.keys.into_keys().collect(),
            })
            .collect(),
    ))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueIn {
    /// `agency_admin`, `agency_head`, `specialist`, `personal` (or
    /// `system_admin` and `inspector`, by Sở Nội vụ only).
    pub kind: String,
    /// Login name.
    pub username: String,
    /// Unit.
    pub org_code: String,
    /// Identification number (personal accounts).
    #[serde(default)]
    pub person_id: Option<String>,
    /// Holder's name.
    pub display_name: String,
    /// Holder's date of birth (checked against passwords, DT 10.2).
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// The inspection of an `inspector` account (required for that kind,
    /// refused for any other).
    #[serde(default)]
    pub inspection: Option<InspectionIn>,
}

/// An inspection: read-only over subtrees for a term.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionIn {
    /// Roots of the subtrees inspected (at least one).
    pub org_codes: Vec<String>,
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
    /// `general` (default) or, when the decision grants it, `restricted`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub clearance: Option<Restriction>,
    /// The decision ordering the inspection.
    pub decision: DocumentIn,
}

impl InspectionIn {
    fn into_terms(self) -> ApiResult<InspectionTerms> {
        Ok(InspectionTerms {
            org_codes: self.org_codes,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            clearance: self.clearance.unwrap_or_default(),
            decision: self.decision.into_source()?,
        })
    }
}

/// Issues an account (HY 10.1, DL 12).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = IssueIn,
    responses((status = 201, body = ReceiptOut), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn issue(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Body(input): Body<IssueIn>,
) -> ApiResult<(StatusCode, Json<ReceiptOut>)> {
    let kind = parse_enum(&input.kind, "kind")?;
    let issue = IssueAccount {
        kind,
        username: input.username,
        org_code: input.org_code,
        person_id: input.person_id,
        display_name: input.display_name,
        birth_date: input.birth_date,
    };
    let (id, r) = match (kind, input.inspection) {
        (AccountKind::Inspector, Some(i)) => {
            s.workflows
                .issue_inspector(&c.actor, issue, i.into_terms()?)
                .await?
        }
        (AccountKind::Inspector, None) => {
            return Err(Problem::bad_request(
                "inspection-required",
                "an inspector account is issued with its inspection (units, term, decision)",
            ));
        }
        (_, Some(_)) => {
            return Err(Problem::bad_request(
                "inspection-not-allowed",
                "only an inspector account carries an inspection",
            ));
        }
        (_, None) => s.workflows.issue_account(&c.actor, issue).await?,
    };
    Ok((StatusCode::CREATED, Json(ReceiptOut::new(id, r))))
}

/// The holder's password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordIn {
    /// Current password.
    pub current: String,
    /// New password (DT 10.1–10.2).
    pub new: String,
}

/// Changes one's own password; the one route open while an issued password
/// is unchanged (BT 4.4). Other sessions of the account end.
#[utoipa::path(post, path = "/api/v1/accounts/me/password", tag = "accounts",
    request_body = ChangePasswordIn,
    responses((status = 200, body = ReceiptOut), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn change_own_password(
    State(s): State<Arc<AppState>>,
    PendingCaller(c): PendingCaller,
    Body(input): Body<ChangePasswordIn>,
) -> ApiResult<Json<ReceiptOut>> {
    // A stolen token must not become an unlimited guesser of the current
    // password: a wrong one counts, is recorded and slows down like a login.
    let cfg = &s.config;
    let (by_name, _) = s
        .sessions
        .failures(&c.account.username, &c.client, cfg.failure_window)
        .map_err(|e| Problem::internal(&e))?;
    if by_name >= cfg.lock_after_failures {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "session",
            "too-many-failures",
            "too many wrong passwords for this account; try again later",
        )
        .cite(Some("HY 5.1")));
    }
    let r = match s
        .workflows
        .change_password(&c.account.id, &input.current, &input.new)
        .await
    {
        Err(hoso_commands::workflows::CommandError::Access(r))
            if matches!(r.rule, hoso_commands::workflows::AccessRule::NotHolder) =>
        {
            let (by_name, by_client) = s
                .sessions
                .fail(&c.account.username, &c.client, cfg.failure_window)
                .map_err(|e| Problem::internal(&e))?;
            s.sessions.record(&Attempt {
                at: s.now().to_rfc3339(),
                kind: "password-change-failed".into(),
                account_id: Some(c.account.id.clone()),
                username: Some(c.account.username.clone()),
                client: c.client.clone(),
                target: "POST /api/v1/accounts/me/password".into(),
                detail: format!("wrong current password ({by_name} for this name)"),
            });
            let exp = by_name.max(by_client).saturating_sub(1).min(5);
            tokio::time::sleep(cfg.failure_delay * 2u32.pow(exp)).await;
            return Err(hoso_commands::workflows::CommandError::Access(r).into());
        }
        other => other?,
    };
    s.sessions
        .revoke_others(&c.account.id, &c.token_hash, s.now())
        .map_err(Problem::from)?;
    Ok(Json(ReceiptOut::new(c.account.id, r)))
}

/// A password issued by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuePasswordIn {
    /// The password; the holder must change it at first login (BT 4.4).
    pub password: String,
}

/// Issues or reissues a password (DL 15.7); the account's sessions end.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/password", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    request_body = IssuePasswordIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn issue_password(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Body(input): Body<IssuePasswordIn>,
) -> ApiResult<Json<ReceiptOut>> {
    let r = s
        .workflows
        .issue_password(&c.actor, &id, &input.password)
        .await?;
    s.sessions
        .revoke_account(&id, s.now())
        .map_err(Problem::from)?;
    Ok(Json(ReceiptOut::new(id, r)))
}

/// A change to an account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeIn {
    /// Grant a right over a subtree (no more than one holds, HY 5.1).
    Grant {
        /// Root unit.
        org_code: String,
        /// `access`, `update` or `admin`.
        right: String,
        /// Why.
        reason: String,
        /// Decision.
        #[serde(default)]
        decision: Option<DocumentIn>,
    },
    /// Lower a right.
    Restrict {
        /// Root unit.
        org_code: String,
        /// New right.
        right: String,
        /// Why.
        reason: String,
    },
    /// Raise a right.
    Expand {
        /// Root unit.
        org_code: String,
        /// New right.
        right: String,
        /// Why.
        reason: String,
        /// Decision.
        #[serde(default)]
        decision: Option<DocumentIn>,
    },
    /// Take a right away.
    Revoke {
        /// Root unit.
        org_code: String,
        /// Why.
        reason: String,
    },
    /// Lock the account; its sessions end.
    Lock {
        /// Why.
        note: String,
    },
    /// Unlock it.
    Unlock {
        /// Why.
        reason: String,
    },
    /// Register an ed25519 public key for signing approvals.
    RegisterKey {
        /// Key id.
        key_id: String,
        /// Public key (hex, 32 bytes).
        public_key: String,
        /// First day.
        valid_from: NaiveDate,
        /// Last day.
        #[serde(default)]
        valid_until: Option<NaiveDate>,
    },
    /// Revoke a key.
    RevokeKey {
        /// Key id.
        key_id: String,
        /// Why.
        reason: String,
        /// From when.
        effective: NaiveDate,
    },
    /// Delegate the head's approval power (KT 8.1).
    Delegate {
        /// Id (default: new).
        #[serde(default)]
        delegation_id: Option<String>,
        /// Deputy's account.
        to_account: String,
        /// First day.
        valid_from: NaiveDate,
        /// Last day.
        valid_until: NaiveDate,
        /// Units covered (empty: all).
        #[serde(default)]
        org_codes: Vec<String>,
        /// Categories covered (empty: all).
        #[serde(default)]
        categories: Vec<String>,
        /// Decision.
        decision: DocumentIn,
    },
    /// End a delegation early.
    RevokeDelegation {
        /// Id.
        delegation_id: String,
        /// Why.
        reason: String,
    },
    /// Record a written consent to read a person's dossier (BT 4.5, HY 4.8).
    GrantConsent {
        /// Id (default: new).
        #[serde(default)]
        consent_id: Option<String>,
        /// Whose dossier (identification number).
        subject_person_id: String,
        /// The written consent.
        document: DocumentIn,
        /// Last day.
        expires: NaiveDate,
        /// Sections covered (empty: all).
        #[serde(default)]
        sections: Vec<String>,
    },
    /// Withdraw a consent.
    RevokeConsent {
        /// Id.
        consent_id: String,
        /// Why.
        reason: String,
    },
    /// Give an inspector account another inspection (Sở Nội vụ only).
    GrantInspection {
        /// Id (default: new).
        #[serde(default)]
        inspection_id: Option<String>,
        /// Roots of the subtrees inspected (at least one).
        org_codes: Vec<String>,
        /// First day.
        valid_from: NaiveDate,
        /// Last day.
        valid_until: NaiveDate,
        /// `general` (default) or, when the decision grants it, `restricted`.
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        clearance: Option<Restriction>,
        /// The decision ordering the inspection.
        decision: DocumentIn,
    },
    /// End an inspection before its term (Sở Nội vụ only).
    RevokeInspection {
        /// Id.
        inspection_id: String,
        /// Why.
        reason: String,
    },
}

fn right(v: &str) -> ApiResult<AccessRight> {
    parse_enum(v, "right")
}

fn into_change(c: ChangeIn) -> ApiResult<AccountChange> {
    Ok(match c {
        ChangeIn::Grant {
            org_code,
            right: r,
            reason,
            decision,
        } => AccountChange::Grant {
            org_code,
            right: right(&r)?,
            reason,
            decision: decision.map(DocumentIn::into_source).transpose()?,
        },
        ChangeIn::Restrict {
            org_code,
            right: r,
            reason,
        } => AccountChange::Restrict {
            org_code,
            right: right(&r)?,
            reason,
        },
        ChangeIn::Expand {
            org_code,
            right: r,
            reason,
            decision,
        } => AccountChange::Expand {
            org_code,
            right: right(&r)?,
            reason,
            decision: decision.map(DocumentIn::into_source).transpose()?,
        },
        ChangeIn::Revoke { org_code, reason } => AccountChange::Revoke { org_code, reason },
        ChangeIn::Lock { note } => AccountChange::Lock {
            reason: LockReason::Other,
            note,
        },
        ChangeIn::Unlock { reason } => AccountChange::Unlock { reason },
        ChangeIn::RegisterKey {
            key_id,
            public_key,
            valid_from,
            valid_until,
        } => AccountChange::RegisterKey {
            key_id,
            public_key: public_key_bytes(&public_key)?,
            valid_from,
            valid_until,
        },
        ChangeIn::RevokeKey {
            key_id,
            reason,
            effective,
        } => AccountChange::RevokeKey {
            key_id,
            reason,
            effective,
        },
        ChangeIn::Delegate {
            delegation_id,
            to_account,
            valid_from,
            valid_until,
            org_codes,
            categories,
            decision,
        } => AccountChange::Delegate {
            delegation_id: delegation_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            to_account,
            valid_from,
            valid_until,
            org_codes,
            categories: personnel_categories(&categories)?,
            decision: decision.into_source()?,
        },
        ChangeIn::RevokeDelegation {
            delegation_id,
            reason,
        } => AccountChange::RevokeDelegation {
            delegation_id,
            reason,
        },
        ChangeIn::GrantConsent {
            consent_id,
            subject_person_id,
            document,
            expires,
            sections,
        } => AccountChange::GrantConsent {
            consent_id: consent_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            subject_person_id,
            document: document.into_source()?,
            expires,
            section_codes: sections,
        },
        ChangeIn::RevokeConsent { consent_id, reason } => {
            AccountChange::RevokeConsent { consent_id, reason }
        }
        ChangeIn::GrantInspection {
            inspection_id,
            org_codes,
            valid_from,
            valid_until,
            clearance,
            decision,
        } => AccountChange::GrantInspection {
            inspection_id: inspection_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            org_codes,
            valid_from,
            valid_until,
            clearance: clearance.unwrap_or_default(),
            decision: decision.into_source()?,
        },
        ChangeIn::RevokeInspection {
            inspection_id,
            reason,
        } => AccountChange::RevokeInspection {
            inspection_id,
            reason,
        },
    })
}

/// A raw ed25519 public key from its hex text.
fn public_key_bytes(hex_text: &str) -> ApiResult<Vec<u8>> {
    hex::decode(hex_text)
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or_else(|| Problem::bad_request("invalid-key", "public_key: 32 bytes of hex"))
}

/// Personnel categories from their snake-case names (`cong_chuc`).
fn personnel_categories(names: &[String]) -> ApiResult<Vec<PersonnelCategory>> {
    names.iter().map(|c| parse_enum(c, "categories")).collect()
}

/// Changes an account: rights, lock, keys, delegations, consents.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/changes", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    request_body = ChangeIn,
    responses((status = 200, body = ReceiptOut), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change(
    State(s): State<Arc<AppState>>,
    c: Caller,
    PathParams(id): PathParams<String>,
    Body(input): Body<ChangeIn>,
) -> ApiResult<Json<ReceiptOut>> {
    let locking = matches!(input, ChangeIn::Lock { .. });
    let r = s
        .workflows
        .account(&c.actor, &id, into_change(input)?)
        .await?;
    if locking {
        s.sessions
            .revoke_account(&id, s.now())
            .map_err(Problem::from)?;
    }
    Ok(Json(ReceiptOut::new(id, r)))
}

/// How many attempts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttemptParams {
    /// Newest first, at most 1,000 (default 100).
    pub limit: Option<usize>,
}

/// One recorded attempt, with its account's holder named.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// The attempt as recorded.
    #[serde(flatten)]
    pub attempt: Attempt,
    /// The holder's name today, when the attempt names an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// The account's login name today, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_username: Option<String>,
}

/// The record of logins and refused attempts (HY 5.1): Sở Nội vụ only.
#[utoipa::path(get, path = "/api/v1/security/attempts", tag = "accounts",
    params(AttemptParams),
    responses((status = 200, body = Vec<AttemptOut>), (status = 403, body = Problem)))]
pub async fn attempts(
    State(s): State<Arc<AppState>>,
    c: Caller,
    Params(p): Params<AttemptParams>,
) -> ApiResult<Json<Vec<AttemptOut>>> {
    if !c.is_system_admin() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "access",
            "system-admin-only",
            "the record of attempts is for Sở Nội vụ",
        ));
    }
    let attempts = s
        .sessions
        .attempts(p.limit.unwrap_or(100).clamp(1, 1_000))
        .map_err(Problem::from)?;
    let ids: Vec<&str> = attempts
        .iter()
        .filter_map(|a| a.account_id.as_deref())
        .collect();
    let accounts = s.workflows.accounts_by_id(&ids).await?;
    Ok(Json(
        attempts
            .into_iter()
            .map(|attempt| {
                let a = attempt.account_id.as_ref().and_then(|id| accounts.get(id));
                AttemptOut {
                    account_name: a.map(|a| a.display_name.clone()),
                    account_username: a.map(|a| a.username.clone()),
                    attempt,
                }
            })
            .collect(),
    ))
}
