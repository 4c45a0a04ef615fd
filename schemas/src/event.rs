//! The catalogue table: every event type, its message and current version.
//!
//! The table is the single place a type is declared. The type name is
//! derived as `family.Variant` and the message as `pb::family::Variant`, so
//! the enum, the names, the versions and the decoders cannot disagree, and a
//! new event cannot compile half-mapped.

use prost::Message;

use crate::pb;

/// How the registry decodes one type at its current version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventType {
    pub(crate) type_name: &'static str,
    pub(crate) current_version: u32,
    pub(crate) decode: fn(&[u8]) -> Result<DomainEvent, prost::DecodeError>,
}

macro_rules! catalogue {
    ($( $family:ident { $( $variant:ident = $version:literal ),* $(,)? } )*) => {
        /// A decoded event of the catalogue, at its type's current version.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent {
            $($(
                #[doc = concat!(
                    "`", stringify!($family), ".", stringify!($variant),
                    "`, schema version ", stringify!($version), "."
                )]
                $variant(pb::$family::$variant),
            )*)*
        }

        impl DomainEvent {
            /// Stored type name, `family.Type`, e.g. `dossier.DeclarationSubmitted`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $($( Self::$variant(_) => concat!(stringify!($family), ".", stringify!($variant)), )*)*
                }
            }

            /// Current schema version of this event's type; the version it
            /// is encoded at.
            pub fn schema_version(&self) -> u32 {
                match self {
                    $($( Self::$variant(_) => $version, )*)*
                }
            }

            /// Protobuf encoding of the message, to be stored as the payload.
            pub fn encode_payload(&self) -> Vec<u8> {
                match self {
                    $($( Self::$variant(message) => message.encode_to_vec(), )*)*
                }
            }
        }

        $($(
            impl From<pb::$family::$variant> for DomainEvent {
                fn from(message: pb::$family::$variant) -> Self {
                    Self::$variant(message)
                }
            }
        )*)*

        pub(crate) const CATALOGUE: &[EventType] = &[
            $($(
                EventType {
                    type_name: concat!(stringify!($family), ".", stringify!($variant)),
                    current_version: $version,
                    decode: |bytes| pb::$family::$variant::decode(bytes).map(DomainEvent::$variant),
                },
            )*)*
        ];
    };
}

catalogue! {
    org {
        OrgUnitEstablished = 1,
        OrgUnitRenamed = 1,
        OrgUnitMerged = 1,
        OrgUnitSplit = 1,
        OrgUnitDissolved = 1,
        StaffingQuotaSet = 1,
        JobPositionDefined = 1,
        ApprovalAuthorityAssigned = 1,
    }
    account {
        AccountIssued = 1,
        AccessGranted = 1,
        AccessRestricted = 1,
        AccessExpanded = 1,
        AccessRevoked = 1,
        AccountLocked = 1,
        AccountUnlocked = 1,
        PasswordChanged = 1,
        SigningKeyRegistered = 1,
        SigningKeyRevoked = 1,
        DelegationGranted = 1,
        DelegationRevoked = 1,
        ConsentGranted = 1,
        ConsentRevoked = 1,
        UsernameReserved = 1,
        PersonalAccountReserved = 1,
        AccountReassigned = 1,
        InspectionGranted = 1,
        InspectionRevoked = 1,
        InspectionQueried = 1,
    }
    dossier {
        DossierOpened = 1,
        DeclarationSubmitted = 1,
        DeclarationReturned = 1,
        DeclarationVerified = 1,
        DossierLocked = 1,
        ApprovalSigned = 1,
        AppointmentRecorded = 1,
        RankChanged = 1,
        // Version 1 stored the coefficient and step as text; see `upcast`.
        SalaryChanged = 2,
        AllowanceChanged = 1,
        AwardGranted = 1,
        DisciplineImposed = 1,
        TrainingRecorded = 1,
        EvaluationRecorded = 1,
        AttachmentAdded = 1,
        DepartmentChanged = 1,
        TransferInitiated = 1,
        TransferAccepted = 1,
        TransferForwarded = 1,
        TransferRejected = 1,
        StatusChanged = 1,
        DossierImported = 1,
        AccessLogged = 1,
        PersonIdReserved = 1,
        ManagingUnitReassigned = 1,
        ObligationOpened = 1,
        ObligationClosed = 1,
        PlanningRecorded = 1,
    }
    sync {
        MonthlyBatchSealed = 1,
        BatchDelivered = 1,
        BatchAcknowledged = 1,
        MonthStatementSigned = 1,
    }
    ledger {
        TreeHeadSigned = 1,
        LedgerKeyRegistered = 1,
        LedgerKeyRevoked = 1,
        RollbackAccepted = 1,
    }
}
