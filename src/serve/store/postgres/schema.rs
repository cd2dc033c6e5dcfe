//! The store's tables, created once per database under a
//! transaction-scoped advisory lock (instances starting together do not
//! race, and nothing outlives the transaction: a pooler may hand the
//! session to someone else next).

use tokio_postgres::types::Type;

/// The schema this version writes.
pub const SCHEMA_VERSION: i32 = 1;
// Any constant works: it only has to be the same in every instance.
const MIGRATION_LOCK: i64 = 0x636f_6e6e_6563_7401;

const SCHEMA_V1: &str = "
CREATE TABLE connect_tenants (
    addon      TEXT NOT NULL,
    oauth_id   TEXT NOT NULL,
    data       JSONB NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (addon, oauth_id)
);
CREATE TABLE connect_tokens (
    addon      TEXT NOT NULL,
    oauth_id   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    data       JSONB NOT NULL,
    PRIMARY KEY (addon, oauth_id, scope)
);
CREATE INDEX connect_tokens_by_expiry ON connect_tokens (expires_at);
";

/// Why the tables could not be made ready.
pub enum SchemaError {
    /// The server failed.
    Postgres(tokio_postgres::Error),
    /// The database was set up by a newer connect.
    Newer(String),
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        SchemaError::Postgres(e)
    }
}

/// Creates or checks the tables on `client`.
pub async fn ensure(client: &deadpool_postgres::Object, address: &str) -> Result<(), SchemaError> {
    // Not through `Client::transaction` (it needs `&mut`): one simple
    // query opens the transaction, each step runs in it, and a failure
    // rolls it back before the connection goes back to the pool.
    client
        .batch_execute(&format!("BEGIN; {}", super::SET_TIMEOUT))
        .await?;
    let outcome = steps(client, address).await;
    match &outcome {
        Ok(()) => client.batch_execute("COMMIT").await?,
        Err(_) => {
            let _ = client.batch_execute("ROLLBACK").await;
        }
    }
    outcome
}

async fn steps(client: &deadpool_postgres::Object, address: &str) -> Result<(), SchemaError> {
    client
        .execute_typed(
            "SELECT pg_advisory_xact_lock($1)",
            &[(&MIGRATION_LOCK, Type::INT8)],
        )
        .await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS connect_schema (
                only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                version  INTEGER NOT NULL
            )",
        )
        .await?;
    let version: Option<i32> = client
        .query_typed_opt("SELECT version FROM connect_schema", &[])
        .await?
        .map(|row| row.get(0));
    match version {
        None => {
            client.batch_execute(SCHEMA_V1).await?;
            client
                .execute_typed(
                    "INSERT INTO connect_schema (version) VALUES ($1)",
                    &[(&SCHEMA_VERSION, Type::INT4)],
                )
                .await?;
            tracing::info!(store = %address, version = SCHEMA_VERSION, "created the store's tables");
            Ok(())
        }
        Some(SCHEMA_VERSION) => Ok(()),
        Some(newer) => Err(SchemaError::Newer(format!(
            "PostgreSQL at {address}: the database was set up by a newer connect (store schema {newer}, this one knows {SCHEMA_VERSION}); upgrade connect or use another database"
        ))),
    }
}
