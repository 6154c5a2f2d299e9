//! The `Store` contract (`tests/it/store_contract.rs`) on the PostgreSQL store: the same
//! checks the SQLite store passes, each on a database of its own.

use std::sync::Arc;

use gridbeat::store::{PgStore, Store};

use crate::store_contract::Fresh;

/// A PostgreSQL store on a new database; `reopen` opens another pool on it, as another
/// replica would.
fn fresh() -> Fresh {
    let db = super::TestDb::new();
    let url = db.url.clone();
    let store: Arc<dyn Store> = Arc::new(PgStore::open(&url, &super::options()).unwrap());
    Fresh {
        store,
        reopen: Box::new(move || Arc::new(PgStore::open(&url, &super::options()).unwrap())),
        keep: Box::new(db),
    }
}

crate::store_contract::store_contract_tests!(fresh);
