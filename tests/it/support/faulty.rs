//! The store's tickets with a fault the test turns on: every call goes through to the store,
//! except that an update is first offered to `refuse`, which may fail it (a process that died
//! before the write, another writer that won the race).

use async_trait::async_trait;
use sportello::domain::{Actor, Event, Ticket, TicketId, TicketReference, TicketState};
use sportello::ports::ticket_store::RequesterKey;
use sportello::ports::{
    Created, Erasure, NewTicket, Outboxed, QueuePage, QueuePosition, QueueQuery, StoreError, StoreResult, TicketStore,
};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

type Refuse = Box<dyn Fn(&Ticket) -> Option<StoreError> + Send + Sync>;

pub struct FaultyTickets {
    /// The store it wraps, set when `TestAppBuilder::faulty_tickets` builds the app.
    pub(super) inner: OnceLock<Arc<dyn TicketStore>>,
    refuse: Refuse,
}

impl FaultyTickets {
    /// `refuse` sees each ticket about to be written, and fails the update when it says why.
    pub fn new(refuse: impl Fn(&Ticket) -> Option<StoreError> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { inner: OnceLock::new(), refuse: Box::new(refuse) })
    }

    fn inner(&self) -> &Arc<dyn TicketStore> {
        self.inner.get().expect("the store it wraps")
    }
}

#[async_trait]
impl TicketStore for FaultyTickets {
    async fn open(&self, new: &NewTicket) -> StoreResult<Created> {
        self.inner().open(new).await
    }
    async fn outbox_done(&self, items: &[Outboxed]) -> StoreResult<()> {
        self.inner().outbox_done(items).await
    }
    async fn outbox_pending(&self, before: jiff::Timestamp, limit: usize) -> StoreResult<Vec<Outboxed>> {
        self.inner().outbox_pending(before, limit).await
    }
    async fn get(&self, id: &TicketId) -> StoreResult<Ticket> {
        self.inner().get(id).await
    }
    async fn get_by_reference(&self, reference: &TicketReference) -> StoreResult<Ticket> {
        self.inner().get_by_reference(reference).await
    }
    async fn update(&self, ticket: &Ticket, events: &[Event]) -> StoreResult<Ticket> {
        match (self.refuse)(ticket) {
            Some(error) => Err(error),
            None => self.inner().update(ticket, events).await,
        }
    }
    async fn update_queueing(
        &self,
        ticket: &Ticket,
        events: &[Event],
        follow: &sportello::ports::FollowUps,
    ) -> StoreResult<(Ticket, Vec<Outboxed>)> {
        match (self.refuse)(ticket) {
            Some(error) => Err(error),
            None => self.inner().update_queueing(ticket, events, follow).await,
        }
    }
    async fn work_queue_after(
        &self,
        team: &str,
        state: TicketState,
        after: Option<&QueuePosition>,
        limit: usize,
    ) -> StoreResult<Vec<Ticket>> {
        self.inner().work_queue_after(team, state, after, limit).await
    }
    async fn find_by_requester(&self, key: &RequesterKey) -> StoreResult<Vec<Ticket>> {
        self.inner().find_by_requester(key).await
    }
    async fn erase_requester(&self, key: &RequesterKey, actor: &Actor, now: jiff::Timestamp) -> StoreResult<Erasure> {
        self.inner().erase_requester(key, actor, now).await
    }
    async fn copies_of(&self, tickets: &[Ticket]) -> StoreResult<BTreeMap<String, usize>> {
        self.inner().copies_of(tickets).await
    }
    async fn clock_positions(&self) -> StoreResult<sportello::ports::ClockPositions> {
        self.inner().clock_positions().await
    }
    async fn set_clock_position(&self, team: &str, position: Option<&sportello::ports::QueueKey>) -> StoreResult<()> {
        self.inner().set_clock_position(team, position).await
    }
    async fn purge_closed(&self, days: u32, now: jiff::Timestamp, limit: usize) -> StoreResult<Vec<TicketId>> {
        self.inner().purge_closed(days, now, limit).await
    }
    async fn queue_page(&self, query: &QueueQuery) -> StoreResult<QueuePage> {
        self.inner().queue_page(query).await
    }
    async fn find_by_field(&self, name: &str, value: &str, limit: usize) -> StoreResult<Vec<Ticket>> {
        self.inner().find_by_field(name, value, limit).await
    }
}
