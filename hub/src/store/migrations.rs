//! The store's schema migrations, embedded in the binary so that it runs from any folder.
//!
//! sqlx's `migrate!` macro would do the same at compile time; a [`MigrationSource`] of our
//! own keeps the build free of the macro crates while using sqlx's own migrator (its
//! `_sqlx_migrations` table, checksums and locking).

use super::{Backend, StoreError};
use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;
use std::borrow::Cow;

/// (version, description, SQL) per migration, oldest first.
type Embedded = &'static [(i64, &'static str, &'static str)];

const SQLITE: Embedded = &[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (
        2,
        "expectations",
        include_str!("migrations/sqlite/0002_expectations.sql"),
    ),
    (3, "reports", include_str!("migrations/sqlite/0003_reports.sql")),
    (4, "access", include_str!("migrations/sqlite/0004_access.sql")),
];
const POSTGRES: Embedded = &[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (
        2,
        "expectations",
        include_str!("migrations/postgres/0002_expectations.sql"),
    ),
    (3, "reports", include_str!("migrations/postgres/0003_reports.sql")),
    (4, "access", include_str!("migrations/postgres/0004_access.sql")),
];

#[derive(Debug)]
struct EmbeddedSource(Embedded);

impl MigrationSource<'static> for EmbeddedSource {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Brings the database's schema up to date.
pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let source = match backend {
        Backend::Sqlite => EmbeddedSource(SQLITE),
        Backend::Postgres => EmbeddedSource(POSTGRES),
    };
    Migrator::new(source).await?.run(pool).await?;
    Ok(())
}
