//! The single-table layout (documented in `docs/dynamodb.md`) and a helper that creates it.

use crate::ports::{StoreError, StoreResult};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// `<created µs>#<id>` on every ticket: the requester indexes' sort key. (Items written before the
/// clock read [`BY_OPEN`] also carry `queue_pk`, the key of a `by_queue` index no longer kept.)
pub const QUEUE_SK: &str = "queue_sk";
/// Requester look-ups, one sparse index per key kind, sorted by creation (`queue_sk`). They
/// project keys only, so a ticket's writes do not rewrite them: a look-up reads the tickets it
/// found with `BatchGetItem`. Named apart from the earlier `by_email`... (which projected every
/// attribute): a projection cannot change in place (`docs/dynamodb.md`, "Migrations").
pub const BY_EMAIL: &str = "by_email_keys";
pub const BY_PHONE: &str = "by_phone_keys";
pub const BY_FISCAL_CODE: &str = "by_fiscal_code_keys";
pub const RQ_EMAIL: &str = "rq_email";
pub const RQ_PHONE: &str = "rq_phone";
pub const RQ_FISCAL_CODE: &str = "rq_fiscal_code";
/// The earlier requester indexes' sort key (the same value as `queue_sk`): items written before
/// the keys-only indexes still carry it; new ones do not.
pub const RQ_SK: &str = "rq_sk";
/// Closed tickets by closing instant, for the retention purge (sparse).
pub const BY_CLOSED: &str = "by_closed";
pub const CLOSED_PK: &str = "closed_pk";
pub const CLOSED_SK: &str = "closed_sk";
/// Open tickets of a team, nearest running deadline first: `O#<team>`, sorted by
/// [`crate::ports::QueueKey::sortable`] (sparse: only open tickets carry it). The console's pages
/// and the clock's reading both come from it; the sweep and a work queue by state filter it.
pub const BY_OPEN: &str = "by_open";
pub const OPEN_PK: &str = "open_pk";
pub const OPEN_SK: &str = "open_sk";
/// DynamoDB's TTL attribute (epoch seconds) on idempotency and deduplication records.
pub const EXPIRES_AT: &str = "expires_at";

/// What a global secondary index copies of each item besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// Every attribute: the index is rewritten whenever the item changes.
    All,
    /// The table's and the index's keys only: rewritten only when the item enters or leaves the
    /// index or its index key changes.
    KeysOnly,
    /// The keys and these attributes.
    Include(&'static [&'static str]),
}

/// One global secondary index: name, partition key, sort key, projection.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
    pub projected: Projected,
}

/// The table's global secondary indexes (see `docs/dynamodb.md`, "Global secondary indexes").
pub const INDEXES: [Index; 5] = [
    Index { name: BY_EMAIL, pk: RQ_EMAIL, sk: QUEUE_SK, projected: Projected::KeysOnly },
    Index { name: BY_PHONE, pk: RQ_PHONE, sk: QUEUE_SK, projected: Projected::KeysOnly },
    Index { name: BY_FISCAL_CODE, pk: RQ_FISCAL_CODE, sk: QUEUE_SK, projected: Projected::KeysOnly },
    Index { name: BY_CLOSED, pk: CLOSED_PK, sk: CLOSED_SK, projected: Projected::All },
    Index { name: BY_OPEN, pk: OPEN_PK, sk: OPEN_SK, projected: Projected::All },
];

fn s(name: &str) -> StoreResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

fn key(name: &str, kind: KeyType) -> StoreResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

fn index(i: &Index) -> StoreResult<GlobalSecondaryIndex> {
    let projection = match i.projected {
        Projected::All => Projection::builder().projection_type(ProjectionType::All),
        Projected::KeysOnly => Projection::builder().projection_type(ProjectionType::KeysOnly),
        Projected::Include(attrs) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attrs.iter().map(|a| a.to_string()).collect())),
    };
    GlobalSecondaryIndex::builder()
        .index_name(i.name)
        .key_schema(key(i.pk, KeyType::Hash)?)
        .key_schema(key(i.sk, KeyType::Range)?)
        .projection(projection.build())
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Creates the table with its indexes, its stream (new images) and TTL (on-demand billing). For tests and first set-up;
/// production tables come from the infrastructure template with the same layout.
pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        // The reports function reads new events off the stream (docs/reports.md).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        );
    for attr in [PK, SK, QUEUE_SK, RQ_EMAIL, RQ_PHONE, RQ_FISCAL_CODE, CLOSED_PK, CLOSED_SK, OPEN_PK, OPEN_SK] {
        req = req.attribute_definitions(s(attr)?);
    }
    for i in &INDEXES {
        req = req.global_secondary_indexes(index(i)?);
    }
    req.send().await.map_err(|e| super::unavailable("CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| super::unavailable("UpdateTimeToLive", e))?;
    Ok(())
}
