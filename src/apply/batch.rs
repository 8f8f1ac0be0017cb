//! One call serving several offers of a run: a bulk PATCH with every offer id that
//! needs the same fields, or one list that answers for several new offers.
//!
//! Each offer that will take part holds a [`Ticket`] from the start of the run. The
//! call goes out once every ticket has either joined (with its offer's id) or been
//! dropped (its offer failed, or the run stopped, before it got there), so a batch
//! never waits for an offer that will not come, and every member gets the same answer.
//!
//! The offers of a run are futures on one task: a batch is shared by reference and
//! needs no locking.

use std::cell::{Cell, RefCell};

use tokio::sync::{Notify, OnceCell};

use crate::everflow::ApiError;

/// A call shared by the offers holding its tickets.
pub(super) struct Batch<T> {
    /// Tickets given out that have neither joined nor been dropped.
    pending: Cell<usize>,
    /// The offer ids joined so far, in the order they came.
    ids: RefCell<Vec<u64>>,
    /// Told when `pending` reaches zero.
    complete: Notify,
    answer: OnceCell<Result<T, ApiError>>,
}

/// An offer's place in a [`Batch`].
pub(super) struct Ticket<'b, T> {
    batch: Option<&'b Batch<T>>,
}

impl<T> Batch<T> {
    pub fn new() -> Self {
        Self {
            pending: Cell::new(0),
            ids: RefCell::default(),
            complete: Notify::new(),
            answer: OnceCell::new(),
        }
    }

    /// A place for one more offer: the call waits for it to join or be dropped.
    pub fn ticket(&self) -> Ticket<'_, T> {
        self.pending.set(self.pending.get() + 1);
        Ticket { batch: Some(self) }
    }

    fn arrived(&self) {
        let pending = self.pending.get() - 1;
        self.pending.set(pending);
        if pending == 0 {
            self.complete.notify_waiters();
        }
    }
}

impl<'b, T> Ticket<'b, T> {
    /// Joins with the offer `id` and waits for the other tickets; then `call` goes out
    /// once, with every id joined, and its answer is every member's.
    pub async fn join<F>(
        mut self,
        id: u64,
        call: impl FnOnce(Vec<u64>) -> F,
    ) -> &'b Result<T, ApiError>
    where
        F: Future<Output = Result<T, ApiError>>,
    {
        let batch = self.batch.take().expect("a ticket joins once");
        batch.ids.borrow_mut().push(id);
        batch.arrived();
        loop {
            // Created before the check, so a notification in between is not missed.
            let complete = batch.complete.notified();
            if batch.pending.get() == 0 {
                break;
            }
            complete.await;
        }
        batch
            .answer
            .get_or_init(|| call(batch.ids.borrow().clone()))
            .await
    }
}

impl<T> Drop for Ticket<'_, T> {
    fn drop(&mut self) {
        if let Some(batch) = self.batch.take() {
            batch.arrived();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(path: &str) -> ApiError {
        ApiError::Status {
            method: reqwest::Method::PATCH,
            path: path.to_owned(),
            status: 500,
            message: "down".to_owned(),
        }
    }

    #[tokio::test]
    async fn the_call_goes_out_once_with_every_member() {
        let batch = Batch::new();
        let calls = Cell::new(0);
        let members = [7, 3, 5].map(|id| (id, batch.ticket()));
        let joins = members.into_iter().map(|(id, ticket)| {
            let calls = &calls;
            ticket.join(id, move |ids| async move {
                calls.set(calls.get() + 1);
                Ok(ids)
            })
        });
        let answers = futures_util::future::join_all(joins).await;
        assert_eq!(calls.get(), 1);
        for answer in answers {
            assert_eq!(answer.as_ref().unwrap(), &vec![7, 3, 5]);
        }
    }

    #[tokio::test]
    async fn a_dropped_ticket_does_not_hold_the_others() {
        let batch = Batch::new();
        let (a, b, c) = (batch.ticket(), batch.ticket(), batch.ticket());
        let joins = async {
            tokio::join!(
                a.join(1, |ids| async move { Ok(ids) }),
                c.join(3, |ids| async move { Ok(ids) }),
            )
        };
        // The second offer fails before its turn: its ticket goes with it.
        let drop_b = async move {
            tokio::task::yield_now().await;
            drop(b);
        };
        let ((one, three), ()) = tokio::join!(joins, drop_b);
        assert_eq!(one.as_ref().unwrap(), &vec![1, 3]);
        assert_eq!(three.as_ref().unwrap(), &vec![1, 3]);
    }

    #[tokio::test]
    async fn a_failed_call_fails_every_member() {
        let batch: Batch<()> = Batch::new();
        let (a, b) = (batch.ticket(), batch.ticket());
        let fail = |_ids: Vec<u64>| async { Err(failure("/v1/networks/patch/offers/apply")) };
        let (one, two) = tokio::join!(a.join(1, fail), b.join(2, fail));
        assert_eq!(one.as_ref().unwrap_err().status(), Some(500));
        assert_eq!(two.as_ref().unwrap_err().status(), Some(500));
    }
}
