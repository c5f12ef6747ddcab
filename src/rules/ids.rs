//! The rulebook's ids as types, and the tables the checked rulebook keeps its blocks in.
//!
//! A category id and a team id are both text in YAML; here they are different types, so a team
//! cannot be looked up where a category is meant. A reference between blocks is resolved once,
//! at load, into an [`Ix`]: the position of the row it names in its [`Table`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    )*};
}

ids! {
    /// A request category (`categories`).
    CategoryId;
    /// An inbound channel (`channels`).
    ChannelId;
    /// A team that works tickets (`teams`).
    TeamId;
    /// An escalation target (`targets`).
    TargetId;
    /// A named service-hour calendar (`schedules`).
    ScheduleId;
    /// A named flow (`flows`).
    FlowId;
    /// A user-facing message (`messages`).
    MessageId;
    /// A client application of the ticket API (`clients`).
    ClientId;
    /// A custom ticket field (`custom_fields`).
    FieldId;
    /// A step the rulebook adds to the vocabulary (`custom_steps`).
    StepId;
}

/// A resolved reference: the position of a row in the table of ids of type `K`.
pub struct Ix<K> {
    at: u32,
    of: PhantomData<fn() -> K>,
}

pub type CategoryIx = Ix<CategoryId>;
pub type ChannelIx = Ix<ChannelId>;
pub type TeamIx = Ix<TeamId>;
pub type TargetIx = Ix<TargetId>;
pub type ScheduleIx = Ix<ScheduleId>;
pub type MessageIx = Ix<MessageId>;

impl<K> Ix<K> {
    /// Row `at` of its table, counted in id order.
    pub(super) fn new(at: usize) -> Self {
        Self { at: u32::try_from(at).expect("a rulebook table is small"), of: PhantomData }
    }

    pub fn index(self) -> usize {
        self.at as usize
    }
}

// Written out: derives would ask `K` for each trait, and ids are neither `Copy` nor needed here.
impl<K> Clone for Ix<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Ix<K> {}
impl<K> PartialEq for Ix<K> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl<K> Eq for Ix<K> {}
impl<K> PartialOrd for Ix<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Ix<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}
impl<K> std::hash::Hash for Ix<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.at.hash(state);
    }
}
impl<K> fmt::Debug for Ix<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.at)
    }
}
impl<K> Serialize for Ix<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.at.serialize(s)
    }
}
impl<'de, K> Deserialize<'de> for Ix<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self { at: u32::deserialize(d)?, of: PhantomData })
    }
}

/// Rows keyed by id, in id order (the order the rulebook's maps are read in). Looked up by id
/// text, as tickets and requests carry ids, or by a resolved [`Ix`].
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<(K, V)>", bound(deserialize = "K: Borrow<str> + Deserialize<'de>, V: Deserialize<'de>"))]
pub struct Table<K, V> {
    rows: Vec<(K, V)>,
}

/// Written as its list of rows, as it is read back.
impl<K: Serialize, V: Serialize> Serialize for Table<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.rows.serialize(s)
    }
}

impl<K: Borrow<str>, V> TryFrom<Vec<(K, V)>> for Table<K, V> {
    type Error = String;

    /// Rows read back must be in id order, each id once: references point at positions.
    fn try_from(rows: Vec<(K, V)>) -> Result<Self, String> {
        match rows.windows(2).find(|w| w[0].0.borrow() >= w[1].0.borrow()) {
            Some(w) => Err(format!("table rows out of id order at `{}`", w[1].0.borrow())),
            None => Ok(Self { rows }),
        }
    }
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self { rows: Vec::new() }
    }
}

impl<K: Borrow<str> + Ord, V> FromIterator<(K, V)> for Table<K, V> {
    /// Keeps the first row of an id given twice (the YAML loader refuses duplicate keys anyway).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(rows: I) -> Self {
        let mut rows: Vec<(K, V)> = rows.into_iter().collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.dedup_by(|later, first| later.0 == first.0);
        Self { rows }
    }
}

impl<K: Borrow<str>, V> Table<K, V> {
    fn position(&self, id: &str) -> Option<usize> {
        self.rows.binary_search_by(|(k, _)| k.borrow().cmp(id)).ok()
    }

    /// The reference to row `id`.
    pub fn ix(&self, id: &str) -> Option<Ix<K>> {
        self.position(id).map(Ix::new)
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.position(id).map(|i| &self.rows[i].1)
    }

    pub fn get_key_value(&self, id: &str) -> Option<(&K, &V)> {
        self.position(id).map(|i| (&self.rows[i].0, &self.rows[i].1))
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    /// The id of a resolved reference.
    pub fn key(&self, ix: Ix<K>) -> &K {
        &self.rows[ix.index()].0
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &V)> + Clone {
        self.rows.iter().map(|(k, v)| (k, v))
    }

    /// Every row with its reference.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (Ix<K>, &K, &V)> + Clone {
        self.rows.iter().enumerate().map(|(i, (k, v))| (Ix::new(i), k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &K> + Clone {
        self.rows.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + Clone {
        self.rows.iter().map(|(_, v)| v)
    }
}

impl<K: Borrow<str>, V> std::ops::Index<Ix<K>> for Table<K, V> {
    type Output = V;

    fn index(&self, ix: Ix<K>) -> &V {
        &self.rows[ix.index()].1
    }
}

impl<K: Borrow<str>, V> std::ops::Index<&str> for Table<K, V> {
    type Output = V;

    /// Like a map's index: panics on an id that is not there (tests, and ids just resolved).
    fn index(&self, id: &str) -> &V {
        self.get(id).unwrap_or_else(|| panic!("no `{id}` in this rulebook table"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_found_by_id_and_by_reference() {
        let t: Table<TeamId, u8> = [("privacy".into(), 2), ("first_level".into(), 1)].into_iter().collect();
        assert_eq!(t.keys().map(TeamId::as_str).collect::<Vec<_>>(), ["first_level", "privacy"]);
        let ix = t.ix("privacy").unwrap();
        assert_eq!((t[ix], t.key(ix).as_str(), t["first_level"]), (2, "privacy", 1));
        assert_eq!(t.get("nobody"), None);
        let json = serde_json::to_string(&ix).unwrap();
        assert_eq!(serde_json::from_str::<TeamIx>(&json).unwrap(), ix);
        let back: Table<TeamId, u8> = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back.ix("privacy"), Some(ix));
        let shuffled = r#"[["privacy", 2], ["first_level", 1]]"#;
        assert!(serde_json::from_str::<Table<TeamId, u8>>(shuffled).is_err(), "rows out of order are refused");
    }
}
