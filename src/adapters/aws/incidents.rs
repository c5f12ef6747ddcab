//! Incidents in the single DynamoDB table (see `docs/dynamodb.md`): the incident and its linked
//! tickets share a partition, so the fan-out reads them a page at a time with one `Query`; an
//! active incident also has a marker item in its service's partition, so "the service's active
//! incident" is one `Query` too, strongly consistent and without a secondary index.

use super::table::{PK, SK};
use super::unavailable;
use crate::domain::TicketId;
use crate::ports::{Incident, IncidentState, IncidentStore, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

const INCIDENT_SK: &str = "INCIDENT";
/// Link items sort after the incident item (`I` < `L`) and are the partition's last kind, so
/// "after ticket X" is `sk > L#X`.
const LINK_PREFIX: &str = "L#";
/// The largest page [`IncidentStore::linked`] returns, as the embedded store.
const MAX_PAGE: usize = 1000;

fn incident_pk(id: &str) -> String {
    format!("N#{id}")
}
/// Every incident also has an item here, newest last, so they can be listed.
const LIST_PK: &str = "NLIST";
fn active_pk(service: &str) -> String {
    format!("A#{service}")
}
/// Declaration instant first (zero-padded µs), so the newest marker is the last of the partition.
fn active_sk(incident: &Incident) -> String {
    format!("{:020}#{}", incident.declared_at.as_microsecond().max(0), incident.id)
}
fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}
fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Invalid(format!("request: {e}")))
}
fn read(item: &Item) -> StoreResult<Incident> {
    let pk = text(item, PK).unwrap_or("?");
    let doc = text(item, "doc").ok_or_else(|| StoreError::Corrupt(format!("incident item {pk}: no document")))?;
    serde_json::from_str(doc).map_err(|e| {
        StoreError::Corrupt(format!("incident item {pk}: unreadable JSON (line {}, column {})", e.line(), e.column()))
    })
}

/// Incidents and their linked tickets (implements [`IncidentStore`]).
#[derive(Clone)]
pub struct DynamoIncidents {
    client: Client,
    table: String,
}

impl DynamoIncidents {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A query of the table on partition `pk`, bound to `#pk` and `:pk` for the key condition.
    fn query_partition(&self, pk: String) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(pk))
    }

    /// Up to `limit` items of partition `pk`, the highest sort keys first; read strongly
    /// consistent when `consistent` (otherwise the request leaves it out, as DynamoDB's default).
    async fn newest_first(&self, pk: String, limit: i32, consistent: bool) -> StoreResult<Vec<Item>> {
        let out = self
            .query_partition(pk)
            .key_condition_expression("#pk = :pk")
            .scan_index_forward(false)
            .set_consistent_read(consistent.then_some(true))
            .limit(limit)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        Ok(out.items.unwrap_or_default())
    }
}

#[async_trait]
impl IncidentStore for DynamoIncidents {
    /// One transaction: the incident item (whose service and declaration instant cannot change,
    /// since the marker's key is made of them) and its service's marker, put while the incident
    /// is active and deleted once it is resolved.
    async fn save(&self, incident: &Incident) -> StoreResult<()> {
        let doc = serde_json::to_string(incident).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))?;
        let declared = incident.declared_at.as_microsecond().to_string();
        let state = match incident.state {
            IncidentState::Active => "active",
            IncidentState::Resolved => "resolved",
        };
        let item: Item = HashMap::from([
            (PK.into(), s(incident_pk(&incident.id))),
            (SK.into(), s(INCIDENT_SK)),
            ("doc".into(), s(doc.clone())),
            ("service".into(), s(&incident.service)),
            ("declared_us".into(), AttributeValue::N(declared.clone())),
            ("state".into(), s(state)),
        ]);
        let put_incident = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk) OR (#service = :service AND #declared = :declared)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#service", "service")
                .expression_attribute_names("#declared", "declared_us")
                .expression_attribute_values(":service", s(&incident.service))
                .expression_attribute_values(":declared", AttributeValue::N(declared))
                .build(),
        )?;
        let marker_key = [(PK, s(active_pk(&incident.service))), (SK, s(active_sk(incident)))];
        let marker = match incident.state {
            IncidentState::Active => {
                let mut marker: Item = marker_key.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                // A copy of the document: the look-up needs no second read.
                marker.insert("doc".into(), s(doc));
                let put = build(Put::builder().table_name(&self.table).set_item(Some(marker)).build())?;
                TransactWriteItem::builder().put(put).build()
            }
            IncidentState::Resolved => {
                let key = marker_key.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                let delete = build(Delete::builder().table_name(&self.table).set_key(Some(key)).build())?;
                TransactWriteItem::builder().delete(delete).build()
            }
        };
        let listed: Item = HashMap::from([
            (PK.into(), s(LIST_PK)),
            (SK.into(), s(active_sk(incident))),
            ("doc".into(), s(serde_json::to_string(incident).unwrap_or_default())),
        ]);
        let listed = build(Put::builder().table_name(&self.table).set_item(Some(listed)).build())?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_incident).build())
            .transact_items(marker)
            .transact_items(TransactWriteItem::builder().put(listed).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) => {
                let refused = matches!(
                    e.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(c))
                        if c.cancellation_reasons().first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                );
                if refused {
                    Err(StoreError::Invalid(format!(
                        "incident {}: its service and declaration time cannot change",
                        incident.id
                    )))
                } else {
                    Err(unavailable("TransactWriteItems", e))
                }
            }
        }
    }

    async fn get(&self, id: &str) -> StoreResult<Incident> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(incident_pk(id)))
            .key(SK, s(INCIDENT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        match out.item {
            Some(item) => read(&item),
            None => Err(StoreError::NotFound(format!("incident {id}"))),
        }
    }

    async fn active(&self, service: &str) -> StoreResult<Option<Incident>> {
        self.newest_first(active_pk(service), 1, true).await?.first().map(read).transpose()
    }

    /// A plain put: linking twice writes the same item again.
    async fn link(&self, incident: &str, ticket: &TicketId) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(incident_pk(incident)))
            .item(SK, s(format!("{LINK_PREFIX}{ticket}")))
            .send()
            .await
            .map_err(|e| unavailable("PutItem", e))?;
        Ok(())
    }

    async fn linked_count(&self, incident: &str) -> StoreResult<u64> {
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .query_partition(incident_pk(incident))
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :links)")
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":links", s(LINK_PREFIX))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(count),
            }
        }
    }

    async fn list(&self, limit: usize) -> StoreResult<Vec<Incident>> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.newest_first(LIST_PK.to_string(), limit, false).await?.iter().map(read).collect()
    }

    async fn linked(&self, incident: &str, after: Option<&TicketId>, limit: usize) -> StoreResult<Vec<TicketId>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let (condition, from) = match after {
            Some(t) => ("#pk = :pk AND #sk > :from", format!("{LINK_PREFIX}{t}")),
            None => ("#pk = :pk AND begins_with(#sk, :from)", LINK_PREFIX.to_string()),
        };
        let mut tickets = Vec::new();
        let mut start: Option<Item> = None;
        // One request per page in practice (a link item is ~80 bytes, far below the 1 MB a
        // response holds); the loop only covers a response cut short.
        loop {
            let out = self
                .query_partition(incident_pk(incident))
                .key_condition_expression(condition)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":from", s(from.clone()))
                .consistent_read(true)
                .projection_expression("#sk")
                .limit(i32::try_from(limit - tickets.len()).unwrap_or(1))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for item in out.items.unwrap_or_default() {
                match text(&item, SK).and_then(|sk| sk.strip_prefix(LINK_PREFIX)) {
                    Some(id) => tickets.push(TicketId(id.to_string())),
                    None => return Ok(tickets), // past the links
                }
            }
            match out.last_evaluated_key {
                Some(key) if tickets.len() < limit && !key.is_empty() => start = Some(key),
                _ => return Ok(tickets),
            }
        }
    }
}
