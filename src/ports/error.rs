//! The one error type of every port. Messages name ids and references, never personal data.

/// Why a port call failed. Adapters map their backend's errors onto these, so callers can decide
/// what to do (retry on `Conflict`/`Unavailable`, answer 404 on `NotFound`...) without knowing
/// which store is behind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// An optimistic-concurrency check failed: someone else changed the ticket first.
    #[error("version conflict: expected version {expected}, found {found}")]
    Conflict { expected: u64, found: u64 },
    /// Something unique (a reference, an id) is already taken by another record.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The caller asked for something that can never succeed as given.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The store holds data this code cannot read (a damaged row, a foreign item).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The backend failed or could not be reached; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Worth retrying as is (the same call may succeed later).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
