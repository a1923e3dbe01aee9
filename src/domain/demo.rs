//! Demo data for GraphiQL, Swagger UI and the benchmarks (`storegate
//! seed-demo`). Idempotent: rows are keyed by name or SKU, and only the
//! missing ones are inserted, so running it twice changes nothing.
//! `--scale N` asks for N products instead of the default 2,000, for
//! benchmarks on a larger table; their descriptions name a material and a
//! part, so that a `q` search matches a small share of them.

use std::collections::HashSet;

use entity::factory::{self, Certifications};
use entity::{item, product, store};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};

use crate::domain::error::AppError;

pub const FACTORIES: usize = 20;
pub const PRODUCTS: u32 = 2_000;
pub const STORES: usize = 50;
pub const ITEMS_PER_STORE: usize = 20;
const BATCH: usize = 400;

const COUNTRIES: [(&str, &str); 5] = [
    ("Taipei", "Taiwan"),
    ("Shenzhen", "China"),
    ("Osaka", "Japan"),
    ("Stuttgart", "Germany"),
    ("Austin", "USA"),
];
const CERTIFICATIONS: [&str; 4] = ["ISO 9001", "ISO 14001", "IATF 16949", "ISO 45001"];
/// Seven materials and eleven parts (coprime): each pair describes one
/// product in 77.
const MATERIALS: [&str; 7] = ["Brass", "Steel", "Walnut", "Nylon", "Copper", "Bamboo", "Ceramic"];
const PARTS: [&str; 11] = [
    "hinge", "bracket", "valve", "spring", "gasket", "pulley", "bearing", "clamp", "nozzle", "washer",
    "socket",
];

/// What a run inserted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seeded {
    pub factories: usize,
    pub products: usize,
    pub stores: usize,
    pub items: usize,
}

/// The default demo data ([`PRODUCTS`] products).
///
/// # Errors
/// As [`seed_scaled`].
pub async fn seed(db: &DatabaseConnection) -> Result<Seeded, AppError> {
    seed_scaled(db, PRODUCTS).await
}

/// The demo data with `products` products (`DEMO-00001` onwards).
///
/// # Errors
/// Database errors; the run is one transaction, so it inserts all or nothing.
pub async fn seed_scaled(db: &DatabaseConnection, products: u32) -> Result<Seeded, AppError> {
    let txn = db.begin().await?;
    let now = crate::domain::time::now();
    let mut seeded = Seeded::default();

    let factory_names: Vec<String> = (1..=FACTORIES).map(|n| format!("Demo Factory {n:02}")).collect();
    let existing: HashSet<String> = factory::Entity::find()
        .select_only()
        .column(factory::Column::Name)
        .filter(factory::Column::Name.is_in(factory_names.clone()))
        .into_tuple::<String>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let new_factories: Vec<factory::ActiveModel> = factory_names
        .iter()
        .enumerate()
        .filter(|(_, name)| !existing.contains(*name))
        .map(|(n, name)| {
            let (city, country) = COUNTRIES[n % COUNTRIES.len()];
            factory::ActiveModel {
                name: Set(name.clone()),
                address: Set(format!("{} Industrial Road", 100 + n)),
                city: Set(city.into()),
                country: Set(country.into()),
                phone: Set(Some(format!("+1-555-01{n:02}"))),
                email: Set(Some(format!("plant{n:02}@demo.example"))),
                established_year: Set(Some(1960 + i32::try_from(n).unwrap_or(0))),
                capacity_per_month: Set(Some(10_000 + 500 * i32::try_from(n).unwrap_or(0))),
                certifications: Set(Certifications(
                    CERTIFICATIONS.iter().take(1 + n % CERTIFICATIONS.len()).map(|c| c.to_string()).collect(),
                )),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        })
        .collect();
    seeded.factories = new_factories.len();
    if !new_factories.is_empty() {
        factory::Entity::insert_many(new_factories).exec(&txn).await?;
    }
    let factory_ids: Vec<i32> = factory::Entity::find()
        .select_only()
        .column(factory::Column::Id)
        .filter(factory::Column::Name.is_in(factory_names))
        .into_tuple::<i32>()
        .all(&txn)
        .await?;

    let existing_skus: HashSet<String> = product::Entity::find()
        .select_only()
        .column(product::Column::Sku)
        .filter(product::Column::Sku.starts_with("DEMO-"))
        .into_tuple::<String>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    // Built a batch at a time: a large `--scale` never holds every row.
    let mut new_products = (1..=products as usize)
        .map(|n| (n, format!("DEMO-{n:05}")))
        .filter(|(_, sku)| !existing_skus.contains(sku))
        .map(|(n, sku)| product::ActiveModel {
            sku: Set(sku),
            name: Set(format!("Demo Product {n}")),
            description: Set(Some(format!(
                "{} {}, demo product number {n}, made for benchmarks.",
                MATERIALS[n % MATERIALS.len()],
                PARTS[n % PARTS.len()]
            ))),
            price_cents: Set(i64::try_from(99 + (n * 37) % 100_000).unwrap_or(99)),
            factory_id: Set(factory_ids[n % factory_ids.len()]),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    loop {
        let batch: Vec<product::ActiveModel> = new_products.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        seeded.products += batch.len();
        product::Entity::insert_many(batch).exec(&txn).await?;
    }

    for n in 1..=STORES {
        let name = format!("Demo Store {n:02}");
        let found =
            store::Entity::find().filter(store::Column::NameKey.eq(name.to_lowercase())).one(&txn).await?;
        let store_id = match found {
            Some(found) => found.id,
            None => {
                seeded.stores += 1;
                store::Entity::insert(store::ActiveModel {
                    name_key: Set(name.to_lowercase()),
                    name: Set(name),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .exec(&txn)
                .await?
                .last_insert_id
            }
        };
        let names: HashSet<String> = item::Entity::find()
            .select_only()
            .column(item::Column::Name)
            .filter(item::Column::StoreId.eq(store_id))
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let missing: Vec<item::ActiveModel> = (1..=ITEMS_PER_STORE)
            .map(|i| (i, format!("Demo Item {i:02}")))
            .filter(|(_, name)| !names.contains(name))
            .map(|(i, name)| item::ActiveModel {
                store_id: Set(store_id),
                name: Set(name),
                price_cents: Set(i64::try_from(100 * i + n).unwrap_or(100)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        seeded.items += missing.len();
        if !missing.is_empty() {
            item::Entity::insert_many(missing).exec(&txn).await?;
        }
    }
    txn.commit().await?;
    if seeded.products > 0 && db.get_database_backend() == DbBackend::Postgres {
        // Statistics for the planner (which picks a search's index by
        // them) and the visibility map, now rather than at autovacuum's
        // turn.
        db.execute_unprepared("VACUUM ANALYZE products").await?;
    }
    Ok(seeded)
}
