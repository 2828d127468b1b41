// Semgrep test for rmd-rs-deferred-dequeue (seed 002, Queue + Storage Reliability).
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub struct Lease {
    pub id: i64,
    pub payload: String,
}

// The original dequeue: a deferred transaction takes no write lock at BEGIN, so two workers both
// read the same pending row before either UPDATE runs.
pub fn dequeue(conn: &mut Connection, worker: &str) -> rusqlite::Result<Option<Lease>> {
    let tx = conn.transaction()?;
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, payload FROM changes WHERE status = 'pending' ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let lease = match row {
        Some((id, payload)) => {
            // ruleid: rmd-rs-deferred-dequeue
            tx.execute(
                "UPDATE changes SET status = 'leased', lease_owner = ?2 WHERE id = ?1",
                params![id, worker],
            )?;
            Some(Lease { id, payload })
        }
        None => None,
    };
    tx.commit()?;
    Ok(lease)
}

pub fn dequeue_explicit_begin(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.execute_batch("BEGIN")?;
    let id: Option<i64> = conn
        .query_row("SELECT id FROM changes WHERE status = 'pending' LIMIT 1", [], |r| r.get(0))
        .optional()?;
    if let Some(id) = id {
        // ruleid: rmd-rs-deferred-dequeue
        conn.execute("UPDATE changes SET status = 'leased' WHERE id = ?1", params![id])?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(id)
}

// Remediated: BEGIN IMMEDIATE takes the write lock before the read.
pub fn dequeue_immediate(conn: &mut Connection, worker: &str) -> rusqlite::Result<Option<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id: Option<i64> = tx
        .query_row("SELECT id FROM changes WHERE status = 'pending' ORDER BY id LIMIT 1", [], |r| r.get(0))
        .optional()?;
    if let Some(id) = id {
        // ok: rmd-rs-deferred-dequeue
        tx.execute("UPDATE changes SET status = 'leased', lease_owner = ?2 WHERE id = ?1", params![id, worker])?;
    }
    tx.commit()?;
    Ok(id)
}

// Remediated: one statement claims the row and returns it.
pub fn dequeue_returning(conn: &mut Connection, worker: &str) -> rusqlite::Result<Option<i64>> {
    // ok: rmd-rs-deferred-dequeue
    let tx = conn.transaction()?;
    let id = tx
        .query_row(
            "UPDATE changes SET status = 'leased', lease_owner = ?1 \
             WHERE id = (SELECT id FROM changes WHERE status = 'pending' ORDER BY id LIMIT 1) RETURNING id",
            params![worker],
            |r| r.get(0),
        )
        .optional()?;
    tx.commit()?;
    Ok(id)
}

// A transaction that only writes: nothing was read first.
pub fn mark_applied(conn: &mut Connection, id: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    // ok: rmd-rs-deferred-dequeue
    tx.execute("UPDATE changes SET status = 'applied' WHERE id = ?1", params![id])?;
    tx.execute("INSERT INTO events (change_id, kind) VALUES (?1, 'applied')", params![id])?;
    tx.commit()
}
