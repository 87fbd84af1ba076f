//! Letter batches: which letters share an envelope, how a withdrawn letter leaves its
//! batch, and what staff must have seen before a batch counts as mailed.
//!
//! - One envelope per person per batch: a person's notices of one batch go out together
//!   (one address block, one 整理番号), never one envelope per notice — and never two
//!   people in one envelope, even at one address (a family member must not read
//!   another's health letter).
//! - A letter withdrawn from a batch whose PDF has not been handed out yet is removed
//!   (the batch's files are re-made without it); once the PDF was handed out (it may be
//!   printed) it is marked 差止 on the print list, to be taken out before mailing.
//! - 発送済 is confirmed for the envelopes, parts and 差止 list staff were shown; if the
//!   batch changed since, the confirmation is refused.

use crate::case::{CaseEvent, CaseKey, WithdrawalReason};
use crate::engine::CaseChange;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a letter of a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LetterStatus {
    /// In the batch, to be mailed.
    Active,
    /// Withdrawn before the PDF was handed out: the batch's files were re-made without it.
    Removed,
    /// 差止: withdrawn after the PDF was handed out; take it out before mailing.
    Stopped,
}

impl LetterStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            LetterStatus::Active => "active",
            LetterStatus::Removed => "removed",
            LetterStatus::Stopped => "stopped",
        }
    }
    /// From the code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            LetterStatus::Active,
            LetterStatus::Removed,
            LetterStatus::Stopped,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
    /// Japanese label.
    pub fn label(self) -> &'static str {
        match self {
            LetterStatus::Active => "発送対象",
            LetterStatus::Removed => "取下げ（PDFから除外済）",
            LetterStatus::Stopped => "差止（封入しない）",
        }
    }
}

/// How a letter leaves a batch: removed while the PDF was not handed out, 差止 after.
pub fn withdrawal_status(pdf_handed_out: bool) -> LetterStatus {
    if pdf_handed_out {
        LetterStatus::Stopped
    } else {
        LetterStatus::Removed
    }
}

/// A letter to take out of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWithdrawal {
    /// The batch.
    pub batch: String,
    /// The case whose letter it is.
    pub case: CaseKey,
    /// Why.
    pub reason: WithdrawalReason,
}

/// The letters these case changes withdraw from batches (a withdrawn letter that was
/// only due is in no batch and needs nothing more).
pub fn withdrawals(changes: &[CaseChange]) -> Vec<BatchWithdrawal> {
    let mut out = Vec::new();
    for change in changes {
        let (key, events): (&CaseKey, Vec<&CaseEvent>) = match change {
            CaseChange::Open(case) => (&case.key, case.events.iter().map(|e| &e.event).collect()),
            CaseChange::Append { key, events } => (key, events.iter().map(|e| &e.event).collect()),
        };
        for event in events {
            if let CaseEvent::LetterWithdrawn {
                batch: Some(batch),
                reason,
                ..
            } = event
            {
                out.push(BatchWithdrawal {
                    batch: batch.clone(),
                    case: key.clone(),
                    reason: *reason,
                });
            }
        }
    }
    out
}

/// Groups a batch's letters into envelopes, one per recipient, in the order each
/// recipient first appears; returns, for each envelope, the indices of its letters.
pub fn envelopes<K: Ord>(recipients: &[K]) -> Vec<Vec<usize>> {
    let mut order: Vec<Vec<usize>> = Vec::new();
    let mut index: BTreeMap<&K, usize> = BTreeMap::new();
    for (i, k) in recipients.iter().enumerate() {
        match index.get(k) {
            Some(&e) => order[e].push(i),
            None => {
                index.insert(k, order.len());
                order.push(vec![i]);
            }
        }
    }
    order
}

/// What staff were shown when they confirmed a batch mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailingConfirmation {
    /// Envelopes to mail.
    pub envelopes: u64,
    /// PDF parts.
    pub parts: u64,
    /// 差止 letters to take out.
    pub stopped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_gets_one_envelope_per_batch_and_two_people_never_share_one() {
        let recipients = ["A", "B", "A", "C", "B"];
        assert_eq!(
            envelopes(&recipients),
            vec![vec![0, 2], vec![1, 4], vec![3]]
        );
        assert!(envelopes::<&str>(&[]).is_empty());
    }

    #[test]
    fn a_letter_leaves_an_unprinted_batch_but_is_stopped_in_a_printed_one() {
        assert_eq!(withdrawal_status(false), LetterStatus::Removed);
        assert_eq!(withdrawal_status(true), LetterStatus::Stopped);
        for s in [
            LetterStatus::Active,
            LetterStatus::Removed,
            LetterStatus::Stopped,
        ] {
            assert_eq!(LetterStatus::from_code(s.code()), Some(s));
        }
    }
}
