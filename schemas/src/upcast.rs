//! Upcasters: steps that turn the payload of one schema version of a type
//! into the payload of the next.
//!
//! A step works on bytes so that steps chain without the registry knowing
//! any intermediate message type. Steps run on every read of an old event;
//! the stored bytes are never rewritten.

use prost::Message;

use crate::decimal::parse_hundredths;
use crate::pb;

/// Why one upcast step failed.
#[derive(Debug)]
pub(crate) enum StepError {
    /// The payload is not a valid message of the step's source version.
    Decode(prost::DecodeError),
    /// The payload decoded but holds a value the next version cannot carry.
    Invalid(String),
}

impl From<prost::DecodeError> for StepError {
    fn from(error: prost::DecodeError) -> Self {
        Self::Decode(error)
    }
}

/// Converts a payload of version `from` into one of version `from + 1`.
pub(crate) type StepFn = fn(&[u8]) -> Result<Vec<u8>, StepError>;

/// One registered step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upcaster {
    pub(crate) type_name: &'static str,
    pub(crate) from: u32,
    pub(crate) step: StepFn,
}

/// Every upcaster of the standard catalogue.
pub(crate) const STANDARD: &[Upcaster] = &[Upcaster {
    type_name: "dossier.SalaryChanged",
    from: 1,
    step: salary_changed_v1_to_v2,
}];

/// `dossier.SalaryChanged` v1 kept the coefficient and step as typed text;
/// v2 keeps integers. The salary group did not exist in v1 and stays empty.
fn salary_changed_v1_to_v2(payload: &[u8]) -> Result<Vec<u8>, StepError> {
    let v1 = pb::legacy::dossier::SalaryChangedV1::decode(payload)?;
    let coefficient_x100 = parse_hundredths(&v1.coefficient).map_err(|error| {
        StepError::Invalid(format!("coefficient {:?}: {error}", v1.coefficient))
    })?;
    if coefficient_x100 == 0 {
        return Err(StepError::Invalid("coefficient is zero".to_owned()));
    }
    let step = parse_step(&v1.step)
        .ok_or_else(|| StepError::Invalid(format!("step {:?} is not a number from 1", v1.step)))?;
    let v2 = pb::dossier::SalaryChanged {
        rank_code: v1.rank_code,
        step,
        coefficient_x100,
        salary_group: String::new(),
        effective: v1.effective,
        decision: v1.decision,
    };
    Ok(v2.encode_to_vec())
}

/// A salary step is a plain positive integer; `str::parse` alone would also
/// accept a leading `+`.
fn parse_step(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&step| step > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_text_must_be_a_positive_integer() {
        assert_eq!(parse_step("3"), Some(3));
        assert_eq!(parse_step("12"), Some(12));
        assert_eq!(parse_step("03"), Some(3));
        for bad in ["", "0", "+3", "-1", "3.0", " 3", "x", "99999999999"] {
            assert_eq!(parse_step(bad), None, "{bad:?}");
        }
    }
}
