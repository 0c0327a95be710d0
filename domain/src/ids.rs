//! Typed identifiers: one newtype over a UUID per kind of thing, so that a shift id can never be passed where a contact id is expected.
//!
//! Ids are made by the caller (the API generates UUID v7s) and carried inside commands, which keeps
//! `decide` deterministic. Where one command creates many things at once (the shifts of a series, the
//! shifts of a copied schedule), their ids are [derived](derive_uuid) from the command's id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID made elsewhere (normally a v7 from the API).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// A fresh UUID v7 from the system clock; for callers and tests, never used inside `decide`.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A client company's account (number `4000`, …).
    AccountId
);
id_type!(
    /// A portal user: client, operator, dispatch system or auditor.
    UserId
);
id_type!(
    /// A person in an account's directory.
    ContactId
);
id_type!(
    /// An on-call schedule.
    ScheduleId
);
id_type!(
    /// One shift of a schedule.
    ShiftId
);
id_type!(
    /// A repeating series of shifts.
    SeriesId
);
id_type!(
    /// A temporary replacement inside a shift.
    OverrideId
);
id_type!(
    /// A message taken for an account.
    MessageId
);
id_type!(
    /// A call in the call log.
    CallId
);
id_type!(
    /// An audio recording attached to a call (the audio itself lives in blob storage).
    RecordingId
);

/// Derives a stable id from a base id, a purpose and an index.
///
/// The timestamp and version bits of the base are kept, so a derived id sorts like a v7 made at the same
/// moment; the random bits are scrambled with the purpose and index so that the shifts `0..n` of one
/// series get distinct ids, and replaying the same command always yields the same ids.
pub fn derive_uuid(base: Uuid, purpose: u32, index: u32) -> Uuid {
    // splitmix64 finaliser: a bijection, so distinct (purpose, index) pairs scramble differently.
    let mut z = ((u64::from(purpose) << 32) | u64::from(index)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The low 62 bits are random in a v7; the two above them hold the RFC 4122 variant, left untouched.
    let mask: u128 = (1 << 62) - 1;
    Uuid::from_u128(base.as_u128() ^ (u128::from(z) & mask))
}

/// Purposes for [`derive_uuid`], so that different derivations from one base never collide.
pub(crate) mod purpose {
    pub const SERIES_SHIFT: u32 = 1;
    pub const COPIED_SHIFT: u32 = 2;
    pub const COPIED_SERIES: u32 = 3;
    pub const COPIED_OVERRIDE: u32 = 4;
}
